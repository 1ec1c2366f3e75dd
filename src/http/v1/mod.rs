//! /v1: the tabletop tracker API.

pub mod armies;
pub mod auth;
pub mod battles;
pub mod tournaments;

use actix_web::web;

/// All /v1 routes (relative to the scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    auth::routes(cfg);
    armies::routes(cfg);
    battles::routes(cfg);
    tournaments::routes(cfg);
}
