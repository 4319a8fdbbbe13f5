//! What a ring can carry, and the two items voxflow sends through rings.

use voxflow_core::{AudioFrame, Packet};

use crate::Error;

/// What a ring can carry: an item with a pre-allocated buffer, moved between the two ends by
/// swapping whole items (no copy) and recycled through the ring's return path.
///
/// Sizes are in the item's own *units*: interleaved samples for an [`AudioFrame`], payload
/// bytes for a [`Packet`]. Every slot of a ring holds at least the ring's unit capacity (the
/// smallest capacity the slot factory produced); an item handed to the ring may hold at most
/// that many units. When the caller's item has a smaller capacity than the ring's, its content
/// is copied with [`copy_from_item`](RingItem::copy_from_item) instead of swapped, so the
/// capacities circulating in the ring never shrink and nothing allocates.
pub trait RingItem: Send + 'static {
    /// How many units the item holds without reallocating.
    fn capacity_units(&self) -> usize;
    /// How many units it holds now.
    fn len_units(&self) -> usize;
    /// Copies `src` (content and metadata) into `self`, reusing `self`'s buffer. Must not
    /// allocate; fails (leaving `self` usable) when `src` does not fit.
    fn copy_from_item(&mut self, src: &Self) -> Result<(), Error>;
    /// The error for this item when it holds more than `max_units` units.
    fn too_large(&self, max_units: usize) -> Error;
}

impl RingItem for AudioFrame {
    fn capacity_units(&self) -> usize {
        self.capacity_frames() * usize::from(self.channels())
    }

    fn len_units(&self) -> usize {
        self.samples().len()
    }

    fn copy_from_item(&mut self, src: &Self) -> Result<(), Error> {
        self.copy_from(src).map_err(Error::Core)
    }

    fn too_large(&self, max_units: usize) -> Error {
        Error::Core(voxflow_core::Error::FrameTooLarge {
            max_frames: max_units / usize::from(self.channels()),
            frames: self.frames(),
        })
    }
}

impl RingItem for Packet {
    fn capacity_units(&self) -> usize {
        self.capacity()
    }

    fn len_units(&self) -> usize {
        self.len()
    }

    fn copy_from_item(&mut self, src: &Self) -> Result<(), Error> {
        if src.len() > self.capacity() {
            return Err(src.too_large(self.capacity()));
        }
        self.copy_from(src); // fits: `Packet::copy_from` reuses the buffer
        Ok(())
    }

    fn too_large(&self, max_units: usize) -> Error {
        Error::PacketTooLarge {
            bytes: self.len(),
            max_bytes: max_units,
        }
    }
}
