//! Type C, the common AP (PROFILE.md §4): SELECT, then one READ BINARY by
//! short file identifier — two round trips, no authentication.

use super::{malformed, user_id};
use crate::commands;
use crate::error::Result;
use crate::profile::Profile;
use crate::record::ApRecord;
use crate::session::Session;

/// The Type C EF's short file identifier.
const SFI: u8 = 1;

pub(super) fn read(session: &mut Session<'_>, profile: &Profile) -> Result<ApRecord> {
    session.select_aid(profile.aid())?;
    // 00 B0 81 00 00: the whole EF by SFI.
    let cmd = commands::read_binary_sfi(SFI, 256)?;
    let resp = session.transmit_ok(&cmd, "READ BINARY")?;
    parse(profile, &resp.data)
}

/// Parses `C0 0D uid | C1 L info1 | C2 L info2 | C3 L info3 | FF …`.
pub(crate) fn parse(profile: &Profile, file: &[u8]) -> Result<ApRecord> {
    let rest = match file {
        [0xC0, 0x0D, rest @ ..] => rest,
        _ => {
            return Err(malformed(
                profile,
                "the EF does not start with the user ID header C0 0D",
            ));
        }
    };
    let (uid, mut rest) = rest
        .split_at_checked(13)
        .ok_or_else(|| malformed(profile, "the EF ends inside the user ID"))?;
    let mut record = ApRecord::new(profile, user_id(profile, uid)?);
    let mut last_tag = 0xC0;
    while let Some((&tag, tail)) = rest.split_first() {
        if tag == 0xFF {
            if tail.iter().any(|&b| b != 0xFF) {
                return Err(malformed(profile, "data after the FF filler"));
            }
            break;
        }
        if !(0xC1..=0xC3).contains(&tag) || tag <= last_tag {
            return Err(malformed(
                profile,
                format!("unexpected header tag {tag:02X}"),
            ));
        }
        let (&len, tail) = tail
            .split_first()
            .ok_or_else(|| malformed(profile, format!("info header {tag:02X} has no length")))?;
        let (value, tail) = tail.split_at_checked(usize::from(len)).ok_or_else(|| {
            malformed(
                profile,
                format!("info{} runs past the end of the EF", tag - 0xC0),
            )
        })?;
        record.push_info(tag - 0xC0, value);
        last_tag = tag;
        rest = tail;
    }
    Ok(record)
}
