//! `POST /v1/battles`: the body parsed into a [`BattleDraft`] (pure checks, `TryFrom`), then
//! one call that checks the references against the store and creates the battle.

use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::{AuthUser, Role};
use crate::domain::tracker::{NewBattle, TrackerBattle};
use crate::http::{errors::V1Error, AppState};
use crate::store::{audit::audit_op, now_ms, tracker};

#[derive(Debug, Deserialize)]
struct PlayerReq {
    user_id: Uuid,
    army_id: Uuid,
    #[serde(default)]
    position: Option<String>,
}

/// The request body, as the client sent it.
#[derive(Debug, Deserialize)]
pub(crate) struct CreateReq {
    #[serde(default)]
    tournament_id: Option<Uuid>,
    #[serde(default)]
    battle_type: Option<String>,
    #[serde(default)]
    mission: Option<Value>,
    players: Vec<PlayerReq>,
    #[serde(default)]
    max_rounds: Option<u32>,
    #[serde(default)]
    turn_time_limit: Option<u32>,
    /// `"10th"` (default) or `"full"`: which phase list the battle uses.
    #[serde(default)]
    phases: Option<String>,
    #[serde(default)]
    auto_end_turn_on_timeout: Option<bool>,
    /// Clock mode (extension): absent or `{"mode":"turn"}` is the spec's per-turn limit;
    /// `{"mode":"chess","bank_s":N}` gives each player an N-second bank for the whole battle.
    #[serde(default)]
    clock: Option<ClockReq>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockReq {
    mode: String,
    #[serde(default)]
    bank_s: Option<u32>,
}

/// A battle request that passed every check needing no database.
#[derive(Debug)]
pub(crate) struct BattleDraft {
    battle: NewBattle,
    /// Chess-clock bank in seconds, when the battle uses one.
    bank_s: Option<u32>,
}

/// Validates the `clock` object: `None` for turn mode, the bank in seconds for chess mode.
fn chess_bank(clock: Option<&ClockReq>) -> Result<Option<u32>, V1Error> {
    match clock {
        None => Ok(None),
        Some(c) if c.mode == "turn" && c.bank_s.is_none() => Ok(None),
        Some(c) if c.mode == "turn" => Err(V1Error::field("clock", "bank_s is for chess mode")),
        Some(c) if c.mode == "chess" => match c.bank_s {
            Some(b) if (1..=86_400).contains(&b) => Ok(Some(b)),
            _ => Err(V1Error::field(
                "clock",
                "chess mode needs bank_s between 1 and 86400 seconds",
            )),
        },
        Some(_) => Err(V1Error::field(
            "clock",
            "mode must be \"turn\" or \"chess\"",
        )),
    }
}

impl TryFrom<CreateReq> for BattleDraft {
    type Error = V1Error;

    fn try_from(b: CreateReq) -> Result<Self, V1Error> {
        let [p1, p2]: [PlayerReq; 2] = b
            .players
            .try_into()
            .map_err(|_| V1Error::field("players", "exactly two players"))?;
        if p1.user_id == p2.user_id {
            return Err(V1Error::field("players", "two different players"));
        }
        let battle_type = b.battle_type.unwrap_or_else(|| "matched_play".into());
        if !["matched_play", "crusade", "narrative"].contains(&battle_type.as_str()) {
            return Err(V1Error::field(
                "battle_type",
                "matched_play, crusade or narrative",
            ));
        }
        let max_rounds = b.max_rounds.unwrap_or(5);
        if !(1..=10).contains(&max_rounds) {
            return Err(V1Error::field("max_rounds", "between 1 and 10"));
        }
        let turn_time_limit = b.turn_time_limit.unwrap_or(1800);
        if !(10..=14_400).contains(&turn_time_limit) {
            return Err(V1Error::field(
                "turn_time_limit",
                "between 10 and 14400 seconds",
            ));
        }
        let tenth_edition = match b.phases.as_deref() {
            None | Some("10th") => true,
            Some("full") => false,
            Some(_) => return Err(V1Error::field("phases", "\"10th\" or \"full\"")),
        };
        let bank_s = chess_bank(b.clock.as_ref())?;
        let side = |i: usize, p: PlayerReq| -> Result<(Uuid, Uuid, String), V1Error> {
            let pos = p
                .position
                .unwrap_or_else(|| if i == 0 { "left" } else { "right" }.into());
            if pos != "left" && pos != "right" {
                return Err(V1Error::field(
                    "players",
                    format!("player {i}: position must be left or right"),
                ));
            }
            Ok((p.user_id, p.army_id, pos))
        };
        let players = [side(0, p1)?, side(1, p2)?];
        let mut mission = b.mission.unwrap_or_else(|| json!({}));
        if !mission.is_object() || mission.to_string().len() > 8192 {
            return Err(V1Error::field("mission", "an object of at most 8 KiB"));
        }
        if let Some(m) = mission.as_object_mut() {
            crate::domain::factions::fill_objectives(m);
        }
        Ok(BattleDraft {
            battle: NewBattle {
                tournament_id: b.tournament_id,
                battle_type,
                mission,
                players,
                max_rounds,
                turn_time_limit,
                tenth_edition,
                auto_end_turn_on_timeout: b.auto_end_turn_on_timeout.unwrap_or(false),
            },
            bank_s,
        })
    }
}

/// Checks who may create it and what it names (users, their own armies, the tournament), then
/// stores the battle in `setup` and audits its creation.
pub(crate) async fn create_battle(
    state: &AppState,
    me: AuthUser,
    draft: BattleDraft,
) -> Result<TrackerBattle, V1Error> {
    let new = draft.battle;
    let in_battle = new.players.iter().any(|p| p.0 == me.id);
    if !in_battle && me.role < Role::Organizer {
        return Err(V1Error::Forbidden(
            "only a player of the battle, an organizer or an admin may create it".into(),
        ));
    }
    for (i, (user, army, _)) in new.players.iter().enumerate() {
        if state.db.user_by_id(*user).await?.is_none() {
            return Err(V1Error::field(
                "players",
                format!("player {i}: unknown user"),
            ));
        }
        let army = state
            .db
            .army(*army)
            .await?
            .ok_or_else(|| V1Error::field("players", format!("player {i}: unknown army")))?;
        if army.owner_id != *user {
            return Err(V1Error::field(
                "players",
                format!("player {i}: army does not belong to this player"),
            ));
        }
    }
    if let Some(t) = new.tournament_id {
        if state.db.tournament(t).await?.is_none() {
            return Err(V1Error::field("tournament_id", "unknown tournament"));
        }
    }
    let mut battle = TrackerBattle::new(Uuid::new_v4(), new, now_ms());
    if let Some(bank_s) = draft.bank_s {
        battle = battle.with_chess_clock(bank_s);
    }
    tracker::insert_battle(&state.db, &battle).await?;
    let op = audit_op(
        Some(me.id),
        "battle.create",
        Some(&battle.id.to_string()),
        None,
        &json!({ "players": battle.players.iter().map(|p| p.user_id).collect::<Vec<_>>(),
                 "tournament_id": battle.tournament_id }),
    );
    crate::http::audit::record(state, op).await;
    Ok(battle)
}
