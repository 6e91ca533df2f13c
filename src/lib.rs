//! cardap: a card AP access module for the My Number Card.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod apdu;
pub mod auth;
pub mod crypto;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod sm;
pub mod status;
pub mod transport;
