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
use voxflow::pipeline::{Limited, Link, Overflow, Pacing, Pipeline, Report};
use voxflow::resample::{FrameSize, Preset, Resampler, ResamplerConfig};
use voxflow::{AudioFormat, AudioSource, Error, Packet};
use voxflow_encode::{
    Application, Backend, EncoderConfig, FrameDuration, OggOpusSink, OpusEncoder, PacketizerConfig,
    RtpSink,
};

use crate::{Failure, Outcome, PresetArg, ReportFormat, is_stdio, open, progress_bar, report_json};

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

/// Notes when the first packet reached the wrapped sink (its trace stamp), then writes it.
struct NoteFirst<S> {
    inner: S,
    started: Instant,
    first: FirstPacket,
}

impl<S: PacketSink> PacketSink for NoteFirst<S> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn write(&mut self, packet: &Packet) -> Result<(), Error> {
        self.first
            .note(self.started, &packet.trace, self.inner.name());
        self.inner.write(packet)
    }
    fn finish(&mut self) -> Result<(), Error> {
        self.inner.finish()
    }
}

/// `rtp --dump`: one line per RTP packet sent.
fn dump_line(
    out: &std::io::Stdout,
    rtp: &[u8],
    packet: &Packet,
    started: Instant,
) -> Result<(), Error> {
    let h = voxflow::core::RtpPacket::parse(rtp).map_err(|e| Error::Malformed {
        what: "RTP packet just written",
        detail: e.to_string(),
    })?;
    let t = packet.trace.get("rtp").map_or(0.0, |at| {
        at.saturating_duration_since(started).as_secs_f64() * 1e3
    });
    writeln!(
        out.lock(),
        "seq={} ts={} marker={} payload={} t_ms={:.3}",
        h.header.sequence,
        h.header.timestamp,
        u8::from(h.header.marker),
        h.payload.len(),
        t
    )?;
    Ok(())
}

/// The output channel count for the encoder: 1 stays 1, everything else becomes 2.
fn opus_channels(input: AudioFormat) -> u16 {
    if input.channels == 1 { 1 } else { 2 }
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
    let samples = rep.sample_frames_out;
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
    if is_stdio(output) && opts.report == Some(ReportFormat::Json) {
        return Err(
            "--report json prints on stdout, which carries the Ogg Opus stream: write \
                    to a file"
                .into(),
        );
    }
    let decoder = open(input, Duration::from_millis(20))?;
    let b = build(&decoder, opts, started)?;
    let out: Box<dyn Write + Send> = if is_stdio(output) {
        Box::new(BufWriter::with_capacity(64 * 1024, std::io::stdout()))
    } else {
        let file = File::create(output).map_err(|e| format!("{}: {e}", output.display()))?;
        Box::new(BufWriter::with_capacity(64 * 1024, file))
    };
    let serial = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let ogg = OggOpusSink::new(out, &b.encoder, serial)
        .map_err(|e| format!("{}: {e}", output.display()))?;
    let first = FirstPacket::new();
    let sink = NoteFirst {
        inner: ogg,
        started,
        first: first.clone(),
    };
    let backend = b.encoder.backend_name();
    let running = Pipeline::builder()
        .source(decoder)
        .stage(b.resampler)
        .boundary(
            Link::ring(Duration::from_millis(200))
                .with_overflow(Overflow::Block)
                .with_name("ring"),
        )
        .encoder(b.encoder)
        .packet_sink(sink)
        .spawn()?;
    let bar = progress_bar(b.total, "encode");
    if let Some(bar) = &bar {
        while !running.is_finished() {
            let r = running.report();
            bar.set_position(r.sample_frames_in);
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
    let length = match seconds {
        Some(s) => Duration::try_from_secs_f64(s)
            .map_err(|_| format!("--seconds {s}: expected a non-negative number"))?,
        None => Duration::MAX,
    };
    let first = FirstPacket::new();
    let sent = Arc::new(AtomicU64::new(0));
    let sink = {
        let (first, sent) = (first.clone(), Arc::clone(&sent));
        let out = dump.then(std::io::stdout);
        RtpSink::new(
            PacketizerConfig::default(),
            move |rtp: &[u8], packet: &Packet| {
                first.note(started, &packet.trace, "rtp");
                sent.fetch_add(1, Ordering::Relaxed);
                if let Some(out) = &out {
                    dump_line(out, rtp, packet, started)?;
                }
                Ok(())
            },
        )
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
        .source(Limited::new(decoder, length))
        .stage(b.resampler)
        .boundary(
            Link::ring(Duration::from_millis(100))
                .with_overflow(Overflow::Block)
                .with_name("ring"),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use voxflow::core::PacketStage;
    use voxflow::pipeline::sinks::NullPacketSink;
    use voxflow::pipeline::sources::Sine;
    use voxflow::{AudioFormat, AudioFrame};

    use super::*;

    /// The Opus encoder, failing on its third frame the way a codec library does.
    struct FailingEncoder {
        inner: OpusEncoder,
        pushed: u32,
    }

    impl PacketStage for FailingEncoder {
        type Input = AudioFrame;
        type Output = Packet;
        fn name(&self) -> &'static str {
            self.inner.name()
        }
        fn push(&mut self, input: &AudioFrame, now: Instant) -> Result<(), Error> {
            self.pushed += 1;
            if self.pushed == 3 {
                return Err(voxflow_encode::Error::Codec {
                    backend: "opus-pure",
                    op: "encode",
                    detail: "invalid state".into(),
                }
                .into());
            }
            self.inner.push(input, now)
        }
        fn poll(&mut self, out: &mut Packet, now: Instant) -> Result<bool, Error> {
            self.inner.poll(out, now)
        }
        fn finish(&mut self, now: Instant) -> Result<(), Error> {
            self.inner.finish(now)
        }
        fn input_format(&self) -> Option<AudioFormat> {
            PacketStage::input_format(&self.inner)
        }
        fn input_frames(&self) -> Option<usize> {
            PacketStage::input_frames(&self.inner)
        }
        fn output_format(&self) -> Option<AudioFormat> {
            PacketStage::output_format(&self.inner)
        }
        fn max_output(&self) -> Option<usize> {
            PacketStage::max_output(&self.inner)
        }
    }

    #[test]
    fn an_encoder_failure_names_its_stage_once() {
        let fmt = AudioFormat::new(48_000, 1).unwrap();
        let inner = OpusEncoder::new(EncoderConfig {
            channels: 1,
            ..EncoderConfig::voip(32_000)
        })
        .unwrap();
        let running = Pipeline::builder()
            .source(Sine::new(fmt, 440.0, 960).duration(Duration::from_millis(200)))
            .encoder_boxed(Box::new(FailingEncoder { inner, pushed: 0 }))
            .packet_sink(NullPacketSink::new())
            .spawn()
            .unwrap();
        let failure: Failure = running.wait().unwrap_err().into();
        assert_eq!(
            crate::render_error(&*failure),
            "stage opus: opus-pure encode failed: invalid state"
        );
    }

    #[test]
    fn contexts_that_do_not_embed_their_source_are_joined() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("writing out.wav")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("disk full"));
        assert_eq!(crate::render_error(&e), "writing out.wav: disk full");
        let core = Error::Stage {
            stage: "wav",
            source: Box::new(Error::Io(std::io::Error::other("disk full"))),
        };
        assert_eq!(crate::render_error(&core), "stage wav: i/o: disk full");
    }
}
