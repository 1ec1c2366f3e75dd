use super::*;

fn battle() -> TrackerBattle {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    TrackerBattle::new(
        Uuid::new_v4(),
        NewBattle {
            tournament_id: None,
            battle_type: "matched_play".into(),
            mission: serde_json::json!({}),
            players: [
                (a, Uuid::new_v4(), "left".into()),
                (b, Uuid::new_v4(), "right".into()),
            ],
            max_rounds: 2,
            turn_time_limit: 60,
            tenth_edition: true,
            auto_end_turn_on_timeout: false,
        },
        0,
    )
}

#[test]
fn actions_need_the_right_status() {
    let mut b = battle();
    assert!(matches!(
        b.apply(Action::EndTurn, 0),
        Err(TrackerError::InvalidState(_))
    ));
    b.apply(Action::Start, 0).unwrap();
    assert!(matches!(
        b.apply(Action::Start, 0),
        Err(TrackerError::InvalidState(_))
    ));
    b.apply(Action::Cancel, 0).unwrap();
    assert!(matches!(
        b.apply(Action::Resume, 0),
        Err(TrackerError::InvalidState(_))
    ));
}

#[test]
fn turns_rounds_and_cp() {
    let mut b = battle();
    b.apply(Action::Start, 0).unwrap();
    assert_eq!(b.players[0].command_points, 1);
    b.apply(Action::EndTurn, 1000).unwrap();
    assert_eq!(b.turn.player, 1);
    assert_eq!(b.current_round, 1);
    let ev = b.apply(Action::EndTurn, 2000).unwrap();
    assert_eq!(b.current_round, 2);
    assert!(ev.iter().any(|e| e.kind() == "round_advance"));
    assert_eq!(b.players[1].command_points, 3);
    let p = b.players[0].user_id;
    assert!(b
        .apply(
            Action::UseStratagem {
                player_id: Some(p),
                name: "Rapid Fire".into(),
                cp_cost: 5
            },
            0
        )
        .is_err());
    b.apply(
        Action::UseStratagem {
            player_id: Some(p),
            name: "Rapid Fire".into(),
            cp_cost: 2,
        },
        0,
    )
    .unwrap();
    assert_eq!(b.players[0].command_points, 1);
    assert!(b.advance_round(0).is_err(), "bounded by max_rounds");
}

#[test]
fn clock_counts_only_while_running_and_times_out_once() {
    let mut b = battle();
    b.apply(Action::Start, 0).unwrap();
    assert_eq!(b.time_remaining_s(10_000), 50);
    b.apply(Action::Pause, 10_000).unwrap();
    assert_eq!(b.time_remaining_s(40_000), 50);
    b.apply(Action::Resume, 40_000).unwrap();
    assert!(b.check_timeout(80_000).is_empty());
    assert_eq!(b.check_timeout(100_000).len(), 1);
    assert!(b.check_timeout(110_000).is_empty());
    assert_eq!(b.time_remaining_s(200_000), 0);
}

#[test]
fn scores_keep_vp_consistent_and_winner_from_vp() {
    let mut b = battle();
    let (p1, p2) = (b.players[0].user_id, b.players[1].user_id);
    let patch = |vp, sec| ScoresPatch {
        victory_points: Some(vp),
        secondary: Some(sec),
        ..Default::default()
    };
    b.apply(
        Action::UpdateScores {
            player_id: p1,
            scores: patch(5, 2),
        },
        0,
    )
    .unwrap();
    assert_eq!(b.players[0].scores.primary, 3);
    assert_eq!(b.players[0].scores.victory_points, 5);
    b.apply(
        Action::UpdateScores {
            player_id: p2,
            scores: patch(9, 0),
        },
        0,
    )
    .unwrap();
    b.apply(Action::Start, 1).unwrap();
    b.complete(Complete::default(), 5).unwrap();
    assert_eq!(b.winner_id, Some(p2));
    assert_eq!(b.completed_at, Some(5));
}

#[test]
fn restart_does_not_charge_downtime() {
    let mut b = battle();
    b.apply(Action::Start, 0).unwrap();
    b.resume_after_restart(10_000, 50_000);
    assert_eq!(b.time_remaining_s(50_000), 50);
}

fn all_actions(b: &TrackerBattle) -> Vec<Action> {
    let p = b.players[0].user_id;
    vec![
        Action::UpdateScores {
            player_id: p,
            scores: ScoresPatch::default(),
        },
        Action::Start,
        Action::NextPhase,
        Action::SetPhase {
            phase: Phase::Shooting,
        },
        Action::EndTurn,
        Action::UseStratagem {
            player_id: None,
            name: "Rapid Fire".into(),
            cp_cost: 0,
        },
        Action::AdjustCommandPoints {
            player_id: p,
            delta: 1,
        },
        Action::Pause,
        Action::Resume,
        Action::Cancel,
    ]
}

