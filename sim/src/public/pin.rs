//! A PIN of the virtual card with its retry counter: VERIFY with data spends
//! a try when wrong, resets the counter when right; VERIFY without data only
//! reports the count; a PIN with no try left is blocked for good.

use cardap::StatusWord;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::PinSetting;

/// `69 84`: reference data not usable (the PIN is blocked).
pub(crate) const SW_BLOCKED: StatusWord = StatusWord::Other(0x6984);

/// A PIN and its counter; the counter lives as long as the card (a reset does
/// not give tries back).
pub(crate) struct PinCounter {
    value: Zeroizing<Vec<u8>>,
    tries: u8,
    left: u8,
}

/// What a VERIFY did.
pub(crate) enum Verified {
    /// Right PIN: counter reset.
    Yes,
    /// The answer to send (count, wrong PIN, blocked).
    No(StatusWord),
}

impl PinCounter {
    pub(crate) fn new(setting: &PinSetting) -> Self {
        Self {
            value: setting.value.clone(),
            tries: setting.tries,
            left: setting.tries_left,
        }
    }

    /// `63 Cx` with the tries left, or `69 84` once blocked.
    pub(crate) fn count(&self) -> StatusWord {
        if self.left == 0 {
            SW_BLOCKED
        } else {
            StatusWord::TriesLeft(self.left)
        }
    }

    /// VERIFY with `data`.
    pub(crate) fn verify(&mut self, data: &[u8]) -> Verified {
        if self.left == 0 {
            return Verified::No(SW_BLOCKED);
        }
        let same = data.len() == self.value.len() && bool::from(data.ct_eq(&self.value));
        if same {
            self.left = self.tries;
            Verified::Yes
        } else {
            self.left = self.left.saturating_sub(1);
            Verified::No(StatusWord::TriesLeft(self.left))
        }
    }

    /// Tries left.
    pub(crate) fn left(&self) -> u8 {
        self.left
    }
}
