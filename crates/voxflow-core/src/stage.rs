//! The stage traits: what sources, sample-domain stages, sinks and packet-domain stages promise.
//!
//! All are object-safe and `Send`, so a pipeline (yours or `voxflow-pipeline`) can hold them as
//! `Box<dyn …>` and move them to a worker thread. None of them reads a clock, spawns a thread or
//! blocks: stages are sans-IO, and whoever drives them stamps the latency [`Trace`](crate::Trace).

use std::time::Instant;

use crate::{AudioFormat, AudioFrame, Error, MediaTime, Packet, StageEvent};

/// Produces PCM frames: a decoder, a capture callback's ring, a test signal.
pub trait AudioSource: Send {
    /// A short name for traces and reports (e.g. `"decode"`).
    fn name(&self) -> &'static str;

    /// The format of every frame this source writes.
    fn format(&self) -> AudioFormat;

    /// The most sample frames one [`read`](Self::read) writes: give `read` a frame with at least
    /// this capacity and it never allocates.
    fn max_frames(&self) -> usize;

    /// Writes the next frame into `out` (cleared first; pts and samples set; the trace is left for
    /// the caller to stamp). Returns `Ok(false)` at the end of the stream, with `out` empty.
    ///
    /// An error of a kind that [`Error::is_skippable`] accepts means one unit of input was lost;
    /// the source has already counted it and the next call goes on with the stream.
    fn read(&mut self, out: &mut AudioFrame) -> Result<bool, Error>;
}

/// A sample-domain processor (resampler, remixer, gain, VAD front end) that turns frames of one
/// format into frames of another, possibly regrouped into a different frame size.
///
/// The protocol is push/poll: [`push`](Self::push) one input frame, then call
/// [`poll`](Self::poll) until it returns `Ok(false)` (**drain until false**), then push again. At
/// the end of the stream call [`finish`](Self::finish) once and drain again: no input sample is
/// lost.
///
/// Real-time contract: after construction, `push` and `poll` do not allocate, lock or block, as
/// long as input frames hold at most [`max_input_frames`](Self::max_input_frames) and output
/// frames have capacity for [`max_output_frames`](Self::max_output_frames).
pub trait AudioStage: Send {
    /// A short name for traces and reports (e.g. `"resample"`).
    fn name(&self) -> &'static str;

    /// The format `push` accepts.
    fn input_format(&self) -> AudioFormat;

    /// The format `poll` writes.
    fn output_format(&self) -> AudioFormat;

    /// The largest input frame (in sample frames) `push` accepts.
    fn max_input_frames(&self) -> usize;

    /// The most sample frames one `poll` writes: size output buffers with this.
    fn max_output_frames(&self) -> usize;

    /// How many more input sample frames the stage needs before `poll` can return a frame
    /// (0 when output is ready now). The default, 0, fits stages that answer every push at once.
    fn input_frames_next(&self) -> usize {
        0
    }

    /// Takes one input frame. Fails with [`Error::FormatMismatch`] or [`Error::FrameTooLarge`]
    /// (skip the frame) without changing the stage's state.
    fn push(&mut self, input: &AudioFrame) -> Result<(), Error>;

    /// Writes the next output frame into `out` (cleared first), with its pts and the trace of the
    /// oldest input it contains. Returns `Ok(false)` when no frame is ready.
    fn poll(&mut self, out: &mut AudioFrame) -> Result<bool, Error>;

    /// Marks the end of the stream: buffered and in-filter samples become available to `poll`
    /// (the last frame may be shorter than the others). The default does nothing, which is right
    /// for a stage that holds no audio between calls.
    fn finish(&mut self) -> Result<(), Error> {
        Ok(())
    }

    /// Forgets all buffered audio and filter state, ready for a new stream (e.g. after a seek).
    /// The default does nothing (a stateless stage).
    fn reset(&mut self) {}

    /// The algorithmic delay the stage adds, at its output rate. Output pts already account for
    /// it; this is for latency budgets.
    fn delay(&self) -> MediaTime {
        MediaTime::ZERO
    }

    /// Takes the next event the stage raised (a speech onset, a turn end); drain until `None`
    /// after each `push`, `poll` and `finish`. The default raises none.
    fn poll_event(&mut self) -> Option<StageEvent> {
        None
    }
}

/// Consumes PCM frames: a file writer, a network track, a test collector.
pub trait AudioSink: Send {
    /// A short name for traces and reports (e.g. `"wav"`).
    fn name(&self) -> &'static str;

    /// Consumes one frame. The frame's trace already holds this sink's stamp.
    fn write(&mut self, frame: &AudioFrame) -> Result<(), Error>;

