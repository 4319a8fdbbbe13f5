//! What flows along a chain: [`AudioFrame`]s or [`Packet`]s.

use std::sync::atomic::Ordering;

use voxflow_core::{AudioFrame, MediaTime, Packet, Trace};

use crate::shared::Counters;

mod sealed {
    pub trait Sealed {}
    impl Sealed for voxflow_core::AudioFrame {}
    impl Sealed for voxflow_core::Packet {}
}

/// An item a chain carries between its elements: [`AudioFrame`] or [`Packet`] (sealed). The
/// typed builder ([`ChainBuilder`](crate::ChainBuilder)) is generic over it, so a stage that
/// expects packets cannot follow one that writes frames: that is a compile error.
pub trait Flow: sealed::Sealed + Send + 'static {
    /// The item's latency trace.
    fn trace(&self) -> &Trace;
    /// The item's latency trace, to stamp.
    fn trace_mut(&mut self) -> &mut Trace;
    /// Presentation time of its first sample.
    fn pts(&self) -> MediaTime;
    /// Presentation time just after its last sample.
    fn end(&self) -> MediaTime;
    /// Copies `self` into `dst`, reusing `dst`'s buffers (used where one item feeds two
    /// branches and one of them must own a copy, e.g. a ring).
    fn copy_into(&self, dst: &mut Self) -> Result<(), voxflow_core::Error>;
    /// Its size: `(true, sample frames)` for audio, `(false, bytes)` for packets.
    #[doc(hidden)]
    fn size(&self) -> (bool, u64);
}

impl Flow for AudioFrame {
    fn trace(&self) -> &Trace {
        AudioFrame::trace(self)
    }
    fn trace_mut(&mut self) -> &mut Trace {
        AudioFrame::trace_mut(self)
    }
    fn pts(&self) -> MediaTime {
        AudioFrame::pts(self)
    }
    fn end(&self) -> MediaTime {
        AudioFrame::end(self)
    }
    fn copy_into(&self, dst: &mut Self) -> Result<(), voxflow_core::Error> {
        dst.copy_from(self)
    }
    fn size(&self) -> (bool, u64) {
        (true, self.frames() as u64)
    }
}

impl Flow for Packet {
    fn trace(&self) -> &Trace {
        &self.trace
    }
    fn trace_mut(&mut self) -> &mut Trace {
        &mut self.trace
    }
    fn pts(&self) -> MediaTime {
        self.pts
    }
    fn end(&self) -> MediaTime {
        Packet::end(self)
    }
    fn copy_into(&self, dst: &mut Self) -> Result<(), voxflow_core::Error> {
        dst.copy_from(self);
        Ok(())
    }
    fn size(&self) -> (bool, u64) {
        (false, self.len() as u64)
    }
}

/// Counts an item read from the source.
pub(crate) fn count_in<T: Flow>(c: &Counters, item: &T) {
    let (audio, n) = item.size();
    let (items, units) = if audio {
        (&c.frames_in, &c.sample_frames_in)
    } else {
        (&c.packets_in, &c.bytes_in)
    };
    items.fetch_add(1, Ordering::Relaxed);
    units.fetch_add(n, Ordering::Relaxed);
}

/// Counts an item delivered (to a sink, or accepted by an encoder).
pub(crate) fn count_out<T: Flow>(c: &Counters, item: &T) {
    let (audio, n) = item.size();
    let (items, units) = if audio {
        (&c.frames_out, &c.sample_frames_out)
    } else {
        (&c.packets_out, &c.bytes_out)
    };
    items.fetch_add(1, Ordering::Relaxed);
    units.fetch_add(n, Ordering::Relaxed);
}
