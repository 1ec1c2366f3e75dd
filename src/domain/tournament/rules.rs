//! Tournament formats, statuses and the `rules` object with its validation.

use serde::{Deserialize, Serialize};

use crate::domain::pairing::{StandingsConfig, TieBreak};

/// Tournament format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Swiss rounds.
    Swiss,
    /// Single elimination.
    SingleElimination,
    /// Double elimination.
    DoubleElimination,
}

impl Format {
    /// Stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Swiss => "swiss",
            Format::SingleElimination => "single_elimination",
            Format::DoubleElimination => "double_elimination",
        }
    }
    /// Parses the API name.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.into())).ok()
    }
}

/// Tournament status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TournamentStatus {
    /// Being prepared by the organizer.
    Draft,
    /// Players may register and withdraw.
    Registration,
    /// Rounds are being played.
    Active,
    /// Finished.
    Completed,
    /// Abandoned.
    Cancelled,
}

impl TournamentStatus {
    /// Stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            TournamentStatus::Draft => "draft",
            TournamentStatus::Registration => "registration",
            TournamentStatus::Active => "active",
            TournamentStatus::Completed => "completed",
            TournamentStatus::Cancelled => "cancelled",
        }
    }
    /// Parses the API name.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.into())).ok()
    }
    /// Whether `self → next` is allowed.
    pub(crate) fn can_move_to(self, next: TournamentStatus) -> bool {
        use TournamentStatus::*;
        matches!(
            (self, next),
            (Draft, Registration)
                | (Registration, Active)
                | (Active, Completed)
                | (Draft | Registration | Active, Cancelled)
        )
    }
}

fn default_points() -> u32 {
    2000
}
fn default_time() -> u32 {
    10_800
}
fn default_factions() -> Vec<String> {
    vec!["all".into()]
}

/// The spec's `rules` object, plus optional settings the spec leaves open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    /// Largest army `points_value` accepted at registration.
    #[serde(default = "default_points")]
    pub points_limit: u32,
    /// Round clock in seconds: the Tournament actor announces the end of a round after it.
    #[serde(default = "default_time")]
    pub time_limit: u32,
    /// Faction ids, or `["all"]`.
    #[serde(default = "default_factions")]
    pub allowed_factions: Vec<String>,
    /// Free-form rules shown to players.
    #[serde(default)]
    pub(crate) special_rules: Vec<serde_json::Value>,
    /// Swiss: number of rounds (default ⌈log2 n⌉).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<u32>,
    /// Double elimination: play a reset when the losers-bracket champion wins the grand final.
    #[serde(default)]
    pub bracket_reset: bool,
    /// Swiss round 1: `"seed"` (default) or `"random"` (the seed is recorded in the round).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) round1: Option<String>,
    /// Tie-break order: `match_points`, `total_vp`, `vp_diff`, `strength_of_schedule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tiebreakers: Option<Vec<String>>,
    /// Turn limit of each tournament battle, seconds (default 1800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_time_limit: Option<u32>,
    /// Battle rounds of each tournament battle (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) battle_rounds: Option<u32>,
}

impl Rules {
    /// Checks ranges; returns the field and reason of the first problem.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let bad = |f: &'static str, m: &str| Err((f, m.to_string()));
        if !(1..=100_000).contains(&self.points_limit) {
            return bad("rules.points_limit", "between 1 and 100000");
        }
        if !(1..=86_400).contains(&self.time_limit) {
            return bad("rules.time_limit", "between 1 and 86400 seconds");
        }
        if self.allowed_factions.is_empty() || self.allowed_factions.len() > 100 {
            return bad("rules.allowed_factions", "1 to 100 entries (or [\"all\"])");
        }
        if self.special_rules.len() > 50 {
            return bad("rules.special_rules", "at most 50 entries");
        }
        if self.rounds.is_some_and(|r| !(1..=20).contains(&r)) {
            return bad("rules.rounds", "between 1 and 20");
        }
        if self
            .round1
            .as_deref()
            .is_some_and(|r| r != "seed" && r != "random")
        {
            return bad("rules.round1", "\"seed\" or \"random\"");
        }
        if self.tiebreak_order().is_none() {
            return bad(
                "rules.tiebreakers",
                "match_points, total_vp, vp_diff, strength_of_schedule",
            );
        }
        if self
            .turn_time_limit
            .is_some_and(|t| !(10..=14_400).contains(&t))
        {
            return bad("rules.turn_time_limit", "between 10 and 14400 seconds");
        }
        if self.battle_rounds.is_some_and(|r| !(1..=10).contains(&r)) {
            return bad("rules.battle_rounds", "between 1 and 10");
        }
        Ok(())
    }

    /// Whether an army of `faction` may enter.
    pub(crate) fn allows_faction(&self, faction: &str) -> bool {
        self.allowed_factions
            .iter()
            .any(|f| f == "all" || f == faction)
    }

    /// Configured tie-break order (`None` when a name is unknown).
    pub(crate) fn tiebreak_order(&self) -> Option<Vec<TieBreak>> {
        let Some(names) = &self.tiebreakers else {
            return Some(StandingsConfig::default().tiebreaks);
        };
        names
            .iter()
            .map(|n| match n.as_str() {
                "match_points" => Some(TieBreak::MatchPoints),
                "total_vp" => Some(TieBreak::TotalVp),
                "vp_diff" => Some(TieBreak::VpDiff),
                "strength_of_schedule" | "sos" => Some(TieBreak::StrengthOfSchedule),
                _ => None,
            })
            .collect()
    }

    pub(super) fn standings_config(&self) -> StandingsConfig {
        StandingsConfig {
            tiebreaks: self.tiebreak_order().unwrap_or_default(),
            ..Default::default()
        }
    }
}
