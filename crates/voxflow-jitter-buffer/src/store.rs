//! Packets waiting for playout: a fixed set of slots kept in media-time order, bounded by count
//! and bytes, allocated once.

use std::time::Instant;

use voxflow_core::Trace;

/// One held packet.
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    /// Extended (unwrapped) sequence number.
    pub seq: i64,
    /// Extended (unwrapped) RTP timestamp.
    pub ts: i64,
    /// Duration in RTP ticks.
    pub ticks: i64,
    pub arrival: Instant,
    pub trace: Trace,
    pub data: Vec<u8>,
}

/// Why [`PacketStore::insert`] refused a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Full, and this packet is the farthest from playout.
    Full,
}

pub(crate) struct PacketStore {
    slots: Vec<Stored>,
    /// Indices into `slots` of held packets, ordered by (ts, seq).
    order: Vec<usize>,
    free: Vec<usize>,
    bytes: usize,
    max_bytes: usize,
}

impl PacketStore {
    pub(crate) fn new(max_packets: usize, max_bytes: usize, max_payload: usize) -> Self {
        let now = Instant::now();
        let slots: Vec<Stored> = (0..max_packets)
            .map(|_| Stored {
                seq: 0,
                ts: 0,
                ticks: 0,
                arrival: now,
                trace: Trace::EMPTY,
                data: Vec::with_capacity(max_payload),
            })
            .collect();
        PacketStore {
            order: Vec::with_capacity(max_packets),
            free: (0..max_packets).rev().collect(),
            slots,
            bytes: 0,
            max_bytes,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    pub(crate) fn front(&self) -> Option<&Stored> {
        self.order.first().map(|&i| &self.slots[i])
    }

    /// The packet with the latest media time.
    pub(crate) fn back(&self) -> Option<&Stored> {
        self.order.last().map(|&i| &self.slots[i])
    }

    /// Media time covered by the held packets, from the first one's start to the last one's end
    /// (in RTP ticks), 0 when empty.
    pub(crate) fn span_ticks(&self) -> i64 {
        match (self.front(), self.back()) {
            (Some(f), Some(b)) => (b.ts + b.ticks - f.ts).max(0),
            _ => 0,
        }
    }

    /// Holds a copy of `data` with these facts, evicting the packet farthest from playout when
    /// full. Returns the number of packets evicted to make room (each a counted drop), or
    /// `Refused::Full` when the new packet itself is the farthest.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn insert(
        &mut self,
        seq: i64,
        ts: i64,
        ticks: i64,
        arrival: Instant,
        trace: Trace,
        data: &[u8],
    ) -> Result<usize, Refused> {
        let pos = self
            .order
            .partition_point(|&i| (self.slots[i].ts, self.slots[i].seq) < (ts, seq));
        // Plan the evictions first (only packets after `pos` may go), so a refusal evicts
        // nothing.
        let mut evicted = 0;
        let mut bytes = self.bytes + data.len();
        let mut free = self.free.len();
        let mut k = self.order.len();
        while free == 0 || bytes > self.max_bytes {
            if k <= pos {
                return Err(Refused::Full);
            }
            k -= 1;
            bytes -= self.slots[self.order[k]].data.len();
            free += 1;
            evicted += 1;
        }
        for _ in 0..evicted {
            self.pop_back();
        }
        // `free` is non-empty: the loop above ends only then.
        let Some(slot) = self.free.pop() else {
            return Err(Refused::Full);
        };
        let s = &mut self.slots[slot];
        s.seq = seq;
        s.ts = ts;
        s.ticks = ticks;
        s.arrival = arrival;
        s.trace = trace;
        s.data.clear();
        s.data.extend_from_slice(data);
        self.bytes += data.len();
        self.order.insert(pos, slot);
        Ok(evicted)
    }

    fn pop_back(&mut self) {
        if let Some(i) = self.order.pop() {
            self.bytes -= self.slots[i].data.len();
            self.free.push(i);
        }
    }

    /// Removes the first packet, handing it to `f` before its slot is reused.
    pub(crate) fn pop_front_with<R>(&mut self, f: impl FnOnce(&Stored) -> R) -> Option<R> {
        if self.order.is_empty() {
            return None;
        }
        let i = self.order.remove(0);
        let r = f(&self.slots[i]);
        self.bytes -= self.slots[i].data.len();
        self.free.push(i);
        Some(r)
    }

    /// True when a packet with this extended sequence number is held.
    pub(crate) fn contains_seq(&self, seq: i64) -> bool {
        self.order.iter().any(|&i| self.slots[i].seq == seq)
    }

    pub(crate) fn clear(&mut self) {
        while !self.order.is_empty() {
            self.pop_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(s: &mut PacketStore, seq: i64, bytes: usize) -> Result<usize, Refused> {
        s.insert(
            seq,
            seq * 960,
            960,
            Instant::now(),
            Trace::EMPTY,
            &vec![seq as u8; bytes],
        )
    }

    #[test]
    fn keeps_media_order_and_evicts_the_farthest() {
        let mut s = PacketStore::new(3, 10_000, 100);
        for seq in [5, 3, 4] {
            assert_eq!(ins(&mut s, seq, 10), Ok(0));
        }
        // Full: a later packet is refused, an earlier one evicts seq 5.
        assert_eq!(ins(&mut s, 6, 10), Err(Refused::Full));
        assert_eq!(ins(&mut s, 2, 10), Ok(1));
        let mut order = vec![];
        while let Some(seq) = s.pop_front_with(|p| p.seq) {
            order.push(seq);
        }
        assert_eq!(order, [2, 3, 4]);
    }

    #[test]
    fn byte_bound_holds() {
        let mut s = PacketStore::new(10, 100, 100);
        assert_eq!(ins(&mut s, 1, 60), Ok(0));
        assert_eq!(ins(&mut s, 2, 60), Err(Refused::Full));
        assert_eq!(ins(&mut s, 0, 60), Ok(1));
        assert_eq!(s.len(), 1);
        assert!(s.contains_seq(0) && !s.contains_seq(1));
    }
}
