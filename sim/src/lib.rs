//! cardap-sim