    /// Called once after the last frame (flush files, send end-of-stream).
    fn finish(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

/// Produces encoded [`Packet`]s: an Ogg Opus reader, an RTP receiver, a test generator.
///
/// The packet counterpart of [`AudioSource`]. A packet that crossed RTP carries its
/// [`RtpInfo`](crate::RtpInfo) and arrival instant.
pub trait PacketSource: Send {
    /// A short name for traces and reports (e.g. `"ogg"`, `"rtp"`).
    fn name(&self) -> &'static str;

    /// The largest payload (bytes) one [`read`](Self::read) writes: give `read` a packet with at
    /// least this capacity and it never allocates.
    fn max_bytes(&self) -> usize;

    /// Writes the next packet into `out` (cleared first). Returns `Ok(false)` at the end of the
    /// stream. Skippable errors ([`Error::is_skippable`]) mean one unit of input was lost and
    /// counted; the next call goes on.
    fn read(&mut self, out: &mut Packet) -> Result<bool, Error>;
}

/// Consumes encoded [`Packet`]s: an Ogg Opus file writer, an RTP sender, a test collector.
///
/// The packet counterpart of [`AudioSink`], at the end of a chain whose last stage is a
/// [`PacketStage`] (an encoder). Real-time contract: `write` does not allocate or lock in
/// steady state (reuse buffers sized at construction); a sink that does I/O that may block
/// belongs behind a ring on its own thread.
pub trait PacketSink: Send {
    /// A short name for traces and reports (e.g. `"ogg"`, `"rtp"`).
    fn name(&self) -> &'static str;

    /// Consumes one packet. The packet's trace already holds this sink's stamp.
    fn write(&mut self, packet: &Packet) -> Result<(), Error>;

    /// Called once after the last packet (finish files, send end-of-stream).
    fn finish(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

/// A stage with a packet on at least one side: an encoder (frames in, packets out), a
/// packetizer (packets in and out), a decoder or jitter buffer (packets in, frames out).
///
/// Push an input, then call [`poll`](Self::poll) until it returns `Ok(false)` (**drain until
/// false**). `now` is an argument, never read from a clock, so tests can run on virtual time.
/// Name the types to use it as a trait object:
/// `Box<dyn PacketStage<Input = AudioFrame, Output = Packet>>`.
///
/// The format methods let a chain check, when it is built, that neighbours agree; each has a
/// default of "not applicable" (`None`), so a packet → packet stage implements only `name`,
/// `push` and `poll`.
pub trait PacketStage: Send {
    /// What goes in.
    type Input;
    /// What comes out.
    type Output;

    /// A short name for traces and reports (e.g. `"opus"`).
    fn name(&self) -> &'static str;

    /// Takes one input at time `now`.
    fn push(&mut self, input: &Self::Input, now: Instant) -> Result<(), Error>;

    /// Writes the next output into `out`, reusing its buffers. Returns `Ok(false)` when nothing is
    /// ready at `now`.
    fn poll(&mut self, out: &mut Self::Output, now: Instant) -> Result<bool, Error>;

    /// Marks the end of the input; remaining outputs become available to `poll`.
    fn finish(&mut self, now: Instant) -> Result<(), Error> {
        let _ = now;
        Ok(())
    }

    /// Forgets all state, ready for a new stream. The default does nothing.
    fn reset(&mut self) {}

    /// For frame input: the one format `push` accepts (an encoder's rate and channels).
    fn input_format(&self) -> Option<AudioFormat> {
        None
    }

    /// For frame input: the exact number of sample frames every pushed frame must hold (an
    /// encoder's frame size), if the stage needs one. A chain regroups its frames to this size.
    fn input_frames(&self) -> Option<usize> {
        None
    }

    /// For frame output: the format `poll` writes (a decoder's).
    fn output_format(&self) -> Option<AudioFormat> {
        None
    }

    /// For frame output: the most sample frames one `poll` writes; for packet output, the
    /// largest payload in bytes. Size output buffers with it.
    fn max_output(&self) -> Option<usize> {
        None
    }

    /// The next instant at which `poll` has something to do without new input (a jitter
    /// buffer's next playout time), so a scheduler can sleep until then. `None`: only input
    /// makes output.
    fn next_deadline(&self) -> Option<Instant> {
        None
    }

    /// Takes the next event the stage raised; drain until `None`. The default raises none.
    fn poll_event(&mut self) -> Option<StageEvent> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Null;
    impl AudioSource for Null {
        fn name(&self) -> &'static str {
            "null"
        }
        fn format(&self) -> AudioFormat {
            AudioFormat {
                rate: 8000,
                channels: 1,
            }
        }
        fn max_frames(&self) -> usize {
            0
        }
        fn read(&mut self, _: &mut AudioFrame) -> Result<bool, Error> {
            Ok(false)
        }
    }
    impl AudioSink for Null {
        fn name(&self) -> &'static str {
            "null"
        }
        fn write(&mut self, _: &AudioFrame) -> Result<(), Error> {
            Ok(())
        }
    }
    impl PacketSink for Null {
        fn name(&self) -> &'static str {
            "null"
        }
        fn write(&mut self, _: &Packet) -> Result<(), Error> {
            Ok(())
        }
    }
    impl PacketStage for Null {
        type Input = AudioFrame;
        type Output = Packet;
        fn name(&self) -> &'static str {
            "null"
        }
        fn push(&mut self, _: &AudioFrame, _: Instant) -> Result<(), Error> {
            Ok(())
        }
        fn poll(&mut self, _: &mut Packet, _: Instant) -> Result<bool, Error> {
            Ok(false)
        }
    }

    #[test]
    fn traits_are_object_safe_and_send() {
        fn is_send<T: Send + ?Sized>(_: &T) {}
        let src: Box<dyn AudioSource> = Box::new(Null);
        let sink: Box<dyn AudioSink> = Box::new(Null);
        let pkt: Box<dyn PacketStage<Input = AudioFrame, Output = Packet>> = Box::new(Null);
        let mut psink: Box<dyn PacketSink> = Box::new(Null);
        assert!(psink.write(&Packet::default()).is_ok());
        assert!(psink.finish().is_ok());
        let stage: Box<dyn AudioStage> = Box::new(crate::Reframer::new(
            AudioFormat {
                rate: 8000,
                channels: 1,
            },
            80,
            160,
        ));
        is_send(&src);
        is_send(&sink);
        is_send(&pkt);
        is_send(&stage);
        is_send(&psink);
        // And they move to another thread.
        std::thread::spawn(move || {
            let _ = (
                src.name(),
                sink.name(),
                pkt.name(),
                stage.name(),
                psink.name(),
            );
        })
        .join()
        .unwrap();
    }
}
