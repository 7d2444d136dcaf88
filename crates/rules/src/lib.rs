//! palisade's rule language: the iptables model, its extensions, and the
//! parsers and printers of `iptables`, `iptables-save` and
//! `iptables-restore`, byte-compatible with iptables 1.8.9 (nf_tables).
//! No packet code lives here; the engine consumes the model.
#![forbid(unsafe_code)]

pub mod addr;
pub mod argv;
pub mod error;
pub mod ext;
pub mod listing;
pub mod model;
pub mod netdb;
pub mod num;
pub mod ops;
pub mod restore;
pub mod save;
pub mod state_file;
pub mod validate;

pub use error::{Error, Result};
pub use model::{Ruleset, TableId};
