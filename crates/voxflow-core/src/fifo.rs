//! A fixed-capacity FIFO of interleaved `f32` samples, counted in sample frames.

use crate::Error;

/// A first-in first-out buffer of interleaved `f32` samples with a capacity fixed at
/// construction, counted in **sample frames** (one instant across all channels).
///
/// Sizes are named by unit: [`frames`](Self::frames) counts sample frames,
/// [`samples`](Self::samples) interleaved samples (`frames × channels`). The buffered samples
/// are always contiguous, so [`peek`](Self::peek) returns one slice; a push or
/// [`spare_mut`](Self::spare_mut) that finds no room at the end moves them to the start first
/// (amortised, no allocation).
///
/// Real-time: nothing allocates after [`new`](Self::new). A push that does not fit is refused
/// with [`Error::FrameTooLarge`] and changes nothing.
///
/// ```
/// use voxflow_core::SampleFifo;
/// let mut fifo = SampleFifo::new(2, 4); // stereo, 4 sample frames
/// fifo.push(&[1.0, -1.0, 2.0, -2.0])?; // two sample frames
/// assert_eq!((fifo.frames(), fifo.samples()), (2, 4));
/// let mut out = [0.0; 2];
/// assert_eq!(fifo.read(&mut out), 1); // one sample frame read
/// assert_eq!(out, [1.0, -1.0]);
/// assert_eq!(fifo.peek(8), &[2.0, -2.0]);
/// # Ok::<(), voxflow_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct SampleFifo {
    buf: Box<[f32]>,
    channels: usize,
    /// Live samples are `buf[head..tail]` (sample indices, multiples of `channels`).
    head: usize,
    tail: usize,
}

impl SampleFifo {
    /// A FIFO of `channels` channels holding up to `capacity_frames` sample frames; allocates
    /// its buffer here, once. A channel count of 0 is taken as 1.
    ///
    /// ```
    /// let fifo = voxflow_core::SampleFifo::new(2, 480);
    /// assert_eq!((fifo.capacity_frames(), fifo.channels(), fifo.frames()), (480, 2, 0));
    /// ```
    pub fn new(channels: u16, capacity_frames: usize) -> Self {
        let channels = usize::from(channels.max(1));
        SampleFifo {
            buf: vec![0.0; capacity_frames.saturating_mul(channels)].into_boxed_slice(),
            channels,
            head: 0,
            tail: 0,
        }
    }

    /// Channels per sample frame.
    ///
    /// ```
    /// assert_eq!(voxflow_core::SampleFifo::new(2, 10).channels(), 2);
    /// ```
    pub fn channels(&self) -> u16 {
        // Cannot truncate: built from a u16.
        self.channels as u16
    }

    /// The most sample frames the FIFO holds.
    ///
    /// ```
    /// assert_eq!(voxflow_core::SampleFifo::new(2, 10).capacity_frames(), 10);
    /// ```
    pub fn capacity_frames(&self) -> usize {
        self.buf.len() / self.channels
    }

    /// Sample frames buffered.
    ///
    /// ```
    /// let mut fifo = voxflow_core::SampleFifo::new(2, 10);
    /// fifo.push(&[0.0; 6])?;
    /// assert_eq!(fifo.frames(), 3);
    /// # Ok::<(), voxflow_core::Error>(())
    /// ```
    pub fn frames(&self) -> usize {
        (self.tail - self.head) / self.channels
    }

    /// Interleaved samples buffered (`frames() × channels()`).
    ///
    /// ```
    /// let mut fifo = voxflow_core::SampleFifo::new(2, 10);
    /// fifo.push(&[0.0; 6])?;
    /// assert_eq!(fifo.samples(), 6);
    /// # Ok::<(), voxflow_core::Error>(())
    /// ```
    pub fn samples(&self) -> usize {
        self.tail - self.head
    }

    /// Sample frames that can still be pushed.
    ///
    /// ```
    /// let mut fifo = voxflow_core::SampleFifo::new(1, 10);
    /// fifo.push(&[0.0; 4])?;
    /// assert_eq!(fifo.free_frames(), 6);
    /// # Ok::<(), voxflow_core::Error>(())
    /// ```
    pub fn free_frames(&self) -> usize {
        self.capacity_frames() - self.frames()
    }

