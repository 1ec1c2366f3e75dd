//! /v2: the robot battle API.

pub mod auth;

use actix_web::web;

/// All /v2 routes (relative to the scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    auth::routes(cfg);
}
