//! Sessions per core: how many paced send sessions (file → resample → Opus → null packet sink)
//! one scheduler thread carries with p99 lateness under 5 ms, against the codec-bound limit
//! measured in the same run, and thread-per-session at the same count.
//!
//! `cargo run --release -p voxflow-examples --example sessions -- [--seconds S] [--complexity 5,10] [--threads-too]`
//!
//! Each session decodes the embedded demo clip (22.05 kHz mono FLAC, preloaded once and shared),
//! resamples it to 48 kHz mono (`LowLatency`), encodes Opus at 32 kbit/s, 20 ms, VoIP, and
//! drops the packets, paced in real time with one frame of lead. Sessions start spread evenly
//! over one 20 ms frame, as a server's sessions would (aligned starts would make every session
//! due at the same instant). Lateness is how long after its pacing deadline a frame was read;
//! a trial passes when the worst session's p99 stays under 5 ms.
//!
//! The codec-bound limit is 20 ms ÷ the mean cost of one `OpusEncoder::encode` of a 20 ms
//! frame, measured on this thread just before the trials; the chain-bound limit divides by the
//! whole chain's cost per frame (decode + resample + encode), which is what a session costs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use voxflow::decode::{Decoder, DecoderConfig, Preloaded};
use voxflow::encode::{EncoderConfig, OpusEncoder};
use voxflow::pipeline::sinks::NullPacketSink;
use voxflow::pipeline::{Limited, Pacing, Pipeline, PipelineBuilder, Scheduler};
use voxflow::resample::{Preset, Resampler, ResamplerConfig};
use voxflow::{AudioFormat, AudioFrame, AudioSource, AudioStage, Packet, PacketStage};

const CLIP: &[u8] = include_bytes!("../../crates/voxflow-cli/assets/demo.flac");
const FRAME: Duration = Duration::from_millis(20);
const TARGET_P99: Duration = Duration::from_millis(5);

struct Setup {
    clip: Preloaded,
    seconds: f64,
    complexity: u8,
}

impl Setup {
    fn decoder(&self) -> Result<Decoder, Box<dyn std::error::Error>> {
        Ok(self
            .clip
            .decoder(DecoderConfig::default().with_frame_duration(FRAME))?)
    }

    fn chain(&self) -> Result<(Decoder, Resampler, OpusEncoder), Box<dyn std::error::Error>> {
        let dec = self.decoder()?;
        let out = AudioFormat::new(48_000, 1)?;
        let rs = Resampler::new(
            ResamplerConfig::new(dec.format(), out)
                .preset(Preset::LowLatency)
                .max_input_frames(dec.max_frames()),
        )?;
        let mut cfg = EncoderConfig::voip(32_000);
        cfg.sample_rate = 48_000;
        cfg.channels = 1;
        cfg.complexity = self.complexity;
        let enc = OpusEncoder::new(cfg)?;
        Ok((dec, rs, enc))
    }

    fn pipeline(&self) -> Result<PipelineBuilder, Box<dyn std::error::Error>> {
        let (dec, rs, enc) = self.chain()?;
        Ok(Pipeline::builder()
            .source(Limited::new(dec, Duration::from_secs_f64(self.seconds)))
            .stage(rs)
            .encoder(enc)
            .packet_sink(NullPacketSink::new())
            .pacing(Pacing::RealTime { lead: FRAME }))
    }

    /// Mean cost of one 20 ms frame: (encode alone, whole chain).
    fn costs(&self) -> Result<(Duration, Duration), Box<dyn std::error::Error>> {
        let (mut dec, mut rs, mut enc) = self.chain()?;
        let mut frame = AudioFrame::with_capacity(dec.format(), dec.max_frames());
        let mut out = AudioFrame::with_capacity(rs.output_format(), rs.max_output_frames());
        let mut packet = Packet::with_capacity(4000);
        let now = Instant::now();
        // Resampled 48 kHz frames, kept to time the encoder alone.
        let mut frames = Vec::new();
        let t = Instant::now();
        while dec.read(&mut frame)? {
            rs.push(&frame)?;
            while rs.poll(&mut out)? {
                enc.push(&out, now)?;
                while enc.poll(&mut packet, now)? {}
                frames.push(out.clone());
            }
        }
        let chain = t.elapsed() / frames.len().max(1) as u32;
        let (_, _, mut enc) = self.chain()?;
        let t = Instant::now();
        for f in &frames {
            enc.push(f, now)?;
            while enc.poll(&mut packet, now)? {}
        }
        let encode = t.elapsed() / frames.len().max(1) as u32;
        Ok((encode, chain))
    }
}

