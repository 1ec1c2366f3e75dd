//! Consent to a result (DESIGN.md, "Consent").
//!
//! One device may run a battle for both players, so anyone allowed to change a battle may
//! complete it. What a result *counts for* depends on who agreed to it:
//! - a casual battle's result counts in a named player's record only once that player has
//!   confirmed it (the player who completes it confirms by doing so);
//! - a tournament battle's result counts at once for pairing and standings; the opponent of
//!   the player who entered it may dispute it until the next round is paired, and the
//!   organizer resolves the dispute with the final result.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{invalid, Complete, ScoresPatch, Status, TrackerBattle, TrackerError, TrackerEvent};

/// The PATCH actions about a completed result (the server checks who may send each).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConsentAction {
    /// A player agrees to the result.
    ConfirmResult,
    /// A tournament player objects to the result their opponent entered.
    DisputeResult {
        /// Why.
        #[serde(default)]
        reason: Option<String>,
    },
    /// The organizer settles a dispute.
    ResolveDispute {
        /// Winner; computed from VP when absent.
        #[serde(default)]
        winner_id: Option<Uuid>,
        /// Final score patches by user id.
        #[serde(default)]
        final_scores: BTreeMap<Uuid, ScoresPatch>,
    },
}

impl ConsentAction {
    /// Whether `action` (a PATCH body's `action`) names one of these.
    pub fn names(action: &str) -> bool {
        matches!(
            action,
            "confirm_result" | "dispute_result" | "resolve_dispute"
        )
    }
}

/// Longest dispute reason kept.
pub(crate) const MAX_REASON: usize = 500;

/// Who agreed to the battle's result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    /// The player who entered the result (`None` when the organizer or an admin did).
    #[serde(default)]
    pub(crate) entered_by: Option<Uuid>,
    /// Players who confirmed it.
    #[serde(default)]
    pub confirmed_by: Vec<Uuid>,
    /// An open dispute (tournament battles).
    #[serde(default)]
    pub dispute: Option<Dispute>,
    /// Who resolved the last dispute.
    #[serde(default)]
    pub(crate) resolved_by: Option<Uuid>,
}

/// A player's objection to a tournament result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispute {
    /// The disputing player.
    pub by: Uuid,
    /// Why (bounded).
    pub reason: String,
    /// Unix ms.
    pub at: i64,
}

impl TrackerBattle {
    /// Records who entered the result just completed: a player confirms their own entry.
    pub(crate) fn result_entered(&mut self, actor: Option<Uuid>) {
        let player = actor.filter(|a| self.players.iter().any(|p| p.user_id == *a));
        self.consent = Consent {
            entered_by: player,
            confirmed_by: player.into_iter().collect(),
            dispute: None,
            resolved_by: None,
        };
    }

    /// Whether the result counts in player `i`'s record.
    pub(crate) fn counts_for(&self, i: usize) -> bool {
        self.status == Status::Completed
            && (self.tournament_id.is_some()
                || self.consent.confirmed_by.contains(&self.players[i].user_id))
    }

    /// Players whose confirmation the result still needs (none for tournament battles).
    pub fn awaiting_confirmation(&self) -> Vec<Uuid> {
        if self.status != Status::Completed || self.tournament_id.is_some() {
            return Vec::new();
        }
        self.players
            .iter()
            .map(|p| p.user_id)
            .filter(|u| !self.consent.confirmed_by.contains(u))
            .collect()
    }

    /// A player confirms the completed result. Confirming twice changes nothing.
    pub fn confirm_result(
        &mut self,
        player: Uuid,
        now_ms: i64,
    ) -> Result<Vec<TrackerEvent>, TrackerError> {
        self.require(self.status == Status::Completed, "confirm the result")?;
        self.player_index(player)
            .map_err(|_| invalid("player_id", "only a player of the battle may confirm it"))?;
        if self
            .consent
            .dispute
            .as_ref()
            .is_some_and(|d| d.by == player)
        {
            return Err(TrackerError::InvalidState(
                "you disputed this result; the organizer resolves it".into(),
            ));
        }
        if !self.consent.confirmed_by.contains(&player) {
            self.consent.confirmed_by.push(player);
        }
        self.updated_at = now_ms;
        Ok(vec![TrackerEvent::ResultConfirmed {
            player_id: player,
            result_confirmed: self.awaiting_confirmation().is_empty(),
            timestamp: now_ms,
        }])
    }

