//! Encoder settings.

use std::time::Duration;

use crate::backend::Backend;
use crate::error::Error;

/// What the encoder tunes for (libopus `OPUS_APPLICATION_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Application {
    /// Speech over a network: favours intelligibility, enables the speech tools (FEC, DTX).
    #[default]
    Voip,
    /// General audio and music: favours fidelity.
    Audio,
    /// Lowest delay (CELT only, 2.5 ms lookahead); no SILK, so no in-band FEC.
    RestrictedLowDelay,
}

/// How the packet size may vary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BitrateMode {
    /// Unconstrained variable bitrate: best quality per byte.
    Vbr,
    /// Variable, but any short window stays near the target (libopus's default).
    #[default]
    ConstrainedVbr,
    /// Every packet the same size.
    Cbr,
}

/// Opus frame durations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FrameDuration {
    /// 2.5 ms (CELT only).
    Ms2_5,
    /// 5 ms (CELT only).
    Ms5,
    /// 10 ms.
    Ms10,
    /// 20 ms: the usual choice for RTP.
    #[default]
    Ms20,
    /// 40 ms.
    Ms40,
    /// 60 ms.
    Ms60,
}

impl FrameDuration {
    /// Duration in microseconds.
    pub fn micros(self) -> u32 {
        match self {
            FrameDuration::Ms2_5 => 2_500,
            FrameDuration::Ms5 => 5_000,
            FrameDuration::Ms10 => 10_000,
            FrameDuration::Ms20 => 20_000,
            FrameDuration::Ms40 => 40_000,
            FrameDuration::Ms60 => 60_000,
        }
    }

    /// As a `Duration`.
    pub fn duration(self) -> Duration {
        Duration::from_micros(u64::from(self.micros()))
    }

    /// Sample frames per channel at `rate` (exact for the Opus rates).
    pub fn frames_at(self, rate: u32) -> usize {
        (u64::from(rate) * u64::from(self.micros()) / 1_000_000) as usize // cannot truncate
    }

    /// The duration of `ms` milliseconds (2.5 is given as `"2.5"` via
    /// [`from_micros`](Self::from_micros)), if it is an Opus frame duration.
    pub fn from_millis(ms: u32) -> Option<Self> {
        Self::from_micros(ms.checked_mul(1000)?)
    }

    /// The duration of `us` microseconds, if it is an Opus frame duration.
    pub fn from_micros(us: u32) -> Option<Self> {
        Some(match us {
            2_500 => FrameDuration::Ms2_5,
            5_000 => FrameDuration::Ms5,
            10_000 => FrameDuration::Ms10,
            20_000 => FrameDuration::Ms20,
            40_000 => FrameDuration::Ms40,
            60_000 => FrameDuration::Ms60,
            _ => return None,
        })
    }
}

/// Everything an [`OpusEncoder`](crate::OpusEncoder) is built from. Start from
/// [`voip`](Self::voip) or [`audio`](Self::audio) and change fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncoderConfig {
    /// Implementation (default: pure Rust).
    pub backend: Backend,
    /// Input rate: 8000, 12000, 16000, 24000 or 48000 Hz.
    pub sample_rate: u32,
    /// 1 or 2.
    pub channels: u16,
    /// Tuning.
    pub application: Application,
    /// Frame duration (input frames hold exactly this much audio).
    pub frame_duration: FrameDuration,
    /// Target bitrate in bits per second, 6000..=510000.
    pub bitrate: u32,
    /// VBR, constrained VBR or CBR.
    pub bitrate_mode: BitrateMode,
    /// CPU/quality trade-off, 0..=10.
    pub complexity: u8,
    /// In-band forward error correction (SILK/hybrid modes only).
    pub fec: bool,
    /// Expected packet loss in percent, 0..=100 (drives FEC and loss-robust coding).
    pub expected_loss_percent: u8,
    /// Discontinuous transmission: near-silent frames become 1–2 byte packets that need not
    /// be sent.
    pub dtx: bool,
}

impl EncoderConfig {
    /// Speech over a network: 48 kHz mono, VoIP, 20 ms, constrained VBR, complexity 10.
    pub fn voip(bitrate: u32) -> Self {
        EncoderConfig {
            backend: Backend::default(),
            sample_rate: 48_000,
            channels: 1,
            application: Application::Voip,
            frame_duration: FrameDuration::Ms20,
            bitrate,
            bitrate_mode: BitrateMode::ConstrainedVbr,
            complexity: 10,
            fec: false,
            expected_loss_percent: 0,
            dtx: false,
        }
    }

    /// General audio: 48 kHz stereo, Audio, 20 ms, constrained VBR, complexity 10.
    pub fn audio(bitrate: u32) -> Self {
        EncoderConfig {
            channels: 2,
            application: Application::Audio,
            ..Self::voip(bitrate)
        }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |what, value: i64, allowed| Err(Error::invalid(what, value, allowed));
        if !matches!(self.sample_rate, 8000 | 12000 | 16000 | 24000 | 48000) {
            return bad(
                "sample rate",
                i64::from(self.sample_rate),
                "8000, 12000, 16000, 24000 or 48000 Hz (resample with voxflow-resample)",
            );
        }
        if !matches!(self.channels, 1 | 2) {
            return bad("channel count", i64::from(self.channels), "1 or 2");
        }
        if !(6_000..=510_000).contains(&self.bitrate) {
            return bad("bitrate", i64::from(self.bitrate), "6000..=510000 bit/s");
        }
        if self.complexity > 10 {
            return bad("complexity", i64::from(self.complexity), "0..=10");
        }
        if self.expected_loss_percent > 100 {
            return bad(
                "expected loss",
                i64::from(self.expected_loss_percent),
                "0..=100 %",
            );
        }
        Ok(())
    }
}
