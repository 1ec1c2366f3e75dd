//! /v2/robots and the caller's roster: catalogue browsing, purchase and upgrades.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::{
    errors::V2Error,
    extract::V2Auth,
    pagination::{v2_slice, V2PageQuery, MAX_LIMIT},
    AppState,
};
use crate::sim::battle::UpgradeStat;
use crate::sim::catalog::{Biome, Element, RobotDef, Tier, ROBOTS};
use crate::store::roster::{self, RobotPatch, ShopError};

/// `GET /robots` filters.
#[derive(Debug, Deserialize, Default)]
pub struct RobotQuery {
    element: Option<String>,
    tier: Option<String>,
    biome_bonus: Option<String>,
    sort_by: Option<String>,
    // Not `#[serde(flatten)]` of a page query: flattening turns every value into a string.
    limit: Option<u32>,
    offset: Option<u32>,
}

/// The parsed filter: built once, then applied to the static catalogue.
struct RobotFilter {
    element: Option<Element>,
    tier: Option<Tier>,
    biome: Option<Biome>,
    sort: Option<fn(&RobotDef) -> i64>,
}

impl RobotQuery {
    fn parse(&self) -> Result<RobotFilter, V2Error> {
        let bad = |e: crate::sim::SimError| V2Error::Validation(e.to_string());
        Ok(RobotFilter {
            element: self
                .element
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(bad)?,
            tier: self
                .tier
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(bad)?,
            biome: self
                .biome_bonus
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(bad)?,
            sort: match self.sort_by.as_deref() {
                None => None,
                Some("base_attack") => Some(|r| i64::from(r.base_attack)),
                Some("base_hp") => Some(|r| i64::from(r.base_hp)),
                Some("gmo_cost") => Some(|r| r.gmo_cost),
                Some(other) => {
                    return Err(V2Error::Validation(format!(
                        "sort_by must be base_attack, base_hp or gmo_cost, not '{other}'"
                    )))
                }
            },
        })
    }
}

impl RobotFilter {
    fn apply(&self) -> Vec<&'static RobotDef> {
        let mut out: Vec<&'static RobotDef> = ROBOTS
            .iter()
            .filter(|r| self.element.is_none_or(|e| r.element == e))
            .filter(|r| self.tier.is_none_or(|t| r.tier == t))
            .filter(|r| self.biome.is_none_or(|b| r.biome_bonus_in(b) > 0))
            .collect();
        if let Some(key) = self.sort {
            // Descending: "sort by attack" means strongest first; the slug keeps it stable.
            out.sort_by(|a, b| key(b).cmp(&key(a)).then(a.slug.cmp(b.slug)));
        }
        out
    }
}

/// List the catalogue.
#[utoipa::path(get, path = "/v2/robots", responses((status = 200), (status = 400)))]
pub async fn list(q: web::Query<RobotQuery>) -> Result<HttpResponse, V2Error> {
    // The spec lists the whole catalogue (36) by default: the default page is the largest.
    let page = V2PageQuery {
        limit: q.limit.or(Some(MAX_LIMIT)),
        offset: q.offset,
    }
    .parse()?;
    let data: Vec<Value> = q
        .parse()?
        .apply()
        .into_iter()
        .map(roster::robot_json)
        .collect();
    Ok(HttpResponse::Ok().json(v2_slice(data, page)))
}

fn parse_id(s: &str, what: &str) -> Result<Uuid, V2Error> {
    Uuid::parse_str(s).map_err(|_| V2Error::NotFound(what.into()))
}

/// One robot by id (or slug).
#[utoipa::path(get, path = "/v2/robots/{id}", responses((status = 200), (status = 404)))]
pub async fn get(path: web::Path<String>) -> Result<HttpResponse, V2Error> {
    let r = crate::sim::catalog::robot(&path)
        .or_else(|| Uuid::parse_str(&path).ok().and_then(roster::robot_by_id))
        .ok_or_else(|| V2Error::NotFound("robot".into()))?;
    Ok(HttpResponse::Ok().json(roster::robot_json(r)))
}

