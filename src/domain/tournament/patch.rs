//! A tournament as data, and a PATCH of it: each field checked, then the status move checked
//! against the current state. Pure: the handler loads, calls [`Tournament::patched`], stores.

use serde_json::{json, Value};
use uuid::Uuid;

use super::{Rules, TournamentStatus};
use crate::domain::tournament::Format;

/// A tournament (the event row).
#[derive(Debug, Clone)]
pub struct Tournament {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Organizer.
    pub organizer_id: Uuid,
    /// Status.
    pub status: TournamentStatus,
    /// Format.
    pub format: Format,
    /// Capacity.
    pub max_participants: i64,
    /// Registered players.
    pub current_participants: i64,
    /// Minor units (cents).
    pub entry_fee: i64,
    /// Minor units (cents), when the organizer set it; otherwise the pool is derived
    /// ([`Tournament::prize_pool_cents`]). Stored as -1 when unset.
    pub prize_pool: Option<i64>,
    /// Unix ms.
    pub start_date: Option<i64>,
    /// Unix ms.
    pub end_date: Option<i64>,
    /// Rules.
    pub rules: Rules,
    /// Winner once completed.
    pub winner_id: Option<Uuid>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

impl Tournament {
    /// The prize pool in cents: as set by the organizer, else entry fee × participants.
    pub(crate) fn prize_pool_cents(&self) -> i64 {
        self.prize_pool
            .unwrap_or_else(|| self.entry_fee.saturating_mul(self.current_participants))
    }
}

/// The fields a PATCH may carry, as sent (`http/v1/tournaments.rs` converts its body).
#[derive(Debug, Clone, Default)]
pub struct TournamentPatch {
    /// New name (1 to 200 characters, trimmed).
    pub name: Option<String>,
    /// Target status (wire name).
    pub status: Option<String>,
    /// New capacity (2 to 1024, not below the participants; only while open).
    pub max_participants: Option<i64>,
    /// Entry fee in major units.
    pub entry_fee: Option<f64>,
    /// Prize pool in major units.
    pub prize_pool: Option<f64>,
    /// RFC 3339.
    pub start_date: Option<String>,
    /// RFC 3339.
    pub(crate) end_date: Option<String>,
    /// Rules object (only while open).
    pub rules: Option<Value>,
}

/// Why a PATCH was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchError {
    /// A field is invalid (422).
    Field(&'static str, String),
    /// Not possible in the tournament's state (409 `INVALID_TOURNAMENT_STATE`).
    State(String),
}

/// The outcome of a PATCH: the row to store and the status asked for. Completion is stored by
/// `complete_tournament` (it also counts the win), so `row.status` keeps the old status then.
#[derive(Debug, Clone)]
pub struct Patched {
    /// The changed tournament (without `updated_at`).
    pub row: Tournament,
    /// The status the caller asked for.
    pub next: TournamentStatus,
}

/// Major units → cents, within 0 and 10,000,000.
pub fn cents(field: &'static str, v: Option<f64>) -> Result<Option<i64>, PatchError> {
    match v {
        None => Ok(None),
        Some(x) if x.is_finite() && (0.0..=10_000_000.0).contains(&x) => {
            Ok(Some((x * 100.0).round() as i64))
        }
        Some(_) => Err(PatchError::Field(field, "between 0 and 10000000".into())),
    }
}

/// RFC 3339 → unix ms.
pub fn date(field: &'static str, v: Option<&str>) -> Result<Option<i64>, PatchError> {
    v.map(|s| {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| d.timestamp_millis())
            .map_err(|_| PatchError::Field(field, "an RFC 3339 date-time".into()))
    })
    .transpose()
}

/// A rules object (absent: the defaults), validated.
pub fn rules(v: Option<Value>) -> Result<Rules, PatchError> {
    let r: Rules = serde_json::from_value(v.unwrap_or_else(|| json!({})))
        .map_err(|e| PatchError::Field("rules", e.to_string()))?;
    r.validate().map_err(|(f, m)| PatchError::Field(f, m))?;
    Ok(r)
}

