//! One test suite, run on SQLite and on PostgreSQL (`on_both_stores!`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cardap_registry::{
    DenyReason, Error, Feed, ImportMode, Member, Source, SqliteStore, Status, Store, sync,
};
use common::{Backend, feed_text, uid, uid_text};

const T1: &str = "2026-04-01T00:00:00+09:00";
const T2: &str = "2026-11-30T14:05:00Z";

fn feed(rows: &[(u64, &str, &str)]) -> Feed {
    Feed::parse(feed_text(rows).as_bytes()).unwrap()
}

fn import(store: &mut dyn Store, rows: &[(u64, &str, &str)], mode: ImportMode) -> (u64, u64) {
    let report = store.import(&feed(rows), mode, &mut |_| {}).unwrap();
    (report.changed, report.removed)
}

fn status_of(store: &mut dyn Store, n: u64) -> (&'static str, Option<Source>) {
    let r = store.check(&uid(n)).unwrap();
    (r.status_name(), r.source)
}

fn members_unique_per_user_and_ap(b: &dyn Backend) {
    let mut s = b.open();
    s.add_member(&Member::new(&uid(1), "library", "M-1", Some("Hanako")))
        .unwrap();
    s.add_member(&Member::new(&uid(1), "gym", "G-1", None))
        .unwrap();
    s.add_member(&Member::new(&uid(2), "library", "M-2", None))
        .unwrap();
    match s.add_member(&Member::new(&uid(1), "library", "M-9", None)) {
        Err(Error::MemberExists { member, .. }) => assert_eq!(member, "M-1"),
        other => panic!("{other:?}"),
    }
    let list = s.members().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].ap, "gym");
    assert_eq!(list[1].label.as_deref(), Some("Hanako"));
    assert!(s.remove_member(&uid(1), "library").unwrap());
    assert!(!s.remove_member(&uid(1), "library").unwrap());
    assert_eq!(s.members().unwrap().len(), 2);
    // Registered again after removal.
    s.add_member(&Member::new(&uid(1), "library", "M-10", None))
        .unwrap();
    assert_eq!(s.members().unwrap().len(), 3);
    // A second connection sees the same.
    assert_eq!(b.open().members().unwrap(), s.members().unwrap());
    // Empty keys are refused.
    assert!(matches!(
        s.add_member(&Member::new(&uid(3), "", "M", None)),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        s.add_member(&Member::new(&uid(3), "library", " ", None)),
        Err(Error::Invalid(_))
    ));
}

fn provider_status_wins_over_feed_until_cleared(b: &dyn Backend) {
    let mut s = b.open();
    assert_eq!(status_of(&mut *s, 1), ("unlisted", None));
    let r = s.check(&uid(1)).unwrap();
    assert_eq!(
        r.to_json(),
        serde_json::json!({"user_id": uid_text(1), "status": "unlisted", "source": null, "updated_at": null})
    );
    import(
        &mut *s,
        &[(1, "suspended", T1), (2, "active", T1)],
        ImportMode::Full,
    );
    assert_eq!(status_of(&mut *s, 1), ("suspended", Some(Source::Feed)));
    assert_eq!(s.check(&uid(1)).unwrap().updated_at.as_deref(), Some(T1));
    // The provider lifts it at once, and the next feed does not undo that.
    s.set_status(&uid(1), Status::Active).unwrap();
    assert_eq!(status_of(&mut *s, 1), ("active", Some(Source::Provider)));
    import(
        &mut *s,
        &[(1, "suspended", T2), (2, "active", T1)],
        ImportMode::Full,
    );
    assert_eq!(status_of(&mut *s, 1), ("active", Some(Source::Provider)));
    // The provider suspends a card the feed says is active.
    s.set_status(&uid(2), Status::Abolished).unwrap();
    assert_eq!(status_of(&mut *s, 2), ("abolished", Some(Source::Provider)));
    // Cleared: the feed applies again.
    assert!(s.clear_status(&uid(1)).unwrap());
    assert!(!s.clear_status(&uid(1)).unwrap());
    assert_eq!(status_of(&mut *s, 1), ("suspended", Some(Source::Feed)));
    assert_eq!(s.check(&uid(1)).unwrap().updated_at.as_deref(), Some(T2));
    // A provider status for an ID no feed names.
    s.set_status(&uid(7), Status::Suspended).unwrap();
    assert_eq!(status_of(&mut *s, 7), ("suspended", Some(Source::Provider)));
    assert!(s.clear_status(&uid(7)).unwrap());
    assert_eq!(status_of(&mut *s, 7), ("unlisted", None));
}

