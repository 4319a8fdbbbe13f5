//! The PCM WAV fast path against symphonia's own WAV demuxer + PCM codec
//! (`DecoderConfig::with_wav_fast_path(false)`): bit-identical samples, pts, info and lengths
//! for every PCM coding, exact seeks, streaming headers, trailing chunks, truncation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::type_complexity,
    missing_docs
)]
mod common;

use std::io::Read;
use std::sync::Arc;

use voxflow_core::{AudioFrame, MediaTime};
use voxflow_decode::{Decoder, DecoderConfig, Error};
use voxflow_testkit::data::shared_data;

const FAST: fn() -> DecoderConfig = DecoderConfig::default;

fn slow() -> DecoderConfig {
    DecoderConfig::default().with_wav_fast_path(false)
}

/// How the `fmt ` chunk describes the samples.
#[derive(Clone, Copy, Debug)]
enum Fmt {
    /// WAVE_FORMAT_PCM (1) with this many bits (8 = unsigned).
    Pcm(u16),
    /// WAVE_FORMAT_IEEE_FLOAT (3) with 32 or 64 bits.
    Float(u16),
    /// WAVE_FORMAT_EXTENSIBLE with the PCM (1) or float (3) sub-format, container bits and
    /// valid bits.
    Ext(u16, u16, u16),
}

impl Fmt {
    fn bits(self) -> u16 {
        match self {
            Fmt::Pcm(b) | Fmt::Float(b) | Fmt::Ext(_, b, _) => b,
        }
    }
}

