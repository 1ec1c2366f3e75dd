//! The web pages for people: `/` (live robot battles, leaderboard, tournaments),
//! `/watch/{battle_id}` (spectator view and replay), `/table/{battle_id}` (a 40K table
//! display with its clock and controls) and `/tournaments/{id}` (pairings, standings, round
//! clock), plus their static assets under `/assets/`.
//!
//! Everything comes from `web/`, embedded in the binary at compile time, so `cargo run`
//! serves the pages with nothing else installed and every asset is same-origin. A page for
//! an id that does not exist is answered 404 with the same page marked
//! `data-page-state="missing"`, so the page shows its message without asking the API for
//! something it knows is not there.

use std::sync::OnceLock;

use actix_web::{
    http::header::{self, HeaderValue},
    web, HttpRequest, HttpResponse,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::http::AppState;

/// One embedded file.
struct Asset {
    /// Name under `/assets/`.
    name: &'static str,
    /// `Content-Type`.
    mime: &'static str,
    /// Contents.
    body: &'static [u8],
}

macro_rules! web_file {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $path))
    };
}

macro_rules! asset {
    ($name:literal, $mime:expr) => {
        Asset {
            name: $name,
            mime: $mime,
            body: web_file!($name),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Static assets, served under `/assets/{name}`.
const ASSETS: &[Asset] = &[
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("common.js", JS),
    asset!("home.js", JS),
    asset!("watch.js", JS),
    asset!("replay.js", JS),
    asset!("table.js", JS),
    asset!("tournament.js", JS),
    asset!("vendor/socket.io.esm.min.js", JS),
    asset!(
        "vendor/socket.io-client.LICENSE",
        "text/plain; charset=utf-8"
    ),
];

/// The page shells.
const HOME: &[u8] = web_file!("index.html");
const WATCH: &[u8] = web_file!("watch.html");
const TABLE: &[u8] = web_file!("table.html");
const TOURNAMENT: &[u8] = web_file!("tournament.html");

/// Pages allow only this origin: scripts, styles, fetches and sockets.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Assets are cached for an hour and revalidated by their ETag.
const ASSET_CACHE: &str = "public, max-age=3600";

fn etags() -> &'static [String] {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| format!("\"{}\"", &hex::encode(Sha256::digest(a.body))[..16]))
            .collect()
    })
}

/// Serves `/assets/{name}` with its type, cache headers and ETag (304 when it matches).
async fn asset(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    let Some(i) = ASSETS.iter().position(|a| a.name == name.as_str()) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("no such asset");
    };
    send_asset(&req, i)
}

fn send_asset(req: &HttpRequest, i: usize) -> HttpResponse {
    let (a, tag) = (&ASSETS[i], &etags()[i]);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::CACHE_CONTROL, ASSET_CACHE))
        .insert_header((header::ETAG, tag.as_str()))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if fresh {
        return res.finish();
    }
    res.content_type(a.mime).body(a.body)
}

/// Browsers ask for `/favicon.ico` by themselves: answer with the icon.
async fn favicon(req: HttpRequest) -> HttpResponse {
    match ASSETS.iter().position(|a| a.name == "icon.svg") {
        Some(i) => send_asset(&req, i),
        None => HttpResponse::NotFound().finish(),
    }
}

/// A page shell; `found == false` answers 404 with the page marked missing.
fn page(shell: &'static [u8], found: bool) -> HttpResponse {
    let mut res = if found {
        HttpResponse::Ok()
    } else {
        HttpResponse::NotFound()
    };
    res.insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .content_type("text/html; charset=utf-8");
    if found {
        return res.body(shell);
    }
    let html = String::from_utf8_lossy(shell).replacen(
        "data-page-state=\"ok\"",
        "data-page-state=\"missing\"",
        1,
    );
    res.body(html)
}

/// What a page shows, so that its existence can be checked before it is served.
#[derive(Clone, Copy)]
enum Subject {
    RobotBattle,
    TableBattle,
    Tournament,
}

/// Whether the id names something that exists. A database error counts as found: the page
/// then shows the API's own answer.
async fn exists(state: &AppState, what: Subject, id: &str) -> bool {
    let Ok(id) = Uuid::parse_str(id) else {
        return false;
    };
    let found = match what {
        Subject::RobotBattle => state.db.robot_battle(id).await.map(|b| b.is_some()),
        Subject::TableBattle => crate::store::tracker::load_battle(&state.db, id)
            .await
            .map(|b| b.is_some()),
        Subject::Tournament => state.db.tournament(id).await.map(|t| t.is_some()),
    };
    found.unwrap_or(true)
}

async fn home() -> HttpResponse {
    page(HOME, true)
}

async fn watch(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    page(WATCH, exists(&state, Subject::RobotBattle, &id).await)
}

async fn table(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    page(TABLE, exists(&state, Subject::TableBattle, &id).await)
}

async fn tournament(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    page(TOURNAMENT, exists(&state, Subject::Tournament, &id).await)
}

/// Page and asset routes (registered at the root of the App).
pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/watch/{id}", web::get().to(watch))
        .route("/table/{id}", web::get().to(table))
        .route("/tournaments/{id}", web::get().to(tournament))
        .route("/favicon.ico", web::get().to(favicon))
        .route("/assets/{name:.+}", web::get().to(asset));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_distinct_name_and_a_body() {
        let mut names: Vec<_> = ASSETS.iter().map(|a| a.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ASSETS.len());
        assert!(ASSETS.iter().all(|a| !a.body.is_empty()));
    }

    #[test]
    fn shells_can_be_marked_missing() {
        for shell in [HOME, WATCH, TABLE, TOURNAMENT] {
            let s = String::from_utf8_lossy(shell);
            assert!(s.contains("data-page-state=\"ok\""));
        }
    }
}
