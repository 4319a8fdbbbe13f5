//! In-band FEC carries real audio: a packet recovered from the next one's FEC is much closer to
//! the lost audio than packet loss concealment is. (A decoder that fell back to PLC when asked for
//! FEC would make a jitter buffer count concealment as recovered audio.)
#![allow(clippy::unwrap_used)]

use voxflow_core::AudioFrame;
use voxflow_encode::{Backend, EncoderConfig, OpusDecoder, OpusEncoder};

/// A voiced, speech-like signal whose pitch glides (so concealment, which repeats the last
/// period, drifts away from it) and whose level changes per 20 ms.
fn signal(n: usize) -> Vec<f32> {
    let mut phase = 0.0f32;
    (0..n)
        .map(|i| {
            let t = i as f32 / 48_000.0;
            let f0 = 140.0 + 60.0 * (std::f32::consts::TAU * 1.7 * t).sin();
            phase += std::f32::consts::TAU * f0 / 48_000.0;
            let env = 0.5 + 0.4 * (std::f32::consts::TAU * 3.1 * t).sin();
            env * (0.3 * phase.sin() + 0.15 * (2.0 * phase).sin() + 0.08 * (3.0 * phase).sin())
        })
        .collect()
}

fn snr_db(reference: &[f32], test: &[f32]) -> f64 {
    let (mut s, mut e) = (0.0f64, 0.0f64);
    for (r, t) in reference.iter().zip(test) {
        s += f64::from(*r) * f64::from(*r);
        e += f64::from(r - t) * f64::from(r - t);
    }
    10.0 * (s / e.max(1e-12)).log10()
}

#[test]
fn fec_recovers_the_lost_packet_better_than_concealment() {
    for bitrate in [24_000, 32_000] {
        let mut cfg = EncoderConfig::voip(bitrate);
        cfg.fec = true;
        cfg.expected_loss_percent = 10;
        let mut enc = OpusEncoder::new(cfg).unwrap();
        let pcm = signal(960 * 60);
        let mut buf = vec![0u8; voxflow_encode::MAX_PACKET_BYTES];
        let packets: Vec<Vec<u8>> = pcm
            .chunks(960)
            .map(|c| {
                let n = enc.encode_interleaved(c, &mut buf).unwrap();
                buf[..n].to_vec()
            })
            .collect();
        let (mut fec_snr, mut plc_snr) = (vec![], vec![]);
        let mut out = AudioFrame::with_capacity(
            voxflow_core::AudioFormat {
                rate: 48_000,
                channels: 1,
            },
            5_760,
        );
        for lost in (10..55).step_by(5) {
            // Reference: the lost packet decoded normally after the same history.
            let run = |how: u8| {
                let mut dec = OpusDecoder::new(Backend::PureRust, 48_000, 1).unwrap();
                let mut o = AudioFrame::with_capacity(out.format(), 5_760);
                for p in &packets[..lost] {
                    dec.decode(p, &mut o).unwrap();
                }
                match how {
                    0 => dec.decode(&packets[lost], &mut o).unwrap(),
                    1 => dec
                        .decode_fec(&packets[lost + 1], Some(960), &mut o)
                        .unwrap(),
                    _ => dec.conceal(Some(960), &mut o).unwrap(),
                };
                o.samples().to_vec()
            };
            let truth = run(0);
            fec_snr.push(snr_db(&truth, &run(1)));
            plc_snr.push(snr_db(&truth, &run(2)));
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let (f, p) = (mean(&fec_snr), mean(&plc_snr));
        println!(
            "{bitrate} bit/s: FEC {f:.1} dB, PLC {p:.1} dB against the lost packet's own decode"
        );
        let _ = &mut out;
        assert!(
            f > p + 3.0,
            "FEC {f:.1} dB is not better than PLC {p:.1} dB"
        );
    }
}
