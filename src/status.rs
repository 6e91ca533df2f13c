//! ISO/IEC 7816-4 status words (§5.6) and the meaning of the values the
//! reference profile uses (PROFILE.md §1).

use std::fmt;

/// A status word `SW1 SW2`. Known values get a variant; everything else is kept
/// losslessly in [`StatusWord::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusWord {
    /// `90 00`: normal processing.
    Success,
    /// `61 xx`: `xx` more bytes available through GET RESPONSE (`00` = 256 or more).
    BytesAvailable(u8),
    /// `62 82`: end of file reached before `Ne` bytes were read.
    EndOfFile,
    /// `63 00`: authentication failed.
    AuthenticationFailed,
    /// `63 Cx`: verification failed, `x` tries left.
    TriesLeft(u8),
    /// `67 00`: wrong length.
    WrongLength,
    /// `68 82`: secure messaging not supported.
    SecureMessagingNotSupported,
    /// `68 84`: command chaining not supported.
    ChainingNotSupported,
    /// `69 81`: command incompatible with the file structure.
    IncompatibleFileStructure,
    /// `69 82`: security status not satisfied.
    SecurityStatusNotSatisfied,
    /// `69 83`: authentication method blocked.
    AuthenticationBlocked,
    /// `69 84`: reference data not usable (PIN blocked).
    ReferenceDataBlocked,
    /// `69 85`: conditions of use not satisfied.
    ConditionsNotSatisfied,
    /// `69 86`: command not allowed (no current EF).
    CommandNotAllowed,
    /// `69 87`: expected secure messaging data objects missing.
    SmObjectsMissing,
    /// `69 88`: incorrect secure messaging data objects.
    SmObjectsIncorrect,
    /// `6A 80`: incorrect parameters in the data field.
    WrongData,
    /// `6A 81`: function not supported.
    FunctionNotSupported,
    /// `6A 82`: file or application not found.
    NotFound,
    /// `6A 83`: record not found.
    RecordNotFound,
    /// `6A 84`: not enough memory space in the file.
    NotEnoughMemory,
    /// `6A 86`: incorrect parameters P1-P2.
    WrongP1P2,
    /// `6A 88`: referenced data not found.
    ReferencedDataNotFound,
    /// `6A 89`: file already exists.
    FileExists,
    /// `6B 00`: wrong parameters (offset beyond the file).
    WrongOffset,
    /// `6C xx`: wrong `Le`; `xx` is the exact length available.
    WrongLe(u8),
    /// `6D 00`: instruction not supported.
    InstructionNotSupported,
    /// `6E 00`: class not supported.
    ClassNotSupported,
    /// `6F 00`: no precise diagnosis.
    NoDiagnosis,
    /// Any other value.
    Other(u16),
}

impl StatusWord {
    /// Decodes `SW1 SW2`.
    pub fn from_u16(sw: u16) -> Self {
        let [sw1, sw2] = sw.to_be_bytes();
        match (sw1, sw2) {
            (0x90, 0x00) => Self::Success,
            (0x61, n) => Self::BytesAvailable(n),
            (0x62, 0x82) => Self::EndOfFile,
            (0x63, 0x00) => Self::AuthenticationFailed,
            (0x63, n) if n & 0xF0 == 0xC0 => Self::TriesLeft(n & 0x0F),
            (0x67, 0x00) => Self::WrongLength,
            (0x68, 0x82) => Self::SecureMessagingNotSupported,
            (0x68, 0x84) => Self::ChainingNotSupported,
            (0x69, 0x81) => Self::IncompatibleFileStructure,
            (0x69, 0x82) => Self::SecurityStatusNotSatisfied,
            (0x69, 0x83) => Self::AuthenticationBlocked,
            (0x69, 0x84) => Self::ReferenceDataBlocked,
            (0x69, 0x85) => Self::ConditionsNotSatisfied,
            (0x69, 0x86) => Self::CommandNotAllowed,
            (0x69, 0x87) => Self::SmObjectsMissing,
            (0x69, 0x88) => Self::SmObjectsIncorrect,
            (0x6A, 0x80) => Self::WrongData,
            (0x6A, 0x81) => Self::FunctionNotSupported,
            (0x6A, 0x82) => Self::NotFound,
            (0x6A, 0x83) => Self::RecordNotFound,
            (0x6A, 0x84) => Self::NotEnoughMemory,
            (0x6A, 0x86) => Self::WrongP1P2,
            (0x6A, 0x88) => Self::ReferencedDataNotFound,
            (0x6A, 0x89) => Self::FileExists,
            (0x6B, 0x00) => Self::WrongOffset,
            (0x6C, n) => Self::WrongLe(n),
            (0x6D, 0x00) => Self::InstructionNotSupported,
            (0x6E, 0x00) => Self::ClassNotSupported,
            (0x6F, 0x00) => Self::NoDiagnosis,
            _ => Self::Other(sw),
        }
    }

