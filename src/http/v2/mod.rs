//! /v2: the robot battle API.

pub mod admin;
pub mod algorithms;
pub mod auth;
pub mod battles;
pub mod economy;
pub mod guest;
pub mod leaderboard;
pub mod pilots;
pub mod robots;
pub mod users;
pub mod wallet;

use actix_web::web;

/// All /v2 routes (relative to the scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    auth::routes(cfg);
    guest::routes(cfg);
    robots::routes(cfg);
    algorithms::routes(cfg);
    battles::routes(cfg);
    users::routes(cfg);
    leaderboard::routes(cfg);
    wallet::routes(cfg);
    economy::routes(cfg);
    pilots::routes(cfg);
    admin::routes(cfg);
}
