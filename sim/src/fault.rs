//! Fault injection for every card operation: [`FaultTransport`] wraps a
//! transport (usually a [`VirtualCard`](crate::VirtualCard)) and, at command
//! APDU number `k` of the operation, fails, answers garbage, loses the
//! response after the card executed the command, or tears the card away.
//!
//! The pattern for a test of any operation (reads, writes, PIN and lifecycle
//! operations alike):
//!
//! 1. run the operation once on a clean card and count its APDUs `n`;
//! 2. for every `k` in `0..n` and every [`Fault`], run it on a fresh card
//!    wrapped in `FaultTransport::new(card, k, fault)`:
//!    - the outcome is a typed error, or (for a fault the operation may
//!      retry, such as a reset seen by a read) the same result as the clean
//!      run — never partial or other data;
//!    - [`FaultTransport::resent_state_changing`] is `None`: no command that
//!      changes the card (UPDATE, VERIFY, CHANGE/RESET RETRY COUNTER,
//!      ACTIVATE, DEACTIVATE, TERMINATE, …) reached the card twice;
//! 3. [`FaultTransport::heal`] (the card inserted again, its security state
//!    lost) and run the operation again on the same object: it succeeds.
//!
//! ```
//! use cardap::transport::{Transport, TransportError};
//! use cardap_sim::fault::{Fault, FaultTransport};
//! use cardap_sim::VirtualCard;
//!
//! let card = VirtualCard::from_toml_str(include_str!("../../examples/cards/demo.toml")).unwrap();
//! let mut t = FaultTransport::virtual_card(card, 1, Fault::TearAway);
//! assert!(t.transmit(&[0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00]).is_ok());
//! assert_eq!(t.transmit(&[0x00, 0xB0, 0x81, 0x00, 0x00]), Err(TransportError::CardRemoved));
//! t.heal();
//! assert!(t.transmit(&[0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00]).is_ok());
//! ```

use cardap::transport::{Transport, TransportError};

/// What happens at the chosen APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The command never reaches the card; the transport reports this error.
    Fail(TransportError),
    /// The card executes the command, but its response is lost and the
    /// transport reports this error (the case where resending a VERIFY
    /// would spend a second PIN try).
    LoseResponse(TransportError),
    /// The card executes the command; the host receives these bytes instead
    /// of its response.
    Garbage(Vec<u8>),
    /// The card is pulled out before the command: this and every later
    /// command fail with [`TransportError::CardRemoved`] until
    /// [`FaultTransport::heal`].
    TearAway,
}

impl Fault {
    /// One fault of each kind, with the transport errors a reader meets.
    pub fn all() -> Vec<Fault> {
        vec![
            Fault::Fail(TransportError::Interrupted("injected glitch".into())),
            Fault::Fail(TransportError::CardReset),
            Fault::Fail(TransportError::Other("injected failure".into())),
            Fault::LoseResponse(TransportError::Interrupted("injected lost response".into())),
            Fault::LoseResponse(TransportError::CardRemoved),
            Fault::Garbage(vec![0x6F, 0x00]),
            Fault::Garbage(vec![0x90]),
            Fault::Garbage(vec![0xDE, 0xAD, 0xBE, 0xEF, 0x90, 0x00]),
            Fault::Garbage(vec![0x61, 0xFF]),
            Fault::TearAway,
        ]
    }
}

/// Resets the wrapped card when it is "inserted again".
type Heal<T> = Box<dyn FnMut(&mut T) + Send>;

/// A transport that injects one [`Fault`] at command APDU `k` (0-based,
/// counted over the transport's life) and records every command the card
/// received.
pub struct FaultTransport<T: Transport> {
    inner: T,
    at: usize,
    fault: Fault,
    sent: usize,
    torn: bool,
    delivered: Vec<Vec<u8>>,
    heal: Option<Heal<T>>,
}

impl<T: Transport> std::fmt::Debug for FaultTransport<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultTransport")
            .field("at", &self.at)
            .field("fault", &self.fault)
            .field("sent", &self.sent)
            .field("torn", &self.torn)
            .finish_non_exhaustive()
    }
}

