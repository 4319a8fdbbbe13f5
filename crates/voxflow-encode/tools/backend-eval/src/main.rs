//! Backend evaluation: run with
//! `cargo run --release -- /tmp/speech48k_mono.f32` where the input is 48 kHz mono f32le
//! (e.g. `ffmpeg -i speech_44k1_stereo.flac -ar 48000 -ac 1 -f f32le /tmp/speech48k_mono.f32`).
#[path = "../../../tests/common/metrics.rs"]
mod metrics;

use std::time::Instant;

const FRAME: usize = 960;
const RATE: i32 = 48_000;

trait Enc {
    fn encode(&mut self, pcm: &[f32], out: &mut [u8]) -> usize;
}
trait Dec {
    /// `pkt` None = lost; `fec` = decode the FEC copy of the previous frame from `pkt`.
    fn decode(&mut self, pkt: Option<&[u8]>, fec: bool, out: &mut [f32]) -> Result<usize, String>;
}

struct Settings {
    bitrate: i32,
    fec: bool,
    loss: i32,
}

// ---------- libopus through audiopus ----------
struct LibEnc(audiopus::coder::Encoder);
impl LibEnc {
    fn new(s: &Settings) -> Self {
        use audiopus::*;
        let mut e = coder::Encoder::new(SampleRate::Hz48000, Channels::Mono, Application::Voip).unwrap();
        e.set_bitrate(Bitrate::BitsPerSecond(s.bitrate)).unwrap();
        e.set_complexity(10).unwrap();
        e.set_inband_fec(s.fec).unwrap();
        e.set_packet_loss_perc(s.loss as u8).unwrap();
        LibEnc(e)
    }
}
impl Enc for LibEnc {
    fn encode(&mut self, pcm: &[f32], out: &mut [u8]) -> usize {
        self.0.encode_float(pcm, out).unwrap()
    }
}
struct LibDec(audiopus::coder::Decoder);
impl Dec for LibDec {
    fn decode(&mut self, pkt: Option<&[u8]>, fec: bool, out: &mut [f32]) -> Result<usize, String> {
        let p = match pkt {
            Some(p) => Some(audiopus::packet::Packet::try_from(p).map_err(|e| e.to_string())?),
            None => None,
        };
        let sig = audiopus::MutSignals::try_from(out).map_err(|e| e.to_string())?;
        self.0.decode_float(p, sig, fec).map_err(|e| e.to_string())
    }
}

// ---------- opus-pure ----------
struct PureEnc(opus_pure::OpusEncoder);
impl PureEnc {
    fn new(s: &Settings) -> Self {
        let mut e = opus_pure::OpusEncoder::new(RATE, 1, opus_pure::Application::Voip).unwrap();
        e.bitrate_bps = s.bitrate;
        e.complexity = 10;
        e.use_inband_fec = s.fec;
        e.packet_loss_perc = s.loss;
        PureEnc(e)
    }
}
impl Enc for PureEnc {
    fn encode(&mut self, pcm: &[f32], out: &mut [u8]) -> usize {
        self.0.encode(pcm, FRAME, out).unwrap()
    }
}
struct PureDec(opus_pure::OpusDecoder);
impl Dec for PureDec {
    fn decode(&mut self, pkt: Option<&[u8]>, fec: bool, out: &mut [f32]) -> Result<usize, String> {
        match (pkt, fec) {
            (None, _) => self.0.decode(&[], FRAME, out),
            (Some(p), false) => self.0.decode(p, FRAME, out),
            (Some(p), true) => self.0.decode_fec(p, FRAME, out),
        }
        .map_err(|e| e.to_string())
    }
}

// ---------- opus-rs ----------
struct RsEnc(opus_rs::OpusEncoder);
impl RsEnc {
    fn new(s: &Settings) -> Self {
        let mut e = opus_rs::OpusEncoder::new(RATE, 1, opus_rs::Application::Voip).unwrap();
        e.bitrate_bps = s.bitrate;
        e.complexity = 10;
        e.use_inband_fec = s.fec;
        e.packet_loss_perc = s.loss;
        RsEnc(e)
    }
}
impl Enc for RsEnc {
    fn encode(&mut self, pcm: &[f32], out: &mut [u8]) -> usize {
        self.0.encode(pcm, FRAME, out).unwrap()
    }
}
struct RsDec(opus_rs::OpusDecoder);
impl Dec for RsDec {
    fn decode(&mut self, pkt: Option<&[u8]>, fec: bool, out: &mut [f32]) -> Result<usize, String> {
        match (pkt, fec) {
            (None, _) => self.0.decode(&[], FRAME, out),
            (Some(p), false) => self.0.decode(p, FRAME, out),
            (Some(p), true) => self.0.decode_fec(p, FRAME, out),
        }
        .map_err(|e| e.to_string())
    }
}

