//! DES and two-key triple DES (EDE), FIPS 46-3, for the `3des` suite.
//!
//! Why not the RustCrypto `des` crate: it computes the E and P permutations
//! bit by bit in every round, about 1,600 instructions per DES block, and the
//! `3des` suite's reads spent three quarters of their time there. This module
//! is the classic table-driven form instead:
//!
//! - each S-box table has the P permutation folded in, so a round is eight
//!   table lookups, and E is two rotations of the right half;
//! - both halves are kept rotated left by one bit, so every S-box input is a
//!   byte-aligned 6-bit field;
//! - triple DES applies the initial and final permutations once per block,
//!   not once per DES operation (they cancel in between).
//!
//! All tables are computed at compile time from the FIPS 46-3 tables below,
//! and the tests check the module against a bit-by-bit rendering of the
//! standard, FIPS/NBS test vectors and the `des` crate.
//!
//! **Not constant time**, like every table-driven DES (and the `des` crate):
//! the S-box lookups are indexed by key-dependent values (see
//! [`Suite::TripleDes`](crate::Suite::TripleDes)).

use zeroize::{Zeroize, ZeroizeOnDrop};

/// FIPS 46-3 S-boxes, row-major: `S[i][16 * row + column]`.
const S: [[u8; 64]; 8] = [
    [
        14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, //
        0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8, //
        4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, //
        15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
    ],
    [
        15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, //
        3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5, //
        0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, //
        13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
    ],
    [
        10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, //
        13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1, //
        13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, //
        1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
    ],
    [
        7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, //
        13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9, //
        10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, //
        3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
    ],
    [
        2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, //
        14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6, //
        4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, //
        11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
    ],
    [
        12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, //
        10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8, //
        9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, //
        4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
    ],
    [
        4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, //
        13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6, //
        1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, //
        6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
    ],
    [
        13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, //
        1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2, //
        7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, //
        2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
    ],
];

/// FIPS 46-3 permutation P: output bit `j` (1-based, from the most
/// significant) is input bit `P[j - 1]`.
const P: [u8; 32] = [
    16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, //
    2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
];

/// FIPS 46-3 permuted choice 1 (key bits, 1-based, into C then D).
const PC1: [u8; 56] = [
    57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, //
    10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36, //
    63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, //
    14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
];

/// FIPS 46-3 permuted choice 2 (bits of C‖D, 1-based, into the round key).
const PC2: [u8; 48] = [
    14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, //
    23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, //
    41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, //
    44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];

/// Left rotations of C and D before each round.
const SHIFTS: [u32; 16] = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];

/// Bit `n` (1-based, from the most significant) of a `width`-bit value.
const fn bit(value: u64, width: u32, n: u32) -> u64 {
    (value >> (width - n)) & 1
}

/// `SP[i][x]`: S-box `i + 1` applied to the 6-bit input `x`, its four output
/// bits placed at their position in f's output, then P, then the rotation
/// by one bit the halves are kept in.
#[allow(clippy::indexing_slicing)] // evaluated at compile time: out of bounds fails the build
const fn sp_tables() -> [[u32; 64]; 8] {
    let mut out = [[0u32; 64]; 8];
    let mut i = 0;
    while i < 8 {
        let mut x = 0;
        while x < 64 {
            let row = ((x >> 4) & 2) | (x & 1);
            let column = (x >> 1) & 0xF;
            let nibble = S[i][row * 16 + column] as u64;
            let before_p = nibble << (28 - 4 * i);
            let mut after_p = 0u64;
            let mut j = 0;
            while j < 32 {
                after_p |= bit(before_p, 32, P[j] as u32) << (31 - j);
                j += 1;
            }
            out[i][x] = (after_p as u32).rotate_left(1);
            x += 1;
        }
        i += 1;
    }
    out
}

const SP: [[u32; 64]; 8] = sp_tables();

