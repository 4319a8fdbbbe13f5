//! `WavSink` allocates nothing per frame after the first. Its own test binary: the sink runs
//! on the test's thread, so the count is this thread's, and no pipeline test in the same
//! process can be disturbed by this one (or it by the test harness's own thread).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use voxflow_core::{AudioFormat, AudioFrame, AudioSink, MediaTime};
use voxflow_pipeline::sinks::{WavFormat, WavSink};
use voxflow_testkit::alloc::{CountingAlloc, Window};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// `WavSink` (hound underneath) into a real file: after the first frame, 1 000 frames (20 ms,
/// 48 kHz stereo) allocate nothing, in either sample format.
#[test]
fn wav_sink_writes_without_allocating_after_the_first_frame() {
    let f = AudioFormat::new(48_000, 2).unwrap();
    for sample in [WavFormat::Pcm16, WavFormat::Float32] {
        let path = std::env::temp_dir().join(format!(
            "voxflow-wav-alloc-{sample:?}-{}.wav",
            std::process::id()
        ));
        let mut wav = WavSink::create(&path, f, sample).unwrap();
        let mut frame = AudioFrame::with_capacity(f, 960);
        let fill = |frame: &mut AudioFrame, k: i64| {
            frame.reset(f);
            frame.set_frames(960).unwrap();
            for (i, s) in frame.samples_mut().iter_mut().enumerate() {
                *s = ((k as f32 + i as f32) * 0.01).sin() * 0.5;
            }
            frame.set_pts(MediaTime::new(k * 960, 48_000));
        };
        fill(&mut frame, 0);
        wav.write(&frame).unwrap(); // the first frame may size hound's sample buffer
        let window = Window::start();
        for k in 1..=1_000 {
            fill(&mut frame, k);
            wav.write(&frame).unwrap();
        }
        let allocs = window.allocs();
        wav.finish().unwrap();
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::remove_file(&path).unwrap();
        println!("{sample:?}: {allocs:?} over 1 000 frames");
        assert_eq!(allocs.this_thread, 0, "{sample:?}");
        let bytes_per_sample = if sample == WavFormat::Pcm16 { 2 } else { 4 };
        assert_eq!(wav.data_bytes(), 1_001 * 960 * 2 * bytes_per_sample);
        assert!(len > wav.data_bytes());
    }
}
