//! The counting allocator counts what it should, per thread and for the process.
#![allow(missing_docs, clippy::unwrap_used)]

use voxflow_testkit::alloc::{CountingAlloc, Window, exclusive, is_installed, measure};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[test]
fn counts_allocations_and_reallocations_on_this_thread() {
    assert!(is_installed());
    let (v, n) = measure(|| {
        let mut v: Vec<u64> = Vec::with_capacity(4); // 1 allocation
        v.extend(0..64); // at least one realloc
        std::hint::black_box(v)
    });
    assert_eq!(v.len(), 64);
    assert!(n.this_thread >= 2, "{n:?}");
    assert!(n.all_threads >= n.this_thread, "{n:?}");
}

#[test]
fn work_within_capacity_counts_nothing_on_this_thread() {
    let mut v: Vec<u32> = Vec::with_capacity(1024);
    let ((), n) = measure(|| {
        for i in 0..1024 {
            v.push(i);
        }
    });
    assert_eq!(n.this_thread, 0);
    assert_eq!(v.len(), 1024);
}

#[test]
fn other_threads_count_in_all_threads_only() {
    let _one = exclusive();
    let w = Window::start();
    std::thread::spawn(|| {
        for i in 0..100u64 {
            std::hint::black_box(Box::new(i));
        }
    })
    .join()
    .unwrap();
    let n = w.allocs();
    assert!(n.all_threads >= 100, "{n:?}");
    // Spawning and joining may allocate on this thread, but not the 100 boxes.
    assert!(n.this_thread < 100, "{n:?}");
}