/// `table` applied to a `width`-bit value: output bit `j` (1-based, from
/// the most significant) is input bit `table[j - 1]`.
#[allow(clippy::indexing_slicing)] // evaluated at compile time: out of bounds fails the build
const fn permute(value: u64, width: u32, table: &[u8]) -> u64 {
    let n = table.len() as u32;
    let mut out = 0;
    let mut j = 0;
    while j < table.len() {
        out |= bit(value, width, table[j] as u32) << (n - 1 - j as u32);
        j += 1;
    }
    out
}

/// `PC1_NIBBLES[p][v]`: PC1 of a key whose nibble `p` (from the most
/// significant) is `v` and whose other bits are zero, as C‖D (56 bits).
#[allow(clippy::indexing_slicing)] // evaluated at compile time: out of bounds fails the build
const fn pc1_nibbles() -> [[u64; 16]; 16] {
    let mut out = [[0u64; 16]; 16];
    let mut p = 0;
    while p < 16 {
        let mut v = 0;
        while v < 16 {
            out[p][v] = permute((v as u64) << (60 - 4 * p), 64, &PC1);
            v += 1;
        }
        p += 1;
    }
    out
}

/// `PC2_NIBBLES[q][v]`: the round key, in the two-word layout of [`DesKey`]
/// (word 0 in the high half), of a C‖D whose nibble `q` (of 14, from the most
/// significant) is `v` and whose other bits are zero.
#[allow(clippy::indexing_slicing)] // evaluated at compile time: out of bounds fails the build
const fn pc2_nibbles() -> [[u64; 16]; 14] {
    let mut out = [[0u64; 16]; 14];
    let mut q = 0;
    while q < 14 {
        let mut v = 0;
        while v < 16 {
            let subkey = permute((v as u64) << (52 - 4 * q), 56, &PC2);
            // Six bits per S-box, S1 first; S1/S3/S5/S7 into word 0.
            let mut words = 0u64;
            let mut i = 0;
            while i < 8 {
                let six = (subkey >> (42 - 6 * i)) & 0x3F;
                let byte = (i / 2) as u64;
                let word = if i % 2 == 0 { 32 } else { 0 };
                words |= six << (word + 24 - 8 * byte);
                i += 1;
            }
            out[q][v] = words;
            v += 1;
        }
        q += 1;
    }
    out
}

const PC1_NIBBLES: [[u64; 16]; 16] = pc1_nibbles();
const PC2_NIBBLES: [[u64; 16]; 14] = pc2_nibbles();

/// ORs the table entries of each nibble of `value` (the low `4 * tables.len()` bits).
fn by_nibbles(tables: &[[u64; 16]], value: u64) -> u64 {
    let last = 4 * tables.len() as u32 - 4;
    tables.iter().enumerate().fold(0, |acc, (n, table)| {
        let v = (value >> (last - 4 * n as u32)) & 0xF;
        acc | table.get(v as usize).copied().unwrap_or(0)
    })
}

/// The 16 round keys of one DES key, each as two words laid out for the
/// rotated right half: word 0 holds the 6-bit keys of S1, S3, S5 and S7 in
/// its four bytes, word 1 those of S2, S4, S6 and S8.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct DesKey([[u32; 2]; 16]);

impl DesKey {
    /// The key schedule of an 8-byte DES key (parity bits ignored).
    pub(crate) fn new(key: &[u8; 8]) -> Self {
        let mut cd = by_nibbles(&PC1_NIBBLES, u64::from_be_bytes(*key));
        let mut rounds = [[0u32; 2]; 16];
        for (round, &shift) in rounds.iter_mut().zip(SHIFTS.iter()) {
            // Rotate C and D (28 bits each) left by `shift`.
            let c = cd >> 28;
            let d = cd & 0x0FFF_FFFF;
            let rotate = |x: u64| ((x << shift) | (x >> (28 - shift))) & 0x0FFF_FFFF;
            cd = (rotate(c) << 28) | rotate(d);
            let mut words = by_nibbles(&PC2_NIBBLES, cd);
            *round = [(words >> 32) as u32, words as u32];
            words.zeroize();
        }
        cd.zeroize();
        Self(rounds)
    }
}

impl std::fmt::Debug for DesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DesKey(REDACTED)")
    }
}

