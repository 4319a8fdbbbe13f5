//! `voxflow encode` (file → Ogg Opus) and `voxflow rtp` (file → paced RTP Opus packets).
//!
//! Both run decode → resample to 48 kHz (mono stays mono, stereo stays stereo, more channels
//! are mixed down to stereo) in frames of exactly the encoder's frame size → ring → Opus
//! encoder → a packet sink, through `voxflow-pipeline`'s packet tail.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::ValueEnum;
use serde_json::Value;
use voxflow::core::{PacketSink, Trace};
use voxflow::decode::Decoder;
use voxflow::pipeline::{Link, Overflow, Pacing, Pipeline, Report};
use voxflow::resample::{FrameSize, Preset, Resampler, ResamplerConfig};
use voxflow::{AudioFormat, AudioFrame, AudioSource, Error, Packet};
use voxflow_encode::{
    Application, Backend, EncoderConfig, FrameDuration, OggOpusWriter, OpusEncoder,
    PacketizerConfig, RtpOpusPacketizer,
};

use crate::{Failure, Outcome, PresetArg, ReportFormat, open, progress_bar, report_json};

/// Encoder settings shared by `encode` and `rtp`.
#[derive(clap::Args, Debug)]
pub struct OpusOpts {
    /// Target bitrate: `32k`, `32000`, `64k` (6k–510k).
    #[arg(long, default_value = "32k", value_parser = parse_bitrate)]
    bitrate: u32,
    /// Encoder complexity 0–10 (CPU against quality).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(0..=10))]
    complexity: u8,
    /// Opus frame duration in ms: 2.5, 5, 10, 20, 40 or 60.
    #[arg(long, default_value = "20", value_parser = parse_frame_ms)]
    frame_ms: FrameDuration,
    /// What the encoder tunes for.
    #[arg(long, value_enum, default_value_t = AppArg::Voip)]
    app: AppArg,
    /// In-band forward error correction (tuned for `--loss`).
    #[arg(long)]
    fec: bool,
    /// Expected packet loss in percent (0–100), for FEC and loss-robust coding.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    loss: u8,
    /// Discontinuous transmission: silence becomes 1–2 byte packets.
    #[arg(long)]
    dtx: bool,
    /// Opus implementation (`libopus` needs a build with `--features libopus`).
    #[arg(long, value_enum, default_value_t = BackendArg::PureRust)]
    backend: BackendArg,
    /// Resampler quality preset (when the input is not 48 kHz).
    #[arg(long, value_enum, default_value_t = PresetArg::Balanced)]
    preset: PresetArg,
    /// Print the report as one JSON object on stdout.
    #[arg(long, value_enum)]
    report: Option<ReportFormat>,
}

/// `--app`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AppArg {
    /// Speech over a network.
    Voip,
    /// Music and general audio.
    Audio,
    /// Lowest delay (CELT only; no FEC).
    Lowdelay,
}

/// `--backend`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum BackendArg {
    /// opus-pure, the default (pure Rust).
    PureRust,
    /// The reference C libopus (feature `libopus`).
    Libopus,
}

/// `32k`, `32K`, `32000`, `32.5k`, `32kbps` → bit/s.
fn parse_bitrate(s: &str) -> Result<u32, String> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix("bps").unwrap_or(&t);
    let (num, mul) = match t.strip_suffix('k') {
        Some(n) => (n, 1000.0),
        None => (t, 1.0),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("bitrate {s:?}: expected e.g. 32k or 32000"))?;
    let bps = (v * mul).round();
    if !(6000.0..=510_000.0).contains(&bps) {
        return Err(format!("bitrate {s:?} is outside 6k–510k bit/s"));
    }
    Ok(bps as u32) // cannot truncate: checked range
}

fn parse_frame_ms(s: &str) -> Result<FrameDuration, String> {
    let ms: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("frame duration {s:?}: expected 2.5, 5, 10, 20, 40 or 60"))?;
    let us = (ms * 1000.0).round();
    if !(0.0..=60_000.0).contains(&us) {
        return Err(format!("frame duration {s:?} ms is not an Opus frame size"));
    }
    FrameDuration::from_micros(us as u32) // cannot truncate: checked range
        .ok_or_else(|| format!("frame duration {s} ms: Opus allows 2.5, 5, 10, 20, 40 or 60"))
}

