//! The jitter buffer as a packet → frame stage of a voxflow pipeline, driven on virtual time:
//! packets that arrive out of order and with a gap come out as one frame per 10 ms, in media
//! order, the gap concealed, and the chain ends once the buffer has played what it held.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use std::sync::Arc;
use std::time::Duration;
use voxflow_core::{Error, Packet, PacketSource};
use voxflow_jitter_buffer::JitterStage;
use voxflow_pipeline::sinks::CollectSink;
use voxflow_pipeline::{ChainStatus, Clock, Pipeline, VirtualClock};

/// Hands out a list of packets, each stamped with its arrival on the virtual clock.
struct Arrivals {
    packets: Vec<(Packet, Duration)>,
    next: usize,
    clock: Arc<VirtualClock>,
    t0: std::time::Instant,
}

impl PacketSource for Arrivals {
    fn name(&self) -> &'static str {
        "arrivals"
    }
    fn max_bytes(&self) -> usize {
        4
    }
    fn read(&mut self, out: &mut Packet) -> Result<bool, Error> {
        let Some((p, at)) = self.packets.get(self.next) else {
            return Ok(false);
        };
        out.copy_from(p);
        // The arrival instant the jitter buffer uses (not the chain's read time).
        out.arrival = Some(self.t0 + *at);
        let _ = &self.clock;
        self.next += 1;
        Ok(true)
    }
}

#[test]
fn a_chain_plays_reordered_packets_in_order_one_frame_per_pull() {
    let clock = Arc::new(VirtualClock::new());
    let t0 = clock.now();
    // Packets 0..6 of 20 ms; 2 before 1; 4 never comes.
    let order = [(0u32, 1u64), (2, 21), (1, 24), (3, 61), (5, 101)];
    let packets = order
        .iter()
        .map(|&(i, ms)| (nth(i, 0, 0), Duration::from_millis(ms)))
        .collect();
    let sink = CollectSink::new();
    let got = sink.collected();
    let stage = JitterStage::new(no_stretch(), Box::new(Tagged)).unwrap();
    let (mut chains, handle) = Pipeline::builder()
        .packet_source(Arrivals {
            packets,
            next: 0,
            clock: clock.clone(),
            t0,
        })
        .decoder(stage)
        .clock(clock.clone())
        .sink(sink)
        .build()
        .unwrap();
    let chain = &mut chains[0];
    for _ in 0..10_000 {
        let now = clock.now();
        match chain.poll(now).unwrap() {
            ChainStatus::Busy => {}
            ChainStatus::Idle { until: Some(t) } => clock.advance(t.saturating_duration_since(now)),
            ChainStatus::Idle { until: None } => clock.advance(Duration::from_millis(1)),
            ChainStatus::Finished => break,
        }
    }
    assert!(
        handle.is_finished(),
        "the chain ends once the buffer has played what it held"
    );
    let audio = got.samples();
    assert_eq!(audio.len() % 480, 0, "whole 10 ms frames");
    let played: Vec<f32> = runs(&audio).into_iter().filter(|&v| v != 0.0).collect();
    // Media order; packet 4 (level 5) concealed (-1.0) or recovered from packet 5's FEC (-2.0).
    assert_eq!(&played[..4], &[level(1), level(2), level(3), level(4)]);
    assert!(played[4] == -1.0 || played[4] == -2.0, "{played:?}");
    assert_eq!(played[5], level(6));
    let r = handle.report();
    assert_eq!(r.packets_in, 5);
}
