//! `-` for stdin/stdout in `decode`, `resample` and `encode`, and the WAV sample format
//! `resample` writes (`--bits`, float kept as float).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::needless_range_loop)] // small dense linear algebra below

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use voxflow_encode::{Backend, OggOpusReader, OpusDecoder};

/// Runs `voxflow ARGS` with `stdin` piped in; fails the test if it fails.
fn voxflow_piped(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_voxflow"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run voxflow");
    let mut input = child.stdin.take().unwrap();
    let bytes = stdin.to_vec();
    // Written from another thread: the child fills stdout while we feed stdin.
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&bytes); // the child may stop reading early
    });
    let out = child.wait_with_output().expect("wait for voxflow");
    feeder.join().unwrap();
    assert!(
        out.status.success(),
        "voxflow {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("voxflow-stdio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A canonical WAV: tag 1 (16-bit PCM) or 3 (32-bit float).
fn wav_bytes(rate: u32, channels: u16, float: bool, data: &[u8]) -> Vec<u8> {
    let (tag, bits): (u16, u16) = if float { (3, 32) } else { (1, 16) };
    let block = channels * bits / 8;
    let mut h = Vec::new();
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&tag.to_le_bytes());
    h.extend_from_slice(&channels.to_le_bytes());
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
    h.extend_from_slice(&block.to_le_bytes());
    h.extend_from_slice(&bits.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&(data.len() as u32).to_le_bytes());
    h.extend_from_slice(data);
    h
}

/// What a WAV file says: format tag, channels, rate, bits, the declared `data` size and the
/// data (to the end of the input when the declared size runs past it, as on a pipe).
struct Wav {
    tag: u16,
    channels: u16,
    rate: u32,
    bits: u16,
    declared: u32,
    data: Vec<u8>,
}

fn parse_wav(b: &[u8]) -> Wav {
    assert_eq!(&b[0..4], b"RIFF");
    assert_eq!(&b[8..12], b"WAVE");
    let mut at = 12;
    let (mut tag, mut channels, mut rate, mut bits) = (0, 0, 0, 0);
    loop {
        let id = &b[at..at + 4];
        let len = u32::from_le_bytes(b[at + 4..at + 8].try_into().unwrap());
        let body = at + 8;
        if id == b"fmt " {
            tag = u16::from_le_bytes([b[body], b[body + 1]]);
            channels = u16::from_le_bytes([b[body + 2], b[body + 3]]);
            rate = u32::from_le_bytes(b[body + 4..body + 8].try_into().unwrap());
            bits = u16::from_le_bytes([b[body + 14], b[body + 15]]);
        } else if id == b"data" {
            let end = body.saturating_add(len as usize).min(b.len());
            return Wav {
                tag,
                channels,
                rate,
                bits,
                declared: len,
                data: b[body..end].to_vec(),
            };
        }
        at = body + len as usize + (len as usize & 1);
    }
}

