//! Property: whatever sequence of money moves runs (signups, purchases, deposits credited,
//! withdrawals held then confirmed or refunded, pilot mints confirmed or refunded), the
//! ledger invariant holds: every account's transfers sum to its balance and each currency
//! nets to zero. Runs on a fresh SQLite database per case.

use proptest::prelude::*;
use uuid::Uuid;
use warroom::config::DatabaseTarget;
use warroom::domain::economy::{quote_withdrawal, Rates};
use warroom::sim::catalog::ROBOTS;
use warroom::store::{economy::EconTx, pilots::MintRequest, roster::robot_id, users::NewUser, Db};

#[derive(Debug, Clone)]
enum Op {
    Signup,
    Purchase {
        user: usize,
        robot: usize,
    },
    Deposit {
        user: usize,
        gmo: i64,
        fail: bool,
    },
    Withdraw {
        user: usize,
        gmo: i64,
    },
    Mint {
        user: usize,
    },
    Settle {
        row: usize,
        confirm: bool,
    },
    /// Settling an already settled row again must move nothing (worker/handler races).
    Resettle {
        row: usize,
        confirm: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::Signup),
        3 => (0..4usize, 0..36usize).prop_map(|(user, robot)| Op::Purchase { user, robot }),
        3 => (0..4usize, 1..5000i64, any::<bool>())
            .prop_map(|(user, gmo, fail)| Op::Deposit { user, gmo, fail }),
        3 => (0..4usize, 1..3000i64).prop_map(|(user, gmo)| Op::Withdraw { user, gmo }),
        2 => (0..4usize).prop_map(|user| Op::Mint { user }),
        4 => (0..8usize, any::<bool>()).prop_map(|(row, confirm)| Op::Settle { row, confirm }),
        2 => (0..8usize, any::<bool>()).prop_map(|(row, confirm)| Op::Resettle { row, confirm }),
    ]
}

const WALLET: &str = "0x00000000000000000000000000000000000000aa";

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("l.db").display());
    let db = Db::connect(&DatabaseTarget::Sqlite(url)).await.unwrap();
    db.migrate().await.unwrap();
    db.seed_robots().await.unwrap();
    let mut users: Vec<Uuid> = Vec::new();
    let mut pending: Vec<EconTx> = Vec::new();
    let mut settled: Vec<EconTx> = Vec::new();
    let rates = Rates::default();
    for (i, op) in ops.into_iter().enumerate() {
        let pick = |n: usize| users.get(n % users.len().max(1)).copied();
        match op {
            Op::Signup => {
                let name = format!("user{i}");
                let u = db
                    .create_user(NewUser {
                        username: &name,
                        email: &format!("{name}@example.com"),
                        password_hash: "x",
                        display_name: None,
                    })
                    .await
                    .unwrap();
                users.push(u.id);
            }
            Op::Purchase { user, robot } => {
                if let Some(u) = pick(user) {
                    let _ = db.purchase_robot(u, robot_id(ROBOTS[robot].slug)).await;
                }
            }
            Op::Deposit { user, gmo, fail } => {
                if let Some(u) = pick(user) {
                    let hash = format!("0x{:064x}", i);
                    let (row, _) = db
                        .create_deposit(u, &hash, WALLET, gmo * 1_000_000, gmo)
                        .await
                        .unwrap();
                    if fail {
                        db.econ_fail(&row, "test").await.unwrap();
                    } else {
                        db.econ_confirm(&row).await.unwrap();
                    }
                }
            }
            Op::Withdraw { user, gmo } => {
                if let (Some(u), Ok(q)) = (pick(user), quote_withdrawal(&rates, gmo)) {
                    if let Ok(row) = db.create_withdrawal(u, WALLET, &q).await {
                        pending.push(row);
                    }
                }
            }
            Op::Mint { user } => {
                if let Some(u) = pick(user) {
                    let m = MintRequest {
                        user: u,
                        wallet: WALLET,
                        name: "ACE",
                        sprite_key: "ace",
                        price: 500,
                        gas: 25,
                    };
                    if let Ok((_, row)) = db.mint_pilot(&m).await {
                        pending.push(row);
                    }
                }
            }
            Op::Settle { row, confirm } => {
                if !pending.is_empty() {
                    let r = pending.remove(row % pending.len());
                    if confirm {
                        prop_assert!(db.econ_confirm(&r).await.unwrap());
                    } else {
                        prop_assert!(db.econ_fail(&r, "test").await.unwrap());
                    }
                    settled.push(r);
                }
            }
            Op::Resettle { row, confirm } => {
                if !settled.is_empty() {
                    let r = &settled[row % settled.len()];
                    let moved = if confirm {
                        db.econ_confirm(r).await.unwrap()
                    } else {
                        db.econ_fail(r, "again").await.unwrap()
                    };
                    prop_assert!(!moved, "a settled row moved again");
                }
            }
        }
        let report = db.ledger_check().await.unwrap();
        prop_assert!(report.is_ok(), "after step {}: {:?}", i, report);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn ledger_invariant_holds_after_random_operations(
        ops in prop::collection::vec(op(), 1..40).prop_map(|mut v| { v.insert(0, Op::Signup); v })
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(ops))?;
    }
}