impl Tournament {
    /// Applies a PATCH. Checks run in this order, and the first refusal wins: a finished
    /// tournament; the status name; the status move; the name; rules and capacity only while
    /// open; capacity bounds; rules; money and dates; at least 2 participants to start.
    pub(crate) fn patched(&self, b: TournamentPatch) -> Result<Patched, PatchError> {
        let old = self;
        if matches!(
            old.status,
            TournamentStatus::Completed | TournamentStatus::Cancelled
        ) {
            return Err(PatchError::State(format!(
                "the tournament is {}",
                old.status.as_str()
            )));
        }
        let mut t = old.clone();
        let next = match b.status.as_deref() {
            None => old.status,
            Some(s) => TournamentStatus::parse(s).ok_or_else(|| {
                PatchError::Field(
                    "status",
                    "draft, registration, active, completed or cancelled".into(),
                )
            })?,
        };
        if next != old.status && !old.status.can_move_to(next) {
            return Err(PatchError::State(format!(
                "cannot move from {} to {}",
                old.status.as_str(),
                next.as_str()
            )));
        }
        if let Some(n) = b.name {
            let n = n.trim().to_string();
            if n.is_empty() || n.chars().count() > 200 {
                return Err(PatchError::Field("name", "1 to 200 characters".into()));
            }
            t.name = n;
        }
        let open = matches!(
            old.status,
            TournamentStatus::Draft | TournamentStatus::Registration
        );
        if b.rules.is_some() || b.max_participants.is_some() {
            if !open {
                return Err(PatchError::State(
                    "rules and capacity are fixed once the tournament is active".into(),
                ));
            }
            if let Some(m) = b.max_participants {
                if !(2..=1024).contains(&m) || m < old.current_participants {
                    return Err(PatchError::Field(
                        "max_participants",
                        "between 2 and 1024, not below current_participants".into(),
                    ));
                }
                t.max_participants = m;
            }
            if b.rules.is_some() {
                t.rules = rules(b.rules)?;
            }
        }
        t.entry_fee = cents("entry_fee", b.entry_fee)?.unwrap_or(t.entry_fee);
        t.prize_pool = cents("prize_pool", b.prize_pool)?.or(t.prize_pool);
        t.start_date = date("start_date", b.start_date.as_deref())?.or(t.start_date);
        t.end_date = date("end_date", b.end_date.as_deref())?.or(t.end_date);
        if next == TournamentStatus::Active && old.current_participants < 2 {
            return Err(PatchError::State(
                "at least 2 participants are needed to start".into(),
            ));
        }
        t.status = if next == TournamentStatus::Completed {
            old.status
        } else {
            next
        };
        Ok(Patched { row: t, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tournament(status: TournamentStatus, participants: i64) -> Tournament {
        Tournament {
            id: Uuid::from_u128(1),
            name: "Open".into(),
            organizer_id: Uuid::from_u128(2),
            status,
            format: Format::Swiss,
            max_participants: 8,
            current_participants: participants,
            entry_fee: 0,
            prize_pool: None,
            start_date: None,
            end_date: None,
            rules: rules(None).unwrap(),
            winner_id: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn a_state_refusal_before_a_field_error_keeps_its_place() {
        let bad_name = TournamentPatch {
            name: Some(" ".into()),
            ..Default::default()
        };
        let done = tournament(TournamentStatus::Completed, 4);
        assert!(matches!(
            done.patched(bad_name.clone()),
            Err(PatchError::State(_))
        ));
        let open = tournament(TournamentStatus::Registration, 4);
        assert_eq!(
            open.patched(bad_name).unwrap_err(),
            PatchError::Field("name", "1 to 200 characters".into())
        );
    }

    #[test]
    fn completing_keeps_the_stored_status_and_starting_needs_two() {
        let active = tournament(TournamentStatus::Active, 4);
        let p = active
            .patched(TournamentPatch {
                status: Some("completed".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(p.next, TournamentStatus::Completed);
        assert_eq!(p.row.status, TournamentStatus::Active);
        let lonely = tournament(TournamentStatus::Registration, 1);
        let start = TournamentPatch {
            status: Some("active".into()),
            ..Default::default()
        };
        assert!(matches!(lonely.patched(start), Err(PatchError::State(_))));
    }
}
