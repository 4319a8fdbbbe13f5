//! Test sources, stages and sinks shared by the integration tests.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use voxflow_core::{AudioFormat, AudioFrame, AudioSink, AudioSource, AudioStage, Error, MediaTime};

/// Frames of `len` sample frames; every sample of frame `k` is `k as f32`.
pub struct Indexed {
    pub format: AudioFormat,
    pub len: usize,
    pub next: u64,
    pub total: u64,
}

impl Indexed {
    pub fn new(format: AudioFormat, len: usize, total: u64) -> Self {
        Indexed {
            format,
            len,
            next: 0,
            total,
        }
    }
}

impl AudioSource for Indexed {
    fn name(&self) -> &'static str {
        "indexed"
    }
    fn format(&self) -> AudioFormat {
        self.format
    }
    fn max_frames(&self) -> usize {
        self.len
    }
    fn read(&mut self, out: &mut AudioFrame) -> Result<bool, Error> {
        out.clear();
        if self.next >= self.total {
            return Ok(false);
        }
        out.set_frames(self.len)?;
        out.samples_mut().fill(self.next as f32);
        out.set_pts(MediaTime::new(
            (self.next * self.len as u64) as i64,
            self.format.rate,
        ));
        self.next += 1;
        Ok(true)
    }
}

/// Keeps every other sample frame (even global index); output rate is half the input rate.
pub struct Decimator {
    input: AudioFormat,
    output: AudioFormat,
    max_in: usize,
    pos: u64,
    buf: Vec<f32>,
    pts: MediaTime,
    trace: voxflow_core::Trace,
    ready: bool,
}

impl Decimator {
    pub fn new(input: AudioFormat, max_in: usize) -> Self {
        let output = AudioFormat::new(input.rate / 2, input.channels).unwrap();
        Decimator {
            input,
            output,
            max_in,
            pos: 0,
            buf: Vec::with_capacity((max_in / 2 + 1) * usize::from(input.channels)),
            pts: MediaTime::ZERO,
            trace: voxflow_core::Trace::EMPTY,
            ready: false,
        }
    }
}

impl AudioStage for Decimator {
    fn name(&self) -> &'static str {
        "decimate"
    }
    fn input_format(&self) -> AudioFormat {
        self.input
    }
    fn output_format(&self) -> AudioFormat {
        self.output
    }
    fn max_input_frames(&self) -> usize {
        self.max_in
    }
    fn max_output_frames(&self) -> usize {
        self.max_in / 2 + 1
    }
    fn input_frames_next(&self) -> usize {
        1
    }
    fn push(&mut self, input: &AudioFrame) -> Result<(), Error> {
        let ch = usize::from(self.input.channels);
        self.buf.clear();
        let first_out = self.pos.div_ceil(2);
        for (i, f) in input.samples().chunks_exact(ch).enumerate() {
            if (self.pos + i as u64).is_multiple_of(2) {
                self.buf.extend_from_slice(f);
            }
        }
        self.pos += input.frames() as u64;
        self.pts = MediaTime::new(first_out as i64, self.output.rate);
        self.trace = *input.trace();
        self.ready = !self.buf.is_empty();
        Ok(())
    }
    fn poll(&mut self, out: &mut AudioFrame) -> Result<bool, Error> {
        if !self.ready {
            return Ok(false);
        }
        self.ready = false;
        out.reset(self.output);
        out.extend_from_interleaved(&self.buf)?;
        out.set_pts(self.pts);
        out.set_trace(self.trace);
        Ok(true)
    }
    fn finish(&mut self) -> Result<(), Error> {
        Ok(())
    }
    fn reset(&mut self) {
        self.pos = 0;
        self.ready = false;
    }
}

/// A sink that sleeps `delay` per frame and records the first sample of each frame.
pub struct SlowSink {
    pub delay: Duration,
    pub firsts: Arc<Mutex<Vec<f32>>>,
}

impl SlowSink {
    pub fn new(delay: Duration) -> (Self, Arc<Mutex<Vec<f32>>>) {
        let firsts = Arc::new(Mutex::new(Vec::with_capacity(100_000)));
        (
            SlowSink {
                delay,
                firsts: Arc::clone(&firsts),
            },
            firsts,
        )
    }
}

impl AudioSink for SlowSink {
    fn name(&self) -> &'static str {
        "slow"
    }
    fn write(&mut self, frame: &AudioFrame) -> Result<(), Error> {
        std::thread::sleep(self.delay);
        self.firsts.lock().unwrap().push(frame.samples()[0]);
        Ok(())
    }
}

/// A test "encoder": each frame becomes one packet holding the little-endian bytes of its
/// samples (pts, duration and trace copied from the frame). `finish` yields one trailing
/// packet without a trace (like an Opus encoder's flush packet). `fail_at` makes push number
/// `n` (0-based) fail with `fail_with`. Pre-allocates; push/poll allocate nothing.
pub struct ByteCopier {
    pub max_frames: usize,
    pub channels: usize,
    pending: voxflow_core::Packet,
    has_pending: bool,
    finished: bool,
    flushed: bool,
    pushes: u64,
    pub fail_at: Option<(u64, fn() -> Error)>,
}

impl ByteCopier {
    pub fn new(format: AudioFormat, max_frames: usize) -> Self {
        let channels = usize::from(format.channels);
        ByteCopier {
            max_frames,
            channels,
            pending: voxflow_core::Packet::with_capacity(max_frames * channels * 4),
            has_pending: false,
            finished: false,
            flushed: false,
            pushes: 0,
            fail_at: None,
        }
    }
}

impl voxflow_core::PacketStage for ByteCopier {
    type Input = AudioFrame;
    type Output = voxflow_core::Packet;
    fn name(&self) -> &'static str {
        "bytes"
    }
    fn push(&mut self, input: &AudioFrame, _now: std::time::Instant) -> Result<(), Error> {
        let k = self.pushes;
        self.pushes += 1;
        if let Some((n, e)) = self.fail_at {
            if n == k {
                return Err(e());
            }
        }
        if input.frames() > self.max_frames {
            return Err(Error::FrameTooLarge {
                max_frames: self.max_frames,
                frames: input.frames(),
            });
        }
        let buf = self.pending.data_mut();
        buf.clear();
        for s in input.samples() {
            buf.extend_from_slice(&s.to_le_bytes());
        }
        self.pending.pts = input.pts();
        self.pending.duration = input.duration();
        self.pending.trace = *input.trace();
        self.has_pending = true;
        Ok(())
    }
    fn poll(
        &mut self,
        out: &mut voxflow_core::Packet,
        _now: std::time::Instant,
    ) -> Result<bool, Error> {
        if self.has_pending {
            self.has_pending = false;
            out.set_data(self.pending.data());
            out.pts = self.pending.pts;
            out.duration = self.pending.duration;
            out.trace = self.pending.trace;
            return Ok(true);
        }
        if self.finished && !self.flushed {
            self.flushed = true;
            out.set_data(&[0xFF]);
            out.pts = self.pending.pts + self.pending.duration;
            out.duration = MediaTime::ZERO;
            out.trace = voxflow_core::Trace::EMPTY;
            return Ok(true);
        }
        Ok(false)
    }
    fn finish(&mut self, _now: std::time::Instant) -> Result<(), Error> {
        self.finished = true;
        Ok(())
    }
}
