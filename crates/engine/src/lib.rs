//! palisade's packet engine (minimal subset: the TCP connection tracker
//! and what it needs).

pub mod wire {
    pub mod checksum;
    pub mod ipv4;
    pub mod transport;
}
pub mod conntrack {
    pub mod tcp;
    pub mod tuple;
}
pub mod time;
