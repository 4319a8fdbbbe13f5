//! Streaming behaviour: sample counts across random frame sizes, remix gains, traces, errors.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

mod common;
use common::*;
use proptest::prelude::*;
use std::time::{Duration, Instant};
use voxflow_core::{AudioFormat, AudioFrame, AudioStage, MediaTime};
use voxflow_resample::{Engine, FrameSize, Preset, Remix, Resampler, ResamplerConfig, remix_gains};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn samples_out_match_samples_in(
        sizes in proptest::collection::vec(1usize..700, 1..12),
        n in 0usize..6000,
        pair in 0usize..7,
        preset in 0usize..3,
        frame in 1usize..700,
    ) {
        let pairs = [(44_100, 48_000), (48_000, 16_000), (16_000, 48_000), (8_000, 48_000),
                     (48_000, 44_100), (7_999, 22_050), (32_000, 32_000)];
        let (fin, fout) = pairs[pair];
        let preset = [Preset::LowLatency, Preset::Balanced, Preset::High][preset];
        let mut rs = Resampler::new(
            ResamplerConfig::new(fmt(fin, 2), fmt(fout, 2))
                .preset(preset)
                .frame(FrameSize::Frames(frame))
                .max_input_frames(700),
        ).unwrap();
        let x: Vec<f32> = (0..n * 2).map(|i| (i as f32 * 0.01).sin() * 0.3).collect();
        let r = run(&mut rs, &x, &sizes, MediaTime::ZERO);
        let want = (n as f64 * f64::from(fout) / f64::from(fin)).round() as usize;
        prop_assert_eq!(r.samples.len(), want * 2);
        let mut at = 0i64;
        for (i, (pts, len)) in r.frames.iter().enumerate() {
            prop_assert_eq!(pts.rescale(fout).ticks(), at);
            if i + 1 < r.frames.len() {
                prop_assert_eq!(*len, frame);
            } else {
                prop_assert!(*len >= 1 && *len <= frame);
            }
            at += *len as i64;
        }
    }
}

/// Constant channel values settle to `matrix × input` after any resampling.
fn settled_mix(fin: u32, fout: u32, from: u16, to: u16, values: &[f32], remix: Remix) -> Vec<f32> {
    let mut rs =
        Resampler::new(ResamplerConfig::new(fmt(fin, from), fmt(fout, to)).remix(remix)).unwrap();
    let frames = fin as usize / 5;
    let x: Vec<f32> = (0..frames).flat_map(|_| values.iter().copied()).collect();
    let y = run(&mut rs, &x, &[480], MediaTime::ZERO).samples;
    let n = y.len() / usize::from(to);
    let mid = n / 2 * usize::from(to);
    y[mid..mid + usize::from(to)].to_vec()
}

