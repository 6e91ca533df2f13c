//! Mutual authentication, card side (PROFILE.md §7: ISO/IEC 11770-2 mechanism 6
//! as ICAO Doc 9303 Part 11 §4.3 profiles it, with static AP keys).

use cardap::Suite;

use crate::crypto;
use zeroize::Zeroizing;

use crate::description::ApKeys;
use crate::sm::{Channel, SmMode};

/// Length of RND.ICC, RND.IFD.
pub(crate) const RND_LEN: usize = 8;
/// Length of K.IFD, K.ICC.
pub(crate) const KEY_PART_LEN: usize = 16;
/// Length of `E ‖ M` in MUTUAL AUTHENTICATE (`28`).
pub(crate) const CRYPTOGRAM_LEN: usize = 40;

/// Which key set a MUTUAL AUTHENTICATE names in `P2` (PROFILE.md §11.1), and
/// so what its channel may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeySet {
    /// `00` or `81`: the AP's read keys; reads only.
    Read,
    /// `82`: the AP's update keys; reads and writes of this AP.
    Update,
    /// `83`: the issuer keys of the card manager; the lifecycle commands.
    Issuer,
}

impl KeySet {
    /// The key set `P2` names, if any.
    pub(crate) fn from_p2(p2: u8) -> Option<Self> {
        match p2 {
            0x00 | 0x81 => Some(Self::Read),
            0x82 => Some(Self::Update),
            0x83 => Some(Self::Issuer),
            _ => None,
        }
    }
}

/// What the terminal's cryptogram gave, once checked.
pub(crate) struct Verified {
    rnd_ifd: [u8; RND_LEN],
    k_ifd: Zeroizing<[u8; KEY_PART_LEN]>,
}

fn zero_iv(suite: Suite) -> Vec<u8> {
    vec![0; suite.block_size()]
}

/// Checks `E_IFD ‖ M_IFD`: `M_IFD = MAC(K_mac, E_IFD)` (constant time), then
/// `S = D(K_enc, E_IFD) = RND.IFD ‖ RND.ICC ‖ K.IFD` must echo our RND.ICC.
pub(crate) fn verify(keys: &ApKeys, rnd_icc: &[u8; RND_LEN], data: &[u8]) -> Option<Verified> {
    let suite = keys.suite();
    if data.len() != CRYPTOGRAM_LEN {
        return None;
    }
    let (e_ifd, m_ifd) = data.split_at_checked(32)?;
    let mac = crypto::mac(
        suite,
        keys.k_mac().expose(),
        &crypto::pad(e_ifd, suite.block_size()),
    )
    .ok()?;
    if !crypto::ct_eq(&mac, m_ifd) {
        return None;
    }
    let s = Zeroizing::new(
        crypto::decrypt_cbc(suite, keys.k_enc().expose(), &zero_iv(suite), e_ifd).ok()?,
    );
    let (rnd_ifd, rest) = s.split_first_chunk::<RND_LEN>()?;
    let (echo, k_ifd) = rest.split_first_chunk::<RND_LEN>()?;
    if !crypto::ct_eq(echo, rnd_icc) {
        return None;
    }
    let k_ifd: [u8; KEY_PART_LEN] = k_ifd.try_into().ok()?;
    Some(Verified {
        rnd_ifd: *rnd_ifd,
        k_ifd: Zeroizing::new(k_ifd),
    })
}

/// Builds `E_ICC ‖ M_ICC` over `R = RND.ICC ‖ RND.IFD ‖ K.ICC` and opens the
/// channel: `KS_enc = KDF(K.IFD ⊕ K.ICC, 1)`, `KS_mac = KDF(…, 2)`, `SSC` =
/// `RND.ICC[4..8] ‖ RND.IFD[4..8]` (after 8 zero bytes for AES).
pub(crate) fn respond(
    keys: &ApKeys,
    rnd_icc: &[u8; RND_LEN],
    verified: &Verified,
    k_icc: &[u8; KEY_PART_LEN],
    mode: SmMode,
) -> Option<(Vec<u8>, Channel)> {
    let suite = keys.suite();
    let mut r = Zeroizing::new(Vec::with_capacity(32));
    r.extend_from_slice(rnd_icc);
    r.extend_from_slice(&verified.rnd_ifd);
    r.extend_from_slice(k_icc);
    let e_icc = crypto::encrypt_cbc(suite, keys.k_enc().expose(), &zero_iv(suite), &r).ok()?;
    let m_icc = crypto::mac(
        suite,
        keys.k_mac().expose(),
        &crypto::pad(&e_icc, suite.block_size()),
    )
    .ok()?;
    let mut answer = e_icc;
    answer.extend_from_slice(&m_icc);

    let mut seed = Zeroizing::new([0u8; KEY_PART_LEN]);
    for ((s, a), b) in seed.iter_mut().zip(verified.k_ifd.iter()).zip(k_icc) {
        *s = a ^ b;
    }
    let ks_enc = crypto::kdf(suite, seed.as_slice(), 1);
    let ks_mac = crypto::kdf(suite, seed.as_slice(), 2);
    let mut ssc = Zeroizing::new(vec![0u8; suite.ssc_len() - RND_LEN]);
    ssc.extend_from_slice(rnd_icc.get(4..)?);
    ssc.extend_from_slice(verified.rnd_ifd.get(4..)?);
    Some((answer, Channel::new(suite, ks_enc, ks_mac, ssc, mode)))
}