// ---------- unsafe-libopus (c2rust translation; raw unsafe API) ----------
struct UlEnc(*mut unsafe_libopus::OpusEncoder);
impl UlEnc {
    fn new(s: &Settings) -> Self {
        use unsafe_libopus::*;
        unsafe {
            let mut err = 0;
            let e = opus_encoder_create(RATE, 1, OPUS_APPLICATION_VOIP, &mut err);
            assert_eq!(err, 0);
            opus_encoder_ctl!(e, OPUS_SET_BITRATE_REQUEST, s.bitrate);
            opus_encoder_ctl!(e, OPUS_SET_COMPLEXITY_REQUEST, 10);
            opus_encoder_ctl!(e, OPUS_SET_INBAND_FEC_REQUEST, s.fec as i32);
            opus_encoder_ctl!(e, OPUS_SET_PACKET_LOSS_PERC_REQUEST, s.loss);
            UlEnc(e)
        }
    }
}
impl Enc for UlEnc {
    fn encode(&mut self, pcm: &[f32], out: &mut [u8]) -> usize {
        let n = unsafe {
            unsafe_libopus::opus_encode_float(self.0, pcm.as_ptr(), FRAME as i32, out.as_mut_ptr(), out.len() as i32)
        };
        assert!(n > 0, "unsafe-libopus encode error {n}");
        n as usize
    }
}
struct UlDec(*mut unsafe_libopus::OpusDecoder);
impl Dec for UlDec {
    fn decode(&mut self, pkt: Option<&[u8]>, fec: bool, out: &mut [f32]) -> Result<usize, String> {
        let (ptr, len) = pkt.map_or((std::ptr::null(), 0), |p| (p.as_ptr(), p.len() as i32));
        let n = unsafe { unsafe_libopus::opus_decode_float(self.0, ptr, len, out.as_mut_ptr(), FRAME as i32, fec as i32) };
        if n < 0 { Err(format!("error {n}")) } else { Ok(n as usize) }
    }
}

fn make_enc(name: &str, s: &Settings) -> Box<dyn Enc> {
    match name {
        "libopus" => Box::new(LibEnc::new(s)),
        "opus-pure" => Box::new(PureEnc::new(s)),
        "opus-rs" => Box::new(RsEnc::new(s)),
        _ => Box::new(UlEnc::new(s)),
    }
}
fn make_dec(name: &str) -> Box<dyn Dec> {
    match name {
        "libopus" => Box::new(LibDec(
            audiopus::coder::Decoder::new(audiopus::SampleRate::Hz48000, audiopus::Channels::Mono).unwrap(),
        )),
        "opus-pure" => Box::new(PureDec(opus_pure::OpusDecoder::new(RATE, 1).unwrap())),
        "opus-rs" => Box::new(RsDec(opus_rs::OpusDecoder::new(RATE, 1).unwrap())),
        _ => Box::new(UlDec(unsafe {
            let mut err = 0;
            unsafe_libopus::opus_decoder_create(RATE, 1, &mut err)
        })),
    }
}

