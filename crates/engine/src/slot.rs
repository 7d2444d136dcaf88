//! The committed ruleset behind an atomic swap: a control thread commits a
//! new compiled ruleset while packet threads keep going. A packet thread
//! pays one atomic load per packet to notice a commit and only then takes
//! the lock to pick the new program up.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::program::Program;

#[derive(Debug)]
pub struct RulesetSlot {
    generation: AtomicU64,
    current: Mutex<Arc<Program>>,
}

impl RulesetSlot {
    pub fn new(program: Program) -> RulesetSlot {
        RulesetSlot {
            generation: AtomicU64::new(0),
            current: Mutex::new(Arc::new(program)),
        }
    }

    /// Replaces the program; packets already being processed finish with
    /// the old one.
    pub fn commit(&self, program: Program) {
        let mut cur = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        *cur = Arc::new(program);
        self.generation.fetch_add(1, Ordering::Release);
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The current program and its generation.
    pub fn load(&self) -> (u64, Arc<Program>) {
        let cur = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        (self.generation.load(Ordering::Acquire), Arc::clone(&cur))
    }
}
