//! Chains of frames and packets: the typed builder, build-time checks, reframing for encoders,
//! packet sources and decoders, tees, stage events, and a chain driven by hand on virtual time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use voxflow_core::{
    AudioFormat, AudioFrame, AudioStage, Error as CoreError, MediaTime, Packet, PacketSource,
    PacketStage, StageEvent,
};
use voxflow_pipeline::sinks::{CollectPackets, CollectSink, NullSink};
use voxflow_pipeline::sources::{Counter, counter_value};
use voxflow_pipeline::{
    Branch, ChainBuilder, ChainStatus, Clock, Error, Event, Link, Pacing, Pipeline, VirtualClock,
};

fn fmt(rate: u32, ch: u16) -> AudioFormat {
    AudioFormat::new(rate, ch).unwrap()
}

fn bytes_to_f32(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// `ByteCopier` that also states its input format and fixed frame size, as an Opus encoder does.
struct Fixed {
    inner: common::ByteCopier,
    format: AudioFormat,
    frames: usize,
}

impl Fixed {
    fn new(format: AudioFormat, frames: usize) -> Self {
        Fixed {
            inner: common::ByteCopier::new(format, frames),
            format,
            frames,
        }
    }
}

impl PacketStage for Fixed {
    type Input = AudioFrame;
    type Output = Packet;
    fn name(&self) -> &'static str {
        "fixed"
    }
    fn push(&mut self, input: &AudioFrame, now: Instant) -> Result<(), CoreError> {
        if input.frames() != self.frames {
            return Err(CoreError::BadFrame {
                reason: "not the encoder's frame size",
                samples: input.samples().len(),
                channels: input.channels(),
            });
        }
        self.inner.push(input, now)
    }
    fn poll(&mut self, out: &mut Packet, now: Instant) -> Result<bool, CoreError> {
        self.inner.poll(out, now)
    }
    fn finish(&mut self, now: Instant) -> Result<(), CoreError> {
        self.inner.finish(now)
    }
    fn input_format(&self) -> Option<AudioFormat> {
        Some(self.format)
    }
    fn input_frames(&self) -> Option<usize> {
        Some(self.frames)
    }
}

/// The inverse of `ByteCopier`: f32 LE bytes back to frames (packets of other sizes than a
/// whole number of sample frames are malformed). The one-byte flush packet is skipped.
struct Unbytes {
    format: AudioFormat,
    pending: Option<Packet>,
}

impl Unbytes {
    fn new(format: AudioFormat) -> Self {
        Unbytes {
            format,
            pending: None,
        }
    }
}

impl PacketStage for Unbytes {
    type Input = Packet;
    type Output = AudioFrame;
    fn name(&self) -> &'static str {
        "unbytes"
    }
    fn push(&mut self, input: &Packet, _now: Instant) -> Result<(), CoreError> {
        let unit = 4 * usize::from(self.format.channels);
        if !input.len().is_multiple_of(unit) {
            return Err(CoreError::Malformed {
                what: "packet",
                detail: format!("{} bytes", input.len()),
            });
        }
        self.pending = Some(input.clone());
        Ok(())
    }
    fn poll(&mut self, out: &mut AudioFrame, _now: Instant) -> Result<bool, CoreError> {
        let Some(p) = self.pending.take() else {
            return Ok(false);
        };
        out.reset(self.format);
        out.extend_from_interleaved(&bytes_to_f32(p.data()))?;
        out.set_pts(p.pts);
        out.set_trace(p.trace);
        Ok(true)
    }
    fn output_format(&self) -> Option<AudioFormat> {
        Some(self.format)
    }
    fn max_output(&self) -> Option<usize> {
        Some(1024)
    }
}

/// Packets from a list, 10 ms apart.
struct Listed {
    packets: Vec<Packet>,
    next: usize,
}

