//! Time as the engine sees it: passed in by the caller, never read from a
//! clock. Nanoseconds since an arbitrary origin.

use std::ops::{Add, Sub};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Time(pub u64);

pub const NANOS_PER_SEC: u64 = 1_000_000_000;

/// CONFIG_HZ of the reference kernel: what `jiffies` counts.
pub const HZ: u64 = 250;

/// The kernel's `msecs_to_jiffies` for HZ 250: rounded up, and a value
/// that is negative as an int means "never" (MAX_JIFFY_OFFSET).
pub fn msecs_to_jiffies(ms: u32) -> u64 {
    if (ms as i32) < 0 {
        return MAX_JIFFY_OFFSET;
    }
    u64::from(ms).div_ceil(1000 / HZ)
}

/// include/linux/jiffies.h `MAX_JIFFY_OFFSET` on a 64-bit kernel.
pub const MAX_JIFFY_OFFSET: u64 = ((i64::MAX >> 1) - 1) as u64;

impl Time {
    pub const ZERO: Time = Time(0);

    pub fn from_secs_f64(s: f64) -> Time {
        if s.is_finite() && s > 0.0 {
            Time((s * NANOS_PER_SEC as f64) as u64)
        } else {
            Time(0)
        }
    }
    pub fn from_secs(s: u64) -> Time {
        Time(s.saturating_mul(NANOS_PER_SEC))
    }
    pub fn from_millis(ms: u64) -> Time {
        Time(ms.saturating_mul(1_000_000))
    }
    pub fn as_secs(self) -> u64 {
        self.0 / NANOS_PER_SEC
    }
    /// The jiffy this instant falls in (ticks of 1/HZ s since the origin).
    pub fn jiffies(self) -> u64 {
        self.0 / (NANOS_PER_SEC / HZ)
    }
}

impl Add for Time {
    type Output = Time;
    fn add(self, o: Time) -> Time {
        Time(self.0.saturating_add(o.0))
    }
}

impl Sub for Time {
    type Output = Time;
    fn sub(self, o: Time) -> Time {
        Time(self.0.saturating_sub(o.0))
    }
}
