//! HTTP surface: thin actix-web handlers for /v1 and /v2, operator endpoints, and the
//! Socket.IO polling hand-off to socketioxide.

pub mod audit;
pub(crate) mod cached;
pub(crate) mod cors;
pub mod errors;
pub(crate) mod extract;
pub(crate) mod idempotency;
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
    /// Current role and ban state of accounts (authority of tokens already issued).
    pub standing: Arc<crate::auth::standing::Standing>,
    /// The group-commit writer.
    pub persister: Addr<Persister>,
    /// Rate limiters.
    pub limits: Arc<ratelimit::Limiters>,
    /// Socket.IO entry (polling and upgraded streams) and emitter.
    pub sio: Arc<dyn SioEntry>,
    /// Raw /v1 WebSocket fan-out.
    pub(crate) hub: Arc<TableHub>,
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
    /// Applies ban changes on every node.
    pub(crate) ban_sync: Arc<crate::realtime::bans::BanSync>,
    /// Multi-node mode: this node's link to the cluster (`None` on a single node).
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    /// Multi-node mode with `WARROOM_CACHE` on: the read-through caches in Redis.
    pub cache: Option<Arc<crate::cluster::cache::Cache>>,
}

impl crate::auth::accounts::AccountDeps for AppState {
    fn db(&self) -> &Db {
        &self.db
    }
    fn keys(&self) -> &JwtKeys {
        &self.keys
    }
    fn bans(&self) -> &BanList {
        &self.bans
    }
    fn lockout(&self) -> crate::store::lockout::LockoutPolicy {
        self.config.login_lockout
    }
    fn write_audit(
        &self,
        ops: Vec<crate::store::batch::WriteOp>,
    ) -> futures_util::future::BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.persister
                .send(crate::actors::persister::Persist(ops))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
        })
    }
}

/// Handlers pass `&web::Data<AppState>`; it answers as the state does.
impl crate::auth::accounts::AccountDeps for web::Data<AppState> {
    fn db(&self) -> &Db {
        &self.db
    }
    fn keys(&self) -> &JwtKeys {
        &self.keys
    }
    fn bans(&self) -> &BanList {
        &self.bans
    }
    fn lockout(&self) -> crate::store::lockout::LockoutPolicy {
        self.config.login_lockout
    }
    fn write_audit(
        &self,
        ops: Vec<crate::store::batch::WriteOp>,
    ) -> futures_util::future::BoxFuture<'_, Result<(), String>> {
        self.get_ref().write_audit(ops)
    }
}

/// `/v2/ws` polling requests go to the Socket.IO entry.
async fn sio_polling(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    crate::realtime::sio::polling(state.sio.as_ref(), req, body).await
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
    let origins = cors::CorsOrigins::parse(&state.config.cors_origins);
    App::new()
        .app_data(web::Data::new(state))
        .app_data(web::PayloadConfig::new(limit))
        .app_data(web::Data::new(origins.clone()))
        .wrap(cors::layer(&origins))
        .wrap(from_fn(audit::bad_tokens))
        .wrap(from_fn(cors::credentials_for_named))
        .wrap(from_fn(request_id::middleware))
        .configure(ops::routes)
        .service(
            web::resource(["/v2/ws", "/v2/ws/"])
                .app_data(web::PayloadConfig::new(1_000_000))
                .default_service(web::to(sio_polling)),
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
                        .error_handler(|_, req| errors::path_error_v1(req).into()),
                )
                .wrap(from_fn(ratelimit::v1))
                .configure(v1::routes)
                .default_service(web::to(unrouted)),
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
                        .error_handler(|_, req| errors::path_error_v2(req).into()),
                )
                .wrap(from_fn(idempotency::middleware))
                .wrap(from_fn(ratelimit::v2))
                .configure(v2::routes)
                .default_service(web::to(unrouted)),
        )
        .configure(pages::routes)
        .default_service(web::to(unrouted))
}

/// No route took the request: 405 with `Allow` when its path is a documented route (with
/// other methods), else 404; in the error shape of the path's surface.
async fn unrouted(req: actix_web::HttpRequest) -> HttpResponse {
    let allow = req
        .match_pattern()
        .map(|p| openapi::documented_methods(&p).join(", "))
        .filter(|a| !a.is_empty());
    let v1 = req.path().starts_with("/v1/");
    match (allow, v1) {
        (Some(allow), true) => V1Error::MethodNotAllowed { allow }.error_response(),
        (Some(allow), false) => V2Error::MethodNotAllowed { allow }.error_response(),
        (None, true) => V1Error::not_found("route").error_response(),
        (None, false) => V2Error::NotFound("route".into()).error_response(),
    }
}
