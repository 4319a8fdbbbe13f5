//! Packet-arrival traces: `seq,send_ms,arrival_ms` rows (the format of `../shared/data/net`).
//!
//! One row per received or lost packet: `seq` (a non-negative integer), `send_ms` (when it was
//! sent, ms), `arrival_ms` (when it arrived, ms; empty for a lost packet). A duplicate is a second
//! row with the same `seq`. An optional header line starting with `seq`, blank lines and lines
//! starting with `#` are skipped. Parsing never panics: every problem is a [`TraceError`] naming
//! its 1-based line.

use std::path::Path;

/// Largest sequence number accepted: about 5.8 hours of 20 ms packets (every packet up to the
/// largest is encoded, so this bounds the work a trace can ask for).
pub const MAX_SEQ: u64 = 1_048_575;

/// Largest time accepted in `send_ms` or `arrival_ms` (10 hours).
pub const MAX_MS: f64 = 36_000_000.0;

/// One row of a trace.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceRow {
    /// The packet's sequence number (extended, starting anywhere).
    pub seq: u64,
    /// When it was sent (sender clock, ms).
    pub send_ms: f64,
    /// When it arrived (receiver clock, ms), `None` when lost.
    pub arrival_ms: Option<f64>,
}

/// Why a trace could not be read.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TraceError {
    /// The file could not be read.
    #[error("reading {path}: {detail}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        detail: String,
    },
    /// A line does not have exactly three comma-separated fields.
    #[error("line {line}: expected 3 fields (seq,send_ms,arrival_ms), found {found}")]
    FieldCount {
        /// 1-based line number.
        line: usize,
        /// Fields found.
        found: usize,
    },
    /// A field is not a number of the right kind.
    #[error("line {line}: {field} {value:?} is not a valid number")]
    BadNumber {
        /// 1-based line number.
        line: usize,
        /// `seq`, `send_ms` or `arrival_ms`.
        field: &'static str,
        /// The text found.
        value: String,
    },
    /// A number is out of the accepted range (negative, not finite, or beyond
    /// [`MAX_SEQ`] / [`MAX_MS`]).
    #[error("line {line}: {field} {value} is out of range")]
    OutOfRange {
        /// 1-based line number.
        line: usize,
        /// `seq`, `send_ms` or `arrival_ms`.
        field: &'static str,
        /// The value found.
        value: f64,
    },
    /// No row holds a packet that arrived.
    #[error("the trace has no arrived packet")]
    NoArrivals,
}

/// A parsed trace.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// A short name (the file stem), used in reports and output file names.
    pub name: String,
    /// The rows in file order.
    pub rows: Vec<TraceRow>,
}

fn number(line: usize, field: &'static str, text: &str) -> Result<f64, TraceError> {
    let v: f64 = text.parse().map_err(|_| TraceError::BadNumber {
        line,
        field,
        value: text.to_string(),
    })?;
    if !v.is_finite() || !(0.0..=MAX_MS).contains(&v) {
        return Err(TraceError::OutOfRange {
            line,
            field,
            value: v,
        });
    }
    Ok(v)
}

impl Trace {
    /// Parses the text of a trace.
    pub fn parse(name: &str, text: &str) -> Result<Trace, TraceError> {
        let mut rows = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') || (rows.is_empty() && l.starts_with("seq")) {
                continue;
            }
            let fields: Vec<&str> = l.split(',').map(str::trim).collect();
            if fields.len() != 3 {
                return Err(TraceError::FieldCount {
                    line,
                    found: fields.len(),
                });
            }
            let seq: u64 = fields[0].parse().map_err(|_| TraceError::BadNumber {
                line,
                field: "seq",
                value: fields[0].to_string(),
            })?;
            if seq > MAX_SEQ {
                return Err(TraceError::OutOfRange {
                    line,
                    field: "seq",
                    value: seq as f64,
                });
            }
            let send_ms = number(line, "send_ms", fields[1])?;
            let arrival_ms = if fields[2].is_empty() {
                None
            } else {
                Some(number(line, "arrival_ms", fields[2])?)
            };
            rows.push(TraceRow {
                seq,
                send_ms,
                arrival_ms,
            });
        }
        if rows.iter().all(|r| r.arrival_ms.is_none()) {
            return Err(TraceError::NoArrivals);
        }
        Ok(Trace {
            name: name.to_string(),
            rows,
        })
    }

    /// Reads and parses a trace file; its name is the file stem.
    pub fn read(path: &Path) -> Result<Trace, TraceError> {
        let text = std::fs::read_to_string(path).map_err(|e| TraceError::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "trace".to_string());
        Trace::parse(&name, &text)
    }

    /// The rows that arrived, in order of arrival (rows arriving at the same instant keep their
    /// file order).
    pub fn arrivals(&self) -> Vec<(TraceRow, f64)> {
        let mut v: Vec<(TraceRow, f64)> = self
            .rows
            .iter()
            .filter_map(|r| r.arrival_ms.map(|a| (*r, a)))
            .collect();
        v.sort_by(|a, b| a.1.total_cmp(&b.1));
        v
    }

    /// The largest sequence number in the trace.
    pub fn max_seq(&self) -> u64 {
        self.rows.iter().map(|r| r.seq).max().unwrap_or(0)
    }

    /// The first arrival time (ms).
    pub fn first_arrival_ms(&self) -> f64 {
        self.rows
            .iter()
            .filter_map(|r| r.arrival_ms)
            .fold(f64::INFINITY, f64::min)
    }

    /// The last arrival time (ms).
    pub fn last_arrival_ms(&self) -> f64 {
        self.rows
            .iter()
            .filter_map(|r| r.arrival_ms)
            .fold(0.0, f64::max)
    }

    /// The send time of each sequence number (the first row's, for duplicates).
    pub fn send_ms_of(&self, seq: u64) -> Option<f64> {
        self.rows.iter().find(|r| r.seq == seq).map(|r| r.send_ms)
    }
}