fn encode_all(name: &str, s: &Settings, pcm: &[f32]) -> (Vec<Vec<u8>>, f64) {
    let mut e = make_enc(name, s);
    let mut out = vec![0u8; 4000];
    let mut pkts = Vec::new();
    let t = Instant::now();
    for f in pcm.chunks_exact(FRAME) {
        let n = e.encode(f, &mut out);
        pkts.push(out[..n].to_vec());
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / pkts.len() as f64;
    (pkts, us)
}

/// Decodes with an optional loss mask; `fec` uses the next packet's FEC for lost ones.
fn decode_all(name: &str, pkts: &[Vec<u8>], lost: &[bool], fec: bool) -> (Vec<f32>, f64, usize) {
    let mut d = make_dec(name);
    let mut out = vec![0f32; FRAME];
    let mut pcm = Vec::with_capacity(pkts.len() * FRAME);
    let mut errors = 0;
    let t = Instant::now();
    for i in 0..pkts.len() {
        let r = if lost[i] {
            let next = pkts.get(i + 1).filter(|_| fec && !lost.get(i + 1).copied().unwrap_or(true));
            match next {
                Some(n) => d.decode(Some(n), true, &mut out),
                None => d.decode(None, false, &mut out),
            }
        } else {
            d.decode(Some(&pkts[i]), false, &mut out)
        };
        match r {
            Ok(_) => {}
            Err(_) => {
                errors += 1;
                out.fill(0.0)
            }
        }
        pcm.extend_from_slice(&out);
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / pkts.len() as f64;
    (pcm, us, errors)
}

fn score(input: &[f32], out: &[f32]) -> (usize, f64, f64) {
    // All four report or share libopus's 312-sample lookahead at 48 kHz VoIP (measured by the
    // crate tests for opus-pure and libopus); a correlation search is unreliable here because
    // the VoIP high-pass filter shifts the low-frequency phase.
    let lag = 312;
    let o = &out[lag..];
    (lag, metrics::lsd(input, o), metrics::seg_snr(input, o))
}

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| "/tmp/speech48k_mono.f32".into());
    let pcm = metrics::read_f32le(std::path::Path::new(&path)).unwrap();
    if let Some(other) = std::env::args().nth(2) {
        let o = metrics::read_f32le(std::path::Path::new(&other)).unwrap();
        println!("self: LSD {:.3} segSNR {:.2}", metrics::lsd(&pcm, &pcm), metrics::seg_snr(&pcm, &pcm));
        println!("shift 0: LSD {:.3} segSNR {:.2}", metrics::lsd(&pcm, &o), metrics::seg_snr(&pcm, &o));
        let (lag, l, s) = score(&pcm, &o); for lag in [0usize, 312, 1482, 2000] { println!("lag {lag}: LSD {:.3} segSNR {:.2}", metrics::lsd(&pcm, &o[lag..]), metrics::seg_snr(&pcm, &o[lag..])); }
        println!("aligned lag {lag}: LSD {l:.3} segSNR {s:.2}");
        return;
    }
    let names = ["libopus", "unsafe-libopus", "opus-pure", "opus-rs"];
    let plain = Settings { bitrate: 32_000, fec: false, loss: 0 };
    let lossy = Settings { bitrate: 32_000, fec: true, loss: 10 };
    println!("input: {} s, 48 kHz mono, voip, 32 kbps VBR, complexity 10, 20 ms", pcm.len() / 48_000);
    let nolost = vec![false; pcm.len() / FRAME];
    // seeded 10 % loss (xorshift)
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let lost: Vec<bool> = (0..pcm.len() / FRAME)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % 10 == 0
        })
        .collect();
    println!("lost packets: {} of {}", lost.iter().filter(|&&l| l).count(), lost.len());
    let (lib_pkts, _) = encode_all("libopus", &plain, &pcm);
    for name in names.iter().copied().take(if std::env::var("DUMP").is_ok() { 1 } else { 4 }) {
        let (pkts, enc_us) = encode_all(name, &plain, &pcm);
        let bytes: usize = pkts.iter().map(Vec::len).sum();
        let kbps = bytes as f64 * 8.0 / (pcm.len() as f64 / 48_000.0) / 1000.0;
        let (by_lib, _, e1) = decode_all("libopus", &pkts, &nolost, false);
        let (by_self, dec_us, e2) = decode_all(name, &pkts, &nolost, false);
        let (lib_by_it, _, e3) = decode_all(name, &lib_pkts, &nolost, false);
        if std::env::var("DUMP").is_ok() {
            let b: Vec<u8> = by_lib.iter().flat_map(|v| v.to_le_bytes()).collect();
            std::fs::write(format!("/tmp/dump_{name}.f32"), b).unwrap();
        }
        let (l1, lsd1, snr1) = score(&pcm, &by_lib);
        let (_, lsd2, _) = score(&pcm, &by_self);
        let (l3, lsd3, _) = score(&pcm, &lib_by_it);
        let (fpkts, _) = encode_all(name, &lossy, &pcm);
        let (plc, _, e4) = decode_all(name, &fpkts, &lost, false);
        let (fec, _, e5) = decode_all(name, &fpkts, &lost, true);
        let (plc_l, plc_lsd, plc_snr) = score(&pcm, &plc);
        let (fec_l, fec_lsd, fec_snr) = score(&pcm, &fec);
        let lost_idx: Vec<usize> = lost.iter().enumerate().filter(|(_, l)| **l).map(|(i, _)| i).collect();
        let plc_lost = metrics::lsd_frames(&pcm, &plc[plc_l..], &lost_idx);
        let fec_lost = metrics::lsd_frames(&pcm, &fec[fec_l..], &lost_idx);
        // also: libopus decoding this encoder's FEC stream
        let (lfec, _, _) = decode_all("libopus", &fpkts, &lost, true);
        let (lfl, lfec_lsd, lfec_snr) = score(&pcm, &lfec);
        let lfec_lost = metrics::lsd_frames(&pcm, &lfec[lfl..], &lost_idx);
        let (lplc, _, _) = decode_all("libopus", &fpkts, &lost, false);
        let lplc_lost = metrics::lsd_frames(&pcm, &lplc[lfl..], &lost_idx);
        println!(
            "{name:15} enc {enc_us:6.1} us/frame  dec {dec_us:5.1} us/frame  {kbps:5.1} kbps | \
             libopus decodes it: lag {l1} LSD {lsd1:.2} dB segSNR {snr1:.2} dB (errors {e1}) | self-decode LSD {lsd2:.2} (errors {e2}) | \
             it decodes libopus: lag {l3} LSD {lsd3:.2} (errors {e3}) | 10% loss own decoder: PLC lag {plc_l} LSD {plc_lsd:.2} segSNR {plc_snr:.2} / FEC lag {fec_l} LSD {fec_lsd:.2} segSNR {fec_snr:.2} (errors {e4}/{e5}) lost-frame LSD PLC {plc_lost:.2} FEC {fec_lost:.2} | libopus FEC on its stream: LSD {lfec_lsd:.2} segSNR {lfec_snr:.2} lost-frame LSD PLC {lplc_lost:.2} FEC {lfec_lost:.2}"
        );
    }
}
