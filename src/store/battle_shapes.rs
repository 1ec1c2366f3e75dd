//! The keyed statements of battle creation and settlement (see `store::batch::Shape`): the
//! Persister writes each as one statement for a whole batch of battles. Their rows are built
//! in `robot_battles`.

use super::batch::Shape;
use super::robot_battles::ALREADY_SETTLED;

/// A new battle, in COUNTDOWN.
pub(super) static BATTLE_ROW: Shape = Shape {
    table: "robot_battles",
    columns: &[
        ("id", "TEXT"),
        ("mode", "TEXT"),
        ("biome", "TEXT"),
        ("season", "BIGINT"),
        ("p1_id", "TEXT"),
        ("p2_id", "TEXT"),
        ("p1_snapshot", "TEXT"),
        ("p2_snapshot", "TEXT"),
        ("p1_algorithm_id", "TEXT"),
        ("p2_algorithm_id", "TEXT"),
        ("inputs", "TEXT"),
        ("engine_version", "BIGINT"),
        ("lcg_seed", "BIGINT"),
        ("gmo_wager", "BIGINT"),
        ("created_at", "BIGINT"),
    ],
    key: 1,
    sql: "INSERT INTO robot_battles (id, mode, status, biome, season, p1_id, p2_id, \
          p1_snapshot, p2_snapshot, p1_algorithm_id, p2_algorithm_id, inputs, \
          engine_version, lcg_seed, gmo_wager, created_at) SELECT id, mode, 'COUNTDOWN', \
          biome, season, p1_id, p2_id, p1_snapshot, p2_snapshot, p1_algorithm_id, \
          p2_algorithm_id, inputs, engine_version, lcg_seed, gmo_wager, created_at \
          FROM v WHERE id IS NOT NULL",
    refusal: None,
};

/// The settled battle row, guarded on its status so a battle is settled exactly once.
pub(super) static SETTLE_ROW: Shape = Shape {
    table: "robot_battles",
    columns: &[
        ("id", "TEXT"),
        ("winner", "TEXT"),
        ("draw", "BIGINT"),
        ("ticks", "BIGINT"),
        ("hash", "TEXT"),
        ("gain", "BIGINT"),
        ("done_at", "BIGINT"),
        ("outcome", "TEXT"),
    ],
    key: 1,
    sql: "UPDATE robot_battles SET status = 'COMPLETED', winner_id = v.winner, \
          is_draw = v.draw, total_ticks = v.ticks, current_tick = v.ticks, log_hash = v.hash, \
          gmo_winner_gain = v.gain, completed_at = v.done_at, result = v.outcome FROM v \
          WHERE robot_battles.id = v.id AND robot_battles.status IN ('COUNTDOWN', 'IN_PROGRESS')",
    refusal: Some(ALREADY_SETTLED),
};

/// xp gained and the level it gives (`level_for` in SQL: 1 + xp / XP_PER_LEVEL).
pub(super) static XP_ROW: Shape = Shape {
    table: "users",
    columns: &[
        ("id", "TEXT"),
        ("gained", "BIGINT"),
        ("per_level", "BIGINT"),
        ("stamp", "BIGINT"),
    ],
    key: 1,
    sql: "UPDATE users SET xp = users.xp + v.gained, \
          level = 1 + (users.xp + v.gained) / v.per_level, updated_at = v.stamp FROM v \
          WHERE users.id = v.id",
    refusal: None,
};

/// One more use (and maybe win) of an algorithm.
pub(super) static ALGORITHM_ROW: Shape = Shape {
    table: "algorithms",
    columns: &[("id", "TEXT"), ("won", "BIGINT")],
    key: 1,
    sql: "UPDATE algorithms SET times_used = algorithms.times_used + 1, \
          wins = algorithms.wins + v.won FROM v WHERE algorithms.id = v.id",
    refusal: None,
};

/// A rating with one more win, loss or draw, upserted. (`WHERE` skips padding rows, and tells
/// SQLite that `ON CONFLICT` is the upsert, not a join constraint.)
pub(super) static RATING_ROW: Shape = Shape {
    table: "ratings",
    columns: &[
        ("user_id", "TEXT"),
        ("season", "BIGINT"),
        ("mode", "TEXT"),
        ("rating", "DOUBLE PRECISION"),
        ("deviation", "DOUBLE PRECISION"),
        ("volatility", "DOUBLE PRECISION"),
        ("wins", "BIGINT"),
        ("losses", "BIGINT"),
        ("draws", "BIGINT"),
        ("updated_at", "BIGINT"),
    ],
    key: 3,
    sql: "INSERT INTO ratings (user_id, season, mode, rating, deviation, volatility, \
          peak_rating, wins, losses, draws, updated_at) SELECT user_id, season, mode, rating, \
          deviation, volatility, rating, wins, losses, draws, updated_at FROM v \
          WHERE user_id IS NOT NULL \
          ON CONFLICT (user_id, season, mode) DO UPDATE SET rating = excluded.rating, \
          deviation = excluded.deviation, volatility = excluded.volatility, \
          peak_rating = CASE WHEN excluded.rating > ratings.peak_rating \
          THEN excluded.rating ELSE ratings.peak_rating END, \
          wins = ratings.wins + excluded.wins, losses = ratings.losses + excluded.losses, \
          draws = ratings.draws + excluded.draws, updated_at = excluded.updated_at",
    refusal: None,
};

/// A battle's start instant (the one thing a resume needs besides its inputs), from COUNTDOWN
/// only: a battle already settled or started keeps its row.
pub(super) static STARTED_ROW: Shape = Shape {
    table: "robot_battles",
    columns: &[("id", "TEXT"), ("at", "BIGINT")],
    key: 1,
    sql: "UPDATE robot_battles SET status = 'IN_PROGRESS', started_at = v.at FROM v \
          WHERE robot_battles.id = v.id AND robot_battles.status = 'COUNTDOWN'",
    refusal: None,
};