fn decisions_and_reasons(b: &dyn Backend) {
    let mut s = b.open();
    for n in 1..=5 {
        s.add_member(&Member::new(&uid(n), "library", &format!("M-{n}"), None))
            .unwrap();
    }
    s.add_member(&Member::new(&uid(6), "gym", "G-6", None))
        .unwrap();
    import(
        &mut *s,
        &[
            (2, "suspended", T1),
            (3, "abolished", T1),
            (4, "active", T1),
            (6, "active", T1),
        ],
        ImportMode::Full,
    );
    s.set_status(&uid(5), Status::Suspended).unwrap();
    let d = |s: &mut dyn Store, n: u64| s.decide(&uid(n), "library").unwrap();

    let allow = d(&mut *s, 1);
    assert!(allow.allowed());
    assert_eq!(
        (allow.deny, allow.source, allow.member.as_deref()),
        (None, None, Some("M-1"))
    );
    assert_eq!(
        allow.to_json(),
        serde_json::json!({"user_id": uid_text(1), "decision": "allow", "reason": null,
                           "source": null, "member": "M-1"})
    );
    let r = d(&mut *s, 2);
    assert_eq!(
        (r.deny, r.source),
        (Some(DenyReason::Suspended), Some(Source::Feed))
    );
    assert_eq!(r.member.as_deref(), Some("M-2"));
    let r = d(&mut *s, 3);
    assert_eq!(
        (r.deny, r.source),
        (Some(DenyReason::Abolished), Some(Source::Feed))
    );
    let r = d(&mut *s, 4);
    assert_eq!((r.deny, r.source), (None, Some(Source::Feed)));
    let r = d(&mut *s, 5);
    assert_eq!(
        (r.deny, r.source),
        (Some(DenyReason::Suspended), Some(Source::Provider))
    );
    let r = d(&mut *s, 6);
    assert_eq!(
        (r.deny, r.source, r.member),
        (Some(DenyReason::WrongAp), None, None)
    );
    let r = d(&mut *s, 99);
    assert_eq!((r.deny, r.source), (Some(DenyReason::UnknownUser), None));
    assert_eq!(r.to_json()["reason"], "unknown_user");
    // The provider lifts the feed's suspension: allowed at once.
    s.set_status(&uid(2), Status::Active).unwrap();
    let r = d(&mut *s, 2);
    assert_eq!((r.deny, r.source), (None, Some(Source::Provider)));
    // A removed member is unknown again.
    s.remove_member(&uid(1), "library").unwrap();
    assert_eq!(d(&mut *s, 1).deny, Some(DenyReason::UnknownUser));
}

