//! The same actix-web App behind a stock `HttpServer` (no upgrade hook, no Socket.IO split):
//! the "direct hit" baseline for `loadtest/router_cost.sh`.

use warroom::{config::Config, http, server};

fn main() -> std::io::Result<()> {
    let config = Config::load().expect("config");
    let bind = config.bind.clone();
    let workers = config.workers.max(1);
    server::block_on_system(async move {
        let state = server::build_state(config).await.expect("state");
        actix_web::HttpServer::new(move || http::app(state.clone()))
            .workers(workers)
            .bind(bind)?
            .run()
            .await
    })
}
