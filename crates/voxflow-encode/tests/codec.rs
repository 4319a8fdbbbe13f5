//! The Opus encoder/decoder, run for every compiled backend (`--features libopus` adds
//! libopus): settings matrix, errors, DTX, PacketStage, interop, quality and loss.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use voxflow_testkit::tools::have;

use std::time::Instant;

use common::{encode_all, fmt, metrics};
use voxflow_core::{AudioFrame, MediaTime, Packet, PacketStage, Trace};
use voxflow_encode::{
    Application, Backend, BitrateMode, EncoderConfig, Error, FrameDuration, OpusDecoder,
    OpusEncoder, is_dtx, parse_packet,
};

fn tone(rate: u32, ch: u16, frames: usize) -> Vec<f32> {
    (0..frames)
        .flat_map(|i| {
            let t = i as f32 / rate as f32;
            let v = 0.3 * (2.0 * std::f32::consts::PI * 440.0 * t).sin();
            std::iter::repeat_n(v, usize::from(ch))
        })
        .collect()
}

/// Fits the 440 Hz test tone to channel `c` of interleaved `pcm` after 100 ms of warm-up
/// (codec delay and start-up): returns its level relative to the input's 0.3 amplitude (dB)
/// and the fitted tone's energy over the residual's (dB).
fn tone_fit(pcm: &[f32], rate: u32, ch: u16, c: u16) -> (f64, f64) {
    let x: Vec<f64> = pcm
        .iter()
        .skip(usize::from(c))
        .step_by(usize::from(ch))
        .skip(rate as usize / 10)
        .map(|&v| f64::from(v))
        .collect();
    assert!(x.len() >= rate as usize / 10, "too little audio to fit");
    let w = std::f64::consts::TAU * 440.0 / f64::from(rate);
    // Least squares for a·sin + b·cos (the 2×2 normal equations).
    let (mut ss, mut cc, mut sc, mut xs, mut xc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let (si, co) = (w * i as f64).sin_cos();
        ss += si * si;
        cc += co * co;
        sc += si * co;
        xs += v * si;
        xc += v * co;
    }
    let det = ss * cc - sc * sc;
    let a = (xs * cc - xc * sc) / det;
    let b = (xc * ss - xs * sc) / det;
    let (mut fit, mut rest) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let (si, co) = (w * i as f64).sin_cos();
        let t = a * si + b * co;
        fit += t * t;
        rest += (v - t) * (v - t);
    }
    let level = 20.0 * ((a * a + b * b).sqrt() / 0.3).log10();
    (level, 10.0 * (fit / rest.max(1e-30)).log10())
}

