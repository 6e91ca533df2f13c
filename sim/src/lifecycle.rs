//! The AP lifecycle, card side (PROFILE.md §12): the card-manager
//! application's CREATE FILE (install), DELETE FILE (by AID, and move-out by
//! area) and GET DATA (list by area), allowed only on a channel opened with
//! the issuer keys. Every check runs before anything changes; the DF, its EF,
//! its keys and its EF.DIR record are then added or removed together.

use cardap::Suite;

use crate::crypto::SecretKey;
use cardap::StatusWord;

use crate::auth::KeySet;
use crate::card::{Df, VirtualCard};
use crate::commands::{Access, Apdu, Reply};
use crate::description::{AID_MAX, AID_MIN, ApDescription, ApKeys, ApType, Area, Description};
use crate::fs::{ElementaryFile, TYPE_C_EF_LEN, TYPE_D_EF_LEN, ef_dir_record};
use crate::tlv::{DataObject, push_do, split_do};
use crate::user_id::{USER_ID_LEN, validate_user_id};

/// AP type codes of the templates (PROFILE.md §12.1).
const TYPE_A: u8 = 0x41;
const TYPE_C: u8 = 0x43;
const TYPE_D: u8 = 0x44;
/// Area codes.
const AREA_EXTENSION: u8 = 0x01;
const AREA_LOCAL: u8 = 0x02;
/// `P1` of DELETE FILE: by DF name; every AP of an area (§12.4).
const DELETE_BY_NAME: u8 = 0x04;
const DELETE_AREA: u8 = 0xA0;
/// File descriptor byte of a DF (ISO/IEC 7816-4 §7.4.5).
const FDB_DF: u8 = 0x38;

/// The bytes an AP takes in the free area (PROFILE.md §12.5): its EF size.
pub(crate) fn footprint(ap_type: ApType) -> usize {
    match ap_type {
        ApType::A => crate::description::TYPE_A_EF_MAX,
        ApType::C => TYPE_C_EF_LEN,
        ApType::D => TYPE_D_EF_LEN,
    }
}

fn type_code(ap_type: ApType) -> u8 {
    match ap_type {
        ApType::A => TYPE_A,
        ApType::C => TYPE_C,
        ApType::D => TYPE_D,
    }
}

fn area_code(area: Area) -> u8 {
    match area {
        Area::Extension => AREA_EXTENSION,
        Area::Local => AREA_LOCAL,
    }
}

fn suite_of(code: u8) -> Option<Suite> {
    match code {
        0x01 => Some(Suite::TripleDes),
        0x02 => Some(Suite::Aes128),
        0x03 => Some(Suite::Aes256),
        _ => None,
    }
}

/// Splits `input` into data objects with exactly the `expected` tags in this
/// order, optional ones (`true`) allowed to be absent; `None` otherwise.
fn objects<'a>(
    mut input: &'a [u8],
    expected: &[(u8, bool)],
) -> Option<Vec<Option<DataObject<'a>>>> {
    let mut out = Vec::with_capacity(expected.len());
    for &(tag, optional) in expected {
        match split_do(input) {
            Some((object, rest)) if object.tag == tag => {
                out.push(Some(object));
                input = rest;
            }
            _ if optional => out.push(None),
            _ => return None,
        }
    }
    input.is_empty().then_some(out)
}

/// A key set template `80 01 suite 81 n K_enc 82 n K_mac` (§12.2).
fn key_set(value: &[u8]) -> Option<ApKeys> {
    let parts = objects(value, &[(0x80, false), (0x81, false), (0x82, false)])?;
    let [Some(suite), Some(k_enc), Some(k_mac)] = parts.as_slice() else {
        return None;
    };
    let suite = match suite.value {
        [code] => suite_of(*code)?,
        _ => return None,
    };
    let expected = suite.key_len();
    if k_enc.value.len() != expected || k_mac.value.len() != expected {
        return None;
    }
    Some(ApKeys::new(
        suite,
        SecretKey::new(k_enc.value.to_vec()),
        SecretKey::new(k_mac.value.to_vec()),
    ))
}

