//! The OpenAPI description served at `/openapi.json`.

use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

use super::{ops, v1, v2};

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
        v1::tournaments::create, v1::tournaments::list, v1::tournaments::get, v1::tournaments::patch,
        v1::tournaments::register, v1::tournaments::withdraw, v1::tournaments::generate_pairings,
        v1::tournaments::standings,
        v2::auth::register, v2::auth::login, v2::auth::refresh, v2::auth::logout,
    ),
    modifiers(&Bearer)
)]
pub struct ApiDoc;