#[test]
fn remix_gains_hold_through_the_stage() {
    let cases: [(u16, u16, &[f32]); 6] = [
        (2, 1, &[0.2, 0.6]),
        (1, 2, &[0.3]),
        (6, 2, &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
        (6, 1, &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
        (3, 2, &[0.1, 0.2, 0.4]),
        (2, 3, &[0.1, 0.2]),
    ];
    for (fin, fout) in [(48_000, 16_000), (16_000, 48_000), (48_000, 48_000)] {
        for (from, to, v) in cases {
            let g = remix_gains(from, to);
            let got = settled_mix(fin, fout, from, to, v, Remix::Auto);
            for (o, &y) in got.iter().enumerate() {
                let want: f32 = (0..usize::from(from))
                    .map(|i| g[o * usize::from(from) + i] * v[i])
                    .sum();
                assert!(
                    (y - want).abs() < 1e-4,
                    "{fin}->{fout} {from}->{to} ch {o}: {y} vs {want}"
                );
            }
        }
    }
    // Documented values.
    let m = settled_mix(48_000, 16_000, 2, 1, &[0.2, 0.6], Remix::Auto);
    assert!((m[0] - 0.4).abs() < 1e-4);
    let s = settled_mix(16_000, 48_000, 1, 2, &[0.3], Remix::Auto);
    assert!((s[0] - 0.3).abs() < 1e-4 && (s[1] - 0.3).abs() < 1e-4);
    let c = settled_mix(
        48_000,
        48_000,
        2,
        2,
        &[0.1, 0.7],
        Remix::Matrix(vec![0.0, 1.0, 1.0, 0.0]),
    );
    assert!((c[0] - 0.7).abs() < 1e-6 && (c[1] - 0.1).abs() < 1e-6);
}

#[test]
fn passthrough_only_reframes() {
    let f = fmt(48_000, 2);
    let mut rs = Resampler::new(
        ResamplerConfig::new(f, f).frame(FrameSize::Duration(Duration::from_millis(10))),
    )
    .unwrap();
    assert!(rs.is_passthrough());
    assert_eq!(rs.engine(), Engine::Passthrough);
    assert_eq!(rs.delay(), MediaTime::ZERO);
    let x: Vec<f32> = (0..2 * 1234).map(|i| i as f32).collect();
    let r = run(&mut rs, &x, &[333], MediaTime::new(96_000, 48_000));
    assert_eq!(r.samples, x);
    assert_eq!(r.frames[0], (MediaTime::new(2, 1), 480));
    assert_eq!(r.frames.last().map(|f| f.1), Some(1234 - 960));
}

#[test]
fn passthrough_of_whole_frames_copies_once() {
    // Equal formats and equal frame sizes: each frame is copied once (into the stage) and handed
    // out by swapping buffers, so the output buffers alternate between two allocations instead of
    // being filled by a second copy.
    let f = fmt(48_000, 2);
    let mut rs = Resampler::new(ResamplerConfig::new(f, f).max_input_frames(960)).unwrap();
    let mut out = AudioFrame::with_capacity(f, rs.max_output_frames());
    let mut seen = std::collections::HashSet::new();
    for i in 0..6i64 {
        let data: Vec<f32> = (0..1920).map(|k| (i * 1920 + k) as f32).collect();
        let frame =
            AudioFrame::from_interleaved(f, data.clone(), MediaTime::new(960 * i, 48_000)).unwrap();
        rs.push(&frame).unwrap();
        assert_eq!(rs.input_frames_next(), 0);
        assert!(rs.poll(&mut out).unwrap());
        assert_eq!(out.samples(), &data[..]);
        assert_eq!(out.pts(), MediaTime::new(960 * i, 48_000));
        seen.insert(out.samples().as_ptr() as usize);
        assert!(!rs.poll(&mut out).unwrap());
    }
    assert_eq!(seen.len(), 2, "buffers are swapped, not refilled");
}

#[test]
fn output_frames_carry_the_oldest_input_trace() {
    let (fin, fout) = (16_000, 48_000);
    let mut rs = Resampler::new(
        ResamplerConfig::new(fmt(fin, 1), fmt(fout, 1))
            .frame(FrameSize::Duration(Duration::from_millis(10))),
    )
    .unwrap();
    let t0 = Instant::now();
    let mut out = AudioFrame::with_capacity(rs.output_format(), rs.max_output_frames());
    let mut checked = 0;
    // 7 ms inputs (112 frames), 10 ms outputs.
    for i in 0..40u64 {
        let mut f = AudioFrame::with_capacity(rs.input_format(), 112);
        f.extend_from_interleaved(&[0.1; 112]).unwrap();
        f.set_pts(MediaTime::new(112 * i as i64, fin));
        f.trace_mut().restart(t0 + Duration::from_millis(i));
        rs.push(&f).unwrap();
        while rs.poll(&mut out).unwrap() {
            let start_in = out.pts().rescale(fin).ticks() as u64;
            let input = start_in / 112;
            assert_eq!(
                out.trace().origin(),
                Some(t0 + Duration::from_millis(input))
            );
            checked += 1;
        }
    }
    assert!(checked > 20);
}

#[test]
fn errors_leave_the_stage_usable() {
    let inf = fmt(44_100, 2);
    let mut rs =
        Resampler::new(ResamplerConfig::new(inf, fmt(48_000, 1)).max_input_frames(441)).unwrap();
    let wrong =
        AudioFrame::from_interleaved(fmt(48_000, 2), vec![0.0; 4], MediaTime::ZERO).unwrap();
    assert!(matches!(
        rs.push(&wrong),
        Err(voxflow_core::Error::FormatMismatch { .. })
    ));
    let big = AudioFrame::from_interleaved(inf, vec![0.0; 2 * 442], MediaTime::ZERO).unwrap();
    assert!(matches!(
        rs.push(&big),
        Err(voxflow_core::Error::FrameTooLarge { .. })
    ));
    // Not draining: pushes fail once the buffer is full, without losing state.
    let ok = AudioFrame::from_interleaved(inf, vec![0.25; 2 * 441], MediaTime::ZERO).unwrap();
    let mut pushed = 0;
    while rs.push(&ok).is_ok() {
        pushed += 1;
        assert!(pushed < 100);
    }
    let mut out = AudioFrame::with_capacity(rs.output_format(), rs.max_output_frames());
    let mut got = 0;
    while rs.poll(&mut out).unwrap() {
        got += out.frames();
    }
    // A too-small output frame is refused with a typed error naming both sizes, not grown,
    // and the refused output stays in the stage for the next poll with a big enough frame.
    let mut small = AudioFrame::with_capacity(rs.output_format(), 1);
    let err = loop {
        rs.push(&ok).unwrap();
        pushed += 1;
        match rs.poll(&mut small) {
            Ok(false) => assert!(pushed < 200, "no output frame became ready"),
            Ok(true) => panic!("a 1-frame buffer took a whole output frame"),
            Err(e) => break e,
        }
    };
    let frames = match err {
        voxflow_core::Error::FrameTooLarge { max_frames, frames } => {
            assert_eq!(max_frames, 1);
            frames
        }
        e => panic!("expected FrameTooLarge, got {e:?}"),
    };
    assert!(frames > 1 && frames <= rs.max_output_frames());
    assert_eq!(small.capacity_frames(), 1, "the small frame was grown");
    assert!(small.is_empty());
    assert!(
        rs.poll(&mut out).unwrap(),
        "the refused frame is still there"
    );
    assert_eq!(out.frames(), frames);
    got += frames;
    rs.finish().unwrap();
    assert!(matches!(
        rs.push(&ok),
        Err(voxflow_core::Error::Stage { .. })
    ));
    while rs.poll(&mut out).unwrap() {
        got += out.frames();
    }
    assert_eq!(
        got,
        (pushed as f64 * 441.0 * 48_000.0 / 44_100.0).round() as usize
    );
    rs.reset();
    rs.push(&ok).unwrap();
}

#[test]
fn bad_configs_are_refused() {
    let a = fmt(48_000, 2);
    let bad = AudioFormat {
        rate: 0,
        channels: 2,
    };
    assert!(Resampler::new(ResamplerConfig::new(bad, a)).is_err());
    assert!(Resampler::new(ResamplerConfig::new(a, a).frame(FrameSize::Frames(0))).is_err());
    assert!(Resampler::new(ResamplerConfig::new(a, a).max_input_frames(0)).is_err());
    assert!(
        Resampler::new(ResamplerConfig::new(a, fmt(16_000, 1)).remix(Remix::Matrix(vec![1.0])))
            .is_err()
    );
}

#[test]
fn odd_rates_work() {
    for (fin, fout) in [
        (11_025, 22_050),
        (88_200, 96_000),
        (176_400, 192_000),
        (192_000, 8_000),
        (7_999, 44_100),
        (44_100, 7_999),
    ] {
        for preset in PRESETS {
            let x = sine(fin, 300.0, 0.5, fin as usize / 10);
            let mut rs = resampler(fin, fout, 1, preset);
            let y = run(&mut rs, &x, &[1000], MediaTime::ZERO).samples;
            assert_eq!(
                y.len(),
                (x.len() as f64 * f64::from(fout) / f64::from(fin)).round() as usize
            );
            let (a, _) = fit(middle(&y), 300.0, f64::from(fout));
            assert!(db(a / 0.5).abs() < 0.1, "{preset:?} {fin}->{fout}: {a}");
        }
    }
}

#[test]
fn stage_is_send_and_object_safe() {
    let rs = resampler(44_100, 48_000, 2, Preset::Balanced);
    let boxed: Box<dyn AudioStage> = Box::new(rs);
    std::thread::spawn(move || assert_eq!(boxed.name(), "resample"))
        .join()
        .unwrap();
}
