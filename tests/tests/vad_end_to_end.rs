#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! decode → VAD end to end: `vad/wav48k/06_music_10dB_48k_stereo.flac` (the same signal as
//! `vad/wav/06_music_10dB.wav` at 48 kHz, two identical channels, same labels) decoded in 20 ms
//! frames and pushed as it comes into a `Vad` (which resamples and downmixes once). The
//! decisions must score like the 16 kHz file's and line up with the labels frame for frame.

use voxflow_core::AudioFrame;
use voxflow_decode::Decoder;
use voxflow_testkit::data::shared_data;
use voxflow_vad::eval::{Counts, read_labels, run_model};
use voxflow_vad::wav::read_wav;
use voxflow_vad::{ModelKind, Vad, VadConfig};

#[test]
fn decoded_48k_stereo_scores_like_the_16k_file() {
    let Some(vad_dir) = shared_data("vad") else {
        return;
    };
    let labels = read_labels(&vad_dir.join("labels/06_music_10dB.csv")).unwrap();

    // 48 kHz stereo FLAC, streamed.
    let mut dec = Decoder::open(vad_dir.join("wav48k/06_music_10dB_48k_stereo.flac")).unwrap();
    assert_eq!((dec.format().rate, dec.format().channels), (48_000, 2));
    let mut vad = Vad::new(VadConfig::new(dec.format())).unwrap();
    let mut frame = AudioFrame::with_capacity(dec.format(), dec.frame_len());
    let mut decided = Vec::with_capacity(labels.len() + 2);
    let mut pts_ok = true;
    while dec.next_frame(&mut frame).unwrap() {
        vad.process(&frame, |v, _| {
            // Result k starts at k × 10 ms on the input timeline (resampler delay removed).
            let k = decided.len() as i64;
            pts_ok &= (v.pts.as_secs_f64() - k as f64 * 0.01).abs() < 1e-6;
            decided.push(v.speech);
        })
        .unwrap();
    }
    vad.flush(|_, _| {}).unwrap();
    assert!(
        pts_ok,
        "pts of the 10 ms results drift from the input timeline"
    );
    assert!(
        decided.len() >= labels.len() - 1,
        "{} results",
        decided.len()
    );

    // The 16 kHz mono file through the same model.
    let w = read_wav(&vad_dir.join("wav/06_music_10dB.wav")).unwrap();
    let fmt16 = voxflow_core::AudioFormat::new(w.rate, w.channels).unwrap();
    let (_, d16, _) = run_model(fmt16, &w.samples, ModelKind::Voxflow, None).unwrap();

    let score = |d: &[bool]| {
        let mut c = Counts::default();
        for (t, s) in labels.iter().zip(d) {
            c.add(*t, *s);
        }
        c
    };
    let (c48, c16) = (score(&decided), score(&d16));
    let agree =
        decided.iter().zip(&d16).filter(|(a, b)| a == b).count() as f64 / labels.len() as f64;
    println!(
        "06 music: F1 48 kHz stereo (decoded) {:.3}, 16 kHz mono {:.3}; decisions agree on {:.1} % of frames",
        c48.f1(),
        c16.f1(),
        100.0 * agree
    );
    assert!((c48.f1() - c16.f1()).abs() <= 0.02);
    assert!(agree >= 0.97);
}
