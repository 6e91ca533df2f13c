//! Type A, the record AP (PROFILE.md §5): SELECT, GET CHALLENGE, MUTUAL
//! AUTHENTICATE, then READ RECORD(S) of every record under MAC-mode secure
//! messaging — four round trips with extended length.

use super::binary::read_records;
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::{malformed, user_id};
use crate::auth::KeyProvider;
use crate::error::Result;
use crate::profile::Profile;
use crate::record::ApRecord;
use crate::session::Session;
use crate::sm::SmMode;

/// The Type A EF's short file identifier.
const SFI: u8 = 1;

pub(super) fn read(
    session: &mut Session<'_>,
    profile: &Profile,
    keys: &dyn KeyProvider,
    rng: &mut dyn CryptoRngCore,
) -> Result<ApRecord> {
    session.select_aid(profile.aid())?;
    session.authenticate(keys, rng, SmMode::Mac)?;
    let parts = read_records(session, SFI, true, 256)?;
    let stream = Zeroizing::new(
        parts
            .iter()
            .flat_map(|p| p.iter().copied())
            .collect::<Vec<u8>>(),
    );
    parse(profile, &stream)
}

/// Parses the records `C0 0D uid`, `C1 L v1`, `C2 L v2`, … in order.
pub(crate) fn parse(profile: &Profile, stream: &[u8]) -> Result<ApRecord> {
    let rest = match stream {
        [0xC0, 0x0D, rest @ ..] => rest,
        _ => {
            return Err(malformed(
                profile,
                "record 1 is not the user ID record C0 0D",
            ));
        }
    };
    let (uid, mut rest) = rest
        .split_at_checked(13)
        .ok_or_else(|| malformed(profile, "record 1 ends inside the user ID"))?;
    let mut record = ApRecord::new(profile, user_id(profile, uid)?);
    let mut expected = 0xC1u8;
    while let Some((&tag, tail)) = rest.split_first() {
        if tag != expected || tag > 0xDE {
            return Err(malformed(
                profile,
                format!(
                    "record {} has tag {tag:02X}, expected {expected:02X}",
                    expected - 0xBF
                ),
            ));
        }
        let (&len, tail) = tail
            .split_first()
            .ok_or_else(|| malformed(profile, format!("record tag {tag:02X} has no length")))?;
        if len > 127 {
            return Err(malformed(
                profile,
                format!("record tag {tag:02X} length {len} over 127"),
            ));
        }
        let (value, tail) = tail.split_at_checked(usize::from(len)).ok_or_else(|| {
            malformed(
                profile,
                format!("info{} runs past the end of the data", tag - 0xC0),
            )
        })?;
        record.push_info(tag - 0xC0, value);
        expected = expected.saturating_add(1);
        rest = tail;
    }
    Ok(record)
}