/// Which actions each status allows (the rest answer 409 `INVALID_BATTLE_STATE`).
#[test]
fn every_action_in_every_status() {
    let setup = battle();
    let mut running = battle();
    running.apply(Action::Start, 0).unwrap();
    let mut paused = running.clone();
    paused.apply(Action::Pause, 0).unwrap();
    let mut completed = running.clone();
    completed.complete(Complete::default(), 0).unwrap();
    let mut cancelled = battle();
    cancelled.apply(Action::Cancel, 0).unwrap();
    let allowed = |b: &TrackerBattle, a: &Action| -> bool {
        use Action::*;
        match b.status {
            Status::Setup => matches!(
                a,
                UpdateScores { .. } | Start | AdjustCommandPoints { .. } | Cancel
            ),
            Status::InProgress if b.clock.is_paused() => !matches!(a, Start | Pause),
            Status::InProgress => !matches!(a, Start | Resume),
            Status::Completed | Status::Cancelled => false,
        }
    };
    for b in [&setup, &running, &paused, &completed, &cancelled] {
        for a in all_actions(b) {
            let r = b.clone().apply(a.clone(), 1_000);
            if allowed(b, &a) {
                assert!(r.is_ok(), "{:?} {:?}: {r:?}", b.status, a);
            } else {
                assert!(
                    matches!(r, Err(TrackerError::InvalidState(_))),
                    "{:?} {:?}: {r:?}",
                    b.status,
                    a
                );
            }
        }
        // A result needs a battle that was played: not from setup (issue 11, consent).
        let can_finish = b.status == Status::InProgress;
        assert_eq!(
            b.clone().complete(Complete::default(), 1).is_ok(),
            can_finish
        );
        assert_eq!(
            b.clone().advance_round(1).is_ok(),
            b.status == Status::InProgress
        );
    }
}

