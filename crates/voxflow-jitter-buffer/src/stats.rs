//! Counters a user can read, named after WebRTC's `RTCInboundRtpStreamStats`.

/// What the buffer did, as counters that only grow (except `packets_lost`, which RFC 3550 lets go
/// negative). Field names are the snake_case forms of the W3C `RTCInboundRtpStreamStats` members,
/// with the same meaning, so a dashboard built for a browser's `getStats()` reads them unchanged.
/// Sample counts are per channel (sample frames), as in WebRTC.
///
/// Average playout delay, as Chrome computes it:
/// `jitter_buffer_delay / jitter_buffer_emitted_count` seconds.
///
/// ```
/// use voxflow_jitter_buffer::JitterStats;
/// let s = JitterStats::default();
/// assert_eq!(s.mean_delay_secs(), None); // nothing emitted yet
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JitterStats {
    /// `jitterBufferDelay`: the sum, over every emitted sample that came from a packet, of the
    /// time from the packet's arrival to the sample's playout, in seconds.
    pub jitter_buffer_delay: f64,
    /// `jitterBufferTargetDelay`: the sum, over every emitted sample, of the target delay in
    /// force when it was emitted, in seconds.
    pub jitter_buffer_target_delay: f64,
    /// `jitterBufferMinimumDelay`: the sum, over every emitted sample, of the delay the estimator
    /// alone asked for (before `min_delay` and `base_delay`), in seconds.
    pub jitter_buffer_minimum_delay: f64,
    /// `jitterBufferEmittedCount`: samples that came out of the buffer from packets (decoded or
    /// FEC-recovered; time-stretched audio counts as emitted).
    pub jitter_buffer_emitted_count: u64,
    /// `totalSamplesReceived`: every sample played out since the first packet, concealed ones
    /// included.
    pub total_samples_received: u64,
    /// `concealedSamples`: samples synthesized in place of audio that did not arrive in time
    /// (PLC, and DTX fill).
    pub concealed_samples: u64,
    /// `silentConcealedSamples`: the concealed samples that filled a DTX gap (the sender sent
    /// nothing on purpose) — comfort noise or silence.
    pub silent_concealed_samples: u64,
    /// `concealmentEvents`: runs of concealed samples that follow a non-concealed sample.
    pub concealment_events: u64,
    /// `insertedSamplesForDeceleration`: samples added by decelerating (preemptive expand).
    pub inserted_samples_for_deceleration: u64,
    /// `removedSamplesForAcceleration`: samples removed by accelerating.
    pub removed_samples_for_acceleration: u64,
    /// `packetsDiscarded`: packets that arrived too late to be played, or that the buffer had to
    /// drop because it was full (duplicates are not counted here).
    pub packets_discarded: u64,
    /// `packetsLost` (RFC 3550 §6.4.1): packets expected (from the highest sequence number seen)
    /// minus packets received, duplicates included in the received count.
    pub packets_lost: i64,
    /// `packetsDuplicated`: packets dropped because one with the same sequence number had already
    /// been received.
    pub packets_duplicated: u64,
    /// `packetsReceived`: every packet given to `insert` with valid RTP facts, duplicates and late
    /// ones included.
    pub packets_received: u64,
    /// Not in WebRTC: of `packets_discarded`, those that came after their playout time.
    pub packets_late: u64,
    /// Not in WebRTC: of `packets_discarded`, those dropped because `max_packets` or
    /// `max_bytes` was reached (the buffer keeps the packets nearest playout).
    pub packets_overflow: u64,
    /// Not in WebRTC: packets rejected by `insert` as malformed (no RTP facts, an empty or
    /// oversized payload, one the decoder cannot parse); not counted as received.
    pub packets_malformed: u64,
    /// Not in WebRTC: samples recovered from forward error correction in the next packet
    /// (counted in `jitter_buffer_emitted_count`, not in `concealed_samples`).
    pub fec_samples: u64,
    /// Not in WebRTC: times the buffer reset itself (SSRC change, a jump too large to bridge).
    pub resets: u64,
}

impl JitterStats {
    /// `jitter_buffer_delay / jitter_buffer_emitted_count`: the average time from arrival to
    /// playout, or `None` before anything was emitted.
    pub fn mean_delay_secs(&self) -> Option<f64> {
        (self.jitter_buffer_emitted_count > 0)
            .then(|| self.jitter_buffer_delay / self.jitter_buffer_emitted_count as f64)
    }
}
