//! Zero heap allocations per frame in steady state for decode(WAV) → resample → ring → sink,
//! counted by a global allocator across every thread of the process.
//!
//! The main thread only reads atomics and sleeps while it measures, so every allocation counted
//! in the window comes from the pipeline's threads. The counter is process-wide, so the tests
//! take [`SERIAL`] to run one at a time (the test harness runs them on parallel threads, and
//! one test's setup would otherwise be counted in the other's window).
#![allow(unsafe_code)] // the counting allocator; the one measured need for `unsafe`
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use voxflow_decode::testing::{WavEncoding, wav_bytes};
use voxflow_decode::{Decoder, DecoderConfig, Preloaded};
use voxflow_pipeline::sinks::NullSink;
use voxflow_pipeline::{Link, Overflow, Pipeline};
use voxflow_resample::{FrameSize, Preset, Resampler, ResamplerConfig};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to the system allocator with the caller's arguments unchanged;
// the only addition is a relaxed atomic increment, which cannot allocate or unwind.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Held by each test for its whole run: one measurement in the process at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    // A test that failed while holding the lock poisons it; the others still run.
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// 60 s of a 44.1 kHz stereo test signal as an in-memory WAV.
fn wav(enc: WavEncoding) -> Arc<[u8]> {
    let rate = 44_100;
    let n = rate as usize * 60;
    let mut s = Vec::with_capacity(n * 2);
    for i in 0..n {
        let t = i as f32 / rate as f32;
        s.push(0.4 * (2.0 * std::f32::consts::PI * 440.0 * t).sin());
        s.push(0.3 * (2.0 * std::f32::consts::PI * 1234.5 * t).sin());
    }
    Arc::from(wav_bytes(enc, rate, 2, &s))
}

/// Runs the pipeline and returns (frames delivered in the window, allocations in the window).
fn measure(decoder: Decoder, preset: Preset, out_rate: u32, window: u64) -> (u64, u64) {
    let input = decoder.format();
    let output = voxflow_core::AudioFormat::new(out_rate, 2).unwrap();
    let cfg = ResamplerConfig::new(input, output)
        .preset(preset)
        .frame(FrameSize::Duration(Duration::from_millis(20)))
        .max_input_frames(decoder.frame_len());
    let running = Pipeline::builder()
        .source(decoder)
        .stage(Resampler::new(cfg).unwrap())
        .boundary(Link::ring(8).with_overflow(Overflow::Block))
        .sink(NullSink::new())
        .spawn()
        .unwrap();
    let link = Arc::clone(&running.links()[0]);
    let deadline = Instant::now() + Duration::from_secs(120);
    let wait_for = |n: u64| {
        while link.delivered() < n {
            assert!(Instant::now() < deadline, "pipeline stalled");
            std::thread::sleep(Duration::from_micros(200));
        }
    };
    // Warm-up: the first frames may size internal buffers (decoder packets, FFT plans).
    wait_for(100);
    let (a0, d0) = (ALLOCS.load(Ordering::SeqCst), link.delivered());
    wait_for(d0 + window);
    let (a1, d1) = (ALLOCS.load(Ordering::SeqCst), link.delivered());
    let report = running.wait().unwrap();
    assert_eq!(report.dropped(), 0);
    (d1 - d0, a1 - a0)
}

#[test]
fn decode_wav_resample_ring_sink_allocates_nothing_per_frame() {
    let _serial = serial();
    for enc in [WavEncoding::S16, WavEncoding::S24, WavEncoding::F32] {
        for (preset, rate) in [
            (Preset::High, 48_000),
            (Preset::Balanced, 16_000),
            (Preset::LowLatency, 48_000),
        ] {
            let bytes = Preloaded::from_bytes(wav(enc), Some("wav"));
            let decoder = bytes.decoder(DecoderConfig::default()).unwrap();
            let (frames, allocs) = measure(decoder, preset, rate, 1_500);
            println!("{enc:?} {preset:?} → {rate} Hz: {allocs} allocations over {frames} frames");
            assert!(frames >= 1_500);
            assert_eq!(
                allocs, 0,
                "{enc:?} {preset:?}: {allocs} heap allocations in {frames} steady-state frames"
            );
        }
    }
}

#[test]
fn decode_real_wav_file_allocates_nothing_per_frame() {
    let _serial = serial();
    let Some(data) = voxflow_tests::shared_data() else {
        return;
    };
    // A real file read through the filesystem (not preloaded): 10 s, 500 frames of 20 ms.
    let decoder = Decoder::open(data.join("media/speech_44k1_stereo_10s.wav")).unwrap();
    let (frames, allocs) = measure(decoder, Preset::High, 48_000, 350);
    println!("file: {allocs} allocations over {frames} frames");
    assert!(frames >= 350);
    assert_eq!(allocs, 0);
}

/// Opus (Ogg) in the decoder alone, on this thread: our side (voxflow-encode's decoder, the
/// sample ring) allocates nothing, but symphonia's Ogg demuxer hands each packet over as a
/// freshly allocated `Box<[u8]>`, so the count is about one allocation per 20 ms packet.
#[test]
fn decode_ogg_opus_allocates_only_symphonias_packets() {
    let _serial = serial();
    let Some(data) = voxflow_tests::shared_data() else {
        return;
    };
    let pre = Preloaded::read(data.join("media/speech_48k_stereo.opus")).unwrap();
    let mut dec = pre.decoder(DecoderConfig::default()).unwrap();
    let mut frame = voxflow_core::AudioFrame::with_capacity(dec.format(), dec.frame_len());
    for _ in 0..100 {
        assert!(dec.next_frame(&mut frame).unwrap());
    }
    let (packets0, frames) = (dec.stats().packets_decoded, 1_500u64);
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..frames {
        assert!(dec.next_frame(&mut frame).unwrap());
    }
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    let packets = dec.stats().packets_decoded - packets0;
    println!(
        "ogg opus: {allocs} allocations over {frames} frames of 20 ms ({packets} packets): \
         {:.2} per packet",
        allocs as f64 / packets as f64
    );
    assert!(
        allocs <= 2 * packets,
        "{allocs} allocations for {packets} packets"
    );
}
