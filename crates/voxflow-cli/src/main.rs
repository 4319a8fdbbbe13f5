//! The `voxflow` command: decode, resample, encode to Opus, send RTP, inspect, and measure
//! latency.
//!
//! Every job runs through `voxflow-pipeline`: the decoder (and resampler, when the output format
//! differs) on one thread, a lock-free ring, and the sink on another when it writes a file. The
//! latency report comes from the per-frame traces, not from a stopwatch around the job.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Map, Value, json};
use voxflow::decode::{Decoder, DecoderConfig, Preloaded};
use voxflow::pipeline::sinks::NullSink;
use voxflow::pipeline::{Link, Overflow, Pacing, Pipeline, Report};
use voxflow::resample::{FrameSize, Preset, Resampler, ResamplerConfig};
use voxflow::{AudioFormat, AudioSink, AudioSource};

mod jitter_cmd;
mod opus;
mod vad_cmd;

use voxflow::pipeline::sinks::{WavFormat as WavBits, WavSink, WavStreamSink};

/// The embedded demo clip: 9.8 s of synthetic speech (espeak-ng), 22.05 kHz mono FLAC, made for
/// this project.
const DEMO_CLIP: &[u8] = include_bytes!("../assets/demo.flac");

#[derive(Parser, Debug)]
#[command(
    name = "voxflow",
    version,
    about = "Real-time audio: decode, resample, encode Opus, send RTP, measure latency"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Decode and resample the embedded clip (22.05 kHz mono → 48 kHz stereo, 20 ms frames)
    /// through a ring, and print the latency report.
    Demo {
        /// Print the report as one JSON object on stdout instead of a table.
        #[arg(long, value_enum)]
        report: Option<ReportFormat>,
        /// Pace the source in real time (as if streaming to a network peer).
        #[arg(long)]
        realtime: bool,
    },
    /// Show container, codec, rate, channels and duration of a file.
    Info {
        /// The file.
        file: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Decode a file (optionally resampling/remixing) to a WAV file or to nothing.
    Decode {
        /// The input file (WAV, MP3, FLAC, Ogg Vorbis, AAC/M4A, MKV); `-` reads stdin.
        file: PathBuf,
        /// Write a WAV file here; `-` streams it to stdout.
        #[arg(short, long, conflicts_with = "null", required_unless_present = "null")]
        output: Option<PathBuf>,
        /// Decode and discard (for timing).
        #[arg(long)]
        null: bool,
        #[command(flatten)]
        opts: ConvertOpts,
    },
    /// Encode a file to Ogg Opus (decode → resample to 48 kHz → Opus → Ogg).
    Encode {
        /// The input file; `-` reads stdin.
        input: PathBuf,
        /// The Ogg Opus file to write (e.g. out.opus); `-` streams it to stdout.
        output: PathBuf,
        #[command(flatten)]
        opts: opus::OpusOpts,
    },
    /// Encode a file to RTP Opus packets on the paced real-time path, and print the latency
    /// of every stage and the time from open to the first packet.
    Rtp {
        /// The input file.
        input: PathBuf,
        /// Print one line per RTP packet: sequence number, timestamp, marker, payload bytes
        /// and milliseconds since open.
        #[arg(long)]
        dump: bool,
        /// Pace in real time (`--realtime false`: as fast as possible).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        realtime: bool,
        /// Stop after this many seconds of input audio.
        #[arg(long)]
        seconds: Option<f64>,
        #[command(flatten)]
        opts: opus::OpusOpts,
    },
    /// Resample (and remix) a file into a WAV file.
    Resample {
        /// The input file; `-` reads stdin.
        input: PathBuf,
        /// The WAV file to write; `-` streams it to stdout.
        output: PathBuf,
        #[command(flatten)]
        opts: ConvertOpts,
    },
    /// Voice activity: speech segments of a file with their start and end times.
    Vad {
        /// The input file (any format `decode` reads, any rate and layout).
        file: PathBuf,
        /// Speech model: voxflow (default), energy, earshot.
        #[arg(long, default_value = "voxflow")]
        model: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Turn detection (reply on pause): turns, their timings and when each end was detected.
    Turns {
        /// The input file.
        file: PathBuf,
        /// The pause that ends a turn, in milliseconds.
        #[arg(long, default_value_t = 700)]
        min_silence: u64,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Evaluate a speech model on a labelled set laid out like shared/data/vad
    /// (wav/*.wav, labels/*.csv): precision, recall, F1, FPR on non-speech files, µs per 10 ms.
    VadEval {
        /// The set's directory.
        dir: PathBuf,
        /// Speech model: voxflow (default), energy, earshot.
        #[arg(long, default_value = "voxflow")]
        model: String,
        /// Print one JSON object (keys pooled, fpr_nonspeech, us_per_10ms, per_file).
        #[arg(long)]
        json: bool,
    },
    /// Replay network traces (seq,send_ms,arrival_ms) through jitter buffers side by side on a
    /// virtual clock with real Opus packets: delay, concealment, late drops, first audio.
    JitterSim(jitter_cmd::JitterSimArgs),
}

#[derive(clap::Args, Debug)]
struct ConvertOpts {
    /// Output sample rate in Hz (default: the input's).
    #[arg(long)]
    rate: Option<u32>,
    /// Output channel count (default: the input's).
    #[arg(long)]
    channels: Option<u16>,
    /// Resampler quality preset.
    #[arg(long, value_enum, default_value_t = PresetArg::High)]
    preset: PresetArg,
    /// Frame duration in milliseconds (1–100).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=100))]
    frame_ms: u64,
    /// WAV sample format: 16 or 24 (integer PCM) or 32 (float). Default: the input's (float
    /// stays float, 24- and 32-bit integer become 24-bit, the rest 16-bit).
    #[arg(long, value_parser = parse_bits)]
    bits: Option<WavBits>,
    /// Pace the source in real time instead of as fast as possible.
    #[arg(long)]
    realtime: bool,
    /// Print the report as one JSON object on stdout.
    #[arg(long, value_enum)]
    report: Option<ReportFormat>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum PresetArg {
    LowLatency,
    Balanced,
    High,
}

impl From<PresetArg> for Preset {
    fn from(p: PresetArg) -> Preset {
        match p {
            PresetArg::LowLatency => Preset::LowLatency,
            PresetArg::Balanced => Preset::Balanced,
            PresetArg::High => Preset::High,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum ReportFormat {
    Json,
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// `voxflow … | head` closes our stdout early: Rust's `println!` then panics with "Broken pipe".
/// That is the reader's choice, not a bug: end quietly like other command-line tools.
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_broken_pipe();
    let cli = Cli::parse();
    match run(cli.cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("voxflow: error: {}", render_error(&*e));
            ExitCode::FAILURE
        }
    }
}

/// An error and its chain of sources on one line, each context once.
///
/// Errors made with `thiserror` print their source inside their own message (`"stage opus:
/// {source}"`) and return it from `source()` too, and a pipeline wraps a stage's error that may
/// already name the stage: printing every level would say the same thing two or three times.
/// Each level contributes only what its message adds to its source's (the prefix before the
/// source's text, or its whole message when it does not include the source), and a context
/// equal to the one just before it is dropped.
fn render_error(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msgs = Vec::new();
    let mut cur = Some(e);
    while let Some(x) = cur {
        msgs.push(x.to_string());
        cur = x.source();
    }
    let mut out = String::new();
    let mut last = String::new();
    for (i, m) in msgs.iter().enumerate() {
        let part = match msgs.get(i + 1) {
            Some(next) if !next.is_empty() && m.ends_with(next.as_str()) => {
                m[..m.len() - next.len()].to_string()
            }
            Some(_) => format!("{m}: "),
            None => m.clone(),
        };
        if part.is_empty() || (i + 1 < msgs.len() && part == last) {
            continue;
        }
        out.push_str(&part);
        last = part;
    }
    out
}

/// `--bits 16|24|32`.
fn parse_bits(s: &str) -> Result<WavBits, String> {
    match s.trim() {
        "16" => Ok(WavBits::Pcm16),
        "24" => Ok(WavBits::Pcm24),
        "32" => Ok(WavBits::Float32),
        _ => Err(format!("--bits {s}: expected 16, 24 or 32 (float)")),
    }
}

fn run(cmd: Cmd) -> Result<(), Failure> {
    match cmd {
        Cmd::Demo { report, realtime } => {
            let started = Instant::now();
            let clip = Preloaded::from_bytes(Arc::from(DEMO_CLIP), Some("flac"));
            let config = DecoderConfig::default().with_frame_duration(Duration::from_millis(20));
            let decoder = clip.decoder(config)?;
            let job = Job {
                target: Target {
                    rate: Some(48_000),
                    channels: Some(2),
                    preset: Preset::Balanced,
                    frame: Duration::from_millis(20),
                },
                sink: SinkChoice::NullThroughRing,
                pacing: pacing(realtime),
                label: "demo",
            };
            let (out, rep) = job.run(decoder, started)?;
            if report == Some(ReportFormat::Json) {
                println!("{}", report_json(&out, &rep));
            } else {
                println!(
                    "voxflow demo: embedded clip ({}), {} → {}",
                    out.input_desc, out.input, out.output
                );
                println!("{rep}");
                println!(
                    "first frame out {:.2} ms after open; {:.2} s of audio in {:.1} ms ({:.0}× real time)",
                    out.first_frame_ms,
                    out.duration_s,
                    out.wall_ms,
                    out.duration_s * 1e3 / out.wall_ms.max(1e-9)
                );
            }
            Ok(())
        }
        Cmd::Info { file, json } => info(&file, json),
        Cmd::Encode {
            input,
            output,
            opts,
        } => opus::encode(&input, &output, &opts),
        Cmd::Rtp {
            input,
            dump,
            realtime,
            seconds,
            opts,
        } => opus::rtp(&input, dump, realtime, seconds, &opts),
        Cmd::Decode {
            file,
            output,
            null,
            opts,
        } => {
            let sink = match (output, null) {
                (Some(path), _) => SinkChoice::Wav(path, opts.bits),
                (None, _) => SinkChoice::Null,
            };
            convert(&file, sink, &opts)
        }
        Cmd::Resample {
            input,
            output,
            opts,
        } => {
            if opts.rate.is_none() {
                return Err("resample needs --rate HZ".into());
            }
            convert(&input, SinkChoice::Wav(output, opts.bits), &opts)
        }
        Cmd::Vad { file, model, json } => vad_cmd::vad(&file, &model, json),
        Cmd::Turns {
            file,
            min_silence,
            json,
        } => vad_cmd::turns(&file, min_silence, json),
        Cmd::VadEval { dir, model, json } => vad_cmd::vad_eval(&dir, &model, json),
        Cmd::JitterSim(args) => jitter_cmd::jitter_sim(args, DEMO_CLIP),
    }
}

fn pacing(realtime: bool) -> Pacing {
    if realtime {
        Pacing::RealTime {
            lead: Duration::from_millis(60),
        }
    } else {
        Pacing::AsFastAsPossible
    }
}

/// True for the path `-`: stdin as input, stdout as output.
fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Opens `file` (`-`: stdin, read forward as it arrives, format probed from its bytes).
fn open(file: &Path, frame: Duration) -> Result<Decoder, Failure> {
    let config = DecoderConfig::default().with_frame_duration(frame);
    if is_stdio(file) {
        return Decoder::from_stream(std::io::stdin(), None, config)
            .map_err(|e| format!("stdin: {e}").into());
    }
    Decoder::open_with(file, config).map_err(|e| format!("{}: {e}", file.display()).into())
}

/// The WAV sample format to write: `--bits`, or the input's (float stays float).
fn wav_bits(asked: Option<WavBits>, info: &voxflow::decode::StreamInfo) -> WavBits {
    asked.unwrap_or(if info.codec.starts_with("pcm_f") {
        WavBits::Float32
    } else if info.bits_per_sample.is_some_and(|b| b > 16) {
        WavBits::Pcm24
    } else {
        WavBits::Pcm16
    })
}

fn convert(file: &Path, sink: SinkChoice, opts: &ConvertOpts) -> Result<(), Failure> {
    let started = Instant::now();
    let frame = Duration::from_millis(opts.frame_ms);
    if opts.report == Some(ReportFormat::Json)
        && matches!(&sink, SinkChoice::Wav(path, _) if is_stdio(path))
    {
        return Err(
            "--report json prints on stdout, which carries the WAV: write to a file".into(),
        );
    }
    let decoder = open(file, frame)?;
    let job = Job {
        target: Target {
            rate: opts.rate,
            channels: opts.channels,
            preset: opts.preset.into(),
            frame,
        },
        sink,
        pacing: pacing(opts.realtime),
        label: "decode",
    };
    let (out, rep) = job.run(decoder, started)?;
    if opts.report == Some(ReportFormat::Json) {
        println!("{}", report_json(&out, &rep));
    } else if std::io::stderr().is_terminal() {
        eprintln!(
            "{}: {} → {}, {:.2} s of audio in {:.1} ms",
            file.display(),
            out.input,
            out.output,
            out.duration_s,
            out.wall_ms
        );
    }
    Ok(())
}

fn info(file: &Path, as_json: bool) -> Result<(), Failure> {
    let dec = open(file, Duration::from_millis(20))?;
    let i = dec.info();
    let duration_s = i.duration.map(|d| d.as_secs_f64());
    if as_json {
        let v = json!({
            "file": file.display().to_string(),
            "container": i.container,
            "codec": i.codec,
            "rate": i.sample_rate,
            "channels": i.channels,
            "bits_per_sample": i.bits_per_sample,
            "frames": i.total_frames,
            "duration_s": duration_s,
            "seekable": i.seekable,
        });
        println!("{v}");
    } else {
        println!("file:      {}", file.display());
        println!("container: {}", i.container);
        println!("codec:     {}", i.codec);
        println!("rate:      {} Hz", i.sample_rate);
        println!("channels:  {}", i.channels);
        if let Some(b) = i.bits_per_sample {
            println!("bits:      {b}");
        }
        match (duration_s, i.total_frames) {
            (Some(d), Some(n)) => println!("duration:  {d:.3} s ({n} sample frames)"),
            _ => println!("duration:  unknown (not in the container)"),
        }
    }
    Ok(())
}

struct Target {
    rate: Option<u32>,
    channels: Option<u16>,
    preset: Preset,
    frame: Duration,
}

enum SinkChoice {
    /// Fused on the decoding thread: nothing to hand over.
    Null,
    /// Behind a ring on its own thread (shows a link in the report).
    NullThroughRing,
    /// Behind a ring on its own thread, so file I/O never stalls decoding (`-`: stdout; no
    /// `--bits`: the input's sample format).
    Wav(PathBuf, Option<WavBits>),
}

struct Outcome {
    input: AudioFormat,
    output: AudioFormat,
    input_desc: String,
    frames: u64,
    samples: u64,
    duration_s: f64,
    wall_ms: f64,
    open_ms: f64,
    first_frame_ms: f64,
    dropped: u64,
    skipped: u64,
}

struct Job {
    target: Target,
    sink: SinkChoice,
    pacing: Pacing,
    label: &'static str,
}

impl Job {
    /// Runs decode → (resample) → sink; `started` is when the open began (for first-frame time).
    fn run(self, decoder: Decoder, started: Instant) -> Result<(Outcome, Report), Failure> {
        let opened = started.elapsed();
        let input = decoder.format();
        let output = AudioFormat::new(
            self.target.rate.unwrap_or(input.rate),
            self.target.channels.unwrap_or(input.channels),
        )?;
        let info = decoder.info().clone();
        let input_desc = format!("{} in {}", info.codec, info.container);
        let total = info.total_frames;
        let max_in = decoder.max_frames();
        let mut b = Pipeline::builder().pacing(self.pacing);
        let resampling = output != input;
        b = b.source(decoder);
        if resampling {
            let cfg = ResamplerConfig::new(input, output)
                .preset(self.target.preset)
                .frame(FrameSize::Duration(self.target.frame))
                .max_input_frames(max_in);
            b = b.stage(Resampler::new(cfg)?);
        }
        let ring = Link::ring(Duration::from_millis(200))
            .with_overflow(Overflow::Block)
            .with_name("ring");
        b = match &self.sink {
            SinkChoice::Null => b.sink(NullSink::new()),
            SinkChoice::NullThroughRing => b.boundary(ring).sink(NullSink::new()),
            SinkChoice::Wav(path, bits) => {
                let bits = wav_bits(*bits, &info);
                // A file gets its sizes patched by hound at the end; stdout cannot seek, so it
                // gets the streaming header (sizes declared unknown, as ffmpeg and sox do).
                let wav: Result<Box<dyn AudioSink>, voxflow::Error> = if is_stdio(path) {
                    let out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout());
                    WavStreamSink::new(out, output, bits).map(|w| Box::new(w) as Box<dyn AudioSink>)
                } else {
                    WavSink::create(path, output, bits).map(|w| Box::new(w) as Box<dyn AudioSink>)
                };
                b.boundary(ring)
                    .sink_boxed(wav.map_err(|e| Failure::from(format!("{}: {e}", path.display())))?)
            }
        };
        let running = b.spawn()?;
        let bar = progress_bar(total, self.label);
        if let Some(bar) = &bar {
            while !running.is_finished() {
                let r = running.report();
                bar.set_position(r.sample_frames_in);
                std::thread::sleep(Duration::from_millis(50));
            }
            bar.finish_and_clear();
        }
        let rep = running.wait()?;
        let frames = rep.frames_out;
        let samples = rep.sample_frames_out;
        let out = Outcome {
            input,
            output,
            input_desc,
            frames,
            samples,
            duration_s: samples as f64 / f64::from(output.rate),
            wall_ms: rep.wall.as_secs_f64() * 1e3,
            open_ms: opened.as_secs_f64() * 1e3,
            first_frame_ms: (opened + rep.first_frame_out.unwrap_or_default()).as_secs_f64() * 1e3,
            dropped: rep.dropped(),
            skipped: rep.skipped,
        };
        Ok((out, rep))
    }
}

fn progress_bar(total: Option<u64>, label: &'static str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{msg} [{bar:40}] {percent:>3}% {elapsed}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(label);
    Some(bar)
}

fn us(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e7).round() / 10.0
}

/// The `--report json` object: one line, keys documented in the README.
fn report_json(o: &Outcome, r: &Report) -> Value {
    let mut stages = Map::new();
    for s in &r.stages {
        stages.insert(
            s.name.to_string(),
            json!({
                "role": s.role.to_string(),
                "count": s.latency.count,
                "p50_us": us(s.latency.p50),
                "p95_us": us(s.latency.p95),
                "p99_us": us(s.latency.p99),
                "max_us": us(s.latency.max),
            }),
        );
    }
    json!({
        "input": {"rate": o.input.rate, "channels": o.input.channels, "codec": o.input_desc},
        "output": {"rate": o.output.rate, "channels": o.output.channels},
        "frames": o.frames,
        "samples": o.samples,
        "duration_s": o.duration_s,
        "wall_ms": o.wall_ms,
        "open_ms": o.open_ms,
        "first_frame_ms": o.first_frame_ms,
        "dropped": o.dropped,
        "skipped": o.skipped,
        "stages": stages,
        "total": {
            "p50_us": us(r.total.p50),
            "p95_us": us(r.total.p95),
            "p99_us": us(r.total.p99),
            "max_us": us(r.total.max),
        },
    })
}
