//! The transport boundary: a [`Transport`] moves raw APDU bytes to a card and
//! back, nothing more. PC/SC, the in-process virtual card and trace replay are
//! implementations; everything above (GET RESPONSE, resends, secure messaging)
//! lives in the core.

/// What a transport reports when bytes cannot be exchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The card was removed (or powered off) during or before the exchange.
    /// Every security state on the card is lost.
    #[error("card removed")]
    CardRemoved,
    /// The card was reset by another party; security state is lost.
    #[error("card reset")]
    CardReset,
    /// No card is present in the reader.
    #[error("no card in the reader")]
    NoCard,
    /// The reader is unknown or gone.
    #[error("reader not available: {0}")]
    ReaderUnavailable(String),
    /// The smart-card service is not running or not reachable (on Linux:
    /// `pcscd` is not running). Nothing about the card is known.
    #[error("smart-card service unavailable: {0}")]
    ServiceUnavailable(String),
    /// A wait (for a card, for its removal) was cancelled by the caller.
    #[error("cancelled")]
    Cancelled,
    /// The exchange did not finish in time.
    #[error("timed out")]
    Timeout,
    /// The reader did not carry the exchange through although the card is
    /// still present (a glitch on the link). The card may have lost its
    /// security state; a read can start again from SELECT.
    #[error("interrupted: {0}")]
    Interrupted(String),
    /// The reader or the link could not carry this APDU (for instance an
    /// extended-length APDU on a reader without extended length).
    #[error("the reader could not carry the command: {0}")]
    NotCarried(String),
    /// A replayed trace did not match what the host sent.
    #[error("replay mismatch at exchange {index}: {reason}")]
    Replay {
        /// Zero-based exchange index in the trace.
        index: usize,
        /// What differs.
        reason: String,
    },
    /// Any other transport failure, described.
    #[error("transport failure: {0}")]
    Other(String),
}

impl TransportError {
    /// Whether the failure means the card lost its security state (removed,
    /// reset, or gone).
    pub fn loses_card_state(&self) -> bool {
        matches!(
            self,
            Self::CardRemoved | Self::CardReset | Self::NoCard | Self::Interrupted(_)
        )
    }

    /// Whether an operation that only reads may start again from SELECT on
    /// the same connection: the card was reset by another party, or the link
    /// glitched while the card stayed in the reader.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::CardReset | Self::Interrupted(_))
    }
}

/// Moves raw APDU bytes. One [`Transport::transaction`] brackets one
/// high-level operation, so that no other process can interleave APDUs into a
/// secure channel (a PC/SC transaction).
pub trait Transport: AsDynTransport {
    /// Sends one command APDU and returns the complete response APDU (data
    /// followed by `SW1 SW2`).
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError>;

    /// The card's answer to reset, if known.
    fn atr(&self) -> Option<Vec<u8>> {
        None
    }

    /// Whether the link (the reader) can carry extended-length APDUs. The card's
    /// own capability comes from its ATR.
    fn supports_extended(&self) -> bool {
        true
    }

    /// Runs `op` inside one exclusive transaction: every APDU `op` sends goes
    /// through the transport it is handed, and no other client of the reader
    /// can interleave. The default (a transport with no other clients) runs
    /// `op` on `self`.
    fn transaction(
        &mut self,
        op: &mut dyn FnMut(&mut dyn Transport),
    ) -> Result<(), TransportError> {
        op(self.as_dyn_transport());
        Ok(())
    }
}

/// Checks that `bytes` are one well-formed command APDU (ISO/IEC 7816-4 §5.1:
/// cases 1–4, short or extended length), for tools that send raw APDUs
/// through [`Transport::transmit`].
pub fn check_command_apdu(bytes: &[u8]) -> Result<(), crate::error::ApduError> {
    crate::apdu::Command::parse(bytes).map(|_| ())
}

/// Upcast to `dyn Transport`; implemented for every sized transport.
pub trait AsDynTransport {
    /// `self` as a trait object.
    fn as_dyn_transport(&mut self) -> &mut dyn Transport;
}

impl<T: Transport> AsDynTransport for T {
    fn as_dyn_transport(&mut self) -> &mut dyn Transport {
        self
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(command)
    }
    fn atr(&self) -> Option<Vec<u8>> {
        (**self).atr()
    }
    fn supports_extended(&self) -> bool {
        (**self).supports_extended()
    }
    fn transaction(
        &mut self,
        op: &mut dyn FnMut(&mut dyn Transport),
    ) -> Result<(), TransportError> {
        (**self).transaction(op)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(command)
    }
    fn atr(&self) -> Option<Vec<u8>> {
        (**self).atr()
    }
    fn supports_extended(&self) -> bool {
        (**self).supports_extended()
    }
    fn transaction(
        &mut self,
        op: &mut dyn FnMut(&mut dyn Transport),
    ) -> Result<(), TransportError> {
        (**self).transaction(op)
    }
}
