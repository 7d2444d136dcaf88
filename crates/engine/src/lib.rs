//! palisade's packet engine: netfilter's hooks, routing, connection
//! tracking and NAT for IPv4, without I/O. Packets go in with the time
//! (`Engine::process(now, ingress, bytes, outputs)`); what leaves which
//! interface comes out. No sockets, threads, clocks or global state; every
//! random choice comes from the seed.

pub mod conncount;
pub mod conntrack;
pub mod defrag;
pub mod engine;
pub mod env;
mod eval;
pub mod ext;
pub mod fragment;
mod hash;
mod helpers;
mod jhash;
pub mod log;
pub mod meta;
pub mod nat;
pub mod peer;
pub mod program;
pub mod reply;
pub mod slot;
pub mod time;
pub mod topology;
pub mod trace;
pub mod wire;

pub use engine::{DropSite, Engine, Fate, Ingress, Outputs, SendError};
pub use log::LogRecord;
pub use program::{CompileError, Program};
pub use time::Time;
pub use topology::Topology;