/// Every rate × channels × application (each with a frame duration and bitrate mode) in
/// every backend: the packets have the configured duration, decode to whole frames, and carry
/// the tone: fitted after warm-up, its level is within ±4 dB of the input and ≥ 3 dB above
/// the residual (decoded silence or noise fails); one known opus-pure gap is asserted as such.
#[test]
fn settings_matrix_encodes_and_decodes_in_every_backend() {
    let (mut worst_level, mut worst_snr) = (0.0f64, f64::INFINITY);
    let durations = [
        FrameDuration::Ms2_5,
        FrameDuration::Ms5,
        FrameDuration::Ms10,
        FrameDuration::Ms20,
        FrameDuration::Ms40,
        FrameDuration::Ms60,
    ];
    for &backend in Backend::available() {
        for &rate in &[8_000u32, 12_000, 16_000, 24_000, 48_000] {
            for ch in [1u16, 2] {
                for (i, app) in [
                    Application::Voip,
                    Application::Audio,
                    Application::RestrictedLowDelay,
                ]
                .into_iter()
                .enumerate()
                {
                    let dur =
                        durations[(rate as usize / 4000 + usize::from(ch) + i) % durations.len()];
                    let cfg = EncoderConfig {
                        backend,
                        sample_rate: rate,
                        channels: ch,
                        application: app,
                        frame_duration: dur,
                        bitrate: 24_000,
                        bitrate_mode: [
                            BitrateMode::Vbr,
                            BitrateMode::ConstrainedVbr,
                            BitrateMode::Cbr,
                        ][i],
                        complexity: 5,
                        ..EncoderConfig::voip(24_000)
                    };
                    let fs = dur.frames_at(rate);
                    // At least 6 frames and 300 ms: 100 ms of warm-up, 200 ms to fit.
                    let frames = 6.max((rate as usize * 3 / 10).div_ceil(fs));
                    let pcm = tone(rate, ch, fs * frames);
                    let (pkts, _) = encode_all(cfg.clone(), &pcm);
                    let mut dec = OpusDecoder::new(backend, rate, ch).unwrap();
                    let mut out = AudioFrame::with_capacity(fmt(rate, ch), dec.max_frames());
                    let mut decoded = Vec::with_capacity(pcm.len() + 2 * fs);
                    for p in &pkts {
                        let info = parse_packet(p.data()).unwrap();
                        assert_eq!(info.samples_at(rate) as usize, fs, "{cfg:?}");
                        let n = dec.decode(p.data(), &mut out).unwrap();
                        assert_eq!(n, fs);
                        assert_eq!(out.frames(), fs);
                        decoded.extend_from_slice(out.samples());
                    }
                    // Known upstream gap (opus-pure 0.2.2, not voxflow's code): stereo at
                    // 8 kHz in 2.5 ms frames (RestrictedLowDelay, CBR) comes back ≈ 29 dB
                    // down (measured −29.8 / −28.2 dB; libopus: −1.0 dB). Asserted as a gap so
                    // a fix shows up here.
                    let known_gap = backend == Backend::PureRust
                        && (rate, ch, dur) == (8_000, 2, FrameDuration::Ms2_5);
                    for c in 0..ch {
                        let (level, snr) = tone_fit(&decoded, rate, ch, c);
                        if known_gap {
                            assert!(
                                level < -20.0,
                                "{cfg:?}: opus-pure gap fixed? {level:+.2} dB"
                            );
                            continue;
                        }
                        worst_level = worst_level.max(level.abs());
                        worst_snr = worst_snr.min(snr);
                        // Measured worst (2026-12-04, both backends, deterministic): level
                        // −3.37 dB (opus-pure, Audio 12 kHz stereo 2.5 ms, right channel),
                        // tone-to-rest 4.6 dB (same case; most cases 7–20 dB). Bounds: ±4 dB
                        // and ≥ 3 dB; decoded silence or noise is far outside both.
                        assert!(
                            level.abs() <= 4.0 && snr >= 3.0,
                            "{cfg:?} channel {c}: 440 Hz at {level:+.2} dB of the input, \
                             {snr:.1} dB above the rest"
                        );
                    }
                }
            }
        }
    }
    eprintln!("worst tone level error {worst_level:.2} dB, worst tone-to-rest {worst_snr:.1} dB");
}

