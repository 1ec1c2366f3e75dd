//! Property tests: random action sequences never panic and keep the invariants.

use proptest::prelude::*;

use super::*;

/// One random step of a table's life.
#[derive(Debug, Clone)]
enum Op {
    Act(Action),
    AdvanceRound,
    Complete(Option<usize>),
    CheckTimeout,
    Restart(i64),
}

fn who(i: usize, ids: &[Uuid; 3]) -> Uuid {
    ids[i % 3]
}

fn op(ids: [Uuid; 3]) -> impl Strategy<Value = Op> {
    let phase = prop::sample::select(ALL_PHASES.to_vec());
    prop_oneof![
        (0usize..3, -5i64..40, -5i64..40).prop_map(move |(p, vp, sec)| Op::Act(
            Action::UpdateScores {
                player_id: who(p, &ids),
                scores: ScoresPatch {
                    victory_points: (vp % 2 == 0).then_some(vp),
                    secondary: Some(sec),
                    ..Default::default()
                },
            }
        )),
        Just(Op::Act(Action::Start)),
        Just(Op::Act(Action::NextPhase)),
        phase.prop_map(|phase| Op::Act(Action::SetPhase { phase })),
        Just(Op::Act(Action::EndTurn)),
        Just(Op::Act(Action::EndTurn)),
        (0usize..4, -2i64..5).prop_map(move |(p, cp_cost)| Op::Act(Action::UseStratagem {
            player_id: (p < 3).then(|| who(p, &ids)),
            name: "Rapid Fire".into(),
            cp_cost,
        })),
        (0usize..3, -4i64..4).prop_map(move |(p, delta)| Op::Act(Action::AdjustCommandPoints {
            player_id: who(p, &ids),
            delta,
        })),
        Just(Op::Act(Action::Pause)),
        Just(Op::Act(Action::Resume)),
        Just(Op::Act(Action::Cancel)),
        Just(Op::AdvanceRound),
        prop::option::of(0usize..3).prop_map(Op::Complete),
        Just(Op::CheckTimeout),
        Just(Op::CheckTimeout),
        (0i64..100_000).prop_map(Op::Restart),
    ]
}

fn new_battle(ids: [Uuid; 3], tenth: bool, auto_end: bool, max_rounds: u32) -> TrackerBattle {
    TrackerBattle::new(
        Uuid::from_u128(99),
        NewBattle {
            tournament_id: None,
            battle_type: "matched_play".into(),
            mission: serde_json::json!({"name": "Take and Hold"}),
            players: [
                (ids[0], Uuid::from_u128(10), "left".into()),
                (ids[1], Uuid::from_u128(11), "right".into()),
            ],
            max_rounds,
            turn_time_limit: 60,
            tenth_edition: tenth,
            auto_end_turn_on_timeout: auto_end,
        },
        0,
    )
}

/// Identifies the running turn: while it is the same, the clock may only go down.
fn turn_key(b: &TrackerBattle) -> (Status, u32, usize, u8, i64) {
    (
        b.status,
        b.current_round,
        b.turn.player,
        b.turn.played_in_round,
        b.clock.turn_started_at,
    )
}

proptest! {
    // No regression files: this module is compiled from other crates' trees too.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_sequences_keep_invariants(
        tenth in any::<bool>(),
        auto_end in any::<bool>(),
        chess in prop::option::of(30u32..300),
        max_rounds in 1u32..6,
        steps in prop::collection::vec((op([Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3)]), 0i64..90_000), 0..80),
    ) {
        let ids = [Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3)];
        let mut b = new_battle(ids, tenth, auto_end, max_rounds);
        if let Some(bank) = chess {
            b = b.with_chess_clock(bank);
        }
        let mut now = 0i64;
        for (op, dt) in steps {
            let before_key = turn_key(&b);
            let before_left = b.time_remaining_s(now);
            now += dt;
            let paused = b.clock.is_paused();
            if b.status == Status::InProgress && paused {
                prop_assert_eq!(b.time_remaining_s(now), before_left, "paused clock moved");
            }
            if turn_key(&b) == before_key {
                prop_assert!(b.time_remaining_s(now) <= before_left);
            }
            let snapshot = b.clone();
            let result = match op {
                Op::Act(a) => b.apply(a, now),
                Op::AdvanceRound => b.advance_round(now),
                Op::Complete(w) => b.complete(
                    Complete { winner_id: w.map(|i| who(i, &ids)), ..Default::default() },
                    now,
                ),
                Op::CheckTimeout => {
                    let ev = b.check_timeout(now);
                    // Emitted at most once per turn (an auto-ended turn starts a new one, whose
                    // chess-clock bank may already be empty).
                    let same_turn = !ev.iter().any(|e| e.kind() == "turn_change");
                    if same_turn && ev.iter().any(|e| e.kind() == "turn_timeout") {
                        prop_assert!(b.check_timeout(now).iter().all(|e| e.kind() != "turn_timeout"));
                    }
                    Ok(ev)
                }
                Op::Restart(down) => {
                    let left = b.time_remaining_s(now);
                    b.resume_after_restart(now - down.min(dt), now);
                    prop_assert!(b.time_remaining_s(now) >= left, "restart charged downtime");
                    Ok(Vec::new())
                }
            };
            if result.is_err() {
                prop_assert_eq!(&b, &snapshot, "a refused action changed the battle");
            }
            for p in &b.players {
                prop_assert!(p.command_points >= 0);
                prop_assert_eq!(
                    p.scores.victory_points,
                    p.scores.primary + p.scores.secondary + p.scores.linchpin + p.scores.challenge
                );
            }
            prop_assert!(b.current_round <= b.max_rounds);
            prop_assert!(b.time_remaining_s(now) >= 0);
            if let Some(c) = &b.chess_clock {
                prop_assert!(c.bank_ms.iter().all(|x| *x >= 0));
            }
            // The API view never panics and always has a valid shape.
            let v = b.to_api(now, |ms| ms.to_string());
            prop_assert!(v.get("players").is_some());
            for e in b.check_timeout(now) {
                let _ = e.to_json(b.id, |ms| ms.to_string());
            }
        }
    }

    #[test]
    fn any_json_body_parses_or_errors(body in ".{0,80}") {
        let _ = serde_json::from_str::<Action>(&body);
        let _ = serde_json::from_str::<Complete>(&body);
    }

    #[test]
    fn corrupt_stored_state_never_panics(player in any::<usize>(), phase in any::<usize>(), used in any::<i64>(), since in any::<Option<i64>>(), now in any::<i64>()) {
        let ids = [Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3)];
        let mut b = new_battle(ids, true, true, 5);
        let _ = b.apply(Action::Start, 0);
        b.turn.player = player;
        b.turn.phase = phase;
        b.clock.used_ms = used;
        b.clock.running_since = since;
        prop_assert!(b.time_remaining_s(now) >= 0);
        let _ = b.to_api(now, |ms| ms.to_string());
        let _ = b.timer_event(now);
        let _ = b.check_timeout(now);
        let _ = b.clone().apply(Action::EndTurn, now);
        let _ = b.clone().apply(Action::NextPhase, now);
        let _ = b.clone().advance_round(now);
    }
}
