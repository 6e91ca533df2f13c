//! Feed validation: every malformed row with its line number and reason,
//! and nothing imported.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use cardap_registry::{
    Feed, FeedError, ImportMode, RowError, RowReason, SqliteStore, Status, Store,
};
use common::uid_text;

fn rows_of(err: FeedError) -> Vec<RowError> {
    match err {
        FeedError::Rows(rows) => rows,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_good_feed_parses_sorted() {
    let text = format!(
        "user_id,status,updated_at\n{},suspended,2026-11-30T14:05:00Z\n{},active,2026-04-01T00:00:00+09:00\n",
        uid_text(2),
        uid_text(1)
    );
    let feed = Feed::parse(text.as_bytes()).unwrap();
    assert_eq!(feed.len(), 2);
    assert_eq!(feed.rows()[0].user_id, uid_text(1));
    assert_eq!(feed.rows()[0].status, Status::Active);
    assert_eq!(feed.rows()[0].updated_at, "2026-04-01T00:00:00+09:00");
    assert_eq!(feed.rows()[1].status, Status::Suspended);
}

#[test]
fn header_columns_in_any_order_bom_and_crlf() {
    let text = format!(
        "\u{feff}status,updated_at,user_id,note\r\nabolished,2026-01-02T03:04:05.123Z,{},x\r\n",
        uid_text(5)
    );
    let feed = Feed::parse(text.as_bytes()).unwrap();
    assert_eq!(feed.rows()[0].user_id, uid_text(5));
    assert_eq!(feed.rows()[0].status, Status::Abolished);
}

#[test]
fn every_malformed_row_is_reported_with_its_line() {
    let good = uid_text(1);
    let bad_check = {
        let mut s = uid_text(2);
        let last = s.pop().unwrap();
        s.push(if last == '9' {
            '0'
        } else {
            char::from(last as u8 + 1)
        });
        s
    };
    let text = format!(
        "user_id,status,updated_at\n\
         {good},active,2026-04-01T00:00:00Z\n\
         {bad_check},active,2026-04-01T00:00:00Z\n\
         {},lost,2026-04-01T00:00:00Z\n\
         {},active,2026-04-01 00:00\n\
         {},active\n\
         {good},suspended,2026-04-02T00:00:00Z\n\
         12345,active,2026-04-01T00:00:00Z\n\
         12345678901a5,active,2026-04-01T00:00:00Z\n\
         ,active,2026-04-01T00:00:00Z\n",
        uid_text(3),
        uid_text(4),
        uid_text(5),
    );
    let errors = rows_of(Feed::parse(text.as_bytes()).unwrap_err());
    let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![3, 4, 5, 6, 7, 8, 9, 10], "{errors:?}");
    assert!(
        matches!(&errors[0].reason, RowReason::UserId { problem, .. } if problem.contains("check digit"))
    );
    assert_eq!(errors[1].reason, RowReason::UnknownStatus("lost".into()));
    assert_eq!(
        errors[2].reason,
        RowReason::BadTime("2026-04-01 00:00".into())
    );
    assert_eq!(errors[3].reason, RowReason::MissingColumn("updated_at"));
    assert_eq!(
        errors[4].reason,
        RowReason::Duplicate {
            user_id: good.clone(),
            first_line: 2
        }
    );
    assert!(
        matches!(&errors[5].reason, RowReason::UserId { problem, .. } if problem.contains("13 bytes"))
    );
    assert!(
        matches!(&errors[6].reason, RowReason::UserId { problem, .. } if problem.contains("digit"))
    );
    assert_eq!(errors[7].reason, RowReason::MissingColumn("user_id"));
    // Messages name the line and the problem.
    assert_eq!(
        errors[1].to_string(),
        "line 4: unknown status \"lost\" (expected active, suspended or abolished)"
    );
    assert!(
        errors[4]
            .to_string()
            .starts_with("line 7: duplicate user ID")
    );
}

#[test]
fn a_bad_header_or_empty_file_is_refused() {
    assert!(matches!(Feed::parse(b""), Err(FeedError::Header(_))));
    assert!(matches!(
        Feed::parse(b"id,status,time\n1,active,x\n"),
        Err(FeedError::Header(_))
    ));
    // A header alone is an empty feed.
    assert!(
        Feed::parse(b"user_id,status,updated_at\n")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_refused_feed_imports_nothing() {
    let mut store = SqliteStore::in_memory().unwrap();
    let good = format!(
        "user_id,status,updated_at\n{},suspended,2026-04-01T00:00:00Z\n",
        uid_text(1)
    );
    store
        .import(
            &Feed::parse(good.as_bytes()).unwrap(),
            ImportMode::Full,
            &mut |_| {},
        )
        .unwrap();
    let before = store.changes_since(0).unwrap();
    let bad = format!(
        "user_id,status,updated_at\n{},active,2026-04-01T00:00:00Z\n{},revoked,2026-04-01T00:00:00Z\n",
        uid_text(1),
        uid_text(2)
    );
    assert!(Feed::parse(bad.as_bytes()).is_err());
    assert_eq!(store.changes_since(0).unwrap(), before);
}
