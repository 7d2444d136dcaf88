//! Puts captured packets back in time order. A capture of several
//! interfaces (`dumpcap -i eth0 -i docker0`) holds each interface's
//! packets in the order they were captured, but interleaves the
//! interfaces in chunks, as its buffers filled: file order is not arrival
//! order. Each interface a pcapng section describes is a stream, merged
//! here by capture time (ties in file order): the earliest held packet
//! goes once every stream has one waiting (nothing earlier can come), or
//! once it is [`WINDOW`] older than the section's latest packet (a stream
//! is quiet), or when [`MAX_HELD`] packets wait. A capture of one
//! interface passes through as read. Sections follow each other in file
//! order: a new one starts when everything held has gone.

use std::collections::VecDeque;

use palisade_engine::topology::IfIndex;

/// How long a quiet stream may hold the others back: 1 s of capture time.
pub const WINDOW: u64 = 1_000_000_000;
/// The most packets held at once.
pub const MAX_HELD: usize = 1 << 14;

/// A packet waiting to be replayed.
#[derive(Debug)]
pub struct Held {
    /// Capture time (ns since the epoch).
    pub ts: u64,
    /// Its number in the capture.
    pub number: u64,
    /// Where it arrived.
    pub dev: IfIndex,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct Reorder {
    /// The pcapng section whose packets are held.
    section: u32,
    /// One queue per interface of the section, by interface ID.
    streams: Vec<VecDeque<Held>>,
    held: usize,
    /// The latest capture time of the section.
    section_newest: u64,
    /// The latest capture time read.
    newest: u64,
}

impl Reorder {
    /// The latest capture time read so far.
    pub fn newest(&self) -> u64 {
        self.newest
    }

    /// The section whose packets are held.
    pub fn section(&self) -> u32 {
        self.section
    }

    pub fn is_empty(&self) -> bool {
        self.held == 0
    }

    /// Starts the streams of `section`; call it when nothing is held.
    pub fn start_section(&mut self, section: u32) {
        debug_assert!(self.is_empty());
        self.section = section;
        self.streams.clear();
        self.section_newest = 0;
    }

    /// Adds a packet of the section's interface `interface`, in a
    /// section that describes `described` interfaces so far.
    pub fn push(&mut self, interface: u32, described: u32, h: Held) {
        self.newest = self.newest.max(h.ts);
        self.section_newest = self.section_newest.max(h.ts);
        let want = described.max(interface + 1) as usize;
        if self.streams.len() < want {
            self.streams.resize_with(want, VecDeque::new);
        }
        self.streams[interface as usize].push_back(h);
        self.held += 1;
    }

    /// The next packet to replay, if one may go now.
    pub fn pop_ready(&mut self) -> Option<Held> {
        let first = self.earliest()?;
        let all_waiting = self.streams.iter().all(|q| !q.is_empty());
        let ts = self.streams[first].front()?.ts;
        if all_waiting || ts.saturating_add(WINDOW) <= self.section_newest || self.held > MAX_HELD {
            return self.take(first);
        }
        None
    }

    /// The next packet whatever may follow (at the end of a section).
    pub fn pop_any(&mut self) -> Option<Held> {
        let first = self.earliest()?;
        self.take(first)
    }

    /// The stream whose waiting packet is the earliest (in file order
    /// among equal times).
    fn earliest(&self) -> Option<usize> {
        self.streams
            .iter()
            .enumerate()
            .filter_map(|(i, q)| q.front().map(|h| ((h.ts, h.number), i)))
            .min()
            .map(|(_, i)| i)
    }

    fn take(&mut self, i: usize) -> Option<Held> {
        let h = self.streams[i].pop_front()?;
        self.held -= 1;
        Some(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(ts: u64, number: u64) -> Held {
        Held {
            ts,
            number,
            dev: 1,
            bytes: Vec::new(),
        }
    }

    fn drain_ready(r: &mut Reorder) -> Vec<u64> {
        std::iter::from_fn(|| r.pop_ready())
            .map(|h| h.number)
            .collect()
    }

    #[test]
    fn one_stream_passes_through() {
        let mut r = Reorder::default();
        r.push(0, 1, h(5, 1));
        assert_eq!(drain_ready(&mut r), vec![1]);
        // A step back stays where it is (the replay counts it).
        r.push(0, 1, h(3, 2));
        assert_eq!(drain_ready(&mut r), vec![2]);
    }

    #[test]
    fn interleaved_chunks_come_out_in_time_order() {
        let mut r = Reorder::default();
        let mut out = Vec::new();
        // dumpcap: eth0's 10, 20, 30, then docker0's 15, 25, then eth0's 40.
        for (iface, ts, n) in [
            (0, 10, 1),
            (0, 20, 2),
            (0, 30, 3),
            (1, 15, 4),
            (1, 25, 5),
            (0, 40, 6),
        ] {
            r.push(iface, 2, h(ts, n));
            out.extend(drain_ready(&mut r));
        }
        out.extend(std::iter::from_fn(|| r.pop_any()).map(|h| h.number));
        assert_eq!(out, vec![1, 4, 2, 5, 3, 6]);
    }

    #[test]
    fn a_quiet_stream_holds_the_others_one_window_at_most() {
        let mut r = Reorder::default();
        r.push(0, 2, h(0, 1));
        // Stream 1 has sent nothing yet: 1 waits.
        assert_eq!(drain_ready(&mut r), vec![] as Vec<u64>);
        r.push(1, 2, h(1, 2));
        assert_eq!(drain_ready(&mut r), vec![1]);
        r.push(1, 2, h(WINDOW, 3));
        // Stream 0 is quiet: 2 waits until a window has passed.
        assert_eq!(drain_ready(&mut r), vec![] as Vec<u64>);
        r.push(1, 2, h(WINDOW + 1, 4));
        assert_eq!(drain_ready(&mut r), vec![2]);
        assert_eq!(
            std::iter::from_fn(|| r.pop_any())
                .map(|h| h.number)
                .collect::<Vec<_>>(),
            vec![3, 4]
        );
        // A new section starts afresh, its times its own.
        r.start_section(2);
        r.push(0, 1, h(0, 5));
        assert_eq!(drain_ready(&mut r), vec![5]);
        assert_eq!(r.newest(), WINDOW + 1);
    }
}
