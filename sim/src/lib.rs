//! `cardap-sim`: a virtual My Number Card carrying card APs of the open reference
//! profile (`shared/PROFILE.md`). It is the *card side* of the profile — file
//! system, Types A, C and D, mutual authentication and secure messaging — written
//! independently of the host side (its own APDU parser, cryptographic
//! primitives, mutual authentication and secure messaging; it uses only the
//! host's public `Transport`, `StatusWord` and `Suite`), so that a misreading
//! of the profile on either side shows up as a failing test.
//!
//! A card is built from a [`Description`] (PROFILE.md §10), usually a TOML file,
//! and answers raw APDUs through [`VirtualCard::process`] or, for the SDK, through
//! its [`cardap::transport::Transport`] implementation.
//!
//! ```
//! use cardap_sim::VirtualCard;
//!
//! let mut card = VirtualCard::from_toml_str(r#"
//!     [[ap]]
//!     type = "C"
//!     aid = "F0 43 41 52 44 41 50 43 00 01"
//!     user_id = "1234567890125"
//!     info1 = "4C 49 42"
//! "#).unwrap();
//! assert_eq!(card.process(&[0x00, 0xA4, 0x04, 0x0C, 0x0A,
//!     0xF0, 0x43, 0x41, 0x52, 0x44, 0x41, 0x50, 0x43, 0x00, 0x01]), [0x90, 0x00]);
//! let answer = card.process(&[0x00, 0xB0, 0x81, 0x00, 0x00]);
//! assert_eq!(&answer[..2], &[0xC0, 0x0D]);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod apdu;
mod auth;
mod card;
mod commands;
#[doc(hidden)]
pub mod crypto;
mod description;
pub mod fault;
mod fs;
mod lifecycle;
mod persist;
mod public;
mod rng;
mod sm;
mod tlv;
mod user_id;
#[cfg(feature = "vpcd")]
pub mod vpcd;
mod write;

pub use card::VirtualCard;
pub use crypto::SecretKey;
pub use description::{
    ApDescription, ApKeys, ApType, Area, CARD_MANAGER_AID, Description, DescriptionBuilder,
    DescriptionError, FREE_AREA_DEFAULT, InfoField, IssuerDescription, MAX_DESCRIPTION_FILE_LEN,
    Problem,
};
pub use fs::ElementaryFile;
pub use persist::PersistentCard;
pub use public::{
    CardKey, JPKI_AID, JpkiCertificate, JpkiDescription, KENHOJO_AID, KenhojoDescription,
    PinSetting, Sex, my_number_check_digit,
};
pub use user_id::{user_id_check_digit, validate_user_id};
