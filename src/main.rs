use std::process::ExitCode;

use clap::Parser;
use warroom::{
    auth::Role,
    cli::{Cli, Command, UserCommand},
    config::Config,
    server, telemetry,
};

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
            server::block_on_system(server::run(config, None, None)).map_err(|e| e.to_string())
        }
        Command::Migrate => server::block_on_system(async move {
            server::open_db(&config)
                .await
                .map(|_| println!("migrations applied"))
                .map_err(|e| e.to_string())
        }),
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