#[test]
fn wrong_frames_are_typed_errors() {
    for &backend in Backend::available() {
        let mut enc = OpusEncoder::new(EncoderConfig {
            backend,
            ..EncoderConfig::voip(32_000)
        })
        .unwrap();
        let mut pkt = Packet::with_capacity(4000);
        let mut f = AudioFrame::with_capacity(fmt(44_100, 1), 2000);
        f.set_frames(882).unwrap();
        let e = enc.encode(&f, &mut pkt).unwrap_err();
        assert!(matches!(e, Error::FormatMismatch { .. }));
        assert!(e.to_string().contains("voxflow-resample"));
        let mut f = AudioFrame::with_capacity(fmt(48_000, 1), 2000);
        f.set_frames(1000).unwrap();
        let e = enc.encode(&f, &mut pkt).unwrap_err();
        assert!(matches!(
            e,
            Error::WrongFrameSize {
                expected: 960,
                actual: 1000,
                ..
            }
        ));
        assert!(e.to_string().contains("Reframer"));
        // a short frame ends the stream; another frame after it is an error
        f.set_frames(100).unwrap();
        enc.encode(&f, &mut pkt).unwrap();
        assert_eq!(pkt.duration, MediaTime::new(100, 48_000));
        f.set_frames(960).unwrap();
        assert!(matches!(
            enc.encode(&f, &mut pkt),
            Err(Error::WrongFrameSize {
                after_last: true,
                ..
            })
        ));
        let core: voxflow_core::Error = Error::FormatMismatch {
            expected: fmt(48_000, 1),
            actual: fmt(8_000, 1),
        }
        .into();
        assert!(core.is_skippable());
        assert!(
            OpusEncoder::new(EncoderConfig {
                sample_rate: 44_100,
                ..EncoderConfig::voip(32_000)
            })
            .is_err()
        );
        assert!(
            OpusEncoder::new(EncoderConfig {
                complexity: 11,
                ..EncoderConfig::voip(32_000)
            })
            .is_err()
        );
        // malformed packets to the decoder
        let mut dec = OpusDecoder::new(backend, 48_000, 1).unwrap();
        let mut out = AudioFrame::with_capacity(fmt(48_000, 1), dec.max_frames());
        assert!(matches!(
            dec.decode(&[], &mut out),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            dec.decode(&[0x0B, 0], &mut out),
            Err(Error::Malformed(_))
        ));
        let mut small = AudioFrame::with_capacity(fmt(48_000, 1), 100);
        assert!(matches!(
            dec.decode(&[0xF8, 1, 2], &mut small),
            Err(Error::OutputTooSmall { .. })
        ));
    }
    #[cfg(not(feature = "libopus"))]
    assert!(matches!(
        OpusEncoder::new(EncoderConfig {
            backend: Backend::Libopus,
            ..EncoderConfig::voip(32_000)
        }),
        Err(Error::BackendUnavailable { .. })
    ));
}

#[test]
fn dtx_sends_tiny_packets_in_silence() {
    for &backend in Backend::available() {
        let cfg = EncoderConfig {
            backend,
            dtx: true,
            ..EncoderConfig::voip(32_000)
        };
        let mut pcm = tone(48_000, 1, 48_000);
        pcm.extend(std::iter::repeat_n(0.0, 96_000));
        let (pkts, _) = encode_all(cfg, &pcm);
        let dtx = pkts[60..150].iter().filter(|p| is_dtx(p.data())).count();
        println!("{}: {dtx} of 90 silent frames were DTX", backend.name());
        assert!(
            dtx > 45,
            "{}: only {dtx} DTX packets in 1.8 s of silence",
            backend.name()
        );
        // the decoder handles DTX packets (1 byte) as concealment of the TOC's duration
        let mut dec = OpusDecoder::new(backend, 48_000, 1).unwrap();
        let mut out = AudioFrame::with_capacity(fmt(48_000, 1), dec.max_frames());
        for p in &pkts {
            assert_eq!(dec.decode(p.data(), &mut out).unwrap(), 960);
        }
    }
}

#[test]
fn packet_stage_carries_pts_duration_and_trace() {
    let mut enc: Box<dyn PacketStage<Input = AudioFrame, Output = Packet>> =
        Box::new(OpusEncoder::voip(32_000).unwrap());
    let now = Instant::now();
    let mut f = AudioFrame::with_capacity(fmt(48_000, 1), 960);
    f.extend_from_interleaved(&tone(48_000, 1, 960)).unwrap();
    f.set_pts(MediaTime::new(960 * 7, 48_000));
    let mut tr = Trace::starting_at(now);
    tr.stamp("decode", now);
    f.set_trace(tr);
    let mut out = Packet::with_capacity(4000);
    enc.push(&f, now).unwrap();
    assert!(enc.poll(&mut out, now).unwrap());
    assert!(!enc.poll(&mut out, now).unwrap());
    assert_eq!(out.pts, MediaTime::new(960 * 7, 48_000));
    assert_eq!(out.duration, MediaTime::from_millis(20));
    assert_eq!(out.trace, tr);
    enc.finish(now).unwrap();
    let mut flushed = 0;
    while enc.poll(&mut out, now).unwrap() {
        flushed += 1;
        assert!(out.duration.is_zero());
    }
    assert_eq!(
        flushed, 1,
        "one flush frame covers the 312-sample lookahead"
    );
}