    /// True when nothing is buffered.
    ///
    /// ```
    /// let mut fifo = voxflow_core::SampleFifo::new(1, 10);
    /// assert!(fifo.is_empty());
    /// fifo.push(&[1.0])?;
    /// assert!(!fifo.is_empty());
    /// # Ok::<(), voxflow_core::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.head == self.tail
    }

    /// Drops everything buffered.
    ///
    /// ```
    /// let mut fifo = voxflow_core::SampleFifo::new(1, 10);
    /// fifo.push(&[1.0, 2.0])?;
    /// fifo.clear();
    /// assert_eq!(fifo.frames(), 0);
    /// # Ok::<(), voxflow_core::Error>(())
    /// ```
    pub fn clear(&mut self) {
        self.head = 0;
        self.tail = 0;
    }

    /// Appends interleaved `samples` (whole sample frames). Refused, changing nothing, with
    /// [`Error::BadFrame`] when `samples.len()` is not a multiple of the channel count, and
    /// with [`Error::FrameTooLarge`] when they do not fit.
    ///
    /// ```
    /// use voxflow_core::{Error, SampleFifo};
    /// let mut fifo = SampleFifo::new(2, 2);
    /// fifo.push(&[1.0, 2.0])?;
    /// assert!(matches!(fifo.push(&[0.0; 4]), Err(Error::FrameTooLarge { max_frames: 1, frames: 2 })));
    /// assert!(matches!(fifo.push(&[0.0; 3]), Err(Error::BadFrame { .. })));
    /// assert_eq!(fifo.peek(2), &[1.0, 2.0]);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn push(&mut self, samples: &[f32]) -> Result<(), Error> {
        if !samples.len().is_multiple_of(self.channels) {
            return Err(Error::BadFrame {
                reason: "not a whole number of sample frames",
                samples: samples.len(),
                channels: self.channels(),
            });
        }
        let frames = samples.len() / self.channels;
        self.spare_mut(frames)?.copy_from_slice(samples);
        self.tail += samples.len();
        Ok(())
    }

    /// A writable slot for `frames` sample frames right after the buffered ones, to fill in
    /// place (a decoder writing straight into the FIFO); make them part of the FIFO with
    /// [`commit`](Self::commit). [`Error::FrameTooLarge`] when they do not fit.
    ///
    /// ```
    /// let mut fifo = voxflow_core::SampleFifo::new(1, 4);
    /// let slot = fifo.spare_mut(3)?;
    /// slot.copy_from_slice(&[1.0, 2.0, 3.0]);
    /// fifo.commit(2)?; // only the first two are kept
    /// assert_eq!(fifo.peek(4), &[1.0, 2.0]);
    /// # Ok::<(), voxflow_core::Error>(())
    /// ```
    pub fn spare_mut(&mut self, frames: usize) -> Result<&mut [f32], Error> {
        if frames > self.free_frames() {
            return Err(Error::FrameTooLarge {
                max_frames: self.free_frames(),
                frames,
            });
        }
        let n = frames * self.channels;
        if self.tail + n > self.buf.len() {
            self.compact();
        }
        Ok(&mut self.buf[self.tail..self.tail + n])
    }

    /// Makes the first `frames` sample frames of the last [`spare_mut`](Self::spare_mut) slot
    /// part of the FIFO. [`Error::FrameTooLarge`] (changing nothing) past the end of the
    /// buffer.
    ///
    /// ```
    /// let mut fifo = voxflow_core::SampleFifo::new(2, 4);
    /// fifo.spare_mut(1)?.copy_from_slice(&[0.5, -0.5]);
    /// fifo.commit(1)?;
    /// assert_eq!(fifo.frames(), 1);
    /// assert!(fifo.commit(4).is_err());
    /// # Ok::<(), voxflow_core::Error>(())
    /// ```
    pub fn commit(&mut self, frames: usize) -> Result<(), Error> {
        let room = (self.buf.len() - self.tail) / self.channels;
        if frames > room {
            return Err(Error::FrameTooLarge {
                max_frames: room,
                frames,
            });
        }
        self.tail += frames * self.channels;
        Ok(())
    }

    /// The oldest `frames` sample frames (fewer when fewer are buffered), interleaved, without
    /// consuming them.
    ///
    /// ```
    /// let mut fifo = voxflow_core::SampleFifo::new(1, 4);
    /// fifo.push(&[1.0, 2.0, 3.0])?;
    /// assert_eq!(fifo.peek(2), &[1.0, 2.0]);
    /// assert_eq!(fifo.peek(usize::MAX), &[1.0, 2.0, 3.0]);
    /// # Ok::<(), voxflow_core::Error>(())
    /// ```
    pub fn peek(&self, frames: usize) -> &[f32] {
        let n = frames.min(self.frames()) * self.channels;
        &self.buf[self.head..self.head + n]
    }

    /// Drops the oldest `frames` sample frames (fewer when fewer are buffered); returns the
    /// sample frames dropped.
    ///
    /// ```
    /// let mut fifo = voxflow_core::SampleFifo::new(1, 4);
    /// fifo.push(&[1.0, 2.0, 3.0])?;
    /// assert_eq!(fifo.consume(2), 2);
    /// assert_eq!(fifo.peek(4), &[3.0]);
    /// assert_eq!(fifo.consume(5), 1);
    /// # Ok::<(), voxflow_core::Error>(())
    /// ```
    pub fn consume(&mut self, frames: usize) -> usize {
        let n = frames.min(self.frames());
        self.head += n * self.channels;
        if self.head == self.tail {
            self.clear();
        }
        n
    }

    /// Copies the oldest sample frames into `out` (as many whole sample frames as fit and are
    /// buffered) and consumes them; returns the sample frames read.
    ///
    /// ```
    /// let mut fifo = voxflow_core::SampleFifo::new(2, 4);
    /// fifo.push(&[1.0, 2.0, 3.0, 4.0])?;
    /// let mut out = [0.0; 3]; // room for one whole sample frame
    /// assert_eq!(fifo.read(&mut out), 1);
    /// assert_eq!(out, [1.0, 2.0, 0.0]);
    /// assert_eq!(fifo.frames(), 1);
    /// # Ok::<(), voxflow_core::Error>(())
    /// ```
    pub fn read(&mut self, out: &mut [f32]) -> usize {
        let src = self.peek(out.len() / self.channels);
        let n = src.len();
        out[..n].copy_from_slice(src);
        self.consume(n / self.channels)
    }

    /// Moves the buffered samples to the start of the buffer.
    fn compact(&mut self) {
        if self.head > 0 {
            self.buf.copy_within(self.head..self.tail, 0);
            self.tail -= self.head;
            self.head = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn overflow_is_refused_and_changes_nothing() {
        let mut f = SampleFifo::new(2, 3);
        f.push(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        f.consume(1);
        let err = f.push(&[0.0; 6]).unwrap_err();
        assert!(matches!(
            err,
            Error::FrameTooLarge {
                max_frames: 2,
                frames: 3
            }
        ));
        assert_eq!(f.peek(9), &[3.0, 4.0]);
        // Fits after compaction: 1 buffered + 2 pushed = capacity.
        f.push(&[5.0, 6.0, 7.0, 8.0]).unwrap();
        assert_eq!(f.peek(9), &[3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        assert_eq!(f.free_frames(), 0);
        assert!(matches!(
            f.spare_mut(1),
            Err(Error::FrameTooLarge {
                max_frames: 0,
                frames: 1
            })
        ));
    }

    #[derive(Clone, Debug)]
    enum Op {
        Push(usize),
        Read(usize),
        Consume(usize),
        Slot(usize, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0usize..40).prop_map(Op::Push),
            (0usize..40).prop_map(Op::Read),
            (0usize..40).prop_map(Op::Consume),
            (0usize..40, 0usize..40).prop_map(|(a, b)| Op::Slot(a, b)),
        ]
    }

    proptest! {
        /// Any sequence of pushes, in-place writes, reads and drops keeps order and content
        /// (checked against a `VecDeque` model), and overflow is refused without a change.
        #[test]
        fn conserves_order_and_content(
            ch in 1u16..4,
            cap in 1usize..64,
            ops in proptest::collection::vec(op(), 1..120),
        ) {
            let c = usize::from(ch);
            let mut fifo = SampleFifo::new(ch, cap);
            let mut model = std::collections::VecDeque::new();
            let mut next = 0.0f32;
            let mut fresh = |n: usize| -> Vec<f32> {
                (0..n * c).map(|_| { next += 1.0; next }).collect()
            };
            for op in ops {
                match op {
                    Op::Push(n) => {
                        let data = fresh(n);
                        let fits = model.len() / c + n <= cap;
                        prop_assert_eq!(fifo.push(&data).is_ok(), fits);
                        if fits {
                            model.extend(data);
                        }
                    }
                    Op::Slot(n, keep) => {
                        let data = fresh(n);
                        match fifo.spare_mut(n) {
                            Ok(slot) => {
                                prop_assert!(model.len() / c + n <= cap);
                                slot.copy_from_slice(&data);
                                let keep = keep.min(n);
                                fifo.commit(keep).unwrap();
                                model.extend(&data[..keep * c]);
                            }
                            Err(e) => {
                                prop_assert!(model.len() / c + n > cap);
                                let is_too_large = matches!(e, Error::FrameTooLarge { .. });
                                prop_assert!(is_too_large);
                            }
                        }
                    }
                    Op::Read(n) => {
                        let mut out = vec![0.0; n * c];
                        let got = fifo.read(&mut out);
                        prop_assert_eq!(got, n.min(model.len() / c));
                        let want: Vec<f32> = model.drain(..got * c).collect();
                        prop_assert_eq!(&out[..got * c], &want[..]);
                    }
                    Op::Consume(n) => {
                        let got = fifo.consume(n);
                        prop_assert_eq!(got, n.min(model.len() / c));
                        model.drain(..got * c);
                    }
                }
                prop_assert_eq!(fifo.frames(), model.len() / c);
                prop_assert_eq!(fifo.samples(), model.len());
                prop_assert_eq!(fifo.free_frames(), cap - model.len() / c);
                let all: Vec<f32> = model.iter().copied().collect();
                prop_assert_eq!(fifo.peek(usize::MAX), &all[..]);
            }
        }
    }
}
