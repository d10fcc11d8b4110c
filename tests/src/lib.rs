//! The end-to-end test harness: local HTTP/HTTPS servers with generated certificates (and,
//! for the AWS tests, moto in server mode). Traffic stays on 127.0.0.1.

pub mod certs;
pub mod cli;
pub mod faults;
pub mod moto;
pub mod receivers;
pub mod servers;
pub mod watch;
