//! HTTP surface: thin actix-web handlers for /v1 and /v2, operator endpoints, and the
//! Socket.IO polling hand-off to socketioxide.

pub mod errors;
pub mod extract;
pub mod idempotency;
pub mod openapi;
pub mod ops;
pub(crate) mod pages;
pub mod pagination;
pub mod ratelimit;
pub mod request_id;
pub mod v1;
pub mod v2;

use std::sync::Arc;

use actix::Addr;
use actix_web::{dev::ServiceResponse, middleware::from_fn, web, App, HttpResponse, ResponseError};

use crate::actors::{leaderboard::Leaderboard, persister::Persister, table::TableRegistry};
use crate::auth::{BanList, JwtKeys};
use crate::config::Config;
use crate::realtime::{sio::SioEntry, table_ws::TableHub};
use crate::store::Db;
use errors::{V1Error, V2Error};

/// Everything a handler may reach. Cheap to clone (all shared handles).
#[derive(Clone)]
pub struct AppState {
    /// Configuration.
    pub config: Arc<Config>,
    /// Database.
    pub db: Db,
    /// JWT keys.
    pub keys: JwtKeys,
    /// Banned users.
    pub bans: Arc<BanList>,
    /// The group-commit writer.
    pub persister: Addr<Persister>,
    /// Rate limiters.
    pub limits: Arc<ratelimit::Limiters>,
    /// Socket.IO entry (polling and upgraded streams) and emitter.
    pub sio: Arc<dyn SioEntry>,
    /// Raw /v1 WebSocket fan-out.
    pub hub: Arc<TableHub>,
    /// Live tracker battles.
    pub tables: Arc<TableRegistry>,
    /// The live season's leaderboards.
    pub leaderboard: Addr<Leaderboard>,
    /// The robot game: matchmakers and live battles.
    pub game: Arc<crate::actors::game::Game>,
    /// Tournament actors (round clocks, results).
    pub tournaments: Arc<crate::actors::tournament::TournamentRegistry>,
    /// Economy service: chain adapter, deposits, withdrawals, mints.
    pub economy: Arc<crate::economy::Economy>,
}

/// Builds the actix-web application.
pub fn app(
    state: AppState,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let limit = state.config.body_limit;
    App::new()
        .app_data(web::Data::new(state))
        .app_data(web::PayloadConfig::new(limit))
        .wrap(from_fn(request_id::middleware))
        .configure(ops::routes)
        .service(
            web::resource(["/v2/ws", "/v2/ws/"])
                .app_data(web::PayloadConfig::new(1_000_000))
                .default_service(web::to(crate::realtime::sio::polling)),
        )
        .service(
            web::scope("/v1")
                .app_data(
                    web::JsonConfig::default()
                        .limit(limit)
                        .error_handler(|e, _| errors::json_error_v1(e).into()),
                )
                .app_data(
                    web::QueryConfig::default()
                        .error_handler(|e, _| V1Error::field("query", e.to_string()).into()),
                )
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|e, _| V1Error::field("path", e.to_string()).into()),
                )
                .wrap(from_fn(ratelimit::v1))
                .configure(v1::routes)
                .default_service(web::to(|| async {
                    V1Error::not_found("route").error_response()
                })),
        )
        .service(
            web::scope("/v2")
                .app_data(
                    web::JsonConfig::default()
                        .limit(limit)
                        .error_handler(|e, _| errors::json_error_v2(e).into()),
                )
                .app_data(
                    web::QueryConfig::default()
                        .error_handler(|e, _| V2Error::Validation(format!("query: {e}")).into()),
                )
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|e, _| V2Error::Validation(format!("path: {e}")).into()),
                )
                .wrap(from_fn(idempotency::middleware))
                .wrap(from_fn(ratelimit::v2))
                .configure(v2::routes)
                .default_service(web::to(|| async {
                    V2Error::NotFound("route".into()).error_response()
                })),
        )
        .configure(pages::routes)
        .default_service(web::to(|| async {
            HttpResponse::NotFound()
                .json(serde_json::json!({"error": "NOT_FOUND", "message": "route not found"}))
        }))
}
