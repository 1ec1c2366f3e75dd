//! The OpenAPI description served at `/openapi.json`.

use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

use super::{errors, ops, v1, v2};

mod bodies;
mod contract;
use contract::ServerContract;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Every documented endpoint.
#[derive(OpenApi)]
#[openapi(
    info(title = "WarRoom", description = "Tabletop tracker (/v1) and robot battles (/v2)"),
    paths(
        ops::healthz, ops::readyz, ops::metrics,
        v1::auth::register, v1::auth::login, v1::auth::refresh, v1::auth::logout, v1::auth::profile,
        v1::armies::factions, v1::armies::create, v1::armies::list, v1::armies::get,
        v1::armies::replace, v1::armies::delete,
        v1::battles::create, v1::battles::list, v1::battles::get, v1::battles::patch,
        v1::battles::events, v1::battles::advance, v1::battles::complete,
        v1::tournaments::create, v1::tournaments::list, v1::tournaments::get, v1::tournaments::patch,
        v1::tournaments::register, v1::tournaments::withdraw, v1::tournaments::generate_pairings,
        v1::tournaments::standings,
        v2::auth::register, v2::auth::login, v2::auth::refresh, v2::auth::logout,
        v2::guest::guest,
        v2::robots::list, v2::robots::get, v2::robots::mine, v2::robots::purchase, v2::robots::patch,
        v2::algorithms::list, v2::algorithms::create, v2::algorithms::get, v2::algorithms::replace,
        v2::algorithms::archive, v2::algorithms::validate, v2::algorithms::activate,
        v2::algorithms::simulate,
        v2::battles::queue, v2::battles::leave, v2::battles::status, v2::battles::get,
        v2::battles::replay, v2::battles::history, v2::battles::live,
        v2::users::me, v2::users::patch_me, v2::users::stats, v2::users::public,
        v2::leaderboard::list, v2::leaderboard::me, v2::leaderboard::refresh,
        v2::wallet::nonce, v2::wallet::connect, v2::economy::rates, v2::economy::deposit,
        v2::economy::withdraw, v2::economy::transactions, v2::economy::balance,
        v2::pilots::mine, v2::pilots::mint, v2::pilots::detail, v2::pilots::metadata,
        v2::admin::users, v2::admin::ban, v2::admin::seed_robots,
        v2::admin::metrics,
    ),
    components(schemas(errors::V1ErrorBody, errors::V1ErrorDetail, errors::V2ErrorBody)),
    modifiers(&Bearer, &ServerContract)
)]
pub(crate) struct ApiDoc;

/// The served document: the derived description with the request-body rules of
/// [`bodies`] applied.
pub(crate) fn document() -> &'static serde_json::Value {
    use std::sync::LazyLock;
    static DOC: LazyLock<serde_json::Value> = LazyLock::new(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the description serializes");
        bodies::apply(&mut doc);
        doc
    });
    &DOC
}

/// The documented methods of a route pattern (`/v1/armies/{id}`; parameter names do not
/// matter), upper case; empty for a pattern the description does not know.
pub(crate) fn documented_methods(pattern: &str) -> Vec<&'static str> {
    use std::sync::LazyLock;
    fn shape(p: &str) -> String {
        p.split('/')
            .map(|s| if s.starts_with('{') { "{}" } else { s })
            .collect::<Vec<_>>()
            .join("/")
    }
    static TABLE: LazyLock<Vec<(String, Vec<&'static str>)>> = LazyLock::new(|| {
        ApiDoc::openapi()
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, on)| on.then_some(m))
                .collect();
                (shape(path), methods)
            })
            .collect()
    });
    let want = shape(pattern);
    TABLE
        .iter()
        .find(|(p, _)| *p == want)
        .map(|(_, m)| m.clone())
        .unwrap_or_default()
}
