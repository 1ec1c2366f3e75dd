use std::process::ExitCode;

use clap::Parser;
use warroom::{
    auth::Role,
    cli::{Cli, Command, UserCommand},
    config::Config,
    server, telemetry,
};

/// `warroom simulate FILE.json`: no server, no database; the engine alone.
fn simulate(file: &std::path::Path, summary: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    // Golden fixtures wrap the inputs as `{engine_version, inputs, log_hash}`.
    if let Some(inner) = json.get_mut("inputs") {
        json = inner.take();
    }
    let inputs: warroom::sim::battle::BattleInputs =
        serde_json::from_value(json).map_err(|e| format!("{}: {e}", file.display()))?;
    let seed = inputs.seed;
    let log = warroom::sim::battle::run_to_end(inputs).map_err(|e| e.to_string())?;
    let out = if summary {
        serde_json::json!({ "lcg_seed": seed, "engine_version": warroom::sim::ENGINE_VERSION,
            "outcome": log.outcome, "log_hash": log.log_hash })
    } else {
        serde_json::json!({ "lcg_seed": seed, "engine_version": warroom::sim::ENGINE_VERSION,
            "outcome": log.outcome, "log_hash": log.log_hash, "ticks": log.ticks })
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// mimalloc: glibc malloc/free were ≈ 12 % of the server's CPU on the tick path
/// (docs/PERFORMANCE.md). It also returns argon2's 19 MiB blocks to the OS, which glibc's
/// per-thread heaps did not without tuning.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config.log, &config.log_format);
    let result: Result<(), String> = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            server::block_on_system_with(config.runtime, server::run(config, None, None))
                .map_err(|e| e.to_string())
        }
        Command::Migrate => server::block_on_system(async move {
            server::open_db(&config)
                .await
                .map(|_| println!("migrations applied"))
                .map_err(|e| e.to_string())
        }),
        Command::Simulate { file, summary } => simulate(&file, summary),
        Command::Ledger { action } => {
            server::block_on_system(warroom::cli::economy::ledger(&config, action))
        }
        Command::Devchain { action } => {
            server::block_on_system(warroom::cli::economy::devchain(&config, action))
        }
        Command::User {
            action: UserCommand::Promote { name, role },
        } => match role.parse::<Role>() {
            Err(e) => Err(e),
            Ok(role) => server::block_on_system(async move {
                let db = server::open_db(&config).await.map_err(|e| e.to_string())?;
                match db.set_role(&name, role).await {
                    Ok(true) => {
                        println!("{name} is now {}", role.as_str());
                        Ok(())
                    }
                    Ok(false) => Err(format!("no user named '{name}'")),
                    Err(e) => Err(e.to_string()),
                }
            }),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