impl FaultTransport<crate::VirtualCard> {
    /// A virtual card with a fault at APDU `k`; healing powers it off (every
    /// security state lost) and inserts it again.
    pub fn virtual_card(card: crate::VirtualCard, k: usize, fault: Fault) -> Self {
        Self::new(card, k, fault).on_heal(|c| {
            c.power_off();
            c.insert();
        })
    }
}

impl<T: Transport> FaultTransport<T> {
    /// Wraps `inner` with `fault` at command APDU `k`.
    pub fn new(inner: T, k: usize, fault: Fault) -> Self {
        Self {
            inner,
            at: k,
            fault,
            sent: 0,
            torn: false,
            delivered: Vec::new(),
            heal: None,
        }
    }

    /// What [`heal`](Self::heal) does to the card (for instance power it off).
    #[must_use]
    pub fn on_heal(mut self, heal: impl FnMut(&mut T) + Send + 'static) -> Self {
        self.heal = Some(Box::new(heal));
        self
    }

    /// The card is back (inserted again, security state lost) and no fault
    /// is pending any more.
    pub fn heal(&mut self) {
        self.torn = false;
        self.at = usize::MAX;
        if let Some(h) = self.heal.as_mut() {
            h(&mut self.inner);
        }
    }

    /// Command APDUs the host tried to send.
    pub fn sent(&self) -> usize {
        self.sent
    }

    /// The commands the card received (executed), in order.
    pub fn delivered(&self) -> &[Vec<u8>] {
        &self.delivered
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped transport, mutably.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The first state-changing command (see [`is_state_changing`]) that
    /// reached the card more than once, if any.
    pub fn resent_state_changing(&self) -> Option<&[u8]> {
        self.delivered.iter().enumerate().find_map(|(i, c)| {
            (is_state_changing(c) && self.delivered.iter().skip(i + 1).any(|d| d == c))
                .then_some(c.as_slice())
        })
    }

    fn deliver(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.delivered.push(command.to_vec());
        self.inner.transmit(command)
    }
}

/// Whether a command changes the card's persistent state, by its
/// instruction byte (secure messaging's CLA bits ignored): UPDATE/WRITE/ERASE
/// BINARY or RECORD, APPEND RECORD, VERIFY, CHANGE REFERENCE DATA, RESET
/// RETRY COUNTER, ACTIVATE/DEACTIVATE FILE, TERMINATE DF/EF, CREATE/DELETE
/// FILE, PUT DATA.
pub fn is_state_changing(command: &[u8]) -> bool {
    matches!(
        command.get(1),
        Some(
            0x0E | 0x0F
                | 0x20
                | 0x21
                | 0x24
                | 0x2C
                | 0x44
                | 0x04
                | 0xD0
                | 0xD1
                | 0xD6
                | 0xD7
                | 0xDA
                | 0xDB
                | 0xDC
                | 0xDD
                | 0xE0
                | 0xE2
                | 0xE4
                | 0xE6
                | 0xE8
        )
    )
}

impl<T: Transport> Transport for FaultTransport<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let index = self.sent;
        self.sent = self.sent.saturating_add(1);
        if self.torn {
            return Err(TransportError::CardRemoved);
        }
        if index != self.at {
            return self.deliver(command);
        }
        match self.fault.clone() {
            Fault::Fail(e) => Err(e),
            Fault::LoseResponse(e) => {
                let _ = self.deliver(command);
                if e == TransportError::CardRemoved {
                    self.torn = true;
                }
                Err(e)
            }
            Fault::Garbage(bytes) => {
                let _ = self.deliver(command);
                Ok(bytes)
            }
            Fault::TearAway => {
                self.torn = true;
                Err(TransportError::CardRemoved)
            }
        }
    }

    fn atr(&self) -> Option<Vec<u8>> {
        self.inner.atr()
    }

    fn supports_extended(&self) -> bool {
        self.inner.supports_extended()
    }
}
