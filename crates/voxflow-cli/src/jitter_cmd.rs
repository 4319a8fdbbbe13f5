//! `voxflow jitter-sim`: replays packet-arrival traces through jitter buffers side by side on a
//! virtual clock (the work is in the `voxflow-jitter-sim` crate; see its README for the
//! definitions of every figure).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use voxflow_jitter_sim::packets::{load_audio_bytes, load_audio_file, write_wav};
use voxflow_jitter_sim::{BufferSpec, Metrics, Trace, json_report, packets_for, simulate, table};

/// A boxed error for the command layer.
pub type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Arguments of `voxflow jitter-sim`.
#[derive(clap::Args, Debug)]
pub struct JitterSimArgs {
    /// Trace files (`seq,send_ms,arrival_ms`, empty arrival = lost, as ../shared/data/net).
    #[arg(required = true)]
    traces: Vec<PathBuf>,
    /// Buffer to run: voxflow, fixed:MS or neteq (repeatable). Default: voxflow and fixed:200,
    /// plus neteq when built with the `neteq` feature.
    #[arg(long = "buffer")]
    buffers: Vec<String>,
    /// Speech to packetize (any format `decode` reads; default: the embedded demo clip).
    #[arg(long)]
    audio: Option<PathBuf>,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Include each packet's delay (`delay_series`: [seq, send_ms, delay_ms]) in the JSON.
    #[arg(long)]
    series: bool,
    /// Write what a listener hears (48 kHz mono 16-bit WAV). With one trace and one buffer this
    /// is the file; otherwise OUT-<trace>-<buffer>.wav (`:` in a buffer name becomes `-`). The
    /// loss-free reference decode is written beside it (OUT-reference.wav, or
    /// OUT-<trace>-reference.wav for several traces) unless --reference is given.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write the loss-free decode of the packets (the PESQ reference) here
    /// (REF-<trace>.wav for several traces).
    #[arg(long)]
    reference: Option<PathBuf>,
}

/// `OUT.wav` → `OUT-<suffix>.wav`.
fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or("wav".into());
    path.with_file_name(format!("{stem}-{suffix}.{ext}"))
}

/// Runs the command.
pub fn jitter_sim(args: JitterSimArgs, demo_clip: &'static [u8]) -> Result<(), Failure> {
    let specs = if args.buffers.is_empty() {
        BufferSpec::defaults()
    } else {
        args.buffers
            .iter()
            .map(|b| BufferSpec::parse(b))
            .collect::<Result<Vec<_>, _>>()?
    };
    let traces = args
        .traces
        .iter()
        .map(|p| Trace::read(p).map_err(|e| format!("{}: {e}", p.display())))
        .collect::<Result<Vec<_>, _>>()?;
    let audio = match &args.audio {
        Some(p) => load_audio_file(p)?,
        None => load_audio_bytes(Arc::from(demo_clip), Some("flac"))?,
    };
    // One packet set long enough for every trace: the same packets for every buffer.
    let longest = traces
        .iter()
        .max_by_key(|t| t.max_seq())
        .ok_or("no trace given")?;
    let packets = packets_for(longest, &audio)?;

    let several = traces.len() > 1 || specs.len() > 1;
    let mut rows: Vec<Metrics> = Vec::new();
    for trace in &traces {
        eprintln!("jitter-sim: {} ({} rows)", trace.name, trace.rows.len());
        let runs = simulate(trace, &packets, &specs, args.out.is_some())?;
        if let Some(out) = &args.out {
            for (m, rec) in &runs {
                let path = if several {
                    suffixed(
                        out,
                        &format!("{}-{}", trace.name, m.buffer.replace(':', "-")),
                    )
                } else {
                    out.clone()
                };
                write_wav(&path, &rec.audio)?;
            }
        }
        let reference = match (&args.reference, &args.out) {
            (Some(r), _) if traces.len() > 1 => Some(suffixed(r, &trace.name)),
            (Some(r), _) => Some(r.clone()),
            (None, Some(o)) if traces.len() > 1 => {
                Some(suffixed(o, &format!("{}-reference", trace.name)))
            }
            (None, Some(o)) => Some(suffixed(o, "reference")),
            (None, None) => None,
        };
        if let Some(path) = reference {
            let n = (trace.max_seq() as usize + 1) * voxflow_jitter_sim::packets::PACKET_FRAMES;
            write_wav(&path, &packets.reference[..n.min(packets.reference.len())])?;
        }
        rows.extend(runs.into_iter().map(|(m, _)| m));
    }
    if args.json {
        println!("{}", json_report(&rows, args.series));
    } else {
        print!("{}", table(&rows));
    }
    Ok(())
}
