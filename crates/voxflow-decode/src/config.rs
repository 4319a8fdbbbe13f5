//! Decoder configuration.

use std::time::Duration;

use crate::Error;

/// The longest [`DecoderConfig::frame_duration`] accepted.
pub const MAX_FRAME_DURATION: Duration = Duration::from_secs(10);

/// How a [`Decoder`](crate::Decoder) cuts and cleans its output.
///
/// ```
/// use std::time::Duration;
/// use voxflow_decode::DecoderConfig;
/// let cfg = DecoderConfig::default().with_frame_duration(Duration::from_millis(10)).with_gapless(false);
/// assert_eq!(cfg.frame_duration, Duration::from_millis(10));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecoderConfig {
    /// Duration of every output frame (the last one of a stream may be shorter), rounded to
    /// whole sample frames at the stream's rate. Default 20 ms; must be in
    /// `(0, MAX_FRAME_DURATION]` and give at least one sample frame.
    pub frame_duration: Duration,
    /// Trim encoder delay and padding where the container signals them (MP3 LAME/Xing tags,
    /// Ogg Vorbis granule positions, ...), so the first output sample is the first sample of
    /// the original audio. Default `true`.
    pub gapless: bool,
    /// Replace a packet that fails to decode by silence of the packet's duration (Opus: by
    /// the Opus decoder's packet loss concealment), so the timeline and total length stay
    /// intact. Default `true`. When `false` the packet is
    /// dropped and later pts close up the gap.
    pub conceal_corrupt: bool,
    /// Return [`Error::Corrupt`] (skippable) from a read when a packet was skipped, instead of
    /// only counting it in the stats. Default `false`.
    pub report_corrupt: bool,
    /// Give up with [`Error::Malformed`] after this many consecutive packets fail (a stream of
    /// garbage). Default 64.
    pub max_consecutive_errors: u32,
    /// Read uncompressed PCM WAV (8-bit unsigned, 16/24/32-bit signed, 32/64-bit float, plain
    /// or `WAVE_FORMAT_EXTENSIBLE`) directly into a buffer allocated at open, instead of through
    /// symphonia's demuxer, which allocates every packet. The samples are bit-identical either
    /// way. Default `true`; `false` is for comparisons.
    pub wav_fast_path: bool,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            frame_duration: Duration::from_millis(20),
            gapless: true,
            conceal_corrupt: true,
            report_corrupt: false,
            max_consecutive_errors: 64,
            wav_fast_path: true,
        }
    }
}

impl DecoderConfig {
    /// Sets [`frame_duration`](Self::frame_duration).
    pub fn with_frame_duration(mut self, d: Duration) -> Self {
        self.frame_duration = d;
        self
    }

    /// Sets [`gapless`](Self::gapless).
    pub fn with_gapless(mut self, on: bool) -> Self {
        self.gapless = on;
        self
    }

    /// Sets [`conceal_corrupt`](Self::conceal_corrupt).
    pub fn with_conceal_corrupt(mut self, on: bool) -> Self {
        self.conceal_corrupt = on;
        self
    }

    /// Sets [`report_corrupt`](Self::report_corrupt).
    pub fn with_report_corrupt(mut self, on: bool) -> Self {
        self.report_corrupt = on;
        self
    }

    /// Sets [`max_consecutive_errors`](Self::max_consecutive_errors).
    pub fn with_max_consecutive_errors(mut self, n: u32) -> Self {
        self.max_consecutive_errors = n;
        self
    }

    /// Sets [`wav_fast_path`](Self::wav_fast_path).
    pub fn with_wav_fast_path(mut self, on: bool) -> Self {
        self.wav_fast_path = on;
        self
    }

    /// Checks the values that do not depend on the stream.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.frame_duration.is_zero() || self.frame_duration > MAX_FRAME_DURATION {
            return Err(Error::InvalidConfig {
                what: "frame_duration",
                reason: format!(
                    "{:?} is outside (0, {:?}]",
                    self.frame_duration, MAX_FRAME_DURATION
                ),
            });
        }
        if self.max_consecutive_errors == 0 {
            return Err(Error::InvalidConfig {
                what: "max_consecutive_errors",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_bad_values_are_rejected() {
        assert!(DecoderConfig::default().validate().is_ok());
        let zero = DecoderConfig::default().with_frame_duration(Duration::ZERO);
        assert!(matches!(zero.validate(), Err(Error::InvalidConfig { .. })));
        let long = DecoderConfig::default().with_frame_duration(Duration::from_secs(11));
        assert!(long.validate().is_err());
        assert!(
            DecoderConfig::default()
                .with_max_consecutive_errors(0)
                .validate()
                .is_err()
        );
    }
}
