//! Type D, the binary AP (PROFILE.md §6): SELECT, GET CHALLENGE, MUTUAL
//! AUTHENTICATE, then the 255-byte EF under encrypted secure messaging — one
//! READ BINARY with extended length, two by offset without.

use super::binary::{Start, read_binary};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::{malformed, user_id};
use crate::auth::KeyProvider;
use crate::error::Result;
use crate::profile::{Profile, TYPE_D_FILE_LEN, USER_ID_LEN};
use crate::record::ApRecord;
use crate::session::Session;
use crate::sm::SmMode;

/// The Type D EF's short file identifier.
const SFI: u8 = 1;

pub(super) fn read(
    session: &mut Session<'_>,
    profile: &Profile,
    keys: &dyn KeyProvider,
    rng: &mut dyn CryptoRngCore,
) -> Result<ApRecord> {
    session.select_aid(profile.aid())?;
    session.authenticate(keys, rng, SmMode::Encrypt)?;
    let file = read_binary(session, Start::Sfi(SFI), true, Some(TYPE_D_FILE_LEN))?;
    parse(profile, &file)
}

/// Splits the file into the user ID (bytes 0–12) and the data (13…).
pub(crate) fn parse(profile: &Profile, file: &[u8]) -> Result<ApRecord> {
    if file.len() != TYPE_D_FILE_LEN {
        return Err(malformed(
            profile,
            format!(
                "the EF has {} bytes, a Type D EF has {TYPE_D_FILE_LEN}",
                file.len()
            ),
        ));
    }
    let (uid, data) = file
        .split_at_checked(USER_ID_LEN)
        .ok_or_else(|| malformed(profile, "the EF ends inside the user ID"))?;
    let mut record = ApRecord::new(profile, user_id(profile, uid)?);
    record.set_data(Zeroizing::new(data.to_vec()));
    Ok(record)
}
