//! Settings of a [`JitterBuffer`](crate::JitterBuffer).

use std::time::Duration;

use voxflow_core::Error;

/// What fills a DTX gap (the sender stopped sending during silence: the RTP timestamp jumps while
/// the sequence number does not).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DtxFill {
    /// The decoder's concealment, which for Opus fades into comfort noise (the default).
    #[default]
    ComfortNoise,
    /// Digital silence.
    Silence,
}

/// Settings of a [`JitterBuffer`](crate::JitterBuffer). Every field has a default that suits
/// interactive voice; [`validate`](Self::validate) checks them (the buffer's constructor calls it).
///
/// ```
/// use std::time::Duration;
/// use voxflow_jitter_buffer::JitterConfig;
/// let cfg = JitterConfig { frame: Duration::from_millis(20), ..JitterConfig::default() };
/// assert!(cfg.validate().is_ok());
/// let bad = JitterConfig { min_delay: Duration::from_secs(5), ..JitterConfig::default() };
/// assert!(bad.validate().is_err()); // above max_delay
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct JitterConfig {
    /// The RTP clock rate of the stream (48 000 for Opus, RFC 7587).
    pub clock_rate: u32,
    /// Audio per [`pull`](crate::JitterBuffer::pull): 10 ms (the default, what audio devices and
    /// WebRTC pull) or 20 ms.
    pub frame: Duration,
    /// The target never goes below this (a floor a user sets, like WebRTC's
    /// `jitterBufferTarget`). Default 0: the estimator alone decides.
    pub min_delay: Duration,
    /// The target never goes above this, and the buffer accelerates hard (fast path) when its
    /// delay exceeds it. Default 1 s.
    pub max_delay: Duration,
    /// Extra delay always added to the estimated target (default 0).
    pub base_delay: Duration,
    /// How much delay one percent less concealment is worth: the target is the delay that
    /// minimises `delay + conceal_cost × (percent of packets that would come too late)` (see
    /// [`DelayEstimator`](crate::DelayEstimator)). Larger: fewer glitches, more delay. Default
    /// 2.5 ms.
    pub conceal_cost: Duration,
    /// Most packets held at once; a packet beyond it is dropped (counted). Default 100 (2 s of
    /// 20 ms packets).
    pub max_packets: usize,
    /// Most payload bytes held at once; beyond it a packet is dropped (counted). Default 64 KiB.
    pub max_bytes: usize,
    /// Largest payload accepted; a larger one is rejected as malformed. Default 1 500 bytes.
    pub max_payload: usize,
    /// What fills a DTX gap.
    pub dtx_fill: DtxFill,
    /// Time-stretching (accelerate and decelerate). On by default; off, the buffer only
    /// conceals and skips, as a plain reorder buffer would.
    pub time_stretch: bool,
}

impl Default for JitterConfig {
    fn default() -> Self {
        JitterConfig {
            clock_rate: 48_000,
            frame: Duration::from_millis(10),
            min_delay: Duration::ZERO,
            max_delay: Duration::from_secs(1),
            base_delay: Duration::ZERO,
            conceal_cost: Duration::from_micros(2_500),
            max_packets: 100,
            max_bytes: 64 * 1024,
            max_payload: 1_500,
            dtx_fill: DtxFill::ComfortNoise,
            time_stretch: true,
        }
    }
}

impl JitterConfig {
    /// Checks every setting; [`Error::InvalidConfig`] names the first one that is wrong.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |what: &'static str, reason: String| Err(Error::InvalidConfig { what, reason });
        if !(8_000..=192_000).contains(&self.clock_rate) {
            return bad(
                "clock_rate",
                format!("{} Hz is outside 8 000..=192 000", self.clock_rate),
            );
        }
        if self.frame != Duration::from_millis(10) && self.frame != Duration::from_millis(20) {
            return bad(
                "frame",
                format!("{:?}: only 10 ms and 20 ms are supported", self.frame),
            );
        }
        if self.max_delay < Duration::from_millis(20) || self.max_delay > Duration::from_secs(10) {
            return bad(
                "max_delay",
                format!("{:?} is outside 20 ms..=10 s", self.max_delay),
            );
        }
        if self.min_delay > self.max_delay {
            return bad(
                "min_delay",
                format!(
                    "{:?} is above max_delay {:?}",
                    self.min_delay, self.max_delay
                ),
            );
        }
        if self.base_delay > self.max_delay {
            return bad(
                "base_delay",
                format!(
                    "{:?} is above max_delay {:?}",
                    self.base_delay, self.max_delay
                ),
            );
        }
        if self.conceal_cost > Duration::from_secs(1) {
            return bad(
                "conceal_cost",
                format!("{:?} is above 1 s", self.conceal_cost),
            );
        }
        if !(2..=4_096).contains(&self.max_packets) {
            return bad(
                "max_packets",
                format!("{} is outside 2..=4096", self.max_packets),
            );
        }
        if !(64..=65_535).contains(&self.max_payload) {
            return bad(
                "max_payload",
                format!("{} is outside 64..=65535", self.max_payload),
            );
        }
        if self.max_bytes < self.max_payload || self.max_bytes > 64 << 20 {
            return bad(
                "max_bytes",
                format!("{} must be within max_payload..=64 MiB", self.max_bytes),
            );
        }
        Ok(())
    }
}