/// A RIFF/WAVE file: `fmt `, optional `fact`, `data` holding `data` (its size field
/// `data_size`, or the real size), then `trailing` bytes (e.g. a LIST chunk).
fn build(
    fmt: Fmt,
    rate: u32,
    channels: u16,
    data: &[u8],
    data_size: Option<u32>,
    trailing: &[u8],
) -> Vec<u8> {
    let bits = fmt.bits();
    let block = channels * bits / 8;
    let mut f = Vec::new();
    let tag: u16 = match fmt {
        Fmt::Pcm(_) => 1,
        Fmt::Float(_) => 3,
        Fmt::Ext(..) => 0xFFFE,
    };
    f.extend_from_slice(&tag.to_le_bytes());
    f.extend_from_slice(&channels.to_le_bytes());
    f.extend_from_slice(&rate.to_le_bytes());
    f.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
    f.extend_from_slice(&block.to_le_bytes());
    f.extend_from_slice(&bits.to_le_bytes());
    if let Fmt::Ext(sub, _, valid) = fmt {
        f.extend_from_slice(&22u16.to_le_bytes());
        f.extend_from_slice(&valid.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes()); // no mask: symphonia picks one
        f.extend_from_slice(&sub.to_le_bytes());
        f.extend_from_slice(&[
            0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
        ]);
    }
    let mut body = Vec::new();
    body.extend_from_slice(b"WAVE");
    body.extend_from_slice(b"fmt ");
    body.extend_from_slice(&(f.len() as u32).to_le_bytes());
    body.extend_from_slice(&f);
    body.extend_from_slice(b"data");
    let size = data_size.unwrap_or(data.len() as u32);
    body.extend_from_slice(&size.to_le_bytes());
    body.extend_from_slice(data);
    if data.len() % 2 == 1 && !trailing.is_empty() {
        body.push(0); // RIFF pad byte
    }
    body.extend_from_slice(trailing);
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    let riff = if data_size == Some(u32::MAX) {
        u32::MAX
    } else {
        (body.len() as u32).max(size.saturating_add(36))
    };
    out.extend_from_slice(&riff.to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// Deterministic pseudo-random bytes (every integer bit pattern is a valid sample).
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

/// Float samples in [-1.5, 1.5] (and a few specials), as bytes.
fn float_data(bits: u16, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        let v = match i % 97 {
            0 => 0.0,
            1 => -0.0,
            2 => 1e-30,
            _ => ((i * 7919 % 30001) as f64 - 15000.0) / 10000.0 + 1e-9 * i as f64,
        };
        if bits == 32 {
            out.extend_from_slice(&(v as f32).to_le_bytes());
        } else {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// A reader that hides `Seek` and gives short reads, like a socket.
struct Trickle(std::io::Cursor<Vec<u8>>);
impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(777);
        self.0.read(&mut buf[..n])
    }
}

fn bits_of(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Decodes everything, returning (pts/len per frame, samples, the final error if any).
fn decode(mut d: Decoder) -> (Decoder, Vec<(i64, usize)>, Vec<f32>, Option<Error>) {
    let mut f = AudioFrame::with_capacity(d.format(), d.frame_len());
    let (mut meta, mut all) = (Vec::new(), Vec::new());
    let err = loop {
        match d.next_frame(&mut f) {
            Ok(true) => {
                meta.push((f.pts().ticks(), f.frames()));
                all.extend_from_slice(f.samples());
            }
            Ok(false) => break None,
            Err(e) => {
                assert!(!e.is_skippable(), "{e}");
                assert!(!d.next_frame(&mut f).unwrap(), "nothing after a stop error");
                break Some(e);
            }
        }
    };
    (d, meta, all, err)
}

fn open(bytes: &[u8], cfg: DecoderConfig) -> Decoder {
    Decoder::from_bytes(Arc::from(bytes.to_vec()), Some("wav"), cfg).unwrap()
}

fn all_formats() -> Vec<(Fmt, &'static str)> {
    vec![
        (Fmt::Pcm(8), "pcm_u8"),
        (Fmt::Pcm(16), "pcm_s16le"),
        (Fmt::Pcm(24), "pcm_s24le"),
        (Fmt::Pcm(32), "pcm_s32le"),
        (Fmt::Float(32), "pcm_f32le"),
        (Fmt::Float(64), "pcm_f64le"),
        (Fmt::Ext(1, 8, 8), "pcm_u8"),
        (Fmt::Ext(1, 16, 16), "pcm_s16le"),
        (Fmt::Ext(1, 24, 20), "pcm_s24le"),
        (Fmt::Ext(1, 32, 24), "pcm_s32le"),
        (Fmt::Ext(3, 32, 32), "pcm_f32le"),
        (Fmt::Ext(3, 64, 64), "pcm_f64le"),
    ]
}

fn data_for(fmt: Fmt, frames: usize, channels: u16, seed: u64) -> Vec<u8> {
    let n = frames * usize::from(channels);
    match fmt {
        Fmt::Float(b) | Fmt::Ext(3, b, _) => float_data(b, n),
        _ => noise(n * usize::from(fmt.bits() / 8), seed),
    }
}

/// Both paths agree on everything observable.
fn assert_same(label: &str, fast: &[u8], cfg_frames: Option<std::time::Duration>) {
    assert_same_but_error(label, fast, cfg_frames, true);
}

/// [`assert_same`], optionally without comparing the final errors.
fn assert_same_but_error(
    label: &str,
    fast: &[u8],
    cfg_frames: Option<std::time::Duration>,
    same_error: bool,
) {
    let with = |c: DecoderConfig| match cfg_frames {
        Some(d) => c.with_frame_duration(d),
        None => c,
    };
    let (a, ma, sa, ea) = decode(open(fast, with(FAST())));
    let (b, mb, sb, eb) = decode(open(fast, with(slow())));
    assert_eq!(a.info(), b.info(), "{label}: info");
    assert_eq!(a.format(), b.format(), "{label}: format");
    assert_eq!(ma, mb, "{label}: frame pts/lengths");
    assert!(bits_of(&sa) == bits_of(&sb), "{label}: samples differ");
    if same_error {
        assert_eq!(
            ea.map(|e| e.to_string()),
            eb.map(|e| e.to_string()),
            "{label}: final error"
        );
    }
    assert_eq!(a.stats().buffer_grows, 0);
    if a.info().codec != "pcm_alaw" && !sa.is_empty() {
        // The fast path was taken: one packet per block of max(frame, 1024) sample frames.
        let block = a.frame_len().max(1024) as u64;
        let frames = a.stats().sample_frames_emitted;
        assert_eq!(
            a.stats().packets_decoded,
            frames.div_ceil(block),
            "{label}: packets"
        );
    }
    // The stream path (short reads, no seek) gives the same samples.
    let s = Decoder::from_stream(
        Trickle(std::io::Cursor::new(fast.to_vec())),
        None,
        with(FAST()),
    )
    .unwrap();
    let (_, ms, ss, _) = decode(s);
    assert_eq!(ms, ma, "{label}: stream pts");
    assert!(
        bits_of(&ss) == bits_of(&sa),
        "{label}: stream samples differ"
    );
}

#[test]
fn every_pcm_coding_is_bit_identical_to_symphonia() {
    for (fmt, codec) in all_formats() {
        for (rate, ch) in [(8000u32, 1u16), (44_100, 2), (48_000, 3)] {
            let frames = rate as usize / 3 + 17;
            let data = data_for(fmt, frames, ch, u64::from(rate));
            let wav = build(fmt, rate, ch, &data, None, &[]);
            let d = open(&wav, FAST());
            assert_eq!(d.info().codec, codec, "{fmt:?}");
            assert_eq!(d.info().container, "wave");
            assert_eq!(d.info().total_frames, Some(frames as u64));
            let label = format!("{fmt:?} {rate} Hz {ch} ch");
            assert_same(&label, &wav, None);
            // Frames longer than a block, and odd lengths.
            assert_same(&label, &wav, Some(std::time::Duration::from_millis(250)));
            assert_same(&label, &wav, Some(std::time::Duration::from_micros(1_375)));
        }
    }
}

#[test]
fn packets_are_counted_one_per_block() {
    let data = noise(44_100 * 4, 1);
    let wav = build(Fmt::Pcm(16), 44_100, 2, &data, None, &[]);
    let (d, ..) = decode(open(&wav, FAST()));
    // 44 100 frames in blocks of 1024 (20 ms = 882 < 1024).
    assert_eq!(d.stats().packets_decoded, 44_100u64.div_ceil(1024));
    assert_eq!(d.stats().sample_frames_emitted, 44_100);
}

#[test]
fn shared_wav_files_are_bit_identical() {
    for name in [
        "speech_44k1_stereo_10s.wav",
        "librivox_16k_mono.wav",
        "prompt_8k_mono.wav",
        "turns_48k_mono.wav",
    ] {
        let Some(path) = shared_data(&format!("media/{name}")) else {
            return;
        };
        let bytes = std::fs::read(&path).unwrap();
        assert_same(name, &bytes, None);
        let a = Decoder::open(&path).unwrap();
        println!("{name}: {:?}", a.info());
        let (a, _, sa, _) = decode(a);
        let (_, _, sb, _) = decode(Decoder::open_with(&path, slow()).unwrap());
        assert!(bits_of(&sa) == bits_of(&sb), "{name}: file samples differ");
        assert_eq!(
            Some(sa.len() as u64 / u64::from(a.format().channels)),
            a.info().total_frames
        );
    }
}

/// Seeks to each target, reads one frame and checks it against the linear decode.
fn check_seeks(d: &mut Decoder, linear: &[f32], targets: &[i64], label: &str) {
    let ch = usize::from(d.format().channels);
    let rate = d.format().rate;
    let mut f = AudioFrame::with_capacity(d.format(), d.frame_len());
    for &t in targets {
        let to = MediaTime::new(t, rate);
        assert_eq!(d.seek(to).unwrap(), to, "{label}: seek to {t}");
        assert_eq!(d.position(), to);
        let total = linear.len() / ch;
        if t as usize == total {
            assert!(!d.next_frame(&mut f).unwrap(), "{label}: at the end");
            continue;
        }
        assert!(d.next_frame(&mut f).unwrap());
        assert_eq!(f.pts(), to, "{label}: pts after seek to {t}");
        let at = t as usize * ch;
        assert_eq!(
            bits_of(f.samples()),
            bits_of(&linear[at..at + f.samples().len()]),
            "{label}: samples after seek to {t}"
        );
        assert!(f.frames() == d.frame_len() || at + f.samples().len() == linear.len());
    }
}

#[test]
fn seeks_are_sample_exact() {
    let rate = 16_000;
    let frames = 40_001;
    let data = noise(frames * 3 * 2, 9);
    let wav = build(Fmt::Ext(1, 24, 24), rate, 2, &data, None, &[]);
    let (_, _, linear, _) = decode(open(&wav, FAST()));
    assert_eq!(linear.len(), frames * 2);
    // Backwards, forwards, inside the buffered block, the last sample, the very end.
    let targets = [
        12_345, 100, 101, 400, 1_500, 0, 39_999, 40_000, 40_001, 7, 20_000, 20_330, 20_640,
    ];
    let mut d = open(&wav, FAST());
    check_seeks(&mut d, &linear, &targets, "bytes");
    assert!(matches!(
        d.seek(MediaTime::new(40_002, rate)),
        Err(Error::SeekOutOfRange { .. })
    ));
    // The symphonia path gives the same frames after the same seeks.
    let mut s = open(&wav, slow());
    check_seeks(&mut s, &linear, &targets, "symphonia");
    // A forward-only stream: forward seeks read and discard, backwards is refused.
    let mut st =
        Decoder::from_stream(Trickle(std::io::Cursor::new(wav.clone())), None, FAST()).unwrap();
    let forward = [5, 400, 730, 2_000, 2_400, 30_000, 30_500];
    check_seeks(&mut st, &linear, &forward, "stream");
    assert!(matches!(
        st.seek(MediaTime::new(10, rate)),
        Err(Error::NotSeekable { .. })
    ));
    // Nothing changed: reading goes on where it was.
    let mut f = AudioFrame::with_capacity(st.format(), st.frame_len());
    assert!(st.next_frame(&mut f).unwrap());
    assert_eq!(f.pts().ticks(), 30_500 + 320);
    check_seeks(&mut st, &linear, &[40_001], "stream end");
}

#[test]
fn streaming_header_reads_to_the_end_of_the_input() {
    let frames = 10_007;
    let data = noise(frames * 4, 3);
    let wav = build(Fmt::Pcm(16), 22_050, 2, &data, Some(u32::MAX), &[]);
    let exact = build(Fmt::Pcm(16), 22_050, 2, &data, None, &[]);
    let (_, _, want, _) = decode(open(&exact, FAST()));
    for d in [
        open(&wav, FAST()),
        Decoder::from_stream(Trickle(std::io::Cursor::new(wav.clone())), None, FAST()).unwrap(),
    ] {
        assert_eq!(d.info().total_frames, None);
        let (_, meta, got, err) = decode(d);
        assert!(bits_of(&got) == bits_of(&want));
        assert_eq!(meta.iter().map(|m| m.1).sum::<usize>(), frames);
        // The size is unknown, so the end of the input is the end of the stream.
        assert!(err.is_none(), "{err:?}");
    }
    // The symphonia path delivers the same samples (and reports the end as a truncation).
    let (_, _, got, err) = decode(open(&wav, slow()));
    assert!(bits_of(&got) == bits_of(&want));
    println!("symphonia path on a streaming header ends with {err:?}");
    // Cut inside a sample frame: the partial frame is dropped and reported.
    let cut = &wav[..wav.len() - 3];
    let (_, meta, got, err) = decode(open(cut, FAST()));
    assert_eq!(meta.iter().map(|m| m.1).sum::<usize>(), frames - 1);
    assert!(bits_of(&got) == bits_of(&want[..want.len() - 2]));
    assert!(matches!(err, Some(Error::Truncated { .. })), "{err:?}");
}

#[test]
fn chunks_after_the_data_are_not_audio() {
    let frames = 5_000;
    let data = noise(frames * 3 + 3, 5); // 3 bytes per frame (s24 mono), odd size: pad byte
    let mut list = Vec::new();
    list.extend_from_slice(b"LIST");
    list.extend_from_slice(&30u32.to_le_bytes());
    list.extend_from_slice(b"INFOISFT");
    list.extend_from_slice(&18u32.to_le_bytes());
    list.extend_from_slice(b"voxflow test file\0");
    let wav = build(Fmt::Pcm(24), 8_000, 1, &data, None, &list);
    let plain = build(Fmt::Pcm(24), 8_000, 1, &data, None, &[]);
    let (_, _, want, _) = decode(open(&plain, FAST()));
    let (d, _, got, err) = decode(open(&wav, FAST()));
    assert!(err.is_none());
    assert_eq!(got.len(), frames + 1);
    assert_eq!(d.info().total_frames, Some(frames as u64 + 1));
    assert!(bits_of(&got) == bits_of(&want));
    assert_same("trailing LIST", &wav, None);
    // A data size that is not a whole number of sample frames: the partial frame is dropped.
    let odd = build(Fmt::Pcm(16), 8_000, 2, &noise(4 * 100 + 3, 6), None, &list);
    let (_, _, got, err) = decode(open(&odd, FAST()));
    assert_eq!((got.len(), err.is_none()), (200, true));
    assert_same("odd data size", &odd, None);
}

#[test]
fn truncated_files_deliver_every_whole_sample_frame() {
    let frames = 20_000;
    let data = noise(frames * 4, 8);
    let wav = build(
        Fmt::Float(32),
        16_000,
        1,
        &float_data(32, frames),
        None,
        &[],
    );
    let s16 = build(Fmt::Pcm(16), 16_000, 2, &data, None, &[]);
    for full in [wav, s16] {
        let header = full.len() - frames * 4;
        for cut in [
            header + 1,
            header + 4,
            header + 4095,
            full.len() / 2,
            full.len() - 1,
        ] {
            let part = &full[..cut];
            let whole = (cut - header) / 4;
            if whole == 0 {
                // Not one sample frame: an open error on both paths.
                for cfg in [FAST(), slow()] {
                    let r = Decoder::from_bytes(Arc::from(part.to_vec()), None, cfg);
                    assert!(matches!(r, Err(Error::Truncated { .. })), "{r:?}");
                }
                continue;
            }
            let (_, meta, _, err) = decode(open(part, FAST()));
            assert_eq!(meta.iter().map(|m| m.1).sum::<usize>(), whole, "cut {cut}");
            assert!(
                matches!(err, Some(Error::Truncated { .. })),
                "cut {cut}: {err:?}"
            );
            // Same samples as the symphonia path, and the same error, except that symphonia
            // misses a cut inside the last sample frame (it sees less than one frame left in
            // the data chunk and ends without error).
            let in_last_frame = cut > full.len() - 4;
            assert_same_but_error(&format!("cut at {cut}"), part, None, !in_last_frame);
        }
        // Header complete, no data at all: an open error on both paths.
        for cfg in [FAST(), slow()] {
            let r = Decoder::from_bytes(Arc::from(full[..header].to_vec()), None, cfg);
            assert!(matches!(r, Err(Error::Truncated { .. })), "{r:?}");
        }
    }
}

#[test]
fn non_pcm_wav_still_goes_through_symphonia() {
    // A-law: symphonia's codec, same result with the fast path on or off.
    let mut wav = build(Fmt::Pcm(8), 8_000, 1, &noise(4_000, 2), None, &[]);
    wav[20..22].copy_from_slice(&6u16.to_le_bytes()); // WAVE_FORMAT_ALAW
    let mut fmt18 = wav[..36].to_vec();
    fmt18[16..20].copy_from_slice(&18u32.to_le_bytes());
    fmt18.extend_from_slice(&0u16.to_le_bytes());
    fmt18.extend_from_slice(&wav[36..]);
    let riff = (fmt18.len() - 8) as u32;
    fmt18[4..8].copy_from_slice(&riff.to_le_bytes());
    let d = open(&fmt18, FAST());
    assert_eq!(d.info().codec, "pcm_alaw");
    assert_same("alaw", &fmt18, None);
}
