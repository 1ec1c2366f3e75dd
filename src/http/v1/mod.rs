//! /v1: the tabletop tracker API.

pub mod auth;

use actix_web::web;

/// All /v1 routes (relative to the scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    auth::routes(cfg);
}