/// The AP a CREATE FILE template describes (§12.2), or `None` if the template
/// is not exactly of that form or breaks a limit of the profile.
fn ap_of_template(template: &[u8]) -> Option<ApDescription> {
    let outer = objects(template, &[(0x62, false)])?;
    let fcp = outer.first()?.as_ref()?;
    let fcp = objects(fcp.value, &[(0x82, false), (0x84, false), (0xA5, false)])?;
    let [Some(fdb), Some(aid), Some(proprietary)] = fcp.as_slice() else {
        return None;
    };
    if fdb.value != [FDB_DF] || !(AID_MIN..=AID_MAX).contains(&aid.value.len()) {
        return None;
    }
    let parts = objects(
        proprietary.value,
        &[
            (0x80, false),
            (0x81, false),
            (0x82, false),
            (0x50, true),
            (0xA1, true),
            (0xA2, false),
            (0xA3, false),
        ],
    )?;
    let [
        Some(kind),
        Some(area),
        Some(user_id),
        label,
        read_keys,
        Some(update_keys),
        Some(contents),
    ] = parts.as_slice()
    else {
        return None;
    };
    let ap_type = match kind.value {
        [TYPE_A] => ApType::A,
        [TYPE_C] => ApType::C,
        [TYPE_D] => ApType::D,
        _ => return None,
    };
    let area = match area.value {
        [AREA_EXTENSION] => Area::Extension,
        [AREA_LOCAL] => Area::Local,
        _ => return None,
    };
    let user_id = std::str::from_utf8(user_id.value).ok()?;
    if user_id.len() != USER_ID_LEN || validate_user_id(user_id).is_err() {
        return None;
    }
    let update = key_set(update_keys.value)?;
    let aid = aid.value.to_vec();
    let mut ap = match (ap_type, read_keys) {
        (ApType::C, None) => ApDescription::type_c(aid, user_id),
        (ApType::A | ApType::D, Some(keys)) => {
            let keys = key_set(keys.value)?;
            let (suite, k_enc, k_mac) = (keys.suite(), keys.k_enc().clone(), keys.k_mac().clone());
            if ap_type == ApType::A {
                ApDescription::type_a(aid, user_id, suite, k_enc, k_mac)
            } else {
                ApDescription::type_d(aid, user_id, suite, k_enc, k_mac)
            }
        }
        _ => return None,
    };
    ap = ap.with_area(area).with_update_keys(update);
    if let Some(label) = label {
        ap = ap.with_label(std::str::from_utf8(label.value).ok()?);
    }
    ap = with_contents(ap, ap_type, contents.value)?;
    ap.is_valid().then_some(ap)
}

/// Adds the initial contents of DO`A3` (§12.2) to `ap`.
fn with_contents(mut ap: ApDescription, ap_type: ApType, contents: &[u8]) -> Option<ApDescription> {
    match ap_type {
        ApType::D => return Some(ap.with_data(contents)),
        ApType::A | ApType::C => {}
    }
    let fields = [
        crate::description::InfoField::Info1,
        crate::description::InfoField::Info2,
        crate::description::InfoField::Info3,
    ];
    let mut rest = contents;
    let mut next_tag = 0xC1u8;
    while !rest.is_empty() {
        let (object, remaining) = split_do(rest)?;
        // One-byte lengths only, as the files store them (§4, §5).
        if object.raw.get(1).is_none_or(|&len| len >= 0x80) {
            return None;
        }
        match ap_type {
            // Records C1, C2, … with no gap.
            ApType::A if object.tag == next_tag => ap = ap.with_record(object.value),
            // Fields C1 … C3 in order, each at most once.
            ApType::C if (next_tag..=0xC3).contains(&object.tag) => {
                let slot = usize::from(object.tag - 0xC1);
                ap = ap.with_info(*fields.get(slot)?, object.value);
            }
            _ => return None,
        }
        next_tag = object.tag.checked_add(1)?;
        rest = remaining;
    }
    Some(ap)
}

impl VirtualCard {
    /// Whether the command runs under the issuer's channel in the card
    /// manager (§12.1).
    fn issuer_rights(&self, access: Access) -> Result<(), StatusWord> {
        match (access, self.state.key_set, self.state.df) {
            (Access::Secure, Some(KeySet::Issuer), Df::Manager) => Ok(()),
            _ => Err(StatusWord::SecurityStatusNotSatisfied),
        }
    }

    /// Bytes of the free area the APs take now (§12.5).
    fn used_area(&self) -> usize {
        self.description
            .aps()
            .iter()
            .map(|ap| footprint(ap.ap_type()))
            .sum()
    }

    /// CREATE FILE `E0` (ISO/IEC 7816-9 §6.1, PROFILE.md §12.2).
    pub(crate) fn create_file(&mut self, apdu: &Apdu, access: Access) -> Reply {
        match self.try_create_file(apdu, access) {
            Ok(()) => Reply::ok(Vec::new()),
            Err(sw) => Reply::status(sw),
        }
    }

    fn try_create_file(&mut self, apdu: &Apdu, access: Access) -> Result<(), StatusWord> {
        self.issuer_rights(access)?;
        if apdu.p1 != 0 || apdu.p2 != 0 {
            return Err(StatusWord::WrongP1P2);
        }
        let ap = ap_of_template(&apdu.data).ok_or(StatusWord::WrongData)?;
        let issuer = self
            .description
            .issuer()
            .ok_or(StatusWord::SecurityStatusNotSatisfied)?;
        if issuer.aid() == ap.aid() || self.description.aps().iter().any(|o| o.aid() == ap.aid()) {
            return Err(StatusWord::FileExists);
        }
        let free_area = issuer.free_area();
        if self.used_area() + footprint(ap.ap_type()) > free_area {
            return Err(StatusWord::NotEnoughMemory);
        }
        self.files.push(ap.ef());
        self.ef_dir.push(ef_dir_record(&ap));
        self.description.aps_mut().push(ap);
        self.changes = self.changes.wrapping_add(1);
        Ok(())
    }

