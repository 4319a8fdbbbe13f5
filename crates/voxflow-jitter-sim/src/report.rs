//! Output: a human table (one row per trace × buffer) and the one JSON object of `--json`.

use std::fmt::Write;

use serde_json::{Value, json};

use crate::metrics::Metrics;

fn cell(v: Option<f64>, places: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.places$}"),
        _ => "-".into(),
    }
}

/// The human table: delays in ms (mean, p95, mean of packets sent after 5 s), concealed %,
/// late drops, out-of-order and duplicate playouts, first audio and first sustained audio after
/// the first arrival, accelerate/decelerate totals (ms), drift growth and wait growth (ms), and
/// one line per detected spike.
pub fn table(rows: &[Metrics]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<8} {:<10} {:>7} {:>7} {:>8} {:>8} {:>5} {:>4} {:>4} {:>8} {:>8} {:>6} {:>6} {:>7} {:>7}",
        "trace",
        "buffer",
        "mean ms",
        "p95 ms",
        "mean>5s",
        "conceal%",
        "late",
        "ooo",
        "dup",
        "first ms",
        "sust. ms",
        "accel",
        "decel",
        "drift",
        "wait+"
    );
    for m in rows {
        let _ = writeln!(
            s,
            "{:<8} {:<10} {:>7} {:>7} {:>8} {:>8} {:>5} {:>4} {:>4} {:>8} {:>8} {:>6} {:>6} {:>7} {:>7}",
            m.trace,
            m.buffer,
            cell(m.mean_delay_ms, 1),
            cell(m.p95_delay_ms, 1),
            cell(m.mean_delay_after_5s_ms, 1),
            cell(m.concealed_pct, 2),
            m.late_dropped,
            m.out_of_order_played,
            m.duplicates_played,
            cell(m.first_audio_ms, 1),
            cell(m.first_sustained_audio_ms, 1),
            cell(m.accelerate_ms, 0),
            cell(m.decelerate_ms, 0),
            cell(m.drift_growth_ms, 1),
            cell(m.wait_growth_ms, 1),
        );
        for sp in &m.spikes {
            let _ = writeln!(
                s,
                "{:<19} spike at {:.0} ms (+{:.0} ms): pre-spike delay {} ms, back within 20 ms after {} ms",
                "",
                sp.at_ms,
                sp.jump_ms,
                cell(sp.pre_delay_ms, 1),
                cell(sp.recovery_ms, 0),
            );
        }
    }
    s
}

/// `{"traces": [...]}` with one object per trace × buffer.
pub fn json_report(rows: &[Metrics], series: bool) -> Value {
    json!({ "traces": rows.iter().map(|m| m.to_json(series)).collect::<Vec<_>>() })
}
