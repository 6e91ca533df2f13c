//! cardap: a card AP access module for the My Number Card.
//!
//! Reads the card applications ("card APs") that service providers load into
//! the card's free area — Type C (tap to read), Type A (mutual authentication,
//! MAC-protected records) and Type D (encrypted binary) — and custom APs, per
//! the open reference profile (`PROFILE.md`). Everything goes through a
//! [`Transport`]; the core has no network, no threads and no global state.
//! Operations emit [`tracing`](https://docs.rs/tracing) spans (`read`,
//! `list`) and per-APDU debug events with instruction and status word only,
//! never data, keys or PINs; the core installs no subscriber.
//!
//! ```no_run
//! use cardap::{Card, Profile};
//! # fn demo(transport: impl cardap::transport::Transport) -> Result<(), cardap::Error> {
//! let profile = Profile::from_file("library.toml")?;
//! let mut card = Card::new(transport);
//! let record = card.read(&profile)?;
//! println!("user ID {} in {} APDUs", record.user_id(), record.apdus());
//! for (name, value) in record.fields() {
//!     println!("{name}: {value}");
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod ap;
mod apdu;
mod atr;
mod auth;
mod card;
pub(crate) mod commands;
mod crypto;
mod des;
pub mod error;
mod fields;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "issuer")]
pub mod issuer;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod profile;
pub mod public;
mod record;
mod session;
mod sm;
mod status;
#[cfg(test)]
mod tests;
mod tlv;
pub mod trace;
pub mod transport;
mod userid;
pub mod write;

pub use ap::DirEntry;
pub use auth::{KeyProvider, StaticKeys};
pub use card::{Card, LengthMode};
pub use crypto::{SecretKey, Suite};
pub use error::{Error, Result};
pub use profile::{ApType, Profile};
pub use record::ApRecord;
pub use status::StatusWord;
pub use transport::{Transport, TransportError};
pub use userid::UserId;
pub use write::{FieldWrite, WriteReport};