    /// Decodes two bytes.
    pub fn from_bytes(sw1: u8, sw2: u8) -> Self {
        Self::from_u16(u16::from_be_bytes([sw1, sw2]))
    }

    /// The two-byte value.
    pub fn to_u16(self) -> u16 {
        match self {
            Self::Success => 0x9000,
            Self::BytesAvailable(n) => 0x6100 | u16::from(n),
            Self::EndOfFile => 0x6282,
            Self::AuthenticationFailed => 0x6300,
            Self::TriesLeft(n) => 0x63C0 | u16::from(n & 0x0F),
            Self::WrongLength => 0x6700,
            Self::SecureMessagingNotSupported => 0x6882,
            Self::ChainingNotSupported => 0x6884,
            Self::IncompatibleFileStructure => 0x6981,
            Self::SecurityStatusNotSatisfied => 0x6982,
            Self::AuthenticationBlocked => 0x6983,
            Self::ReferenceDataBlocked => 0x6984,
            Self::ConditionsNotSatisfied => 0x6985,
            Self::CommandNotAllowed => 0x6986,
            Self::SmObjectsMissing => 0x6987,
            Self::SmObjectsIncorrect => 0x6988,
            Self::WrongData => 0x6A80,
            Self::FunctionNotSupported => 0x6A81,
            Self::NotFound => 0x6A82,
            Self::RecordNotFound => 0x6A83,
            Self::NotEnoughMemory => 0x6A84,
            Self::WrongP1P2 => 0x6A86,
            Self::ReferencedDataNotFound => 0x6A88,
            Self::FileExists => 0x6A89,
            Self::WrongOffset => 0x6B00,
            Self::WrongLe(n) => 0x6C00 | u16::from(n),
            Self::InstructionNotSupported => 0x6D00,
            Self::ClassNotSupported => 0x6E00,
            Self::NoDiagnosis => 0x6F00,
            Self::Other(sw) => sw,
        }
    }

    /// `SW1 SW2` as bytes.
    pub fn to_bytes(self) -> [u8; 2] {
        self.to_u16().to_be_bytes()
    }

    /// `90 00`, or the `62 82` warning that still carries data (PROFILE.md §1).
    pub fn is_success(self) -> bool {
        matches!(self, Self::Success | Self::EndOfFile)
    }

    /// What the value means, in a few words.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::BytesAvailable(_) => "more response bytes available",
            Self::EndOfFile => "end of file reached before Ne bytes",
            Self::AuthenticationFailed => "authentication failed",
            Self::TriesLeft(_) => "verification failed, tries left",
            Self::WrongLength => "wrong length",
            Self::SecureMessagingNotSupported => "secure messaging not supported",
            Self::ChainingNotSupported => "command chaining not supported",
            Self::IncompatibleFileStructure => "command incompatible with the file structure",
            Self::SecurityStatusNotSatisfied => "security status not satisfied",
            Self::AuthenticationBlocked => "authentication method blocked",
            Self::ReferenceDataBlocked => "reference data not usable (PIN blocked)",
            Self::ConditionsNotSatisfied => "conditions of use not satisfied",
            Self::CommandNotAllowed => "command not allowed (no current EF)",
            Self::SmObjectsMissing => "secure messaging data objects missing",
            Self::SmObjectsIncorrect => "secure messaging data objects incorrect",
            Self::WrongData => "wrong data",
            Self::FunctionNotSupported => "function not supported",
            Self::NotFound => "file or application not found",
            Self::RecordNotFound => "record not found",
            Self::NotEnoughMemory => "not enough memory in the file",
            Self::WrongP1P2 => "wrong P1/P2",
            Self::ReferencedDataNotFound => "referenced data not found",
            Self::FileExists => "file already exists",
            Self::WrongOffset => "offset beyond the end of the file",
            Self::WrongLe(_) => "wrong Le",
            Self::InstructionNotSupported => "instruction not supported",
            Self::ClassNotSupported => "class not supported",
            Self::NoDiagnosis => "no precise diagnosis",
            Self::Other(_) => "unknown status",
        }
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b] = self.to_bytes();
        write!(f, "{a:02X} {b:02X} ({})", self.meaning())
    }
}

impl From<u16> for StatusWord {
    fn from(sw: u16) -> Self {
        Self::from_u16(sw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips() {
        for sw in 0..=u16::MAX {
            assert_eq!(StatusWord::from_u16(sw).to_u16(), sw, "{sw:04X}");
        }
    }

    #[test]
    fn known_values_have_variants() {
        assert_eq!(StatusWord::from_u16(0x6A82), StatusWord::NotFound);
        assert_eq!(StatusWord::from_u16(0x63C2), StatusWord::TriesLeft(2));
        assert_eq!(StatusWord::from_u16(0x6C10), StatusWord::WrongLe(0x10));
        assert_eq!(StatusWord::from_u16(0x1234), StatusWord::Other(0x1234));
        assert_eq!(StatusWord::Success.to_string(), "90 00 (success)");
    }
}