fn lookup(table: &[u32; 64], index: u32) -> u32 {
    // The index is masked to six bits, so `get` never fails (and the
    // compiler drops the check).
    table.get((index & 0x3F) as usize).copied().unwrap_or(0)
}

/// The cipher function f on the rotated right half.
#[inline(always)]
fn f(r: u32, key: &[u32; 2]) -> u32 {
    let [sp1, sp2, sp3, sp4, sp5, sp6, sp7, sp8] = &SP;
    let w = r.rotate_right(4) ^ key[0];
    let v = r ^ key[1];
    // Written as a tree of ORs; the compiler may chain them again, and
    // measured either way the round took the same time.
    let s12 = lookup(sp1, w >> 24) | lookup(sp2, v >> 24);
    let s34 = lookup(sp3, w >> 16) | lookup(sp4, v >> 16);
    let s56 = lookup(sp5, w >> 8) | lookup(sp6, v >> 8);
    let s78 = lookup(sp7, w) | lookup(sp8, v);
    (s12 | s34) | (s56 | s78)
}

/// Sixteen rounds on the rotated halves; returns them swapped, as the
/// preoutput R16‖L16 (which is also the next DES operation's L0‖R0).
#[inline(always)]
fn rounds(l: u32, r: u32, key: &DesKey, decrypt: bool) -> (u32, u32) {
    let [x] = rounds_n([(l, r)], key, decrypt);
    x
}

/// Two rounds of one block: `l ^= f(r, first)`, then `r ^= f(l, second)`.
#[inline(always)]
fn two_rounds(mut x: (u32, u32), first: &[u32; 2], second: &[u32; 2]) -> (u32, u32) {
    x.0 ^= f(x.1, first);
    x.1 ^= f(x.0, second);
    x
}

/// The round keys of the `pair`-th pair of rounds (0 to 7), in the order of
/// `decrypt`.
#[inline(always)]
fn round_keys(key: &DesKey, pair: usize, decrypt: bool) -> (&[u32; 2], &[u32; 2]) {
    let (first, second) = if decrypt {
        (15 - 2 * pair, 14 - 2 * pair)
    } else {
        (2 * pair, 2 * pair + 1)
    };
    (
        key.0.get(first).unwrap_or(&[0; 2]),
        key.0.get(second).unwrap_or(&[0; 2]),
    )
}

/// The number of round pairs, hidden from the optimiser so that it keeps
/// the rounds a loop. Unrolled, sixteen rounds of several lanes are
/// kilobytes of code, and after each answer from the card the core's
/// caches are cold (a core that waited for pcscd was idle, and its caches
/// were flushed): fetching that code cost more than the loop saves.
#[inline(always)]
fn round_pairs() -> usize {
    std::hint::black_box(8)
}

/// [`rounds`] on `N` blocks at once: the chains are independent, so the
/// processor overlaps their table lookups (CBC decryption, where blocks do
/// not depend on each other). The halves stay in registers.
#[inline(never)]
fn rounds_n<const N: usize>(
    mut x: [(u32, u32); N],
    key: &DesKey,
    decrypt: bool,
) -> [(u32, u32); N] {
    for pair in 0..round_pairs().min(8) {
        let (first, second) = round_keys(key, pair, decrypt);
        for block in x.iter_mut() {
            *block = two_rounds(*block, first, second);
        }
    }
    x.map(|(l, r)| (r, l))
}

/// Exchanges the bits of `a` selected by `mask << shift` with those of `b`
/// selected by `mask`.
#[inline(always)]
fn swap_bits(a: &mut u32, b: &mut u32, shift: u32, mask: u32) {
    let t = ((*a >> shift) ^ *b) & mask;
    *b ^= t;
    *a ^= t << shift;
}

