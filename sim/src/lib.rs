//! cardap-sim
pub mod vpcd;
