//! /v2: the robot battle API.

pub mod algorithms;
pub mod auth;
pub mod battles;
pub mod leaderboard;
pub mod robots;
pub mod users;

use actix_web::web;

/// All /v2 routes (relative to the scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    auth::routes(cfg);
    robots::routes(cfg);
    algorithms::routes(cfg);
    battles::routes(cfg);
    users::routes(cfg);
    leaderboard::routes(cfg);
}
