//! Status lookup and gate decision on the embedded store with 1,000,000
//! statuses and 10,000 members (SQLite file, WAL, prepared and cached
//! statements), plus the per-call latency distribution (p50 / p99 / max)
//! that criterion's mean does not show.
//!
//! `cargo bench -p cardap-registry --bench registry`
//! (`CARDAP_BENCH_ROWS=N` for another size; the store is built once per run.)

// A benchmark over fixed inputs: a failure is a broken benchmark, not input.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

use std::hint::black_box;
use std::time::Instant;

use cardap::UserId;
use cardap_registry::{Feed, FeedRow, ImportMode, Member, SqliteStore, Status, Store};
use criterion::{Criterion, criterion_group, criterion_main};

/// The check digit of PROFILE.md §3 for 12 digits (weights 2…7 from the
/// right, `11 - s mod 11`, 0 when the remainder is 0 or 1).
fn check_digit(body: &str) -> u32 {
    let s: u32 = body
        .bytes()
        .rev()
        .zip([2u32, 3, 4, 5, 6, 7].iter().cycle())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let r = s % 11;
    if r <= 1 { 0 } else { 11 - r }
}

fn uid(n: u64) -> UserId {
    let body = format!("{n:012}");
    let check = check_digit(&body);
    UserId::parse(format!("{body}{check}").as_bytes()).expect("valid")
}

fn rows() -> u64 {
    std::env::var("CARDAP_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn build(dir: &std::path::Path, n: u64) -> SqliteStore {
    let path = dir.join("bench.db");
    let mut store = SqliteStore::open(&path).expect("store");
    let feed = Feed::from_rows(
        (0..n)
            .map(|i| FeedRow {
                user_id: uid(i * 7 + 1).as_str().to_owned(),
                status: match i % 50 {
                    0 => Status::Suspended,
                    1 => Status::Abolished,
                    _ => Status::Active,
                },
                updated_at: "2026-11-30T00:00:00Z".to_owned(),
            })
            .collect(),
    )
    .expect("feed");
    store
        .import(&feed, ImportMode::Full, &mut |_| {})
        .expect("import");
    for i in 0..10_000u64 {
        store
            .add_member(&Member::new(
                &uid(i * 7 + 1),
                "city-library",
                &format!("M-{i}"),
                None,
            ))
            .expect("member");
    }
    drop(store);
    SqliteStore::open(&path).expect("reopen")
}

fn percentiles(label: &str, mut f: impl FnMut(u64)) {
    const CALLS: u64 = 200_000;
    let mut times = Vec::with_capacity(CALLS as usize);
    for i in 0..CALLS {
        let t0 = Instant::now();
        f(i);
        times.push(t0.elapsed().as_nanos() as u64);
    }
    times.sort_unstable();
    let at = |p: f64| times[((times.len() - 1) as f64 * p) as usize] as f64 / 1000.0;
    eprintln!(
        "{label}: {CALLS} calls, p50 {:.2} µs, p99 {:.2} µs, p99.9 {:.2} µs, max {:.1} µs",
        at(0.5),
        at(0.99),
        at(0.999),
        at(1.0)
    );
}

fn bench(c: &mut Criterion) {
    let n = rows();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = build(dir.path(), n);
    // Registered members (first 10,000 IDs), random other listed IDs, and
    // unlisted IDs.
    let members: Vec<UserId> = (0..1000u64)
        .map(|i| uid((i * 7919 % 10_000) * 7 + 1))
        .collect();
    let listed: Vec<UserId> = (0..1000u64)
        .map(|i| uid(((i * 104_729) % n) * 7 + 1))
        .collect();
    let unlisted: Vec<UserId> = (0..1000u64).map(|i| uid(i * 7 + 3)).collect();

    let mut group = c.benchmark_group(format!("registry_{n}_statuses"));
    group.bench_function("decide_member", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % members.len();
            black_box(store.decide(&members[i], "city-library").expect("decide"))
        });
    });
    group.bench_function("decide_unknown_user", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % unlisted.len();
            black_box(store.decide(&unlisted[i], "city-library").expect("decide"))
        });
    });
    group.bench_function("check_listed", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % listed.len();
            black_box(store.check(&listed[i]).expect("check"))
        });
    });
    group.finish();

    percentiles("decide (member)", |i| {
        black_box(
            store
                .decide(&members[(i % 1000) as usize], "city-library")
                .expect("decide"),
        );
    });
    percentiles("check (listed)", |i| {
        black_box(store.check(&listed[(i % 1000) as usize]).expect("check"));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
