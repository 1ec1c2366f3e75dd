//! Property tests of a board against a naive model (a sorted Vec), and of its deltas: a client
//! that only applies `leaderboard:updated` deltas must always hold the true top 100.

use proptest::prelude::*;
use uuid::Uuid;

use super::board::{Board, Entry, Row, TOP};

const ELEMENTS: [&str; 3] = ["VOLT", "PYRO", "BIO"];

#[derive(Debug, Clone)]
struct Op {
    user: u8,
    rating: u16,
    wins: u8,
    element: Option<usize>,
    /// Take the player off instead (a ban).
    remove: bool,
}

fn op() -> impl Strategy<Value = Op> {
    // 130 users so the board outgrows the top 100; few ratings so ties are common.
    (
        0u8..130,
        1490u16..1510,
        0u8..3,
        proptest::option::of(0usize..3),
        proptest::bool::weighted(0.1),
    )
        .prop_map(|(user, rating, wins, element, remove)| Op {
            user,
            rating,
            wins,
            element,
            remove,
        })
}

fn entry(o: &Op) -> Entry {
    Entry {
        user_id: Uuid::from_u128(u128::from(o.user) * 0x1_0000_0001),
        username: format!("u{}", o.user),
        avatar_url: None,
        level: 1,
        rating: f64::from(o.rating) + 0.25,
        wins: i64::from(o.wins),
        losses: 1,
        favorite_element: o.element.map(|i| ELEMENTS[i].to_string()),
    }
}

/// The model: every entry, sorted by the board's order.
fn sorted(model: &[Entry]) -> Vec<Entry> {
    let mut v = model.to_vec();
    v.sort_by(|a, b| {
        b.rating
            .total_cmp(&a.rating)
            .then_with(|| a.user_id.cmp(&b.user_id))
    });
    v
}

fn rows(v: &[Entry]) -> Vec<Row> {
    v.iter()
        .enumerate()
        .map(|(i, e)| Row::new(i as u64 + 1, e))
        .collect()
}

proptest! {
    #[test]
    fn board_matches_model_and_deltas_rebuild_the_top(ops in proptest::collection::vec(op(), 1..400)) {
        let mut board = Board::default();
        let mut model: Vec<Entry> = Vec::new();
        let mut client: Vec<Row> = Vec::new();
        for (t, o) in ops.iter().enumerate() {
            let mut e = entry(o);
            let prev = model.iter().position(|m| m.user_id == e.user_id);
            if o.remove {
                if let Some(i) = prev {
                    model.remove(i);
                }
                let in_top = client.iter().any(|r| r.user_id == e.user_id);
                let delta = board.remove(e.user_id, t as i64);
                prop_assert_eq!(delta.is_some(), in_top);
                for row in delta.unwrap_or_default() {
                    let at = row.rank as usize - 1;
                    prop_assert!(at < client.len());
                    client[at] = row;
                }
                client.truncate(model.len());
                let want = rows(&sorted(&model));
                prop_assert_eq!(&client[..], &want[..want.len().min(TOP)]);
                continue;
            }
            if e.favorite_element.is_none() {
                // `None` keeps the known element.
                e.favorite_element = prev.and_then(|i| model[i].favorite_element.clone());
            }
            match prev {
                Some(i) => model[i] = e.clone(),
                None => model.push(e.clone()),
            }
            for row in board.upsert(entry(o), t as i64) {
                let at = row.rank as usize - 1;
                prop_assert!(at <= client.len() && at < TOP);
                if at == client.len() {
                    client.push(row);
                } else {
                    client[at] = row;
                }
            }
            let want = rows(&sorted(&model));
            prop_assert_eq!(&client[..], &want[..want.len().min(TOP)]);
        }
        let all = sorted(&model);
        let (page, total) = board.page(None, 30, 20);
        prop_assert_eq!(total, all.len());
        prop_assert_eq!(page, rows(&all).into_iter().skip(20).take(30).collect::<Vec<_>>());
        for el in ELEMENTS {
            let only: Vec<Entry> = all.iter().filter(|e| e.favorite_element.as_deref() == Some(el)).cloned().collect();
            let (page, total) = board.page(Some(el), 100, 0);
            prop_assert_eq!(total, only.len());
            prop_assert_eq!(page, rows(&only));
        }
        for (i, e) in all.iter().enumerate() {
            prop_assert_eq!(board.rank_of(e.user_id), Some(i));
        }
    }
}