/// The caller's robots.
#[utoipa::path(get, path = "/v2/users/me/robots", responses((status = 200), (status = 401)))]
pub async fn mine(
    state: web::Data<AppState>,
    V2Auth(me): V2Auth,
    q: web::Query<V2PageQuery>,
) -> Result<HttpResponse, V2Error> {
    // A roster is at most the catalogue: all of it by default, as for `GET /robots`.
    let page = V2PageQuery {
        limit: q.limit.or(Some(MAX_LIMIT)),
        offset: q.offset,
    }
    .parse()?;
    let data: Vec<Value> = state
        .db
        .owned_robots(me.id)
        .await?
        .iter()
        .map(|o| o.to_json())
        .collect();
    Ok(HttpResponse::Ok().json(v2_slice(data, page)))
}

impl From<ShopError> for V2Error {
    fn from(e: ShopError) -> Self {
        match e {
            ShopError::InsufficientGmo => V2Error::BadRequest {
                code: "INSUFFICIENT_GMO",
                message: "not enough GMO".into(),
            },
            ShopError::AlreadyOwned => V2Error::BadRequest {
                code: "ALREADY_OWNED",
                message: "robot already in roster".into(),
            },
            ShopError::NotFound => V2Error::NotFound("robot".into()),
            ShopError::Capped => V2Error::Validation(e.to_string()),
            ShopError::Store(s) => s.into(),
        }
    }
}

/// Buy a robot.
#[utoipa::path(post, path = "/v2/users/me/robots/{robotId}/purchase",
    responses((status = 200), (status = 400), (status = 404)))]
pub async fn purchase(
    state: web::Data<AppState>,
    V2Auth(me): V2Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, V2Error> {
    let robot = crate::sim::catalog::robot(&path)
        .map(|r| roster::robot_id(r.slug))
        .map_or_else(|| parse_id(&path, "robot"), Ok)?;
    let (id, balance) = state.db.purchase_robot(me.id, robot).await?;
    state.game.push_balance(me.id).await;
    Ok(HttpResponse::Ok().json(json!({ "user_robot_id": id, "gmo_balance_after": balance })))
}

/// `PATCH /users/me/robots/:id` body: a nickname and levels to add per stat.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchRobotReq {
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    nickname: Option<Option<String>>,
    upgrade_hp: Option<u8>,
    upgrade_attack: Option<u8>,
    upgrade_defense: Option<u8>,
    upgrade_speed: Option<u8>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Ok(Some(Option::<String>::deserialize(d)?))
    }
}

impl PatchRobotReq {
    fn parse(&self) -> Result<RobotPatch, V2Error> {
        if let Some(Some(n)) = &self.nickname {
            let len = n.trim().chars().count();
            if len == 0 || len > 32 {
                return Err(V2Error::Validation(
                    "nickname must be 1 to 32 characters".into(),
                ));
            }
        }
        let add: Vec<(UpgradeStat, u8)> = [
            (UpgradeStat::Hp, self.upgrade_hp),
            (UpgradeStat::Attack, self.upgrade_attack),
            (UpgradeStat::Defense, self.upgrade_defense),
            (UpgradeStat::Speed, self.upgrade_speed),
        ]
        .into_iter()
        .filter_map(|(s, n)| n.filter(|n| *n > 0).map(|n| (s, n)))
        .collect();
        Ok(RobotPatch {
            nickname: self
                .nickname
                .clone()
                .map(|n| n.map(|s| s.trim().to_string())),
            add,
        })
    }
}

/// Rename or upgrade an owned robot. Each `upgrade_*` adds that many levels (cost in
/// `docs/GAME_RULES.md`: 20% of the robot's price per level reached, cap 5).
#[utoipa::path(patch, path = "/v2/users/me/robots/{userRobotId}", request_body = PatchRobotReq,
    responses((status = 200), (status = 400), (status = 404)))]
pub async fn patch(
    state: web::Data<AppState>,
    V2Auth(me): V2Auth,
    path: web::Path<Uuid>,
    body: crate::http::extract::Json<PatchRobotReq>,
) -> Result<HttpResponse, V2Error> {
    let id = path.into_inner();
    let patch = body.parse()?;
    let (robot, balance) = state.db.patch_robot(me.id, id, &patch).await?;
    if !patch.add.is_empty() {
        state.game.push_balance(me.id).await;
    }
    let mut v = robot.to_json();
    v["gmo_balance_after"] = balance.into();
    Ok(HttpResponse::Ok().json(v))
}

/// Routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/robots", web::get().to(list))
        .route("/robots/{id}", web::get().to(get))
        .route("/users/me/robots", web::get().to(mine))
        .route("/users/me/robots/{id}/purchase", web::post().to(purchase))
        .route("/users/me/robots/{id}", web::patch().to(patch));
}