impl OpusOpts {
    fn config(&self, channels: u16) -> Result<EncoderConfig, Failure> {
        let backend = match self.backend {
            BackendArg::PureRust => Backend::PureRust,
            BackendArg::Libopus => Backend::Libopus,
        };
        if !Backend::available().contains(&backend) {
            return Err(format!(
                "--backend {}: this voxflow was built without it (rebuild with \
                 `cargo build --release -p voxflow-cli --features libopus`, which needs libopus-dev)",
                backend.name()
            )
            .into());
        }
        Ok(EncoderConfig {
            backend,
            sample_rate: 48_000,
            channels,
            application: match self.app {
                AppArg::Voip => Application::Voip,
                AppArg::Audio => Application::Audio,
                AppArg::Lowdelay => Application::RestrictedLowDelay,
            },
            frame_duration: self.frame_ms,
            complexity: self.complexity,
            fec: self.fec,
            expected_loss_percent: self.loss,
            dtx: self.dtx,
            ..EncoderConfig::voip(self.bitrate)
        })
    }
}

/// Milliseconds from `started` to the instant of a packet sink's stamp, kept once (the first
/// packet) in an atomic the main thread reads afterwards.
#[derive(Clone, Default)]
struct FirstPacket(Arc<AtomicU64>);

const UNSET: u64 = u64::MAX;

impl FirstPacket {
    fn new() -> Self {
        FirstPacket(Arc::new(AtomicU64::new(UNSET)))
    }
    fn note(&self, started: Instant, trace: &Trace, sink: &'static str) {
        if self.0.load(Ordering::Relaxed) == UNSET
            && let Some(at) = trace.get(sink)
        {
            let ns = at.saturating_duration_since(started).as_nanos();
            self.0
                .store(u64::try_from(ns).unwrap_or(UNSET - 1), Ordering::Release);
        }
    }
    fn ms(&self) -> Option<f64> {
        match self.0.load(Ordering::Acquire) {
            UNSET => None,
            ns => Some(ns as f64 / 1e6),
        }
    }
}

/// A [`PacketSink`] writing an Ogg Opus file. `write` adds the packet to the writer's current
/// page (buffers allocated when the writer was made, so nothing is allocated per packet) and
/// writes a page to the buffered file about once a second of audio (or every ~4 KiB).
struct OggSink {
    writer: Option<OggOpusWriter<BufWriter<File>>>,
    started: Instant,
    first: FirstPacket,
}

impl PacketSink for OggSink {
    fn name(&self) -> &'static str {
        "ogg"
    }
    fn write(&mut self, packet: &Packet) -> Result<(), Error> {
        self.first.note(self.started, &packet.trace, "ogg");
        match &mut self.writer {
            Some(w) => w.write(packet).map_err(Error::from),
            None => Err(Error::Closed("ogg writer already finished")),
        }
    }
    fn finish(&mut self) -> Result<(), Error> {
        if let Some(w) = self.writer.take() {
            let mut file = w.finish()?;
            file.flush()?;
        }
        Ok(())
    }
}

/// A [`PacketSink`] that turns encoder packets into RTP packets (RFC 7587) in one reused
/// buffer and, with `dump`, prints one line per sent packet. The encoder's end-of-stream flush
/// packets (zero duration) are not sent: live RTP does not need the lookahead pushed out. Without `dump` nothing is
/// allocated or written per packet (the buffer holds the largest RTP packet from the start).
struct RtpSink {
    packetizer: RtpOpusPacketizer,
    buf: Vec<u8>,
    dump: Option<std::io::Stdout>,
    started: Instant,
    first: FirstPacket,
    sent: Arc<AtomicU64>,
}

impl PacketSink for RtpSink {
    fn name(&self) -> &'static str {
        "rtp"
    }
    fn write(&mut self, packet: &Packet) -> Result<(), Error> {
        if packet.duration.ticks() == 0 {
            // The encoder's end-of-stream flush packet (no input audio): for files only.
            return Ok(());
        }
        if !self.packetizer.packetize(packet, &mut self.buf)? {
            return Ok(()); // DTX: nothing to send
        }
        self.first.note(self.started, &packet.trace, "rtp");
        self.sent.fetch_add(1, Ordering::Relaxed);
        if let Some(out) = &self.dump {
            let h = voxflow::core::RtpPacket::parse(&self.buf).map_err(|e| Error::Malformed {
                what: "RTP packet just written",
                detail: e.to_string(),
            })?;
            let t = packet.trace.get("rtp").map_or(0.0, |at| {
                at.saturating_duration_since(self.started).as_secs_f64() * 1e3
            });
            let mut o = out.lock();
            writeln!(
                o,
                "seq={} ts={} marker={} payload={} t_ms={:.3}",
                h.header.sequence,
                h.header.timestamp,
                u8::from(h.header.marker),
                h.payload.len(),
                t
            )?;
        }
        Ok(())
    }
}