#[test]
fn steady_state_does_not_reallocate_packet_buffers() {
    let mut enc = OpusEncoder::voip(32_000).unwrap();
    let mut pkt = Packet::with_capacity(voxflow_encode::MAX_PACKET_BYTES);
    let ptr = pkt.data().as_ptr();
    let mut f = AudioFrame::with_capacity(fmt(48_000, 1), 960);
    let mut dec = OpusDecoder::new(Backend::PureRust, 48_000, 1).unwrap();
    let mut out = AudioFrame::with_capacity(fmt(48_000, 1), dec.max_frames());
    let optr = out.samples().as_ptr();
    for i in 0..50 {
        f.clear();
        f.extend_from_interleaved(&tone(48_000, 1, 960 * (i + 1))[960 * i..])
            .unwrap();
        enc.encode(&f, &mut pkt).unwrap();
        dec.decode(pkt.data(), &mut out).unwrap();
        assert_eq!(pkt.data().as_ptr(), ptr);
        assert_eq!(out.samples().as_ptr(), optr);
    }
}

/// Decodes with a loss mask: `fec` recovers a lost packet from the next one.
fn decode_lossy(backend: Backend, pkts: &[Packet], lost: &[bool], fec: bool) -> Vec<f32> {
    let mut dec = OpusDecoder::new(backend, 48_000, 1).unwrap();
    let mut out = AudioFrame::with_capacity(fmt(48_000, 1), dec.max_frames());
    let mut pcm = Vec::new();
    for i in 0..pkts.len() {
        if lost[i] {
            match pkts.get(i + 1).filter(|_| fec && !lost[i + 1]) {
                Some(next) => dec.decode_fec(next.data(), Some(960), &mut out).unwrap(),
                None => dec.conceal(Some(960), &mut out).unwrap(),
            };
        } else {
            dec.decode(pkts[i].data(), &mut out).unwrap();
        }
        pcm.extend_from_slice(out.samples());
    }
    pcm
}

/// Round trip on real speech at 32 kbps: spectrum within the documented bound, no worse than
/// opusenc at the same settings (LSD, see tests/common/metrics.rs), and cross-backend interop.
#[test]
fn speech_quality_and_interop() {
    let Some(pcm) = common::speech_48k(1) else {
        return;
    };
    for &backend in Backend::available() {
        let cfg = EncoderConfig {
            backend,
            ..EncoderConfig::voip(32_000)
        };
        let (pkts, enc) = encode_all(cfg, &pcm);
        let la = enc.lookahead();
        for &dec_backend in Backend::available() {
            let out = decode_lossy(dec_backend, &pkts, &vec![false; pkts.len()], false);
            let lsd = metrics::lsd(&pcm, &out[la..]);
            println!(
                "encode {} → decode {}: LSD {lsd:.2} dB (lookahead {la})",
                backend.name(),
                dec_backend.name()
            );
            assert!(lsd < 7.0, "LSD {lsd:.2} dB exceeds the 7 dB bound");
        }
        let out = decode_lossy(backend, &pkts, &vec![false; pkts.len()], false);
        let ours = metrics::lsd(&pcm, &out[la..]);
        let bytes: usize = pkts.iter().map(Packet::len).sum();
        println!(
            "{}: {:.1} kbit/s, LSD {ours:.2} dB",
            backend.name(),
            bytes as f64 * 8.0 / 10.0 / 1000.0
        );
        if let Some(theirs) = opusenc_lsd(&pcm) {
            println!("opusenc --bitrate 32 --comp 10 --framesize 20: LSD {theirs:.2} dB");
            assert!(
                ours <= theirs * 1.10 + 0.1,
                "ours {ours:.2} dB vs opusenc {theirs:.2} dB"
            );
        }
    }
}