    /// DELETE FILE `E4` (ISO/IEC 7816-9 §6.2): by DF name (`P1 = 04`,
    /// PROFILE.md §12.3) or every AP of the local-resident area (`P1 = A0`,
    /// move-out, §12.4).
    pub(crate) fn delete_file(&mut self, apdu: &Apdu, access: Access) -> Reply {
        if let Err(sw) = self.issuer_rights(access) {
            return Reply::status(sw);
        }
        match (apdu.p1, apdu.p2) {
            (DELETE_BY_NAME, 0x00) => {
                let aid = apdu.data.as_slice();
                if !(AID_MIN..=AID_MAX).contains(&aid.len()) {
                    return Reply::status(StatusWord::WrongData);
                }
                match self.description.aps().iter().position(|ap| ap.aid() == aid) {
                    Some(index) => {
                        self.remove_aps(|i, _| i == index);
                        Reply::ok(Vec::new())
                    }
                    None => Reply::status(StatusWord::NotFound),
                }
            }
            (DELETE_AREA, 0x00) => match apdu.data.as_slice() {
                [AREA_LOCAL] => {
                    let count = self.remove_aps(|_, ap| ap.area() == Area::Local);
                    Reply::ok(vec![u8::try_from(count).unwrap_or(u8::MAX)])
                }
                [AREA_EXTENSION] => Reply::status(StatusWord::ConditionsNotSatisfied),
                _ => Reply::status(StatusWord::WrongData),
            },
            _ => Reply::status(StatusWord::WrongP1P2),
        }
    }

    /// Removes every AP `doomed` picks, with its EF and EF.DIR record; the
    /// others keep their order. Returns how many went.
    fn remove_aps(&mut self, doomed: impl Fn(usize, &ApDescription) -> bool) -> usize {
        let marks: Vec<bool> = self
            .description
            .aps()
            .iter()
            .enumerate()
            .map(|(i, ap)| doomed(i, ap))
            .collect();
        let count = marks.iter().filter(|&&m| m).count();
        if count == 0 {
            return 0;
        }
        let mut keep = marks.iter().map(|m| !m);
        self.description
            .aps_mut()
            .retain(|_| keep.next().unwrap_or(true));
        let mut keep = marks.iter().map(|m| !m);
        self.files.retain(|_| keep.next().unwrap_or(true));
        let mut keep = marks.iter().map(|m| !m);
        self.ef_dir.retain(|_| keep.next().unwrap_or(true));
        self.changes = self.changes.wrapping_add(1);
        count
    }

    /// GET DATA `CA` (PROFILE.md §12.5): entry `P1` (from 1) of the APs of
    /// area `P2` (`00` both), as `61 { 4F, 50, 80, 81, 82 }`.
    pub(crate) fn get_data(&mut self, apdu: &Apdu, access: Access) -> Reply {
        if let Err(sw) = self.issuer_rights(access) {
            return Reply::status(sw);
        }
        let filter = match apdu.p2 {
            0x00 => None,
            AREA_EXTENSION => Some(Area::Extension),
            AREA_LOCAL => Some(Area::Local),
            _ => return Reply::status(StatusWord::WrongP1P2),
        };
        if apdu.p1 == 0 {
            return Reply::status(StatusWord::WrongP1P2);
        }
        let entry = self
            .description
            .aps()
            .iter()
            .filter(|ap| filter.is_none_or(|area| ap.area() == area))
            .nth(usize::from(apdu.p1) - 1);
        let Some(ap) = entry else {
            return Reply::status(StatusWord::RecordNotFound);
        };
        let mut inner = Vec::with_capacity(64);
        let mut ok = push_do(&mut inner, 0x4F, ap.aid()).is_some();
        if let Some(label) = ap.label() {
            ok &= push_do(&mut inner, 0x50, label.as_bytes()).is_some();
        }
        ok &= push_do(&mut inner, 0x80, &[type_code(ap.ap_type())]).is_some();
        ok &= push_do(&mut inner, 0x81, &[area_code(ap.area())]).is_some();
        ok &= push_do(&mut inner, 0x82, ap.user_id().as_bytes()).is_some();
        let mut template = Vec::with_capacity(inner.len() + 3);
        ok &= push_do(&mut template, 0x61, &inner).is_some();
        if !ok {
            return Reply::status(StatusWord::NoDiagnosis);
        }
        Reply::ok(template)
    }

    /// What the card carries now as a description (PROFILE.md §10): the APs
    /// loaded and deleted since it was made, their files as written. This is
    /// what `cardap sim --persist` writes back.
    pub fn snapshot(&self) -> Description {
        let mut description = self.description.clone();
        for (ap, ef) in description.aps_mut().iter_mut().zip(&self.files) {
            ap.take_contents_of(ef);
        }
        description
    }

    /// How many commands changed the card's files or its set of APs since it
    /// was made (writes, installs, deletions).
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// The AP's EF as the card holds it now, by AID.
    pub fn ef_of(&self, aid: &[u8]) -> Option<&ElementaryFile> {
        let index = self
            .description
            .aps()
            .iter()
            .position(|ap| ap.aid() == aid)?;
        self.files.get(index)
    }
}