/// The output channel count for the encoder: 1 stays 1, everything else becomes 2.
fn opus_channels(input: AudioFormat) -> u16 {
    if input.channels == 1 { 1 } else { 2 }
}

/// Ends the stream after `frames` sample frames (for `rtp --seconds`).
struct Limited {
    inner: Decoder,
    left: u64,
}

impl AudioSource for Limited {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn format(&self) -> AudioFormat {
        self.inner.format()
    }
    fn max_frames(&self) -> usize {
        self.inner.max_frames()
    }
    fn read(&mut self, out: &mut AudioFrame) -> Result<bool, Error> {
        if self.left == 0 {
            out.clear();
            return Ok(false);
        }
        if !self.inner.read(out)? {
            return Ok(false);
        }
        let n = out.frames() as u64;
        if n > self.left {
            out.set_frames(usize::try_from(self.left).unwrap_or(usize::MAX))?;
        }
        self.left = self.left.saturating_sub(n);
        Ok(true)
    }
}

struct Built {
    outcome_base: (AudioFormat, AudioFormat, String, f64),
    encoder: OpusEncoder,
    resampler: Resampler,
    total: Option<u64>,
}

/// Builds the encoder and the resampler in front of it for `decoder`'s format.
fn build(decoder: &Decoder, opts: &OpusOpts, started: Instant) -> Result<Built, Failure> {
    let input = decoder.format();
    let channels = opus_channels(input);
    let encoder = OpusEncoder::new(opts.config(channels)?)?;
    let output = AudioFormat::new(48_000, channels)?;
    let resampler = Resampler::new(
        ResamplerConfig::new(input, output)
            .preset(Preset::from(opts.preset))
            .frame(FrameSize::Frames(encoder.frame_size()))
            .max_input_frames(decoder.max_frames()),
    )?;
    let info = decoder.info();
    Ok(Built {
        outcome_base: (
            input,
            output,
            format!("{} in {}", info.codec, info.container),
            started.elapsed().as_secs_f64() * 1e3,
        ),
        encoder,
        resampler,
        total: info.total_frames,
    })
}

fn outcome(b: &(AudioFormat, AudioFormat, String, f64), rep: &Report, first_ms: f64) -> Outcome {
    let (input, output, desc, open_ms) = b;
    let samples = rep.samples_out / u64::from(output.channels);
    Outcome {
        input: *input,
        output: *output,
        input_desc: desc.clone(),
        frames: rep.frames_out,
        samples,
        duration_s: samples as f64 / f64::from(output.rate),
        wall_ms: rep.wall.as_secs_f64() * 1e3,
        open_ms: *open_ms,
        first_frame_ms: first_ms,
        dropped: rep.dropped(),
        skipped: rep.skipped,
    }
}

fn add_packet_fields(v: &mut Value, rep: &Report, first_ms: f64, backend: &str) {
    if let Some(o) = v.as_object_mut() {
        o.insert("packets".into(), rep.packets_out.into());
        o.insert("bytes".into(), rep.bytes_out.into());
        o.insert("first_packet_ms".into(), first_ms.into());
        o.insert("backend".into(), backend.into());
    }
}