fn full_and_delta_imports_idempotent(b: &dyn Backend) {
    let mut s = b.open();
    let first = [
        (1, "active", T1),
        (2, "suspended", T1),
        (3, "abolished", T1),
    ];
    assert_eq!(import(&mut *s, &first, ImportMode::Full), (3, 0));
    let stats = s.stats().unwrap();
    assert_eq!(
        (
            stats.feed.active,
            stats.feed.suspended,
            stats.feed.abolished
        ),
        (1, 1, 1)
    );
    assert!(stats.last_import.is_some());
    // The same file again: nothing changes.
    let before = s.changes_since(0).unwrap();
    assert_eq!(import(&mut *s, &first, ImportMode::Full), (0, 0));
    let after = s.changes_since(0).unwrap();
    assert_eq!(before.feed, after.feed);
    // A full feed without 3 and with a changed 2 and a new 4.
    let second = [(1, "active", T1), (2, "active", T2), (4, "suspended", T2)];
    assert_eq!(import(&mut *s, &second, ImportMode::Full), (2, 1));
    assert_eq!(status_of(&mut *s, 3), ("unlisted", None));
    assert_eq!(status_of(&mut *s, 2), ("active", Some(Source::Feed)));
    // A delta touches only its rows.
    let delta = [(1, "suspended", T2), (5, "abolished", T2)];
    assert_eq!(import(&mut *s, &delta, ImportMode::Delta), (2, 0));
    assert_eq!(import(&mut *s, &delta, ImportMode::Delta), (0, 0));
    assert_eq!(status_of(&mut *s, 1), ("suspended", Some(Source::Feed)));
    assert_eq!(status_of(&mut *s, 4), ("suspended", Some(Source::Feed)));
    assert_eq!(status_of(&mut *s, 5), ("abolished", Some(Source::Feed)));
    let stats = s.stats().unwrap();
    assert_eq!(
        (
            stats.feed.active,
            stats.feed.suspended,
            stats.feed.abolished
        ),
        (1, 2, 1)
    );
    // A full import leaves provider statuses alone.
    s.set_status(&uid(9), Status::Suspended).unwrap();
    import(&mut *s, &[(1, "active", T2)], ImportMode::Full);
    assert_eq!(status_of(&mut *s, 9), ("suspended", Some(Source::Provider)));
    assert_eq!(status_of(&mut *s, 4), ("unlisted", None));
    assert_eq!(s.stats().unwrap().provider.suspended, 1);
    // An empty full feed removes every feed status.
    assert_eq!(import(&mut *s, &[], ImportMode::Full), (0, 1));
    assert_eq!(s.stats().unwrap().feed.total(), 0);
}

/// A reader on its own connection during a large import sees the old list or
/// the new one, never a mix, and never goes back from new to old.
fn reader_during_import_sees_old_or_new(b: &dyn Backend) {
    const N: u64 = 20_000;
    let mut s = b.open();
    let old: Vec<_> = (1..=N).map(|n| (n, "active", T1)).collect();
    import(&mut *s, &old, ImportMode::Full);
    s.add_member(&Member::new(&uid(1), "library", "M-1", None))
        .unwrap();
    s.add_member(&Member::new(&uid(N), "library", "M-N", None))
        .unwrap();
    let new: Vec<_> = (1..=N).map(|n| (n, "suspended", T2)).collect();
    let new_feed = feed(&new);

    let stop = Arc::new(AtomicBool::new(false));
    let mut reader = b.open();
    let flag = Arc::clone(&stop);
    let handle = std::thread::spawn(move || {
        let mut seen_new = false;
        let mut snapshots = 0u32;
        loop {
            let done = flag.load(Ordering::SeqCst);
            let st = reader.stats().unwrap();
            let counts = (st.feed.active, st.feed.suspended);
            assert!(
                counts == (N, 0) || counts == (0, N),
                "mixed snapshot {counts:?}"
            );
            if counts == (0, N) {
                seen_new = true;
            } else {
                assert!(!seen_new, "went back to the old list");
            }
            // The first and the last ID: one decision each, never old after new.
            let last = reader.decide(&uid(N), "library").unwrap();
            if last.deny.is_some() {
                seen_new = true;
            } else {
                assert!(!seen_new, "old decision after new");
            }
            snapshots += 1;
            if done {
                return (snapshots, seen_new);
            }
        }
    });
    s.import(&new_feed, ImportMode::Full, &mut |_| {}).unwrap();
    stop.store(true, Ordering::SeqCst);
    let (snapshots, seen_new) = handle.join().unwrap();
    assert!(snapshots >= 2, "the reader ran {snapshots} times");
    assert!(seen_new, "the reader never saw the new list");
}

