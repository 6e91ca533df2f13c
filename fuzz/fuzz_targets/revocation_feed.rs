//! The revocation feed (CSV) parser: any bytes give a feed or a typed error,
//! and every row of a feed that parses holds a valid 13-digit user ID.
#![no_main]

use cardap::UserId;
use cardap_registry::Feed;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(feed) = Feed::parse(data) else {
        return;
    };
    assert_eq!(feed.len(), feed.rows().len());
    for row in feed.rows() {
        assert!(
            UserId::parse(row.user_id.as_bytes()).is_ok(),
            "a feed row with an invalid user ID"
        );
    }
});
