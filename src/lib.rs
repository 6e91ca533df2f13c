//! cardap: a card AP access module for the My Number Card.
//!
//! Reads the card applications ("card APs") that service providers load into
//! the card's free area — Type C (tap to read), Type A (mutual authentication,
//! MAC-protected records) and Type D (encrypted binary) — and custom APs, per
//! the open reference profile (`PROFILE.md`). Everything goes through a
//! [`transport::Transport`]; the core has no network, no threads and no global
//! state.
//!
//! ```no_run
//! use cardap::{Profile, Reader};
//! # fn demo(transport: impl cardap::transport::Transport) -> Result<(), cardap::Error> {
//! let profile = Profile::from_file("library.toml")?;
//! let mut reader = Reader::new(transport);
//! let record = reader.read(&profile)?;
//! println!("user ID {} in {} APDUs", record.user_id, record.apdus);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ap;
pub mod apdu;
pub mod atr;
pub mod auth;
pub mod crypto;
pub mod error;
pub mod fields;
#[cfg(feature = "json")]
pub mod json;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod profile;
pub mod public;
pub mod session;
pub mod sm;
pub mod status;
pub mod tlv;
pub mod trace;
pub mod transport;
pub mod userid;

pub use ap::{ApRecord, DirEntry, Reader};
pub use error::{Error, Result};
pub use profile::{ApType, Profile};
pub use status::StatusWord;
pub use userid::UserId;