/// The gate's copy: a sync brings statuses and members, then only what
/// changed; removals travel too; decisions go on from the copy alone.
fn sync_into_gate_copy(b: &dyn Backend) {
    let mut server = b.open();
    server
        .add_member(&Member::new(&uid(1), "library", "M-1", None))
        .unwrap();
    server
        .add_member(&Member::new(&uid(2), "library", "M-2", None))
        .unwrap();
    import(
        &mut *server,
        &[(1, "active", T1), (2, "suspended", T1)],
        ImportMode::Full,
    );

    let dir = tempfile::tempdir().unwrap();
    let gate_path = dir.path().join("gate.db");
    let mut gate = SqliteStore::open(&gate_path).unwrap();
    let report = sync(&mut *server, &mut gate).unwrap();
    assert!(report.full);
    assert_eq!((report.members, report.statuses), (2, 2));
    assert!(gate.decide(&uid(1), "library").unwrap().allowed());
    assert_eq!(
        gate.decide(&uid(2), "library").unwrap().deny,
        Some(DenyReason::Suspended)
    );

    // Nothing changed: nothing copied.
    let again = sync(&mut *server, &mut gate).unwrap();
    assert!(!again.full);
    assert_eq!((again.members, again.statuses), (0, 0));

    // Changes on the server: a provider status, a cleared one, a removed
    // member, a full feed that drops an ID.
    server.set_status(&uid(1), Status::Suspended).unwrap();
    server.set_status(&uid(3), Status::Abolished).unwrap();
    server.clear_status(&uid(3)).unwrap();
    server.remove_member(&uid(2), "library").unwrap();
    server
        .add_member(&Member::new(&uid(4), "library", "M-4", None))
        .unwrap();
    import(
        &mut *server,
        &[(1, "active", T2), (4, "active", T2)],
        ImportMode::Full,
    );
    let delta = sync(&mut *server, &mut gate).unwrap();
    assert!(!delta.full);
    assert_eq!(delta.members, 2);
    assert!(delta.statuses >= 4 && delta.statuses <= 5, "{delta:?}");

    // The copy answers exactly as the server.
    for n in 1..=5 {
        assert_eq!(
            gate.decide(&uid(n), "library").unwrap(),
            server.decide(&uid(n), "library").unwrap(),
            "user {n}"
        );
        assert_eq!(gate.check(&uid(n)).unwrap(), server.check(&uid(n)).unwrap());
    }
    assert_eq!(gate.members().unwrap(), server.members().unwrap());
    let (gs, ss) = (gate.stats().unwrap(), server.stats().unwrap());
    assert_eq!(
        (gs.members, gs.feed, gs.provider),
        (ss.members, ss.feed, ss.provider)
    );
    assert!(gs.last_sync.is_some());

    // The server goes away: the gate decides from its file, reopened.
    drop(server);
    drop(gate);
    let mut gate = SqliteStore::open(&gate_path).unwrap();
    assert_eq!(
        gate.decide(&uid(1), "library").unwrap().deny,
        Some(DenyReason::Suspended)
    );
    assert_eq!(
        gate.decide(&uid(2), "library").unwrap().deny,
        Some(DenyReason::UnknownUser)
    );
    assert!(gate.decide(&uid(4), "library").unwrap().allowed());
}

/// A copy made from one server and then pointed at another is replaced whole.
fn sync_from_another_source_starts_over(b: &dyn Backend) {
    let mut server = b.open();
    server
        .add_member(&Member::new(&uid(1), "library", "M-1", None))
        .unwrap();
    let mut other = SqliteStore::in_memory().unwrap();
    other
        .add_member(&Member::new(&uid(2), "library", "M-2", None))
        .unwrap();
    let mut gate = SqliteStore::in_memory().unwrap();
    sync(&mut other, &mut gate).unwrap();
    assert_eq!(gate.members().unwrap().len(), 1);
    let r = sync(&mut *server, &mut gate).unwrap();
    assert!(r.full);
    let members = gate.members().unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].member, "M-1");
}

on_both_stores!(
    members_unique_per_user_and_ap,
    provider_status_wins_over_feed_until_cleared,
    decisions_and_reasons,
    full_and_delta_imports_idempotent,
    reader_during_import_sees_old_or_new,
    sync_into_gate_copy,
    sync_from_another_source_starts_over,
);
