//! Packet views: byte ranges and accessors over buffers, parsed in place.

pub mod checksum;
pub mod crc32c;
pub mod ipv4;
pub mod transport;
