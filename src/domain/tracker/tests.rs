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
    assert!(ev.iter().any(|e| e.kind == "round_advance"));
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