/// The initial permutation IP, returning L0 and R0 rotated left by one.
#[inline(always)]
fn initial(block: u64) -> (u32, u32) {
    let mut l = (block >> 32) as u32;
    let mut r = block as u32;
    swap_bits(&mut l, &mut r, 4, 0x0F0F_0F0F);
    swap_bits(&mut l, &mut r, 16, 0x0000_FFFF);
    swap_bits(&mut r, &mut l, 2, 0x3333_3333);
    swap_bits(&mut r, &mut l, 8, 0x00FF_00FF);
    swap_bits(&mut l, &mut r, 1, 0x5555_5555);
    (l.rotate_left(1), r.rotate_left(1))
}

/// The final permutation IP⁻¹ of the preoutput (rotated halves).
#[inline(always)]
fn last(l: u32, r: u32) -> u64 {
    let mut l = l.rotate_right(1);
    let mut r = r.rotate_right(1);
    swap_bits(&mut l, &mut r, 1, 0x5555_5555);
    swap_bits(&mut r, &mut l, 8, 0x00FF_00FF);
    swap_bits(&mut r, &mut l, 2, 0x3333_3333);
    swap_bits(&mut l, &mut r, 16, 0x0000_FFFF);
    swap_bits(&mut l, &mut r, 4, 0x0F0F_0F0F);
    (u64::from(l) << 32) | u64::from(r)
}

/// Single DES on one block.
pub(crate) fn des(key: &DesKey, block: u64, decrypt: bool) -> u64 {
    let (l, r) = initial(block);
    let (l, r) = rounds(l, r, key, decrypt);
    last(l, r)
}

/// Two-key triple DES (EDE: E(K1), D(K2), E(K1)) on one block;
/// `decrypt` runs the inverse (D(K1), E(K2), D(K1)).
pub(crate) fn tdes(k1: &DesKey, k2: &DesKey, block: u64, decrypt: bool) -> u64 {
    let (l, r) = initial(block);
    let (l, r) = rounds(l, r, k1, decrypt);
    let (l, r) = rounds(l, r, k2, !decrypt);
    let (l, r) = rounds(l, r, k1, decrypt);
    last(l, r)
}

/// [`tdes`] on `N` blocks at once (same keys, same direction).
pub(crate) fn tdes_n<const N: usize>(
    k1: &DesKey,
    k2: &DesKey,
    blocks: [u64; N],
    decrypt: bool,
) -> [u64; N] {
    let x = rounds_n(blocks.map(initial), k1, decrypt);
    let x = rounds_n(x, k2, !decrypt);
    let x = rounds_n(x, k1, decrypt);
    x.map(|(l, r)| last(l, r))
}

/// An 8-byte block as a big-endian word (`chunk` is 8 bytes long).
pub(crate) fn word(chunk: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(chunk.get(..8).unwrap_or(&[0; 8]));
    u64::from_be_bytes(b)
}

/// [`rounds_n`] with one more lane: a single-DES encryption under
/// `mac_key`, the next step of a CBC-MAC. The MAC is a chain of dependent
/// DES operations, so it is bound by the latency of a round; the `N`
/// independent blocks fill the processor's idle slots meanwhile.
#[inline(never)]
fn rounds_with_mac<const N: usize>(
    mut mac: (u32, u32),
    mac_key: &DesKey,
    mut x: [(u32, u32); N],
    key: &DesKey,
    decrypt: bool,
) -> ((u32, u32), [(u32, u32); N]) {
    for pair in 0..round_pairs().min(8) {
        let (m1, m2) = round_keys(mac_key, pair, false);
        let (first, second) = round_keys(key, pair, decrypt);
        mac = two_rounds(mac, m1, m2);
        for block in x.iter_mut() {
            *block = two_rounds(*block, first, second);
        }
    }
    ((mac.1, mac.0), x.map(|(l, r)| (r, l)))
}

/// An ISO/IEC 9797-1 MAC algorithm 3 in progress (DES CBC-MAC under K1,
/// then D(K2) and E(K1) on the last state). The state stays permuted by IP
/// between blocks: IP is a bit permutation, so `IP(s ^ m) = IP(s) ^ IP(m)`,
/// and IP(DES(x)) is the preoutput the rounds leave.
struct RetailMac<'a, I> {
    k1: &'a DesKey,
    k2: &'a DesKey,
    state: (u32, u32),
    blocks: I,
}