fn f32s(data: &[u8]) -> Vec<f32> {
    data.chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// THD+N of a sine of `freq` Hz in dB: everything that is not the least-squares fitted tone
/// (amplitude, phase and DC), relative to the tone.
fn thd_n_db(x: &[f32], rate: u32, freq: f64) -> f64 {
    let w = std::f64::consts::TAU * freq / f64::from(rate);
    let basis = |n: usize| [(w * n as f64).sin(), (w * n as f64).cos(), 1.0];
    let (mut ata, mut atb) = ([[0.0f64; 3]; 3], [0.0f64; 3]);
    for (n, &v) in x.iter().enumerate() {
        let b = basis(n);
        for i in 0..3 {
            for j in 0..3 {
                ata[i][j] += b[i] * b[j];
            }
            atb[i] += b[i] * f64::from(v);
        }
    }
    // Solve the 3×3 normal equations (Gaussian elimination; the matrix is well conditioned).
    let mut m = [[0.0f64; 4]; 3];
    for i in 0..3 {
        m[i][..3].copy_from_slice(&ata[i]);
        m[i][3] = atb[i];
    }
    for c in 0..3 {
        for r in c + 1..3 {
            let k = m[r][c] / m[c][c];
            for j in c..4 {
                m[r][j] -= k * m[c][j];
            }
        }
    }
    let mut coef = [0.0f64; 3];
    for i in (0..3).rev() {
        let s: f64 = (i + 1..3).map(|j| m[i][j] * coef[j]).sum();
        coef[i] = (m[i][3] - s) / m[i][i];
    }
    let (mut tone, mut rest) = (0.0, 0.0);
    for (n, &v) in x.iter().enumerate() {
        let b = basis(n);
        let t = coef[0] * b[0] + coef[1] * b[1];
        tone += t * t;
        let r = f64::from(v) - t - coef[2];
        rest += r * r;
    }
    10.0 * (rest / tone).log10()
}

/// 2 s of a 1 kHz tone at -6 dBFS, 44.1 kHz mono, as a 32-bit float WAV.
fn float_tone_wav() -> Vec<u8> {
    let data: Vec<u8> = (0..88_200)
        .flat_map(|n| {
            let v = 0.5 * (std::f64::consts::TAU * 1000.0 * n as f64 / 44_100.0).sin();
            (v as f32).to_le_bytes()
        })
        .collect();
    wav_bytes(44_100, 1, true, &data)
}

#[test]
fn decode_stdin_to_stdout_round_trips_16_bit_samples() {
    // 1.5 s of 44.1 kHz stereo: a chirp left, a ramp right, full scale included.
    let data: Vec<u8> = (0..66_150u32)
        .flat_map(|n| {
            let l = (20_000.0 * (n as f64 * n as f64 * 1e-6).sin()) as i16;
            let r = (n % 65_536) as u16 as i16;
            [l.to_le_bytes(), r.to_le_bytes()].concat()
        })
        .collect();
    let input = wav_bytes(44_100, 2, false, &data);
    let out = voxflow_piped(&["decode", "-", "-o", "-"], &input);
    let wav = parse_wav(&out.stdout);
    assert_eq!(
        (wav.tag, wav.channels, wav.rate, wav.bits),
        (1, 2, 44_100, 16)
    );
    assert_eq!(wav.declared, u32::MAX, "a pipe gets the streaming header");
    assert_eq!(wav.data.len(), data.len());
    assert!(wav.data == data, "samples differ after stdin → stdout");

    // voxflow reads its own streamed WAV from a pipe, to the same samples.
    let again = voxflow_piped(&["decode", "-", "-o", "-"], &out.stdout);
    assert!(parse_wav(&again.stdout).data == data);
}

#[test]
fn resample_keeps_float_as_float_and_its_thd_n_below_the_16_bit_floor() {
    let input = float_tone_wav();
    let out = voxflow_piped(&["resample", "-", "-", "--rate", "48000"], &input);
    let wav = parse_wav(&out.stdout);
    assert_eq!(
        (wav.tag, wav.channels, wav.rate, wav.bits),
        (3, 1, 48_000, 32)
    );
    let x = f32s(&wav.data);
    assert_eq!(x.len(), 96_000);
    // The middle second, away from the filter's start and end.
    let thd = thd_n_db(&x[24_000..72_000], 48_000, 1000.0);
    eprintln!("float output THD+N {thd:.1} dB");
    // Measured −136.0 dB (preset high); the same written as 16-bit reads −93.4 dB.
    assert!(thd < -130.0, "float THD+N {thd:.1} dB");

    // The same from a file to a file (header patched at the end, not streaming).
    let (a, b) = (scratch("tone.wav"), scratch("tone48.wav"));
    std::fs::write(&a, &input).unwrap();
    voxflow_piped(
        &[
            "resample",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--rate",
            "48000",
        ],
        b"",
    );
    let file = parse_wav(&std::fs::read(&b).unwrap());
    // A file is written by hound, which tags float as WAVE_FORMAT_EXTENSIBLE (0xFFFE, float
    // subformat); the stream on stdout uses the plain IEEE-float tag 3.
    assert_eq!(
        (file.tag, file.bits, file.declared),
        (0xFFFE, 32, 96_000 * 4)
    );
    assert!(file.data == wav.data);
}

#[test]
fn bits_16_and_24_write_integer_pcm() {
    let input = float_tone_wav();
    let out = voxflow_piped(
        &["resample", "-", "-", "--rate", "48000", "--bits", "16"],
        &input,
    );
    let wav = parse_wav(&out.stdout);
    assert_eq!((wav.tag, wav.rate, wav.bits), (1, 48_000, 16));
    assert_eq!(wav.data.len(), 96_000 * 2);
    let x: Vec<f32> = wav
        .data
        .chunks_exact(2)
        .map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])) / 32_768.0)
        .collect();
    let thd16 = thd_n_db(&x[24_000..72_000], 48_000, 1000.0);
    eprintln!("16-bit output THD+N {thd16:.1} dB");
    // The 16-bit quantisation floor for a −6 dBFS tone: about −92 dB.
    assert!(
        (-101.0..-90.0).contains(&thd16),
        "16-bit THD+N {thd16:.1} dB"
    );

    let out = voxflow_piped(
        &["resample", "-", "-", "--rate", "48000", "--bits", "24"],
        &input,
    );
    let wav = parse_wav(&out.stdout);
    assert_eq!((wav.tag, wav.rate, wav.bits), (1, 48_000, 24));
    assert_eq!(wav.data.len(), 96_000 * 3);
}

#[test]
fn encode_stdin_to_stdout_streams_ogg_opus_of_the_input_length() {
    // 1 s of 48 kHz mono 16-bit: no resampling, so the Ogg decodes to exactly 48 000 frames.
    let data: Vec<u8> = (0..48_000)
        .flat_map(|n| {
            let v = 0.3 * (std::f64::consts::TAU * 440.0 * n as f64 / 48_000.0).sin();
            ((v * 32_767.0) as i16).to_le_bytes()
        })
        .collect();
    let out = voxflow_piped(&["encode", "-", "-"], &wav_bytes(48_000, 1, false, &data));
    assert_eq!(&out.stdout[..4], b"OggS");
    let mut r = OggOpusReader::new(&out.stdout[..]).unwrap();
    assert_eq!(r.head().channels, 1);
    let mut dec = OpusDecoder::new(Backend::PureRust, 48_000, 1).unwrap();
    assert_eq!(r.decode_to_end(&mut dec).unwrap().len(), 48_000);
}

#[test]
fn report_json_with_stdout_output_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_voxflow"))
        .args(["resample", "-", "-", "--rate", "16000", "--report", "json"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "voxflow: error: --report json prints on stdout, which carries the WAV: write to a file"
    );
}