/// Encodes the same speech with opusenc (VoIP-equivalent settings) and measures its LSD.
fn opusenc_lsd(pcm: &[f32]) -> Option<f64> {
    if !have("opusenc") || !have("opusdec") {
        return None;
    }
    let wav = common::tmp("q_in.wav");
    let raw = common::tmp("q_in.f32");
    std::fs::write(
        &raw,
        pcm.iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let st = std::process::Command::new("ffmpeg")
        .args([
            "-v", "error", "-y", "-f", "f32le", "-ar", "48000", "-ac", "1", "-i",
        ])
        .arg(&raw)
        .arg(&wav)
        .status()
        .ok()?;
    assert!(st.success());
    let opus = common::tmp("q.opus");
    let st = std::process::Command::new("opusenc")
        .args([
            "--quiet",
            "--bitrate",
            "32",
            "--comp",
            "10",
            "--framesize",
            "20",
            "--speech",
        ])
        .arg(&wav)
        .arg(&opus)
        .status()
        .ok()?;
    assert!(st.success());
    let dec = common::tmp("q_dec.wav");
    let st = std::process::Command::new("opusdec")
        .args(["--quiet", "--float"])
        .arg(&opus)
        .arg(&dec)
        .status()
        .ok()?;
    assert!(st.success());
    let out = common::ffmpeg_pcm(&dec, 48_000, 1);
    Some(metrics::lsd(pcm, &out))
}

/// 10 % seeded loss: FEC must rebuild the lost frames measurably better than PLC alone.
#[test]
fn fec_recovers_better_than_plc() {
    let Some(pcm) = common::speech_48k(1) else {
        return;
    };
    for &backend in Backend::available() {
        let cfg = EncoderConfig {
            backend,
            fec: true,
            expected_loss_percent: 10,
            ..EncoderConfig::voip(32_000)
        };
        let (pkts, enc) = encode_all(cfg, &pcm);
        let la = enc.lookahead();
        let lost = common::loss_mask(pkts.len(), 0x5EED);
        let idx: Vec<usize> = lost
            .iter()
            .enumerate()
            .filter(|(_, l)| **l)
            .map(|(i, _)| i)
            .collect();
        let clean = decode_lossy(backend, &pkts, &vec![false; pkts.len()], false);
        let plc = decode_lossy(backend, &pkts, &lost, false);
        let fec = decode_lossy(backend, &pkts, &lost, true);
        // The lost frames sit `la` samples later in the decoded output; compare there.
        let l_clean = metrics::lsd_frames(&pcm, &clean[la..], &idx);
        let l_plc = metrics::lsd_frames(&pcm, &plc[la..], &idx);
        let l_fec = metrics::lsd_frames(&pcm, &fec[la..], &idx);
        let s_plc = metrics::seg_snr(&clean, &plc);
        let s_fec = metrics::seg_snr(&clean, &fec);
        println!(
            "{}: {} of {} packets lost; lost-frame LSD vs input: no loss {l_clean:.2}, PLC {l_plc:.2}, FEC {l_fec:.2} dB; \
             segSNR vs loss-free decode: PLC {s_plc:.2}, FEC {s_fec:.2} dB",
            backend.name(),
            idx.len(),
            pkts.len()
        );
        assert!(
            l_fec + 0.3 < l_plc,
            "FEC {l_fec:.2} dB is not better than PLC {l_plc:.2} dB"
        );
        assert!(
            s_fec > s_plc + 1.0,
            "FEC segSNR {s_fec:.2} not better than PLC {s_plc:.2}"
        );
    }
}