impl PacketSource for Listed {
    fn name(&self) -> &'static str {
        "listed"
    }
    fn max_bytes(&self) -> usize {
        4096
    }
    fn read(&mut self, out: &mut Packet) -> Result<bool, CoreError> {
        match self.packets.get(self.next) {
            Some(p) => {
                out.copy_from(p);
                self.next += 1;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

#[test]
fn frames_to_packets_and_back_are_exact() {
    let f = fmt(8_000, 1);
    let sink = CollectSink::new();
    let got = sink.collected();
    let report = ChainBuilder::from_source(Counter::new(f, 160).frames(8_000))
        .encoder(common::ByteCopier::new(f, 160))
        .decoder(Unbytes::new(f))
        .sink(sink)
        .spawn()
        .unwrap()
        .wait()
        .unwrap();
    let expect: Vec<f32> = (0..8_000).map(counter_value).collect();
    assert_eq!(got.samples(), expect);
    // The flush packet (one byte) is malformed for the decoder: skipped and counted.
    assert_eq!(report.skipped, 1);
    let rows: Vec<_> = report.stages.iter().map(|s| s.name).collect();
    assert_eq!(rows, ["counter", "bytes", "unbytes", "collect"]);
}

#[test]
fn an_encoder_of_another_format_is_refused_when_built_naming_both_sides() {
    let e = Pipeline::builder()
        .source(Counter::new(fmt(16_000, 1), 320).frames(16_000))
        .encoder(Fixed::new(fmt(48_000, 1), 960))
        .packet_sink(CollectPackets::new())
        .spawn()
        .unwrap_err();
    match e {
        Error::FormatMismatch {
            upstream,
            downstream,
            output,
            input,
        } => {
            assert_eq!((upstream, downstream), ("counter", "fixed"));
            assert_eq!((output.rate, input.rate), (16_000, 48_000));
        }
        other => panic!("expected FormatMismatch, got {other:?}"),
    }
}

#[test]
fn ten_ms_frames_are_regrouped_for_a_20_ms_encoder() {
    let f = fmt(8_000, 1);
    let sink = CollectPackets::new();
    let got = sink.collected();
    let report = Pipeline::builder()
        .source(Counter::new(f, 80).frames(8_000)) // 10 ms frames
        .encoder(Fixed::new(f, 160)) // 20 ms encoder
        .packet_sink(sink)
        .spawn()
        .unwrap()
        .wait()
        .unwrap();
    let packets = got.packets();
    // 50 full 20 ms packets and the untraced flush packet; nothing skipped, nothing short.
    assert_eq!(packets.len(), 51);
    assert_eq!(report.skipped, 0);
    let mut all = Vec::new();
    for p in &packets[..50] {
        assert_eq!(p.len(), 160 * 4);
        all.extend(bytes_to_f32(p.data()));
    }
    let expect: Vec<f32> = (0..8_000).map(counter_value).collect();
    assert_eq!(all, expect);
    let rows: Vec<_> = report.stages.iter().map(|s| s.name).collect();
    assert_eq!(rows, ["counter", "reframe", "fixed", "collect"]);
}

#[test]
fn a_packet_source_feeds_a_decoder() {
    let f = fmt(8_000, 1);
    let packets: Vec<Packet> = (0..20)
        .map(|k| {
            let mut p = Packet::with_capacity(4096);
            let samples: Vec<u8> = (0..80)
                .flat_map(|i| ((k * 80 + i) as f32).to_le_bytes())
                .collect();
            p.set_data(&samples);
            p.pts = MediaTime::new(k * 80, 8_000);
            p.duration = MediaTime::new(80, 8_000);
            p
        })
        .collect();
    let sink = CollectSink::new();
    let got = sink.collected();
    let report = ChainBuilder::from_packets(Listed { packets, next: 0 })
        .decoder(Unbytes::new(f))
        .sink(sink)
        .spawn()
        .unwrap()
        .wait()
        .unwrap();
    let expect: Vec<f32> = (0..1_600).map(|i| i as f32).collect();
    assert_eq!(got.samples(), expect);
    assert_eq!((report.packets_in, report.bytes_in), (20, 20 * 320));
    assert_eq!((report.frames_out, report.sample_frames_out), (20, 1_600));
}

/// A pass-through stage that records the address of every frame's samples it is given.
struct Witness {
    name: &'static str,
    format: AudioFormat,
    seen: Arc<Mutex<Vec<usize>>>,
    out: Option<AudioFrame>,
    every: u64,
    pushes: u64,
    events: u64,
}

impl Witness {
    fn new(name: &'static str, format: AudioFormat) -> (Self, Arc<Mutex<Vec<usize>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        (
            Witness {
                name,
                format,
                seen: Arc::clone(&seen),
                out: Some(AudioFrame::with_capacity(format, 1024)),
                every: 0,
                pushes: 0,
                events: 0,
            },
            seen,
        )
    }
}

impl AudioStage for Witness {
    fn name(&self) -> &'static str {
        self.name
    }
    fn input_format(&self) -> AudioFormat {
        self.format
    }
    fn output_format(&self) -> AudioFormat {
        self.format
    }
    fn max_input_frames(&self) -> usize {
        1024
    }
    fn max_output_frames(&self) -> usize {
        1024
    }
    fn push(&mut self, input: &AudioFrame) -> Result<(), CoreError> {
        self.seen
            .lock()
            .unwrap()
            .push(input.samples().as_ptr() as usize);
        self.pushes += 1;
        if self.every > 0 && self.pushes.is_multiple_of(self.every) {
            self.events += 1;
        }
        let out = self.out.as_mut().unwrap();
        out.copy_from(input)
    }
    fn poll(&mut self, out: &mut AudioFrame) -> Result<bool, CoreError> {
        let Some(mine) = self.out.as_mut() else {
            return Ok(false);
        };
        if mine.is_empty() {
            return Ok(false);
        }
        std::mem::swap(mine, out);
        mine.clear();
        Ok(true)
    }
    fn poll_event(&mut self) -> Option<StageEvent> {
        (self.events > 0).then(|| {
            self.events -= 1;
            StageEvent::Voice {
                speech: true,
                at: MediaTime::from_millis(self.pushes as i64 * 10),
            }
        })
    }
}

#[test]
fn a_tee_feeds_both_branches_the_same_buffer() {
    let f = fmt(8_000, 1);
    let (a, seen_a) = Witness::new("a", f);
    let (b, seen_b) = Witness::new("b", f);
    let sink_a = CollectSink::new();
    let got_a = sink_a.collected();
    let sink_b = CollectSink::new();
    let got_b = sink_b.collected();
    let report = Pipeline::builder()
        .source(Counter::new(f, 80).frames(8_000))
        .tee(Branch::new().stage(a).sink(sink_a))
        .stage(b)
        .sink(sink_b)
        .spawn()
        .unwrap()
        .wait()
        .unwrap();
    let expect: Vec<f32> = (0..8_000).map(counter_value).collect();
    assert_eq!(got_a.samples(), expect);
    assert_eq!(got_b.samples(), expect);
    // Both branches read the very same sample buffer for every frame: no copy at the tee.
    let (a, b) = (seen_a.lock().unwrap(), seen_b.lock().unwrap());
    assert_eq!(a.len(), 100);
    assert_eq!(*a, *b);
    assert_eq!(report.frames_out, 200);
    let rows: Vec<_> = report.stages.iter().map(|s| s.name).collect();
    assert_eq!(rows, ["counter", "a", "collect", "b", "collect"]);
    // Every row saw every frame (the shared source row is published once).
    assert!(
        report.stages.iter().all(|s| s.latency.count == 100),
        "{report}"
    );
}

#[test]
fn a_tee_branch_can_cross_a_boundary() {
    let f = fmt(16_000, 1);
    let sink_a = CollectSink::new();
    let got_a = sink_a.collected();
    let sink_b = CollectSink::new();
    let got_b = sink_b.collected();
    let report = Pipeline::builder()
        .source(Counter::new(f, 160).frames(16_000))
        .tee(
            Branch::new()
                .boundary(Link::ring(4).with_name("vad"))
                .sink(sink_a),
        )
        .sink(sink_b)
        .spawn()
        .unwrap()
        .wait()
        .unwrap();
    let expect: Vec<f32> = (0..16_000).map(counter_value).collect();
    assert_eq!(got_a.samples(), expect);
    assert_eq!(got_b.samples(), expect);
    assert_eq!(report.links[0].name, "vad");
    assert_eq!(report.links[0].delivered, 100);
}

#[test]
fn stage_events_reach_the_event_channel_in_order() {
    let f = fmt(8_000, 1);
    let (mut w, _) = Witness::new("vad", f);
    w.every = 10;
    let running = Pipeline::builder()
        .source(Counter::new(f, 80).frames(8_000))
        .stage(w)
        .sink(NullSink::new())
        .spawn()
        .unwrap();
    let events = running.events().clone();
    running.wait().unwrap();
    let ats: Vec<MediaTime> = events
        .try_iter()
        .filter_map(|e| match e {
            Event::Stage {
                stage: "vad",
                event: StageEvent::Voice { at, .. },
            } => Some(at),
            _ => None,
        })
        .collect();
    let expect: Vec<MediaTime> = (1..=10).map(|k| MediaTime::from_millis(k * 100)).collect();
    assert_eq!(ats, expect);
}

#[test]
fn a_chain_driven_by_hand_on_virtual_time_waits_exactly_its_pacing() {
    let f = fmt(8_000, 1);
    let clock = Arc::new(VirtualClock::new());
    let sink = CollectSink::new();
    let got = sink.collected();
    let (mut chains, handle) = Pipeline::builder()
        .source(Counter::new(f, 160).frames(1_600)) // ten 20 ms frames
        .pacing(Pacing::RealTime {
            lead: Duration::from_millis(40),
        })
        .clock(clock.clone())
        .sink(sink)
        .build()
        .unwrap();
    assert_eq!(chains.len(), 1);
    let chain = &mut chains[0];
    let t0 = clock.now();
    let mut wakes = Vec::new();
    loop {
        let now = clock.now();
        match chain.poll(now).unwrap() {
            ChainStatus::Busy => {}
            ChainStatus::Idle { until: Some(t) } => {
                wakes.push(t - t0);
                clock.advance(t - now);
            }
            ChainStatus::Idle { until: None } => panic!("a source chain never waits on a ring"),
            ChainStatus::Finished => break,
        }
    }
    // Two frames at once (the second ends within the 40 ms lead), then one every 20 ms; the
    // end of the source is found at the next paced read, at 180 ms.
    let expect: Vec<Duration> = (1..=9).map(|k| Duration::from_millis(20 * k)).collect();
    assert_eq!(wakes, expect);
    assert_eq!(got.samples().len(), 1_600);
    assert!(handle.is_finished());
    let r = handle.report();
    // Every read after the first had a deadline, and met it exactly on virtual time.
    assert_eq!(r.lateness.count, 10);
    assert_eq!(r.lateness.max, Duration::ZERO);
}
