//! `write_units` on SQLite and, when `WARROOM_TEST_POSTGRES` names an admin URL, on a fresh
//! Postgres database too: refusals, batch order, and the set-based pass against op by op.

use serde_json::json;
use uuid::Uuid;

use super::{insert_sql, merge, write_units, SqlValue, WriteError, WriteOp};
use crate::domain::settlement::{payout, XP_WIN};
use crate::sim::battle::{BattleInputs, Fighter, Winner, DEFAULT_MAX_TICKS};
use crate::store::ledger::{self, Account, Currency, SystemAccount, Transfer, TransferKind};
use crate::store::robot_battles::{
    create_ops, Finished, NewRobotBattle, SideRecord, ALREADY_SETTLED,
};
use crate::store::{DatabaseTarget, Db};

/// A migrated database per backend under test; Postgres ones are dropped by [`TestDb::done`].
struct TestDb {
    db: Db,
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

async fn admin(url: &str, sql: &str) {
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("pg admin");
    conn.execute(sqlx::AssertSqlSafe(sql.to_string()))
        .await
        .expect("admin sql");
}

async fn backends() -> Vec<TestDb> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let mut out = vec![(DatabaseTarget::Sqlite(url), None)];
    if let Some(admin_url) = std::env::var("WARROOM_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
    {
        let name = format!("wr_batch_{}", Uuid::new_v4().simple());
        admin(&admin_url, &format!("CREATE DATABASE {name}")).await;
        let (base, _) = admin_url.rsplit_once('/').expect("url has a database");
        out.push((
            DatabaseTarget::Postgres(format!("{base}/{name}")),
            Some((admin_url, name)),
        ));
    }
    let mut dbs = Vec::new();
    for (target, pg) in out {
        let db = Db::connect(&target).await.unwrap();
        db.migrate().await.unwrap();
        dbs.push(TestDb {
            db,
            pg,
            _dir: tempfile::tempdir().unwrap(),
        });
    }
    // The SQLite file lives in `dir`: keep it with the first.
    dbs[0]._dir = dir;
    dbs
}

impl TestDb {
    async fn done(self) {
        self.db.pool.close().await;
        if let Some((url, name)) = self.pg {
            admin(
                &url,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .await;
        }
    }

    /// A user holding `gmo`, granted through the ledger so that `ledger_check` holds.
    async fn user(&self, gmo: i64) -> Uuid {
        let id = Uuid::new_v4();
        let name = format!("u{}", id.simple());
        sqlx::query(
            "INSERT INTO users (id, username, username_lower, email, email_lower, password_hash, \
             gmo_balance, created_at, updated_at) VALUES ($1, $2, $2, $3, $3, 'x', 0, 0, 0)",
        )
        .bind(id.to_string())
        .bind(&name)
        .bind(format!("{name}@t"))
        .execute(&self.db.pool)
        .await
        .unwrap();
        if gmo > 0 {
            let grant = move_gmo(
                Account::System(SystemAccount::Issuance),
                Account::User(id),
                gmo,
            );
            assert_eq!(
                write_units(&self.db, &[&grant]).await.unwrap(),
                vec![Ok(())]
            );
        }
        id
    }

    async fn gmo(&self, user: Uuid) -> i64 {
        sqlx::query_scalar("SELECT gmo_balance FROM users WHERE id = $1")
            .bind(user.to_string())
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }

    async fn ledger_ok(&self) {
        let report = self.db.ledger_check().await.unwrap();
        assert!(report.is_ok(), "{report:?}");
    }

    async fn settle(&self, b: &NewRobotBattle, result: Winner) -> Vec<WriteOp> {
        let f = Finished {
            id: b.id,
            mode: b.mode.clone(),
            season: b.season,
            users: (b.p1.user, b.p2.user),
            algorithms: (None, None),
            wager: b.wager,
            result,
            total_ticks: 30,
            log_hash: "h".into(),
        };
        self.db.settlement(&f).await.unwrap().0
    }
}

fn move_gmo(from: Account, to: Account, amount: i64) -> Vec<WriteOp> {
    let t = Transfer {
        kind: TransferKind::Deposit,
        currency: Currency::Gmo,
        amount,
        from,
        to,
        reference: None,
    };
    ledger::transfer_ops(&t, 0)
}

fn battle(p1: Uuid, p2: Uuid, wager: i64) -> NewRobotBattle {
    let robot = crate::sim::catalog::robot("volt-striker-mk1").expect("catalog robot");
    let fighter = || Fighter::new(robot, crate::sim::ai::default_tree());
    let side = |user| SideRecord {
        user,
        algorithm: None,
        snapshot: json!({ "id": user }),
    };
    NewRobotBattle {
        id: Uuid::new_v4(),
        mode: "RANKED".into(),
        season: 1,
        p1: side(p1),
        p2: side(p2),
        inputs: BattleInputs {
            seed: 7,
            biome: crate::sim::catalog::Biome::ALL[0],
            max_ticks: DEFAULT_MAX_TICKS,
            p1: fighter(),
            p2: fighter(),
        },
        wager,
    }
}

fn refused(who: &str) -> Result<(), WriteError> {
    Err(WriteError::Refused(who.to_string()))
}

fn audit(target: &str) -> WriteOp {
    WriteOp::Insert {
        table: "audit_log",
        columns: &["id", "at", "actor_id", "action", "target", "ip", "details"],
        values: vec![
            SqlValue::Text(Uuid::new_v4().to_string()),
            SqlValue::I64(0),
            SqlValue::Null,
            "test.unit".into(),
            target.into(),
            SqlValue::Null,
            "{}".into(),
        ],
    }
}

fn guard(holds: bool) -> WriteOp {
    WriteOp::Guard {
        sql: "UPDATE system_accounts SET balance = balance WHERE id = $1 AND currency = 'GMO'",
        args: vec![if holds { "system:escrow" } else { "nobody" }.into()],
        refusal: format!("holds={holds}"),
    }
}

#[tokio::test]
async fn a_refused_unit_rolls_back_alone_and_the_batch_commits() {
    for t in backends().await {
        let db = &t.db;
        let refused_unit = [audit("a"), guard(false)];
        let plain = [audit("b")];
        let kept = [audit("c"), guard(true)];
        let out = write_units(db, &[&refused_unit, &plain, &kept])
            .await
            .unwrap();
        assert_eq!(out, vec![refused("holds=false"), Ok(()), Ok(())]);
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT target FROM audit_log WHERE action = 'test.unit' ORDER BY target",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap();
        assert_eq!(rows, vec![("b".to_string(),), ("c".to_string(),)]);
        // All guards holding: one optimistic pass, everything written.
        let (kept, plain) = ([audit("d"), guard(true)], [audit("e")]);
        let out = write_units(db, &[&kept, &plain]).await.unwrap();
        assert_eq!(out, vec![Ok(()), Ok(())]);
        t.done().await;
    }
}

#[tokio::test]
async fn a_poor_player_refuses_only_their_battle_in_a_merged_batch() {
    for t in backends().await {
        let (a, b, c, d) = (
            t.user(100).await,
            t.user(100).await,
            t.user(5).await,
            t.user(100).await,
        );
        let ok1 = create_ops(&battle(a, b, 50), 0);
        let poor = create_ops(&battle(c, d, 50), 0);
        let ok2 = create_ops(&battle(b, a, 50), 0);
        assert!([&ok1, &poor, &ok2].iter().all(|u| merge::mergeable(u)));
        let out = write_units(&t.db, &[&ok1, &poor, &ok2]).await.unwrap();
        let c_name = Account::User(c).name();
        assert_eq!(out, vec![Ok(()), refused(&c_name), Ok(())]);
        assert_eq!((t.gmo(a).await, t.gmo(b).await), (0, 0));
        // Nothing of the refused unit: d keeps its money, no battle row for it.
        assert_eq!((t.gmo(c).await, t.gmo(d).await), (5, 100));
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM robot_battles")
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
        assert_eq!(n, 2);
        t.ledger_ok().await;
        t.done().await;
    }
}

#[tokio::test]
async fn refused_units_among_many_are_found_and_the_rest_commit() {
    for t in backends().await {
        let (n, w) = (21, 50);
        // One opponent in every battle: its balance is summed over the whole batch.
        let shared = t.user(w * n as i64).await;
        let mut players = Vec::new();
        for i in 0..n {
            players.push(t.user(if i == 5 || i == 13 { 10 } else { 100 }).await);
        }
        let units: Vec<Vec<WriteOp>> = players
            .iter()
            .map(|p| create_ops(&battle(*p, shared, w), 0))
            .collect();
        let refs: Vec<&[WriteOp]> = units.iter().map(Vec::as_slice).collect();
        let out = write_units(&t.db, &refs).await.unwrap();
        for (i, r) in out.iter().enumerate() {
            if i == 5 || i == 13 {
                assert_eq!(*r, refused(&Account::User(players[i]).name()), "unit {i}");
            } else {
                assert_eq!(*r, Ok(()), "unit {i}");
            }
        }
        assert_eq!(t.gmo(shared).await, 2 * w);
        assert_eq!(
            (t.gmo(players[5]).await, t.gmo(players[6]).await),
            (10, 100 - w)
        );
        t.ledger_ok().await;
        t.done().await;
    }
}

#[tokio::test]
async fn one_user_settled_and_escrowed_again_in_one_batch() {
    for t in backends().await {
        let w = 100;
        let (a, b, c) = (t.user(w).await, t.user(w).await, t.user(w).await);
        let first = battle(a, b, w);
        let created = create_ops(&first, 0);
        assert_eq!(write_units(&t.db, &[&created]).await.unwrap(), vec![Ok(())]);
        assert_eq!(t.gmo(a).await, 0);
        // a wins, and its next battle's escrow rides the same commit: it is covered by the
        // payout written before it in the batch.
        let settle = t.settle(&first, Winner::P1).await;
        let next = create_ops(&battle(a, c, w), 0);
        let plan = merge::plan(&[&settle, &next]).unwrap();
        assert!(plan.is_some(), "mergeable");
        let out = write_units(&t.db, &[&settle, &next]).await.unwrap();
        assert_eq!(out, vec![Ok(()), Ok(())]);
        let won = payout(w, Winner::P1).to_p1;
        assert_eq!(t.gmo(a).await, won - w);
        assert_eq!((t.gmo(b).await, t.gmo(c).await), (0, 0));
        let xp: i64 = sqlx::query_scalar("SELECT xp FROM users WHERE id = $1")
            .bind(a.to_string())
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
        assert_eq!(xp, XP_WIN);
        t.ledger_ok().await;
        t.done().await;
    }
}

#[tokio::test]
async fn an_escrow_written_before_the_payout_that_would_cover_it_is_refused() {
    for t in backends().await {
        let w = 100;
        let (a, b, c) = (t.user(w).await, t.user(w).await, t.user(w).await);
        let first = battle(a, b, w);
        let created = create_ops(&first, 0);
        assert_eq!(write_units(&t.db, &[&created]).await.unwrap(), vec![Ok(())]);
        // Same two units, other order: in batch order a has 0 when the escrow comes.
        let next = create_ops(&battle(a, c, w), 0);
        let settle = t.settle(&first, Winner::P1).await;
        let out = write_units(&t.db, &[&next, &settle]).await.unwrap();
        assert_eq!(out, vec![refused(&Account::User(a).name()), Ok(())]);
        assert_eq!(t.gmo(a).await, payout(w, Winner::P1).to_p1);
        assert_eq!(t.gmo(c).await, w);
        t.ledger_ok().await;
        t.done().await;
    }
}

#[tokio::test]
async fn balances_follow_batch_order_not_the_net_sum() {
    for t in backends().await {
        let a = t.user(10).await;
        let (escrow, issuance) = (
            Account::System(SystemAccount::Escrow),
            Account::System(SystemAccount::Issuance),
        );
        let spend = move_gmo(Account::User(a), escrow, 10);
        let spend_again = move_gmo(Account::User(a), escrow, 10);
        let credit = move_gmo(issuance, Account::User(a), 10);
        // Summed, a ends at 0, and the order credit-first would let all three pass; written
        // in batch order the second debit finds 0 and is refused.
        let units: [&[WriteOp]; 3] = [&spend, &spend_again, &credit];
        let out = write_units(&t.db, &units).await.unwrap();
        assert_eq!(out, vec![Ok(()), refused(&Account::User(a).name()), Ok(())]);
        assert_eq!(t.gmo(a).await, 10);
        // Credit first: all pass, in one set-based pass.
        let credit = move_gmo(issuance, Account::User(a), 10);
        let spend = move_gmo(Account::User(a), escrow, 10);
        let spend_again = move_gmo(Account::User(a), escrow, 10);
        let units: [&[WriteOp]; 3] = [&credit, &spend, &spend_again];
        let mut tx = t.db.pool.begin().await.unwrap();
        assert!(merge::write_merged(&mut tx, &units).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(t.gmo(a).await, 0);
        t.ledger_ok().await;
        t.done().await;
    }
}

#[tokio::test]
async fn a_battle_settled_twice_in_one_batch_pays_once() {
    for t in backends().await {
        let (a, b) = (t.user(100).await, t.user(100).await);
        let bt = battle(a, b, 100);
        let created = create_ops(&bt, 0);
        assert_eq!(write_units(&t.db, &[&created]).await.unwrap(), vec![Ok(())]);
        let (s1, s2) = (
            t.settle(&bt, Winner::P2).await,
            t.settle(&bt, Winner::P1).await,
        );
        let out = write_units(&t.db, &[&s1, &s2]).await.unwrap();
        assert_eq!(out, vec![Ok(()), refused(ALREADY_SETTLED)]);
        assert_eq!(
            (t.gmo(a).await, t.gmo(b).await),
            (0, payout(100, Winner::P2).to_p2)
        );
        t.ledger_ok().await;
        t.done().await;
    }
}

#[tokio::test]
async fn hundreds_of_battles_turn_over_in_a_few_batches() {
    for t in backends().await {
        let mut users = Vec::new();
        for _ in 0..60 {
            users.push(t.user(1_000).await);
        }
        // 150 battles among 60 users: each user in several units of every batch.
        let battles: Vec<NewRobotBattle> = (0..150)
            .map(|i| battle(users[i % 60], users[(i * 7 + 1) % 60], 10))
            .collect();
        let created: Vec<Vec<WriteOp>> = battles.iter().map(|b| create_ops(b, 0)).collect();
        let units: Vec<&[WriteOp]> = created.iter().map(Vec::as_slice).collect();
        let out = write_units(&t.db, &units).await.unwrap();
        assert!(out.iter().all(Result::is_ok), "{out:?}");
        let mut settled = Vec::new();
        for (i, b) in battles.iter().enumerate() {
            let result = [Winner::P1, Winner::P2, Winner::Draw][i % 3];
            settled.push(t.settle(b, result).await);
        }
        let units: Vec<&[WriteOp]> = settled.iter().map(Vec::as_slice).collect();
        let out = write_units(&t.db, &units).await.unwrap();
        assert!(out.iter().all(Result::is_ok), "{out:?}");
        let games: i64 =
            sqlx::query_scalar("SELECT CAST(SUM(wins + losses + draws) AS BIGINT) FROM ratings")
                .fetch_one(&t.db.pool)
                .await
                .unwrap();
        assert_eq!(games, 300);
        let done: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM robot_battles WHERE status = 'COMPLETED'")
                .fetch_one(&t.db.pool)
                .await
                .unwrap();
        assert_eq!(done, 150);
        let escrow: i64 = sqlx::query_scalar(
            "SELECT balance FROM system_accounts WHERE id = 'system:escrow' AND currency = 'GMO'",
        )
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
        assert_eq!(escrow, 0);
        t.ledger_ok().await;
        t.done().await;
    }
}

#[test]
fn two_shapes_on_one_row_are_not_merged_and_one_shape_keeps_order_in_layers() {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let bt = battle(a, b, 0);
    let created = create_ops(&bt, 0);
    // The battle row inserted and updated in one run: order matters, so op by op.
    static TOUCH: super::Shape = super::Shape {
        table: "robot_battles",
        columns: &[("id", "TEXT")],
        key: 1,
        sql: "UPDATE robot_battles SET current_tick = 0 FROM v WHERE robot_battles.id = v.id",
        refusal: None,
    };
    let settle = vec![WriteOp::Row {
        shape: &TOUCH,
        values: vec![SqlValue::Text(bt.id.to_string())],
    }];
    assert!(merge::plan(&[&created, &settle]).unwrap().is_none());
    // Two transfers of one user: one balance sum; two rows of one shape: one layer.
    let t1 = move_gmo(Account::User(a), Account::User(b), 1);
    let t2 = move_gmo(Account::User(a), Account::User(b), 1);
    assert!(merge::plan(&[&t1, &t2]).unwrap().is_some());
}

#[test]
fn multi_row_insert_numbers_placeholders() {
    assert_eq!(
        insert_sql("t", &["a", "b"], 2),
        "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
    );
}
