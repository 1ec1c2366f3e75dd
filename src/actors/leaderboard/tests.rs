//! The actor's message API against a real (SQLite) database, with the emitter captured: what
//! battle settlement will rely on.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use uuid::Uuid;

use super::*;
use crate::store::users::NewUser;
use crate::store::DatabaseTarget;

async fn db(dir: &std::path::Path) -> Db {
    let url = format!("sqlite://{}?mode=rwc", dir.join("lb.db").display());
    let db = Db::connect(&DatabaseTarget::Sqlite(url)).await.unwrap();
    db.migrate().await.unwrap();
    db.seed_robots().await.unwrap();
    db
}

async fn user(db: &Db, name: &str) -> Uuid {
    let u = db
        .create_user(NewUser {
            username: name,
            email: &format!("{name}@example.com"),
            password_hash: "x",
            display_name: None,
        })
        .await
        .unwrap();
    u.id
}

fn update(user: Uuid, season: i64, rating: f64) -> Update {
    Update {
        season,
        mode: Mode::Ranked,
        user_id: user,
        username: format!("u-{}", &user.to_string()[..4]),
        avatar_url: None,
        level: 2,
        rating,
        wins: 1,
        losses: 0,
        favorite_element: Some("VOLT".into()),
    }
}

fn ranks(v: &Value) -> Vec<(u64, String)> {
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rank"].as_u64().unwrap(),
                r["user_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn update_page_around_rank_and_refresh() {
    let dir = tempfile::tempdir().unwrap();
    actix_rt::System::new().block_on(async move {
        let db = db(dir.path()).await;
        let (a, b, c) = (user(&db, "ann").await, user(&db, "ben").await, user(&db, "cat").await);
        let sent: Arc<Mutex<Vec<Value>>> = Arc::default();
        let sink = sent.clone();
        let emit: Emitter = Arc::new(move |v| sink.lock().unwrap().push(v));
        let boards = load(&db, 1).await.unwrap();
        let lb = Leaderboard::new(db.clone(), 1, boards, emit).start();
        let take = || std::mem::take(&mut *sent.lock().unwrap());

        lb.send(update(a, 1, 1600.0)).await.unwrap();
        let d = take();
        assert_eq!(d.len(), 1);
        assert_eq!((d[0]["season"].as_i64(), d[0]["mode"].as_str(), d[0]["total"].as_u64()), (Some(1), Some("RANKED"), Some(1)));
        assert_eq!(ranks(&d[0]), vec![(1, a.to_string())]);

        // Another season's update is ignored; an unchanged one emits nothing.
        lb.send(update(b, 2, 1700.0)).await.unwrap();
        lb.send(update(a, 1, 1600.0)).await.unwrap();
        assert!(take().is_empty());

        // Ben enters below Ann: one new row. Then he overtakes: both rows change.
        lb.send(update(b, 1, 1500.0)).await.unwrap();
        assert_eq!(ranks(&take()[0]), vec![(2, b.to_string())]);
        lb.send(update(b, 1, 1650.0)).await.unwrap();
        assert_eq!(ranks(&take()[0]), vec![(1, b.to_string()), (2, a.to_string())]);

        let page = lb
            .send(Page { season: 1, mode: Mode::Ranked, element: Some("VOLT".into()), limit: 1, offset: 1 })
            .await
            .unwrap()
            .unwrap();
        assert_eq!((page.total, page.data[0].user_id, page.data[0].rank), (2, a, 2));
        let past = Page { season: 2, mode: Mode::Ranked, element: None, limit: 5, offset: 0 };
        assert!(lb.send(past).await.unwrap().is_none(), "past seasons are served by SQL");
        let around = lb
            .send(Around { season: 1, mode: Mode::Ranked, user_id: a, radius: 5 })
            .await
            .unwrap()
            .unwrap();
        assert_eq!((around.rank, around.data.len()), (Some(2), 2));
        let none = lb
            .send(Around { season: 1, mode: Mode::Casual, user_id: a, radius: 5 })
            .await
            .unwrap()
            .unwrap();
        assert_eq!((none.rank, none.data.len()), (None, 0));
        assert_eq!(lb.send(RankOf { season: 1, mode: Mode::Ranked, user_id: b }).await.unwrap(), Some(1));

        lb.send(ProfileChanged { user_id: a, username: "annie".into(), avatar_url: None }).await.unwrap();
        assert_eq!(take()[0]["entries"][0]["username"], "annie");

        // Settlement path: rows committed, then `update_from_db` builds the message.
        assert!(update_from_db(&db, c, 1, Mode::Ranked).await.unwrap().is_none());
        sqlx::query(
            "INSERT INTO ratings (user_id, season, mode, rating, deviation, volatility, peak_rating, \
             wins, losses, draws, updated_at) VALUES ($1, 1, 'RANKED', 1800.0, 80.0, 0.06, 1800.0, 4, 1, 0, 5)",
        )
        .bind(c.to_string())
        .execute(&db.pool)
        .await
        .unwrap();
        let u = update_from_db(&db, c, 1, Mode::Ranked).await.unwrap().unwrap();
        assert_eq!((u.username.as_str(), u.wins, u.losses, u.rating), ("cat", 4, 1, 1800.0));
        lb.send(u).await.unwrap();
        assert_eq!(
            ranks(&take()[0]),
            vec![(1, c.to_string()), (2, b.to_string()), (3, a.to_string())]
        );

        // A rebuild keeps only what the database holds (Ann and Ben were in memory only): the
        // delta says so through `total`.
        assert_eq!(lb.send(Refresh).await.unwrap(), Ok(1));
        let d = take();
        assert_eq!((d.len(), d[0]["total"].as_u64()), (1, Some(1)));
        assert!(d[0]["entries"].as_array().unwrap().is_empty());
        assert_eq!(lb.send(RankOf { season: 1, mode: Mode::Ranked, user_id: a }).await.unwrap(), None);

        // A ban takes the player off: the room hears the board shrank.
        lb.send(Remove { user_id: c }).await.unwrap();
        let d = take();
        assert_eq!((d.len(), d[0]["total"].as_u64()), (1, Some(0)));
        let rank = RankOf { season: 1, mode: Mode::Ranked, user_id: c };
        assert_eq!(lb.send(rank).await.unwrap(), None);
    });
}