    /// The opponent of the player who entered a tournament result disputes it. `locked`: the
    /// next round is already paired, so the result stands.
    pub fn dispute_result(
        &mut self,
        player: Uuid,
        reason: Option<String>,
        locked: bool,
        now_ms: i64,
    ) -> Result<Vec<TrackerEvent>, TrackerError> {
        self.require(self.status == Status::Completed, "dispute the result")?;
        if self.tournament_id.is_none() {
            return Err(TrackerError::InvalidState(
                "a casual result counts only once you confirm it: leave it unconfirmed instead"
                    .into(),
            ));
        }
        self.player_index(player)
            .map_err(|_| invalid("player_id", "only a player of the battle may dispute it"))?;
        if self.consent.entered_by == Some(player) {
            return Err(TrackerError::InvalidState(
                "you entered this result; only your opponent may dispute it".into(),
            ));
        }
        if locked {
            return Err(TrackerError::InvalidState(
                "the next round is already paired: the result stands".into(),
            ));
        }
        if self.consent.dispute.is_some() {
            return Err(TrackerError::InvalidState(
                "the result is already disputed".into(),
            ));
        }
        let reason: String = reason
            .unwrap_or_default()
            .trim()
            .chars()
            .take(MAX_REASON)
            .collect();
        self.consent.confirmed_by.retain(|u| *u != player);
        self.consent.dispute = Some(Dispute {
            by: player,
            reason: reason.clone(),
            at: now_ms,
        });
        self.updated_at = now_ms;
        Ok(vec![TrackerEvent::ResultDisputed {
            player_id: player,
            reason,
            timestamp: now_ms,
        }])
    }

    /// The organizer (or an admin) settles a dispute with the final result.
    pub fn resolve_dispute(
        &mut self,
        by: Uuid,
        req: Complete,
        now_ms: i64,
    ) -> Result<Vec<TrackerEvent>, TrackerError> {
        self.require(self.status == Status::Completed, "resolve a dispute")?;
        if self.consent.dispute.is_none() {
            return Err(TrackerError::InvalidState(
                "the result is not disputed".into(),
            ));
        }
        let mut scores = [self.players[0].scores, self.players[1].scores];
        for (uid, patch) in &req.final_scores {
            let i = self.player_index(*uid)?;
            scores[i]
                .apply(patch)
                .map_err(|m| invalid("final_scores", m))?;
        }
        let winner = match req.winner_id {
            Some(w) => Some(self.players[self.player_index(w)?].user_id),
            None => match scores[0].victory_points.cmp(&scores[1].victory_points) {
                std::cmp::Ordering::Greater => Some(self.players[0].user_id),
                std::cmp::Ordering::Less => Some(self.players[1].user_id),
                std::cmp::Ordering::Equal => None,
            },
        };
        self.players[0].scores = scores[0];
        self.players[1].scores = scores[1];
        self.winner_id = winner;
        self.consent.dispute = None;
        self.consent.resolved_by = Some(by);
        self.updated_at = now_ms;
        Ok(vec![TrackerEvent::DisputeResolved {
            winner_id: winner,
            final_scores: self.players.iter().map(|p| (p.user_id, p.scores)).collect(),
            timestamp: now_ms,
        }])
    }

    /// The consent fields of the API battle.
    pub(crate) fn consent_json(&self, rfc3339: impl Fn(i64) -> String) -> Value {
        let done = self.status == Status::Completed;
        json!({
            "result_confirmed": done && self.awaiting_confirmation().is_empty()
                && self.consent.dispute.is_none(),
            "confirmed_by": self.consent.confirmed_by,
            "awaiting_confirmation": self.awaiting_confirmation(),
            "result_entered_by": self.consent.entered_by,
            "dispute": self.consent.dispute.as_ref().map(|d| json!({
                "by": d.by, "reason": d.reason, "at": rfc3339(d.at),
            })),
        })
    }
}
