//! The packet decoder trait: how a codec plugs into the packet → PCM side of a chain.

use crate::{AudioFormat, AudioFrame, Error, Packet};

/// Decodes encoded packets (Opus, …) into PCM [`AudioFrame`]s, and fills the gap a lost packet
/// leaves. The jitter buffer, the file decoder's Opus path and any packet → frame stage talk to a
/// codec only through this trait, so a new codec plugs in without an enum matched in every
/// caller.
///
/// Contract:
/// - every method writes into the caller's `out`, setting its format and length (the frame's
///   capacity must be at least [`max_frames`](Self::max_frames) sample frames, or the call fails
///   with [`Error::FrameTooLarge`] and writes nothing); pts and trace are left to the caller
///   (see [`decode_packet`](Self::decode_packet));
/// - a malformed packet is [`Error::Malformed`] (**skip**: conceal the gap) and leaves the
///   decoder usable;
/// - after construction no method allocates, locks or blocks.
///
/// Object-safe and `Send`: hold it as `Box<dyn PacketDecoder>`.
///
/// ```
/// use voxflow_core::{AudioFormat, AudioFrame, Error, PacketDecoder};
///
/// /// A toy codec: each byte is one sample frame of 8-bit unsigned PCM.
/// struct U8Pcm;
/// impl PacketDecoder for U8Pcm {
///     fn name(&self) -> &'static str { "u8" }
///     fn format(&self) -> AudioFormat { AudioFormat { rate: 8_000, channels: 1 } }
///     fn max_frames(&self) -> usize { 1_500 }
///     fn packet_frames(&self, packet: &[u8]) -> Result<usize, Error> { Ok(packet.len()) }
///     fn decode(&mut self, packet: &[u8], out: &mut AudioFrame) -> Result<usize, Error> {
///         out.set_frames(packet.len())?;
///         for (o, &b) in out.samples_mut().iter_mut().zip(packet) {
///             *o = (f32::from(b) - 128.0) / 128.0;
///         }
///         Ok(packet.len())
///     }
///     fn conceal(&mut self, frames: usize, out: &mut AudioFrame) -> Result<usize, Error> {
///         out.set_frames(frames)?;
///         out.samples_mut().fill(0.0);
///         Ok(frames)
///     }
///     fn reset(&mut self) {}
/// }
///
/// let mut dec: Box<dyn PacketDecoder> = Box::new(U8Pcm);
/// let mut out = AudioFrame::with_capacity(dec.format(), dec.max_frames());
/// assert_eq!(dec.decode(&[128, 255], &mut out)?, 2);
/// assert_eq!(out.samples()[0], 0.0);
/// // No FEC in this codec: the default decode_fec conceals.
/// assert_eq!(dec.decode_fec(&[1, 2, 3], 160, &mut out)?, 160);
/// # Ok::<(), Error>(())
/// ```
pub trait PacketDecoder: Send {
    /// A short name for traces and reports (e.g. `"opus"`).
    fn name(&self) -> &'static str;

    /// The format of every frame this decoder writes.
    fn format(&self) -> AudioFormat;

    /// The most sample frames one call writes: give it frames with at least this capacity.
    fn max_frames(&self) -> usize;

    /// Sample frames `packet` decodes to, from its header alone (without decoding it).
    fn packet_frames(&self, packet: &[u8]) -> Result<usize, Error>;

    /// Decodes one packet into `out`. Returns the sample frames written.
    fn decode(&mut self, packet: &[u8], out: &mut AudioFrame) -> Result<usize, Error>;

    /// Packet loss concealment: writes `frames` sample frames in place of audio that never
    /// arrived (a codec without PLC writes silence). Returns the sample frames written.
    fn conceal(&mut self, frames: usize, out: &mut AudioFrame) -> Result<usize, Error>;

    /// Recovers `frames` sample frames of a lost packet from the forward error correction
    /// carried in the packet after it (`next`); decode `next` itself normally afterwards.
    /// The default (a codec without FEC) conceals.
    fn decode_fec(
        &mut self,
        next: &[u8],
        frames: usize,
        out: &mut AudioFrame,
    ) -> Result<usize, Error> {
        let _ = next;
        self.conceal(frames, out)
    }

    /// True when [`decode_fec`](Self::decode_fec) can recover audio (not only conceal).
    fn has_fec(&self) -> bool {
        false
    }

    /// Forgets all decoding state (after a seek, an SSRC change or a long gap).
    fn reset(&mut self);

    /// [`decode`](Self::decode) a [`Packet`], carrying its pts (rescaled to the output rate)
    /// and trace to `out`.
    fn decode_packet(&mut self, packet: &Packet, out: &mut AudioFrame) -> Result<usize, Error> {
        let n = self.decode(packet.data(), out)?;
        out.set_pts(packet.pts.rescale(self.format().rate));
        out.set_trace(packet.trace);
        Ok(n)
    }
}
