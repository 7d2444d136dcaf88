//! Puts captured packets back in time order. A capture of several
//! interfaces (`dumpcap -i eth0 -i docker0`) holds each interface's
//! packets in the order they were captured, but interleaves the
//! interfaces in chunks, as its buffers filled: file order is not arrival
//! order. Each interface the capture describes is a stream, merged here
//! by capture time (ties in file order): the earliest held packet goes
//! once every stream of the section has one waiting (nothing earlier can
//! come), or once it is [`WINDOW`] older than the latest packet read (a
//! stream is quiet), or when [`MAX_HELD`] packets wait. A capture of one
//! interface is passed through as read.

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

/// One capture interface's packets.
#[derive(Debug)]
struct Stream {
    /// pcapng section and interface ID within it.
    key: (u32, u32),
    /// Ended: its section is over.
    closed: bool,
    queue: VecDeque<Held>,
}

#[derive(Debug, Default)]
pub struct Reorder {
    streams: Vec<Stream>,
    held: usize,
    /// The latest capture time read.
    newest: u64,
}

impl Reorder {
    /// The latest capture time read so far.
    pub fn newest(&self) -> u64 {
        self.newest
    }

    /// Adds a packet of `stream` (pcapng section and interface ID), in a
    /// section that describes `described` interfaces so far.
    pub fn push(&mut self, stream: (u32, u32), described: u32, h: Held) {
        self.newest = self.newest.max(h.ts);
        let (section, _) = stream;
        if !self.streams.iter().any(|s| s.key == stream) {
            // A new section ends the streams of the ones before.
            for s in &mut self.streams {
                s.closed |= s.key.0 < section;
            }
            self.streams.retain(|s| !(s.closed && s.queue.is_empty()));
        }
        for id in 0..described.max(stream.1 + 1) {
            if !self.streams.iter().any(|s| s.key == (section, id)) {
                self.streams.push(Stream {
                    key: (section, id),
                    closed: false,
                    queue: VecDeque::new(),
                });
            }
        }
        if let Some(s) = self.streams.iter_mut().find(|s| s.key == stream) {
            s.queue.push_back(h);
            self.held += 1;
        }
    }

    /// The next packet to replay, if one may go now.
    pub fn pop_ready(&mut self) -> Option<Held> {
        let first = self.earliest()?;
        let all_waiting = self.streams.iter().all(|s| s.closed || !s.queue.is_empty());
        let ts = self.streams[first].queue.front()?.ts;
        if all_waiting || ts.saturating_add(WINDOW) <= self.newest || self.held > MAX_HELD {
            return self.take(first);
        }
        None
    }

    /// The next packet whatever may follow (at the end of the capture).
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
            .filter_map(|(i, s)| s.queue.front().map(|h| ((h.ts, h.number), i)))
            .min()
            .map(|(_, i)| i)
    }

    fn take(&mut self, i: usize) -> Option<Held> {
        let h = self.streams[i].queue.pop_front()?;
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
        r.push((1, 0), 1, h(5, 1));
        assert_eq!(drain_ready(&mut r), vec![1]);
        // A step back stays where it is (the replay counts it).
        r.push((1, 0), 1, h(3, 2));
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
            r.push((1, iface), 2, h(ts, n));
            out.extend(drain_ready(&mut r));
        }
        out.extend(std::iter::from_fn(|| r.pop_any()).map(|h| h.number));
        assert_eq!(out, vec![1, 4, 2, 5, 3, 6]);
    }

    #[test]
    fn a_quiet_stream_holds_the_others_one_window_at_most() {
        let mut r = Reorder::default();
        r.push((1, 0), 2, h(0, 1));
        // Stream 1 has sent nothing yet: 1 waits.
        assert_eq!(drain_ready(&mut r), vec![] as Vec<u64>);
        r.push((1, 1), 2, h(1, 2));
        assert_eq!(drain_ready(&mut r), vec![1]);
        r.push((1, 1), 2, h(WINDOW, 3));
        // Stream 0 is quiet: 2 waits until a window has passed.
        assert_eq!(drain_ready(&mut r), vec![] as Vec<u64>);
        r.push((1, 1), 2, h(WINDOW + 1, 4));
        assert_eq!(drain_ready(&mut r), vec![2]);
        // A new section ends the old streams.
        r.push((2, 0), 1, h(WINDOW + 2, 5));
        assert_eq!(drain_ready(&mut r), vec![3, 4, 5]);
    }
}
