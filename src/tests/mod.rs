//! Tests of the send path, mutual authentication and secure messaging
//! against scripted cards and the vectors of `tests/vectors/profile-v1.json`:
//! they drive crate internals, so they live inside the crate.

mod send_path;
mod sm_vectors;
