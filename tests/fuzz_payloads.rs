//! Runs the Socket.IO-payload and JSON-body fuzz targets' bodies over their seed corpus.

#[path = "../fuzz/fuzz_targets/payloads_check.rs"]
mod payloads_check;

#[test]
fn payload_seeds_pass() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/payloads");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("seed dir") {
        let data = std::fs::read(entry.expect("entry").path()).expect("read");
        payloads_check::sio(&data);
        payloads_check::json(&data);
        n += 1;
    }
    assert!(n >= 10);
    for s in [
        "",
        "{",
        "[[[[[[",
        "{\"battle_id\":null,\"since_tick\":-1}",
        "{\"since_tick\":1e99,\"battle_id\":\"00000000-0000-0000-0000-000000000000\"}",
    ] {
        payloads_check::sio(s.as_bytes());
        payloads_check::json(s.as_bytes());
    }
}
