#![allow(clippy::unwrap_used, missing_docs)]
//! `SampleFifo` and the `Reframer` built on it allocate nothing after construction (counted on
//! this thread with voxflow-testkit's allocator).

use voxflow_core::{AudioFormat, AudioFrame, AudioStage, MediaTime, Reframer, SampleFifo};
use voxflow_testkit::alloc::{CountingAlloc, measure};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[test]
fn sample_fifo_and_reframer_do_not_allocate() {
    let mut fifo = SampleFifo::new(2, 1_000);
    let input: Vec<f32> = (0..2 * 310).map(|i| i as f32).collect();
    let mut out = vec![0.0f32; 2 * 250];
    let ((), allocs) = measure(|| {
        for k in 0..1_000 {
            let n = 1 + k % 300;
            if fifo.free_frames() < n + 3 {
                // A refused push changes nothing; make room and push again.
                assert!(fifo.push(&input[..2 * fifo.free_frames() + 2]).is_err());
                fifo.consume(n + 3);
            }
            fifo.push(&input[..2 * n]).unwrap();
            let slot = fifo.spare_mut(3).unwrap();
            slot.fill(1.0);
            fifo.commit(2).unwrap();
            let _ = fifo.read(&mut out[..2 * (k % 250)]);
            assert!(fifo.frames() <= fifo.capacity_frames());
        }
    });
    assert_eq!(allocs.this_thread, 0, "SampleFifo allocated");

    let fmt = AudioFormat::new(48_000, 2).unwrap();
    let mut r = Reframer::new(fmt, 480, 1_024);
    let mut frame = AudioFrame::with_capacity(fmt, 1_024);
    let mut out = AudioFrame::with_capacity(fmt, 480);
    let mut emitted = 0usize;
    let ((), allocs) = measure(|| {
        for k in 0..500usize {
            let n = 1 + (k * 37) % 1_024;
            frame.reset(fmt);
            frame.set_frames(n).unwrap();
            frame.samples_mut().fill(k as f32);
            frame.set_pts(MediaTime::new(k as i64, 48_000));
            r.push(&frame).unwrap();
            while r.poll(&mut out).unwrap() {
                emitted += out.frames();
            }
        }
    });
    assert_eq!(allocs.this_thread, 0, "Reframer allocated");
    assert!(emitted > 100_000);
}
