//! The CLI's errors and its exit codes: one class per kind of failure, so
//! that scripts can branch on the code without parsing messages.

use std::fmt;
use std::process::ExitCode;

use cardap::StatusWord;
use cardap::transport::TransportError;

/// Exit codes by class (README "Exit codes", `cardap --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Anything not covered below: an I/O failure on our side, a bug.
    Internal = 1,
    /// The command line itself is wrong (clap uses the same code).
    Usage = 2,
    /// A profile or card description file is unreadable or invalid.
    File = 3,
    /// No reader, no card, or no smart-card service (pcscd).
    NoCard = 4,
    /// The AP, or a file of it, is not on the card.
    NotOnCard = 5,
    /// Authentication, secure messaging or another integrity check failed.
    Auth = 6,
    /// The card answered with any other error status, or malformed data.
    Card = 7,
}

/// What a table in `--help` and the README says about each code.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  internal error
  2  usage (bad command line)
  3  profile or card description file unreadable or invalid
  4  no reader, no card, or no smart-card service (pcscd)
  5  AP or file not on the card
  6  authentication or integrity failure
  7  any other card status or malformed card data";

/// A failed command: its exit class and one line for stderr.
#[derive(Debug)]
pub struct CliError {
    /// The exit class.
    pub exit: Exit,
    /// The message, one line, free of secrets.
    pub message: String,
}

impl CliError {
    /// An error of class `exit`.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }

    /// A bad argument the parser could not catch.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    /// A bad profile or description file.
    pub fn file(message: impl Into<String>) -> Self {
        Self::new(Exit::File, message)
    }

    /// Anything else on our side.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Exit::Internal, message)
    }

    /// Prefixes the message with what was being done.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// The process exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit as u8)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The class of a transport failure.
pub fn transport_class(e: &TransportError) -> Exit {
    match e {
        TransportError::NoCard
        | TransportError::CardRemoved
        | TransportError::ReaderUnavailable(_)
        | TransportError::ServiceUnavailable(_) => Exit::NoCard,
        _ => Exit::Internal,
    }
}

/// The class of a status word answered by the card.
pub fn status_class(sw: StatusWord) -> Exit {
    match sw {
        StatusWord::NotFound | StatusWord::RecordNotFound => Exit::NotOnCard,
        StatusWord::SecurityStatusNotSatisfied
        | StatusWord::SmObjectsMissing
        | StatusWord::SmObjectsIncorrect
        | StatusWord::AuthenticationFailed
        | StatusWord::TriesLeft(_)
        | StatusWord::AuthenticationBlocked
        | StatusWord::ReferenceDataBlocked => Exit::Auth,
        _ => Exit::Card,
    }
}

/// The class of a core error.
pub fn class_of(e: &cardap::Error) -> Exit {
    use cardap::Error as E;
    match e {
        E::Transport(t) => transport_class(t),
        E::ApNotFound { .. } => Exit::NotOnCard,
        E::Status { sw, .. } => status_class(*sw),
        E::Auth(_) | E::SecureMessaging(_) | E::Crypto(_) => Exit::Auth,
        E::Profile(_) => Exit::File,
        E::Malformed { .. } | E::UserId { .. } | E::Tlv(_) | E::Apdu(_) => Exit::Card,
        E::ExtendedRejected => Exit::Card,
        // A write or an install the profile document does not allow, refused
        // before anything was sent.
        E::Request { .. } => Exit::Usage,
        _ => Exit::Internal,
    }
}

impl From<cardap::Error> for CliError {
    fn from(e: cardap::Error) -> Self {
        Self::new(class_of(&e), e.to_string())
    }
}

impl From<TransportError> for CliError {
    fn from(e: TransportError) -> Self {
        Self::new(transport_class(&e), e.to_string())
    }
}

impl From<cardap::profile::ProfileError> for CliError {
    fn from(e: cardap::profile::ProfileError) -> Self {
        Self::file(e.to_string())
    }
}

impl From<cardap_sim::DescriptionError> for CliError {
    fn from(e: cardap_sim::DescriptionError) -> Self {
        Self::file(e.to_string())
    }
}

/// The result of a command.
pub type CliResult<T = ()> = Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_table() {
        let ap = cardap::Error::ApNotFound { aid: "F0".into() };
        assert_eq!(class_of(&ap), Exit::NotOnCard);
        let no_card = cardap::Error::Transport(TransportError::NoCard);
        assert_eq!(class_of(&no_card), Exit::NoCard);
        let sm = cardap::Error::Status {
            command: "READ BINARY",
            sw: StatusWord::SmObjectsIncorrect,
        };
        assert_eq!(class_of(&sm), Exit::Auth);
        let other = cardap::Error::Status {
            command: "READ BINARY",
            sw: StatusWord::WrongLength,
        };
        assert_eq!(class_of(&other), Exit::Card);
        assert_eq!(CliError::usage("x").exit as u8, 2);
        assert_eq!(CliError::file("x").exit as u8, 3);
    }
}