struct Trial {
    worst_p99: Duration,
    worst_max: Duration,
    frames: u64,
}

/// Runs `n` sessions staggered over one frame, on a one-thread scheduler or on threads.
fn trial(setup: &Setup, n: usize, threads: bool) -> Result<Trial, Box<dyn std::error::Error>> {
    let scheduler = Scheduler::new(1)?;
    let gap = FRAME / n.max(1) as u32;
    let start = Instant::now();
    let mut reports = Vec::with_capacity(n);
    let mut sched = Vec::new();
    let mut running = Vec::new();
    for k in 0..n {
        let p = setup.pipeline()?;
        let at = start + gap * k as u32;
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        if threads {
            running.push(p.spawn()?);
        } else {
            sched.push(scheduler.spawn(p)?);
        }
    }
    for s in sched {
        reports.push(s.wait()?);
    }
    for r in running {
        reports.push(r.wait()?);
    }
    Ok(Trial {
        worst_p99: reports
            .iter()
            .map(|r| r.lateness.p99)
            .max()
            .unwrap_or_default(),
        worst_max: reports
            .iter()
            .map(|r| r.lateness.max)
            .max()
            .unwrap_or_default(),
        frames: reports.iter().map(|r| r.packets_out).sum(),
    })
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut seconds = 3.0;
    let mut complexities = vec![5u8, 10];
    let mut threads_too = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => seconds = args.next().ok_or("--seconds S")?.parse()?,
            "--complexity" => {
                complexities = args
                    .next()
                    .ok_or("--complexity 5,10")?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--threads-too" => threads_too = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let clip = Preloaded::from_bytes(Arc::from(CLIP), Some("flac"));
    println!(
        "sessions per scheduler thread: demo clip → 48 kHz mono → Opus 32 kbit/s 20 ms → null, {seconds} s each, p99 lateness target {}",
        ms(TARGET_P99)
    );
    for complexity in complexities {
        let setup = Setup {
            clip: clip.clone(),
            seconds,
            complexity,
        };
        let (encode, chain) = setup.costs()?;
        let codec_bound = FRAME.as_secs_f64() / encode.as_secs_f64();
        let chain_bound = FRAME.as_secs_f64() / chain.as_secs_f64();
        println!(
            "\ncomplexity {complexity}: encode {:.1} µs/frame → codec-bound {codec_bound:.0} sessions; whole chain {:.1} µs/frame → chain-bound {chain_bound:.0}",
            encode.as_secs_f64() * 1e6,
            chain.as_secs_f64() * 1e6
        );
        // Grow by 10 % from half the codec bound until a trial fails, then bisect.
        let mut good = 0usize;
        let mut bad = None;
        let mut n = ((codec_bound * 0.5) as usize).max(1);
        while bad.is_none() || bad.is_some_and(|b| b > good + 1) {
            let t = trial(&setup, n, false)?;
            let pass = t.worst_p99 < TARGET_P99;
            println!(
                "  N = {n:4}: worst p99 lateness {:>9}, max {:>9}, {} frames  {}",
                ms(t.worst_p99),
                ms(t.worst_max),
                t.frames,
                if pass { "pass" } else { "FAIL" }
            );
            if pass {
                good = good.max(n);
            } else {
                bad = Some(bad.map_or(n, |b: usize| b.min(n)));
            }
            n = match bad {
                None => ((n as f64 * 1.1).ceil() as usize).max(n + 1),
                Some(b) => good + (b - good) / 2,
            };
            if n <= good {
                break;
            }
        }
        println!(
            "  largest N with p99 < {}: {good} = {:.2} × codec-bound, {:.2} × chain-bound (target ≥ 0.8 × codec-bound)",
            ms(TARGET_P99),
            good as f64 / codec_bound,
            good as f64 / chain_bound
        );
        if threads_too && good > 0 {
            let t = trial(&setup, good, true)?;
            println!(
                "  thread per session at N = {good}: worst p99 lateness {}, max {} ({} threads)",
                ms(t.worst_p99),
                ms(t.worst_max),
                good
            );
        }
    }
    Ok(())
}