impl<I: Iterator<Item = (u32, u32)>> RetailMac<'_, I> {
    /// One DES operation of `N` blocks under `key`, with the MAC's next
    /// block riding along while there is one.
    #[inline(always)]
    fn pass<const N: usize>(
        &mut self,
        x: [(u32, u32); N],
        key: &DesKey,
        decrypt: bool,
    ) -> [(u32, u32); N] {
        match self.blocks.next() {
            Some(m) => {
                let input = (self.state.0 ^ m.0, self.state.1 ^ m.1);
                let (state, x) = rounds_with_mac(input, self.k1, x, key, decrypt);
                self.state = state;
                x
            }
            None => rounds_n(x, key, decrypt),
        }
    }

    /// The blocks left, then the final D(K2), E(K1).
    fn finish(mut self) -> [u8; 8] {
        for m in self.blocks.by_ref() {
            let (l, r) = self.state;
            self.state = rounds(l ^ m.0, r ^ m.1, self.k1, false);
        }
        let (l, r) = self.state;
        let (l, r) = rounds(l, r, self.k2, true);
        let (l, r) = rounds(l, r, self.k1, false);
        self.state.zeroize();
        last(l, r).to_be_bytes()
    }
}

/// Two-key 3DES CBC decryption of `data` (whole blocks) from `iv`, appended
/// to `out`, and the ISO/IEC 9797-1 MAC algorithm 3 of `mac_input` (whole
/// blocks, already padded) under `mac_keys`, computed in one interleaved
/// pass: three blocks of the decryption and one of the MAC per DES
/// operation. A secure-messaging response needs both, and the MAC alone
/// leaves most of the processor idle. The caller checks the MAC before it
/// uses a byte of the plaintext.
pub(crate) fn tdes_cbc_decrypt_with_mac(
    keys: [&DesKey; 2],
    iv: u64,
    data: &[u8],
    mac_keys: [&DesKey; 2],
    mac_input: &[u8],
    out: &mut Vec<u8>,
) -> [u8; 8] {
    const LANES: usize = 3;
    let [k1, k2] = keys;
    let mut mac = RetailMac {
        k1: mac_keys[0],
        k2: mac_keys[1],
        state: (0, 0),
        blocks: mac_input.chunks_exact(8).map(|c| initial(word(c))),
    };
    let mut chain = iv;
    let mut triple = |input: &[u64], x: &[(u32, u32)], out: &mut Vec<u8>| {
        for (&(l, r), &c) in x.iter().zip(input) {
            out.extend_from_slice(&(last(l, r) ^ chain).to_be_bytes());
            chain = c;
        }
    };
    let mut groups = data.chunks_exact(8 * LANES);
    for group in groups.by_ref() {
        let mut input = [0u64; LANES];
        for (w, chunk) in input.iter_mut().zip(group.chunks_exact(8)) {
            *w = word(chunk);
        }
        let x = mac.pass(input.map(initial), k1, true);
        let x = mac.pass(x, k2, false);
        let x = mac.pass(x, k1, true);
        triple(&input, &x, out);
    }
    for chunk in groups.remainder().chunks_exact(8) {
        let input = [word(chunk)];
        let x = mac.pass(input.map(initial), k1, true);
        let x = mac.pass(x, k2, false);
        let x = mac.pass(x, k1, true);
        triple(&input, &x, out);
    }
    chain.zeroize();
    mac.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]
    use super::*;
    use cipher::{BlockDecrypt, BlockEncrypt, KeyInit, generic_array::GenericArray};

    const IP: [u8; 64] = [
        58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, //
        62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8, //
        57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, //
        61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
    ];
    const E: [u8; 48] = [
        32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17, //
        16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32,
        1,
    ];

    /// DES exactly as FIPS 46-3 writes it, one bit at a time.
    fn reference(key: u64, block: u64, decrypt: bool) -> u64 {
        let cd = permute(key, 64, &PC1);
        let (mut c, mut d) = (cd >> 28, cd & 0x0FFF_FFFF);
        let mut subkeys = Vec::new();
        for &s in &SHIFTS {
            c = ((c << s) | (c >> (28 - s))) & 0x0FFF_FFFF;
            d = ((d << s) | (d >> (28 - s))) & 0x0FFF_FFFF;
            subkeys.push(permute((c << 28) | d, 56, &PC2));
        }
        if decrypt {
            subkeys.reverse();
        }
        let ip = permute(block, 64, &IP);
        let (mut l, mut r) = (ip >> 32, ip & 0xFFFF_FFFF);
        for k in subkeys {
            let x = permute(r, 32, &E) ^ k;
            let mut s_out = 0u64;
            for (i, sbox) in S.iter().enumerate() {
                let six = ((x >> (42 - 6 * i)) & 0x3F) as usize;
                let row = ((six >> 4) & 2) | (six & 1);
                let column = (six >> 1) & 0xF;
                s_out = (s_out << 4) | u64::from(sbox[row * 16 + column]);
            }
            let f = permute(s_out, 32, &P);
            (l, r) = (r, l ^ f);
        }
        let pre = (r << 32) | l;
        let mut fp = [0u8; 64];
        for (j, &src) in IP.iter().enumerate() {
            fp[usize::from(src) - 1] = j as u8 + 1;
        }
        permute(pre, 64, &fp)
    }

    fn key(k: u64) -> DesKey {
        DesKey::new(&k.to_be_bytes())
    }

    /// A small deterministic generator for the comparisons.
    fn values(n: usize) -> impl Iterator<Item = u64> {
        let mut x = 0x0123_4567_89AB_CDEFu64;
        std::iter::repeat_with(move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        })
        .take(n)
    }

    #[test]
    fn known_answers() {
        // FIPS 81 / the classic textbook example, and NBS SP 500-20 vectors.
        for (k, p, c) in [
            (
                0x1334_5779_9BBC_DFF1u64,
                0x0123_4567_89AB_CDEFu64,
                0x85E8_1354_0F0A_B405u64,
            ),
            (
                0x0123_4567_89AB_CDEF,
                0x4E6F_7720_6973_2074,
                0x3FA4_0E8A_984D_4815,
            ),
            (
                0x0101_0101_0101_0101,
                0x8000_0000_0000_0000,
                0x95F8_A5E5_DD31_D900,
            ),
            (
                0x8001_0101_0101_0101,
                0x0000_0000_0000_0000,
                0x95A8_D728_13DA_A94D,
            ),
        ] {
            assert_eq!(des(&key(k), p, false), c, "key {k:016X}");
            assert_eq!(des(&key(k), c, true), p, "key {k:016X}");
            assert_eq!(reference(k, p, false), c, "reference, key {k:016X}");
        }
    }

    #[test]
    fn initial_and_final_permutations_are_the_standard_ones() {
        for v in values(200) {
            let (l, r) = initial(v);
            let ip = permute(v, 64, &IP);
            assert_eq!(
                (l.rotate_right(1), r.rotate_right(1)),
                ((ip >> 32) as u32, ip as u32)
            );
            assert_eq!(last(l, r), v);
        }
    }

    #[test]
    fn matches_the_standard_bit_by_bit() {
        let v: Vec<u64> = values(600).collect();
        for pair in v.chunks_exact(2) {
            let (k, p) = (pair[0], pair[1]);
            let c = des(&key(k), p, false);
            assert_eq!(c, reference(k, p, false));
            assert_eq!(des(&key(k), c, true), p);
        }
    }

    #[test]
    fn triple_des_matches_the_des_crate() {
        let v: Vec<u64> = values(900).collect();
        for t in v.chunks_exact(3) {
            let mut k = [0u8; 16];
            k[..8].copy_from_slice(&t[0].to_be_bytes());
            k[8..].copy_from_slice(&t[1].to_be_bytes());
            let other = des::TdesEde2::new_from_slice(&k).unwrap();
            let mut block = GenericArray::from(t[2].to_be_bytes());
            other.encrypt_block(&mut block);
            let k1 = DesKey::new(&t[0].to_be_bytes());
            let k2 = DesKey::new(&t[1].to_be_bytes());
            let c = tdes(&k1, &k2, t[2], false);
            assert_eq!(c.to_be_bytes(), block.as_slice());
            other.decrypt_block(&mut block);
            assert_eq!(tdes(&k1, &k2, c, true), t[2]);
            assert_eq!(block.as_slice(), t[2].to_be_bytes());
        }
    }

    #[test]
    fn several_blocks_at_once_match_one_at_a_time() {
        let v: Vec<u64> = values(600).collect();
        for t in v.chunks_exact(6) {
            let (k1, k2) = (key(t[0]), key(t[1]));
            let one = |b: u64, d: bool| tdes(&k1, &k2, b, d);
            for decrypt in [false, true] {
                assert_eq!(tdes_n(&k1, &k2, [t[2]], decrypt), [one(t[2], decrypt)]);
                assert_eq!(
                    tdes_n(&k1, &k2, [t[2], t[3]], decrypt),
                    [one(t[2], decrypt), one(t[3], decrypt)]
                );
                assert_eq!(
                    tdes_n(&k1, &k2, [t[2], t[3], t[4], t[5]], decrypt),
                    [t[2], t[3], t[4], t[5]].map(|b| one(b, decrypt))
                );
            }
        }
    }

    /// CBC decryption and the ISO/IEC 9797-1 MAC algorithm 3, one block at a
    /// time with the `des` crate.
    fn separately(keys: [u64; 4], iv: u64, data: &[u8], mac_input: &[u8]) -> (Vec<u8>, [u8; 8]) {
        let des_of = |k: u64| des::Des::new(GenericArray::from_slice(&k.to_be_bytes()));
        let (k1, k2, m1, m2) = (
            des_of(keys[0]),
            des_of(keys[1]),
            des_of(keys[2]),
            des_of(keys[3]),
        );
        let mut chain = iv.to_be_bytes();
        let mut plain = Vec::new();
        for c in data.chunks_exact(8) {
            let mut b = GenericArray::clone_from_slice(c);
            k1.decrypt_block(&mut b);
            k2.encrypt_block(&mut b);
            k1.decrypt_block(&mut b);
            plain.extend(b.iter().zip(chain).map(|(x, y)| x ^ y));
            chain.copy_from_slice(c);
        }
        let mut state = GenericArray::from([0u8; 8]);
        for m in mac_input.chunks_exact(8) {
            for (s, x) in state.iter_mut().zip(m) {
                *s ^= x;
            }
            m1.encrypt_block(&mut state);
        }
        m2.decrypt_block(&mut state);
        m1.encrypt_block(&mut state);
        (plain, state.into())
    }

    #[test]
    fn decryption_with_the_mac_in_one_pass_matches_both_apart() {
        let v: Vec<u64> = values(5 + 8 * 60).collect();
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_be_bytes()).collect();
        let keys = [v[0], v[1], v[2], v[3]];
        let (k1, k2, m1, m2) = (key(v[0]), key(v[1]), key(v[2]), key(v[3]));
        // Every count of data blocks (0 to 40) against MAC inputs shorter
        // and longer than the interleaved passes can carry.
        for data_blocks in 0..=40 {
            for mac_blocks in [1, 2, 3, data_blocks, 3 * data_blocks + 1, 130] {
                let data = &bytes[40..40 + 8 * data_blocks];
                let mac_input = &bytes[..8 * mac_blocks.max(1)];
                let mut plain = Vec::new();
                let mac = tdes_cbc_decrypt_with_mac(
                    [&k1, &k2],
                    v[4],
                    data,
                    [&m1, &m2],
                    mac_input,
                    &mut plain,
                );
                assert_eq!(
                    (plain, mac),
                    separately(keys, v[4], data, mac_input),
                    "{data_blocks} data blocks, {mac_blocks} MAC blocks"
                );
            }
        }
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(format!("{:?}", key(1)), "DesKey(REDACTED)");
    }
}