/// `voxflow encode IN OUT.opus`.
pub fn encode(input: &Path, output: &PathBuf, opts: &OpusOpts) -> Result<(), Failure> {
    let started = Instant::now();
    let decoder = open(input, Duration::from_millis(20))?;
    let b = build(&decoder, opts, started)?;
    let file = File::create(output).map_err(|e| format!("{}: {e}", output.display()))?;
    let serial = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let writer = OggOpusWriter::new(
        BufWriter::with_capacity(64 * 1024, file),
        &b.encoder,
        serial,
    )
    .map_err(|e| format!("{}: {e}", output.display()))?;
    let first = FirstPacket::new();
    let sink = OggSink {
        writer: Some(writer),
        started,
        first: first.clone(),
    };
    let backend = b.encoder.backend_name();
    let in_ch = b.outcome_base.0.channels;
    let running = Pipeline::builder()
        .source(decoder)
        .stage(b.resampler)
        .boundary(
            Link::ring(Duration::from_millis(200))
                .policy(Overflow::Block)
                .name("ring"),
        )
        .encoder(b.encoder)
        .packet_sink(sink)
        .spawn()?;
    let bar = progress_bar(b.total, "encode");
    if let Some(bar) = &bar {
        while !running.is_finished() {
            let r = running.report();
            bar.set_position(r.samples_in / u64::from(in_ch));
            std::thread::sleep(Duration::from_millis(50));
        }
        bar.finish_and_clear();
    }
    let rep = running.wait()?;
    let first_ms = first.ms().unwrap_or(f64::NAN);
    let out = outcome(&b.outcome_base, &rep, first_ms);
    if opts.report == Some(ReportFormat::Json) {
        let mut v = report_json(&out, &rep);
        add_packet_fields(&mut v, &rep, first_ms, backend);
        println!("{v}");
    } else if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!(
            "{}: {} → Opus {} ({backend}), {:.2} s of audio, {} packets / {} bytes ({:.1} kbit/s) in {:.1} ms",
            input.display(),
            out.input,
            out.output,
            out.duration_s,
            rep.packets_out,
            rep.bytes_out,
            rep.bytes_out as f64 * 8.0 / out.duration_s.max(1e-9) / 1e3,
            out.wall_ms
        );
    }
    Ok(())
}

/// `voxflow rtp IN`.
pub fn rtp(
    input: &Path,
    dump: bool,
    realtime: bool,
    seconds: Option<f64>,
    opts: &OpusOpts,
) -> Result<(), Failure> {
    let started = Instant::now();
    let decoder = open(input, Duration::from_millis(10))?;
    let b = build(&decoder, opts, started)?;
    let left = match seconds {
        Some(s) if s.is_finite() && s >= 0.0 => {
            (s * f64::from(decoder.format().rate)).round() as u64
        }
        Some(s) => return Err(format!("--seconds {s}: expected a non-negative number").into()),
        None => u64::MAX,
    };
    let first = FirstPacket::new();
    let sent = Arc::new(AtomicU64::new(0));
    let sink = RtpSink {
        packetizer: RtpOpusPacketizer::new(PacketizerConfig::default()),
        buf: Vec::with_capacity(voxflow_encode::MAX_PACKET_BYTES + 64),
        dump: dump.then(std::io::stdout),
        started,
        first: first.clone(),
        sent: Arc::clone(&sent),
    };
    let backend = b.encoder.backend_name();
    let pacing = if realtime {
        Pacing::RealTime {
            lead: Duration::from_millis(40),
        }
    } else {
        Pacing::AsFastAsPossible
    };
    let running = Pipeline::builder()
        .source(Limited {
            inner: decoder,
            left,
        })
        .stage(b.resampler)
        .boundary(
            Link::ring(Duration::from_millis(100))
                .policy(Overflow::Block)
                .name("ring"),
        )
        .encoder(b.encoder)
        .packet_sink(sink)
        .pacing(pacing)
        .spawn()?;
    let rep = running.wait()?;
    let first_ms = first.ms().unwrap_or(f64::NAN);
    let out = outcome(&b.outcome_base, &rep, first_ms);
    if opts.report == Some(ReportFormat::Json) {
        let mut v = report_json(&out, &rep);
        add_packet_fields(&mut v, &rep, first_ms, backend);
        if let Some(o) = v.as_object_mut() {
            o.insert("rtp_packets".into(), sent.load(Ordering::Acquire).into());
        }
        println!("{v}");
    } else {
        println!(
            "voxflow rtp: {} ({}), {} → Opus {} ({backend}), {}",
            input.display(),
            out.input_desc,
            out.input,
            out.output,
            if realtime {
                "paced in real time"
            } else {
                "as fast as possible"
            }
        );
        println!("{rep}");
        println!(
            "rtp packets sent: {} ({} encoder packets, {} bytes); {:.2} s of audio in {:.1} ms",
            sent.load(Ordering::Acquire),
            rep.packets_out,
            rep.bytes_out,
            out.duration_s,
            out.wall_ms
        );
        println!("first_packet_ms: {first_ms:.3} (open → first RTP packet; target ≤ 5 ms)");
    }
    Ok(())
}
