//! What the registry holds and what it answers: members, card statuses and
//! gate decisions.

use std::fmt;

use cardap::UserId;
use serde::Serialize;

/// A card's status as the card AP system reports it (運用中 / 一時停止 / 廃止).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// In use (運用中).
    Active,
    /// Suspended, for instance reported lost (一時停止).
    Suspended,
    /// Abolished (廃止).
    Abolished,
}

impl Status {
    /// Every status, in the order of the feed documentation.
    pub const ALL: [Status; 3] = [Status::Active, Status::Suspended, Status::Abolished];

    /// The name used in feeds, the CLI and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Suspended => "suspended",
            Status::Abolished => "abolished",
        }
    }

    /// Parses a name used in feeds and the CLI (exact, lower case).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(Status::Active),
            "suspended" => Some(Status::Suspended),
            "abolished" => Some(Status::Abolished),
            _ => None,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a status came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The daily feed from the card AP system.
    Feed,
    /// Set by the service provider in its own system; wins over the feed
    /// until the provider clears it.
    Provider,
}

impl Source {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Feed => "feed",
            Source::Provider => "provider",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status in effect for one user ID: the provider's if it set one, else
/// the feed's, else none (`unlisted`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRecord {
    /// The user ID asked about.
    pub user_id: String,
    /// The status in effect; `None` when neither the feed nor the provider
    /// named this user ID.
    pub status: Option<Status>,
    /// Which source the status came from.
    pub source: Option<Source>,
    /// When the status took effect (RFC 3339, as given by its source).
    pub updated_at: Option<String>,
}

impl StatusRecord {
    /// `active`, `suspended`, `abolished` or `unlisted`.
    pub fn status_name(&self) -> &'static str {
        self.status.map_or("unlisted", Status::as_str)
    }

    /// `{"user_id","status","source","updated_at"}` as printed by
    /// `cardap revocation check`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "user_id": self.user_id,
            "status": self.status_name(),
            "source": self.source.map(Source::as_str),
            "updated_at": self.updated_at,
        })
    }
}

/// A registered person: the user ID read from one AP linked to the
/// provider's own key (a member number, a staff ID).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Member {
    /// The 13-digit user ID.
    pub user_id: String,
    /// The AP's name (the profile's `name`).
    pub ap: String,
    /// The provider's key for this person.
    pub member: String,
    /// An optional free-text label.
    pub label: Option<String>,
}

impl Member {
    /// A member record; the user ID is already validated.
    pub fn new(user_id: &UserId, ap: &str, member: &str, label: Option<&str>) -> Self {
        Self {
            user_id: user_id.as_str().to_owned(),
            ap: ap.to_owned(),
            member: member.to_owned(),
            label: label.map(str::to_owned),
        }
    }
}

/// Why a gate says no.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DenyReason {
    /// No member is registered with this user ID.
    UnknownUser,
    /// The card is suspended.
    Suspended,
    /// The card is abolished.
    Abolished,
    /// The user ID is registered, but for another AP.
    WrongAp,
    /// The card could not be read.
    ReadFailed,
}

impl DenyReason {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DenyReason::UnknownUser => "unknown_user",
            DenyReason::Suspended => "suspended",
            DenyReason::Abolished => "abolished",
            DenyReason::WrongAp => "wrong_ap",
            DenyReason::ReadFailed => "read_failed",
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A gate's answer for one tap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The user ID read, if the read succeeded.
    pub user_id: Option<String>,
    /// `None` to allow; the reason to deny.
    pub deny: Option<DenyReason>,
    /// The source of the status that applied (`None`: no status applied,
    /// for instance an unlisted card or an unknown user).
    pub source: Option<Source>,
    /// The member key, when the user ID is registered for this AP.
    pub member: Option<String>,
}

impl Decision {
    /// Whether the gate opens.
    pub fn allowed(&self) -> bool {
        self.deny.is_none()
    }

    /// `allow` or `deny`.
    pub fn decision_name(&self) -> &'static str {
        if self.allowed() { "allow" } else { "deny" }
    }

    /// A denial for a card that could not be read.
    pub fn read_failed() -> Self {
        Self {
            user_id: None,
            deny: Some(DenyReason::ReadFailed),
            source: None,
            member: None,
        }
    }

    /// The decision from what the registry holds: membership first (is this
    /// person registered for this AP?), then the status in effect.
    /// `members` lists (AP, member key) for every AP the user ID is
    /// registered for.
    pub fn from_parts(
        user_id: &str,
        ap: &str,
        members: &[(String, String)],
        status: Option<(Status, Source)>,
    ) -> Self {
        let mine = members
            .iter()
            .find(|(a, _)| a == ap)
            .map(|(_, m)| m.as_str());
        Self::from_lookup(user_id, mine, !members.is_empty(), status)
    }

    /// The decision from a lookup: the member key for this AP (if any),
    /// whether the user ID is registered for any AP, and the status in
    /// effect.
    pub fn from_lookup(
        user_id: &str,
        member_for_ap: Option<&str>,
        registered: bool,
        status: Option<(Status, Source)>,
    ) -> Self {
        let mut decision = Self {
            user_id: Some(user_id.to_owned()),
            deny: None,
            source: None,
            member: member_for_ap.map(str::to_owned),
        };
        if member_for_ap.is_none() {
            decision.deny = Some(if registered {
                DenyReason::WrongAp
            } else {
                DenyReason::UnknownUser
            });
            return decision;
        }
        if let Some((status, source)) = status {
            decision.source = Some(source);
            decision.deny = match status {
                Status::Active => None,
                Status::Suspended => Some(DenyReason::Suspended),
                Status::Abolished => Some(DenyReason::Abolished),
            };
        }
        decision
    }

    /// `{"user_id","decision","reason","source","member"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "user_id": self.user_id,
            "decision": self.decision_name(),
            "reason": self.deny.map(DenyReason::as_str),
            "source": self.source.map(Source::as_str),
            "member": self.member,
        })
    }
}

/// Counts of what the registry holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Registered members.
    pub members: u64,
    /// Feed statuses by status (`active`, `suspended`, `abolished`).
    pub feed: StatusCounts,
    /// Provider statuses by status.
    pub provider: StatusCounts,
    /// When the last feed import committed (RFC 3339), if any.
    pub last_import: Option<String>,
    /// When the last sync from a server committed (RFC 3339), if any.
    pub last_sync: Option<String>,
}

/// Statuses counted by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    /// `active`.
    pub active: u64,
    /// `suspended`.
    pub suspended: u64,
    /// `abolished`.
    pub abolished: u64,
}

impl StatusCounts {
    /// Adds `n` to the count of `status`.
    pub fn add(&mut self, status: Status, n: u64) {
        match status {
            Status::Active => self.active += n,
            Status::Suspended => self.suspended += n,
            Status::Abolished => self.abolished += n,
        }
    }

    /// All statuses together.
    pub fn total(&self) -> u64 {
        self.active + self.suspended + self.abolished
    }
}
