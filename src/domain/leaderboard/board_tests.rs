//! Unit tests of a board, and the 100k-player rank-lookup figure.

use super::*;

fn entry(n: u128, rating: f64, el: Option<&str>) -> Entry {
    Entry {
        user_id: Uuid::from_u128(n),
        username: format!("u{n}"),
        avatar_url: None,
        level: 1,
        rating,
        wins: 3,
        losses: 1,
        favorite_element: el.map(str::to_string),
    }
}

#[test]
fn ties_break_by_user_id_and_ranks_follow_rating() {
    let mut b = Board::default();
    for n in (1..=5).rev() {
        b.upsert(entry(n, 1500.0, Some("VOLT")), 1);
    }
    let (rows, total) = b.page(None, 10, 0);
    assert_eq!(total, 5);
    let ids: Vec<u128> = rows.iter().map(|r| r.user_id.as_u128()).collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
    assert_eq!(rows[0].win_rate, 75.0);
    // User 4 climbs to first: ranks 1..=4 change.
    let delta = b.upsert(entry(4, 1600.0, None), 2);
    let ranks: Vec<(u64, u128)> = delta
        .iter()
        .map(|r| (r.rank, r.user_id.as_u128()))
        .collect();
    assert_eq!(ranks, vec![(1, 4), (2, 1), (3, 2), (4, 3)]);
    assert_eq!(b.rank_of(Uuid::from_u128(4)), Some(0));
    // Unchanged update: no delta.
    assert!(b.upsert(entry(4, 1600.0, None), 3).is_empty());
    // The element index kept user 4 (None kept VOLT).
    assert_eq!(b.page(Some("VOLT"), 10, 0).1, 5);
    assert_eq!(b.page(Some("PYRO"), 10, 0).1, 0);
}

#[test]
fn element_change_moves_between_indices() {
    let mut b = Board::default();
    b.upsert(entry(1, 1500.0, Some("VOLT")), 1);
    b.upsert(entry(1, 1510.0, Some("PYRO")), 2);
    assert_eq!(b.page(Some("VOLT"), 10, 0).1, 0);
    let (rows, total) = b.page(Some("PYRO"), 10, 0);
    assert_eq!((total, rows[0].rating), (1, 1510));
}

#[test]
fn deltas_stay_in_the_top_100() {
    let mut b = Board::default();
    for n in 0..300u128 {
        b.upsert(entry(n, 3000.0 - n as f64, None), 1);
    }
    // Moving within ranks 200..300 is invisible to the top-100 room.
    assert!(b.upsert(entry(250, 2780.5, None), 2).is_empty());
    // From rank 251 to rank 51: ranks 51..=100 changed.
    let d = b.upsert(entry(250, 2950.5, None), 3);
    assert_eq!(d.first().map(|r| r.rank), Some(51));
    assert_eq!(d.first().map(|r| r.user_id.as_u128()), Some(250));
    assert_eq!(d.last().map(|r| r.rank), Some(100));
    assert_eq!(d.len(), 50);
    let (rank, rows) = b.around(Uuid::from_u128(0), 5).unwrap();
    assert_eq!((rank, rows.len(), rows[0].rank), (0, 6, 1));
    let (rank, rows) = b.around(Uuid::from_u128(10), 5).unwrap();
    assert_eq!((rank, rows.len(), rows[0].rank), (10, 11, 6));
    assert!(b.rename(Uuid::from_u128(299), "late", None).is_empty());
    assert_eq!(
        b.rename(Uuid::from_u128(0), "first", None)[0].username,
        "first"
    );
}

/// The rank-lookup figure for the report: 100k players, release-independent order of
/// magnitude (debug builds are ~10× slower than release).
#[test]
fn rank_lookup_cost_for_100k_players() {
    let mut b = Board::default();
    let n = 100_000u128;
    let t0 = std::time::Instant::now();
    for i in 0..n {
        // A spread of ratings with many exact ties, as at a season's start.
        let r = 1500.0 + ((i * 7919) % 1000) as f64 - 500.0;
        b.upsert(
            entry(i, if i % 3 == 0 { 1500.0 } else { r }, Some("VOLT")),
            1,
        );
    }
    let build = t0.elapsed();
    let t1 = std::time::Instant::now();
    let mut acc = 0usize;
    for i in 0..n {
        acc += b.rank_of(Uuid::from_u128((i * 31) % n)).unwrap();
    }
    let per = t1.elapsed() / n as u32;
    assert!(acc > 0);
    let depth: usize = b.entries.values().map(|e| b.all.depth(&Key::of(e))).sum();
    let (avg, max) = (
        depth as f64 / n as f64,
        b.entries
            .values()
            .map(|e| b.all.depth(&Key::of(e)))
            .max()
            .unwrap_or(0),
    );
    // Expected depth of a treap is about 2·ln(n) ≈ 23 here; fail loudly if it degenerates.
    assert!(avg < 40.0 && max < 80, "avg depth {avg}, max {max}");
    eprintln!(
        "100k players: build {build:?}, rank lookup {per:?} each (debug build), \
         nodes visited avg {avg:.1} max {max}"
    );
}
