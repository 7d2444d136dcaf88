//! palisade's differential-testing lab: packet scenarios (`scenario`, with
//! the `pkt` packet language), a harness that runs them through the live
//! Linux kernel (`kernel`), and the comparison of two outcomes (`compare`);
//! `kernel_log` reads the live kernel's LOG lines back.
#![deny(unsafe_code)]

pub mod compare;
pub mod hex;
pub mod kernel;
pub mod kernel_log;
pub mod kernel_trace;
pub mod pkt;
pub mod random;
pub mod replay;
pub mod scenario;
pub mod simulate;
mod sys;
pub mod trace;
