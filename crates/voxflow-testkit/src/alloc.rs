//! A counting global allocator and a window API to measure what code allocates.
//!
//! Install [`CountingAlloc`] as the global allocator of a test binary, then wrap the code under
//! test in [`measure`] (or open a [`Window`] and read it later, when the work happens on other
//! threads). Allocations (`alloc`, `alloc_zeroed` and `realloc`; a `realloc` counts as one
//! allocation because it may move) are counted twice: per thread and for the whole process.
//! Deallocations are not counted.
//!
//! The counters are plain relaxed atomics and a `const`-initialised thread-local `Cell` without
//! a destructor, neither of which allocates, so counting cannot recurse into the allocator.

// The one place in the workspace's tests where `unsafe` is needed: `GlobalAlloc` is an unsafe
// trait and `System`'s methods are unsafe functions. Each use forwards the caller's arguments
// unchanged (see the SAFETY comments), so this allocator is exactly as sound as `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Allocations by every thread of the process.
static ALL_THREADS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Allocations by the current thread.
    static THIS_THREAD: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, counting allocations.
///
/// ```rust,ignore
/// #[global_allocator]
/// static ALLOC: voxflow_testkit::alloc::CountingAlloc = voxflow_testkit::alloc::CountingAlloc;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct CountingAlloc;

impl CountingAlloc {
    #[inline]
    fn count() {
        ALL_THREADS.fetch_add(1, Ordering::Relaxed);
        // `try_with`: during thread teardown the slot may be gone; such allocations still count
        // in the process total.
        let _ = THIS_THREAD.try_with(|c| c.set(c.get() + 1));
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract (layout validity, pointer provenance, alignment) is exactly System's.
// Counting only touches an atomic and a thread-local `Cell`; neither allocates nor unwinds.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::count();
        // SAFETY: the caller upholds `alloc`'s contract for `layout`; passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::count();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::count();
        // SAFETY: `ptr` was allocated by `System` (through this allocator) with `layout`; the
        // caller upholds `realloc`'s contract for `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through this allocator) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocations counted by the process so far (all threads).
pub fn all_threads() -> u64 {
    ALL_THREADS.load(Ordering::SeqCst)
}

/// Allocations counted on the calling thread so far.
pub fn this_thread() -> u64 {
    THIS_THREAD.with(Cell::get)
}

/// True when [`CountingAlloc`] is the global allocator of this binary (checked with one probe
/// allocation).
pub fn is_installed() -> bool {
    let before = this_thread();
    drop(std::hint::black_box(Box::new(0u64)));
    this_thread() > before
}

/// Allocations counted in a [`Window`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Allocs {
    /// On the thread that opened the window.
    pub this_thread: u64,
    /// By every thread of the process, including allocations of other tests that run in
    /// parallel (see [`exclusive`]).
    pub all_threads: u64,
}

/// A measurement window: the counters at [`start`](Window::start), to compare with later.
///
/// Use it when the measured work happens on other threads and the test decides when the
/// window closes (e.g. after a sink has taken `n` frames):
///
/// ```rust,ignore
/// let w = Window::start();
/// wait_for(warmup + measured);
/// assert_eq!(w.allocs().all_threads, 0);
/// ```
#[derive(Debug)]
pub struct Window {
    this_thread: u64,
    all_threads: u64,
    thread: std::thread::ThreadId,
}

impl Window {
    /// Opens a window at the current counts.
    ///
    /// # Panics
    /// When [`CountingAlloc`] is not the global allocator: every count would read 0 and a
    /// zero-allocation assertion would pass without measuring anything.
    pub fn start() -> Window {
        assert!(
            is_installed(),
            "voxflow_testkit::alloc::CountingAlloc is not the #[global_allocator] of this binary"
        );
        Window {
            this_thread: this_thread(),
            all_threads: all_threads(),
            thread: std::thread::current().id(),
        }
    }

    /// Allocations since [`start`](Window::start).
    ///
    /// # Panics
    /// When called on another thread than the one that opened the window (the per-thread count
    /// would compare two different counters).
    pub fn allocs(&self) -> Allocs {
        assert_eq!(
            std::thread::current().id(),
            self.thread,
            "a Window is read on the thread that opened it"
        );
        Allocs {
            this_thread: this_thread() - self.this_thread,
            all_threads: all_threads() - self.all_threads,
        }
    }
}

/// Runs `f` and returns its result with the allocations made while it ran.
///
/// # Panics
/// When [`CountingAlloc`] is not the global allocator (see [`Window::start`]).
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Allocs) {
    let w = Window::start();
    let r = f();
    let n = w.allocs();
    (r, n)
}

static EXCLUSIVE: Mutex<()> = Mutex::new(());

/// A process-wide lock for tests that measure [`Allocs::all_threads`]: hold it for the whole
/// test (the harness runs tests on parallel threads, and one test's setup would otherwise be
/// counted in another's window). A test that panicked while holding it does not block the
/// others.
pub fn exclusive() -> MutexGuard<'static, ()> {
    EXCLUSIVE.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The unit-test binary does not install `CountingAlloc`, so a window refuses to open.
    #[test]
    #[should_panic(expected = "is not the #[global_allocator]")]
    fn a_window_refuses_to_open_without_the_allocator() {
        assert!(!is_installed());
        let _ = Window::start();
    }
}
