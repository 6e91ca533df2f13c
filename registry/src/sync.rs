//! Copying a shared registry into a gate's local store.

use crate::{Result, Store};

/// What a sync copied.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    /// Whether this was a full copy (first sync, or a different source).
    pub full: bool,
    /// Member rows copied (additions, changes and removals).
    pub members: u64,
    /// Status rows copied (feed and provider, removals included).
    pub statuses: u64,
    /// The source's change time everything up to which is now copied.
    pub watermark: i64,
}

/// Copies into `to` everything that changed in `from` since the last sync,
/// by change time, in one transaction on each side. A first sync, or a sync
/// from another source than last time, copies everything.
pub fn sync(from: &mut dyn Store, to: &mut dyn Store) -> Result<SyncReport> {
    let mark = to.sync_mark()?;
    let source_id = from.instance()?;
    let since = if mark.source_id == source_id && mark.source_id != 0 {
        mark.watermark
    } else {
        0
    };
    let changes = from.changes_since(since)?;
    to.apply_changes(&changes)?;
    Ok(SyncReport {
        full: since == 0,
        members: changes.members.len() as u64,
        statuses: (changes.feed.len() + changes.provider.len()) as u64,
        watermark: changes.watermark,
    })
}
