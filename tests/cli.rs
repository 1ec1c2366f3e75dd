//! The binary as an operator runs it: SIGTERM exits cleanly; `user promote` changes a role.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn warroom(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_warroom"));
    c.current_dir(dir)
        .env("WARROOM_DATA_DIR", dir)
        .env("WARROOM_BIND", "127.0.0.1:0")
        .env("WARROOM_LOG_FORMAT", "json")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL");
    c
}

#[test]
fn sigterm_exits_cleanly_and_promote_works() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = warroom(dir.path()).stdout(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("server printed its address").unwrap();
        if line.contains("warroom listening") {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            break v["fields"]["addr"].as_str().unwrap().to_string();
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("http://{addr}/v1/auth/register"))
            .json(&serde_json::json!({"username": "boss", "email": "boss@example.com", "password": "Secret-pass1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    });
    // SIGTERM: graceful exit with status 0, after flushing.
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|l| l.contains("persister flushed")),
        "{rest:?}"
    );

    // The account survived the restart boundary; promote it.
    let out = warroom(dir.path())
        .args(["user", "promote", "boss", "organizer"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("boss is now organizer"));
    let out = warroom(dir.path())
        .args(["user", "promote", "ghost", "admin"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = warroom(dir.path())
        .args(["user", "promote", "boss", "emperor"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn simulate_prints_the_golden_log_hash() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sim/spec_example.json"
    );
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let out = warroom(dir.path())
        .args(["simulate", fixture])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["log_hash"], golden["log_hash"]);
    assert_eq!(
        v["ticks"].as_array().unwrap().len() as u64,
        v["outcome"]["total_ticks"].as_u64().unwrap()
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"seed": 1, "biome": "MOON"}"#).unwrap();
    let out = warroom(dir.path())
        .args(["simulate", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("biome"));
}

#[test]
fn secret_file_and_database_are_created_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = warroom(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = dir.path().join("warroom.db");
    let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "warroom.db is {mode:o}");
    // The server generates the signing key on first start.
    let mut child = warroom(dir.path()).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(Ok(l)) = lines.next() {
        if l.contains("warroom listening") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let mode = std::fs::metadata(dir.path().join(".jwt_secret"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, ".jwt_secret is {mode:o}");
}

#[test]
fn a_jwt_secret_shorter_than_32_bytes_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = warroom(dir.path())
        .env("WARROOM_JWT_SECRET", "too-short-secret")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        err.contains("WARROOM_JWT_SECRET") && err.contains("32"),
        "{err}"
    );
    assert!(
        !err.contains("too-short-secret"),
        "the secret is not echoed: {err}"
    );
}
