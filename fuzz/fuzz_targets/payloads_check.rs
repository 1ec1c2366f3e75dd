//! Bodies of the `sio_payloads` and `json_bodies` fuzz targets, shared with
//! `tests/fuzz_payloads.rs` so the ordinary test suite compiles and runs them too.

use serde_json::Value;
use warroom::actors::game::QueueRequest;
use warroom::domain::tracker::Action;
use warroom::realtime::robot_events::battle_ref;

/// Socket.IO event payloads: any JSON value must parse or be refused, never panic.
pub fn sio(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let r: Result<Value, String> = Ok(v.clone());
    if let Ok((_, since)) = battle_ref(&r) {
        assert!(v.get("battle_id").is_some());
        if let Some(s) = since {
            assert_eq!(v["since_tick"].as_u64(), Some(u64::from(s)));
        }
    }
    if let Ok(q) = QueueRequest::parse(&v) {
        assert!(q.gmo_wager >= 0);
    }
}

/// REST JSON bodies decoded with serde: any bytes must decode or be refused, never panic.
pub fn json(data: &[u8]) {
    let _ = serde_json::from_slice::<Action>(data);
    if let Ok(v) = serde_json::from_slice::<Value>(data) {
        let _ = serde_json::from_value::<Action>(v.clone());
        let _ = QueueRequest::parse(&v);
    }
}