#[test]
fn patch_bodies_parse_as_in_the_spec() {
    let p = Uuid::from_u128(7);
    let a: Action = serde_json::from_value(serde_json::json!({
        "action": "update_scores", "player_id": p,
        "scores": {"victory_points": 5, "secondary": 2}
    }))
    .unwrap();
    assert!(matches!(a, Action::UpdateScores { .. }));
    let a: Action = serde_json::from_str(r#"{"action":"set_phase","phase":"charge"}"#).unwrap();
    assert_eq!(
        a,
        Action::SetPhase {
            phase: Phase::Charge
        }
    );
    let a: Action =
        serde_json::from_str(r#"{"action":"use_stratagem","name":"Fire Overwatch","cp_cost":1}"#)
            .unwrap();
    assert!(matches!(
        a,
        Action::UseStratagem {
            player_id: None,
            ..
        }
    ));
    assert!(serde_json::from_str::<Action>(r#"{"action":"explode"}"#).is_err());
    assert!(serde_json::from_str::<Action>(
        r#"{"action":"update_scores","player_id":"x","scores":{}}"#
    )
    .is_err());
}

#[test]
fn validation_errors_name_the_field() {
    let mut b = battle();
    b.apply(Action::Start, 0).unwrap();
    let stranger = Uuid::from_u128(5);
    let field = |r: Result<Vec<TrackerEvent>, TrackerError>| match r {
        Err(TrackerError::Validation { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    let p = b.players[0].user_id;
    assert_eq!(
        field(b.apply(
            Action::AdjustCommandPoints {
                player_id: stranger,
                delta: 1
            },
            0
        )),
        "player_id"
    );
    assert_eq!(
        field(b.apply(
            Action::AdjustCommandPoints {
                player_id: p,
                delta: -5
            },
            0
        )),
        "delta"
    );
    assert_eq!(b.players[0].command_points, 1, "CP never below 0");
    let bad = ScoresPatch {
        victory_points: Some(2),
        secondary: Some(5),
        ..Default::default()
    };
    assert_eq!(
        field(b.apply(
            Action::UpdateScores {
                player_id: p,
                scores: bad
            },
            0
        )),
        "scores"
    );
    assert_eq!(
        field(b.apply(
            Action::SetPhase {
                phase: Phase::Psychic
            },
            0
        )),
        "phase"
    );
    for _ in 0..4 {
        b.apply(Action::NextPhase, 0).unwrap();
    }
    assert_eq!(field(b.apply(Action::NextPhase, 0)), "phase");
    let bad_winner = Complete {
        winner_id: Some(stranger),
        ..Default::default()
    };
    assert_eq!(field(b.complete(bad_winner, 0)), "player_id");
    assert_eq!(b.status, Status::InProgress);
}

#[test]
fn final_turn_then_complete_with_draw() {
    let mut b = battle();
    b.apply(Action::Start, 0).unwrap();
    for t in 1..=4 {
        b.apply(Action::EndTurn, t * 1000).unwrap();
    }
    assert_eq!(b.current_round, 2);
    assert!(b.final_turn_played());
    assert!(matches!(
        b.apply(Action::EndTurn, 9000),
        Err(TrackerError::InvalidState(_))
    ));
    assert!(b.apply(Action::Resume, 9000).is_err());
    let ev = b.complete(Complete::default(), 10_000).unwrap();
    assert_eq!(b.winner_id, None, "equal VP is a draw");
    assert_eq!(ev[0].kind(), "battle_completed");
}

#[test]
fn auto_end_turn_on_timeout() {
    let mut b = battle();
    b.auto_end_turn_on_timeout = true;
    b.apply(Action::Start, 0).unwrap();
    let ev = b.check_timeout(60_000);
    let kinds: Vec<_> = ev.iter().map(|e| e.kind()).collect();
    assert_eq!(kinds, ["turn_timeout", "turn_change"]);
    assert_eq!(b.turn.player, 1);
    assert_eq!(b.time_remaining_s(60_000), 60);
}

#[test]
fn chess_clock_banks_and_phase_times() {
    let mut b = battle().with_chess_clock(100);
    b.apply(Action::Start, 0).unwrap();
    assert_eq!(b.time_remaining_s(0), 100);
    b.apply(Action::NextPhase, 10_000).unwrap();
    b.apply(Action::EndTurn, 30_000).unwrap();
    let c = b.chess_clock.clone().unwrap();
    assert_eq!(c.bank_ms, [70_000, 100_000]);
    assert_eq!(c.spent_ms[0].get(&Phase::Command), Some(&10_000));
    assert_eq!(c.spent_ms[0].get(&Phase::Movement), Some(&20_000));
    assert_eq!(b.time_remaining_s(35_000), 95, "player 2's bank");
    b.apply(Action::EndTurn, 40_000).unwrap();
    assert_eq!(
        b.time_remaining_s(40_000),
        70,
        "player 1 continues from the bank"
    );
    let p = [b.players[0].user_id, b.players[1].user_id];
    let t = b.timer_event(50_000).to_json(b.id, |ms| ms.to_string());
    assert_eq!(t["banks"][p[0].to_string()], 60, "the active bank runs");
    assert_eq!(t["banks"][p[1].to_string()], 90, "the idle bank does not");
    let api = b.to_api(50_000, |ms| ms.to_string());
    assert_eq!(api["clock"]["mode"], "chess");
    assert_eq!(api["clock"]["bank_s"], 100);
    assert_eq!(api["clock"]["players"][0]["bank_remaining"], 60);
    assert_eq!(
        api["clock"]["players"][0]["phase_time_ms"]["movement"],
        20_000
    );
    assert!(b.check_timeout(109_999).is_empty());
    let ev = b.check_timeout(110_000);
    assert_eq!(ev[0].kind(), "turn_timeout");
    assert_eq!(
        ev[0].to_json(b.id, |ms| ms.to_string())["reason"],
        "bank_exhausted"
    );
}

#[test]
fn timer_update_keeps_the_spec_shape_without_chess_clock() {
    let mut b = battle();
    b.apply(Action::Start, 0).unwrap();
    let t = b.timer_event(1_000).to_json(b.id, |ms| ms.to_string());
    let mut keys: Vec<_> = t.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["battle_id", "current_turn", "timestamp", "type"]);
    assert_eq!(b.to_api(0, |ms| ms.to_string())["clock"]["mode"], "turn");
}

#[test]
fn events_have_the_spec_websocket_shape() {
    let mut b = battle();
    let ev = b.apply(Action::Start, 0).unwrap();
    let j = ev[0].to_json(b.id, |ms| format!("t{ms}"));
    assert_eq!(j["type"], "battle_started");
    assert_eq!(j["timestamp"], "t0");
    let t = b.timer_event(5_000).to_json(b.id, |ms| format!("t{ms}"));
    assert_eq!(t["type"], "timer_update");
    assert_eq!(t["battle_id"], serde_json::json!(b.id));
    assert_eq!(t["current_turn"]["phase"], "command");
    assert_eq!(t["current_turn"]["time_remaining"], 55);
    let p = b.players[0].user_id;
    let ev = b
        .apply(
            Action::UpdateScores {
                player_id: p,
                scores: ScoresPatch {
                    primary: Some(3),
                    ..Default::default()
                },
            },
            0,
        )
        .unwrap();
    let s = ev[0].to_json(b.id, |ms| ms.to_string());
    assert_eq!(s["type"], "score_update");
    assert_eq!(s["scores"]["victory_points"], 3);
    let api = b.to_api(0, |ms| ms.to_string());
    assert_eq!(api["players"][0]["scores"]["primary"], 3);
    assert_eq!(api["current_turn"]["start_time"], "0");
}

#[test]
fn stratagem_without_player_id_is_charged_to_the_acting_player() {
    let mut b = battle();
    b.apply(Action::Start, 0).unwrap();
    b.apply(Action::EndTurn, 1).unwrap();
    let p1 = b.players[0].user_id;
    let overwatch = Action::UseStratagem {
        player_id: None,
        name: "Fire Overwatch".into(),
        cp_cost: 1,
    };
    let ev = b.apply_as(overwatch.clone(), Some(p1), 2).unwrap();
    assert!(matches!(ev[0], TrackerEvent::StratagemUsed { player_id, .. } if player_id == p1));
    assert_eq!(b.players[0].command_points, 1);
    assert_eq!(b.players[0].stratagems_used, ["Fire Overwatch"]);
    // An organizer (not a player) acting: the player whose turn it is pays.
    b.apply_as(overwatch, Some(Uuid::from_u128(42)), 3).unwrap();
    assert_eq!(b.players[1].command_points, 1);
}
