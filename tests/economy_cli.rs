//! `warroom ledger check` and `warroom devchain ...` as an operator runs them.

use std::process::Command;

fn warroom(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .current_dir(dir)
        .args(args)
        .env("WARROOM_DATA_DIR", dir)
        .env("WARROOM_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn devchain_commands_and_ledger_check() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let me = "0x00000000000000000000000000000000000000AA";
    let (ok, out) = warroom(d, &["devchain", "fund", me, "5"]);
    assert!(ok, "{out}");
    assert!(
        out.trim().starts_with("0x") && out.trim().len() == 66,
        "{out}"
    );
    let (ok, out) = warroom(d, &["devchain", "transfer", "--from", me, "2"]);
    assert!(ok, "{out}");
    let (ok, out) = warroom(d, &["devchain", "balance", me]);
    assert!(ok && out.trim() == "3.0", "{out}");
    let (ok, out) = warroom(d, &["devchain", "transfer", "--from", me, "9"]);
    assert!(!ok && out.contains("insufficient"), "{out}");

    let (ok, out) = warroom(d, &["ledger", "check"]);
    assert!(ok && out.contains("ledger ok"), "{out}");

    // Tamper with a balance behind the ledger's back: the check fails with exit code 1.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        use sqlx::Connection;
        let url = format!("sqlite://{}", d.join("warroom.db").display());
        let mut c = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::query(
            "UPDATE system_accounts SET balance = balance + 7 WHERE id = 'system:fees' AND currency = 'GMO'",
        )
        .execute(&mut c)
        .await
        .unwrap();
    });
    let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .current_dir(d)
        .args(["ledger", "check"])
        .env("WARROOM_DATA_DIR", d)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("MISMATCH system:fees GMO"));
}
