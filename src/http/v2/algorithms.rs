//! /v2/algorithms: players' rule trees. A player sees only their own.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::http::{
    errors::V2Error,
    extract::V2Auth,
    pagination::{v2_page, V2PageQuery},
    AppState,
};
use crate::sim::ai::{self, Difficulty};
use crate::sim::battle::{run_to_end, BattleInputs, Fighter};
use crate::sim::catalog::Biome;
use crate::sim::rules::{self, RuleTree};
use crate::store::algorithms::{AlgorithmRecord, AlgorithmSort, NewAlgorithm};

/// Create/replace body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AlgorithmReq {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[schema(value_type = Object)]
    rule_tree: Value,
}

impl AlgorithmReq {
    /// Checks the fields and validates the tree (an invalid tree is stored, flagged).
    fn parse(self) -> Result<NewAlgorithm, V2Error> {
        let name = self.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(V2Error::Validation(
                "name must be 1 to 64 characters".into(),
            ));
        }
        if self
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 1000)
        {
            return Err(V2Error::Validation(
                "description is limited to 1000 characters".into(),
            ));
        }
        if !self.rule_tree.is_object() {
            return Err(V2Error::Validation("rule_tree must be an object".into()));
        }
        let v = rules::validate(&self.rule_tree, None);
        Ok(NewAlgorithm {
            name,
            description: self.description,
            tree_hash: v.tree.as_ref().map(RuleTree::canonical_hash),
            errors: v.errors,
            rule_tree: self.rule_tree,
        })
    }
}

/// The caller's algorithm, or 404 (also for someone else's: ids are not secret-safe probes).
/// A path id that is not a UUID is 404 before this (the v2 `PathConfig`).
async fn own(state: &AppState, me: &AuthUser, id: Uuid) -> Result<AlgorithmRecord, V2Error> {
    state
        .db
        .algorithm(id)
        .await?
        .filter(|a| a.user_id == me.id)
        .ok_or_else(|| V2Error::NotFound("algorithm".into()))
}

/// List filters.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    sort_by: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

/// The caller's algorithms.
#[utoipa::path(get, path = "/v2/users/me/algorithms", responses((status = 200), (status = 400)))]
pub async fn list(
    state: web::Data<AppState>,
    V2Auth(me): V2Auth,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, V2Error> {
    let status = match q.status.as_deref() {
        None => None,
        Some(s @ ("DRAFT" | "ACTIVE" | "ARCHIVED")) => Some(s),
        Some(other) => {
            return Err(V2Error::Validation(format!(
                "status must be DRAFT, ACTIVE or ARCHIVED, not '{other}'"
            )))
        }
    };
    let sort = match q.sort_by.as_deref() {
        None | Some("created_at") => AlgorithmSort::CreatedAt,
        Some("win_rate") => AlgorithmSort::WinRate,
        Some("times_used") => AlgorithmSort::TimesUsed,
        Some(other) => {
            return Err(V2Error::Validation(format!(
                "sort_by must be created_at, win_rate or times_used, not '{other}'"
            )))
        }
    };
    let page = V2PageQuery {
        limit: q.limit,
        offset: q.offset,
    }
    .parse()?;
    let (rows, total) = state
        .db
        .list_algorithms(me.id, status, sort, page.limit, page.offset)
        .await?;
    let data: Vec<Value> = rows.iter().map(AlgorithmRecord::to_json).collect();
    Ok(HttpResponse::Ok().json(v2_page(data, total, page)))
}

/// Create.
#[utoipa::path(post, path = "/v2/algorithms", request_body = AlgorithmReq, responses((status = 201), (status = 400)))]
pub async fn create(
    state: web::Data<AppState>,
    V2Auth(me): V2Auth,
    body: crate::http::extract::Json<AlgorithmReq>,
) -> Result<HttpResponse, V2Error> {
    let a = body.into_inner().parse()?;
    let rec = state.db.insert_algorithm(me.id, &a, None).await?;
    Ok(HttpResponse::Created().json(rec.to_json()))
}

/// Read.
#[utoipa::path(get, path = "/v2/algorithms/{id}", responses((status = 200), (status = 404)))]
pub async fn get(
    state: web::Data<AppState>,
    V2Auth(me): V2Auth,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, V2Error> {
    Ok(HttpResponse::Ok().json(own(&state, &me, *path).await?.to_json()))
}

/// Full update: a new version whose `parent_id` is this one.
#[utoipa::path(put, path = "/v2/algorithms/{id}", request_body = AlgorithmReq, responses((status = 200), (status = 404)))]
pub async fn replace(
    state: web::Data<AppState>,
    V2Auth(me): V2Auth,
    path: web::Path<Uuid>,
    body: crate::http::extract::Json<AlgorithmReq>,
) -> Result<HttpResponse, V2Error> {
    let parent = own(&state, &me, *path).await?;
    if parent.status == "ARCHIVED" {
        return Err(V2Error::Conflict {
            code: "CONFLICT",
            message: "an archived algorithm cannot be changed; update its newest version".into(),
        });
    }
    let a = body.into_inner().parse()?;
    let rec = state.db.insert_algorithm(me.id, &a, Some(&parent)).await?;
    Ok(HttpResponse::Ok().json(rec.to_json()))
}

/// Soft delete (ARCHIVED).
#[utoipa::path(delete, path = "/v2/algorithms/{id}", responses((status = 204), (status = 404)))]
pub(crate) async fn archive(
    state: web::Data<AppState>,
    V2Auth(me): V2Auth,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, V2Error> {
    let a = own(&state, &me, *path).await?;
    state
        .db
        .set_algorithm_status(me.id, a.id, "ARCHIVED")
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Optional body of `validate`: a tree to check instead of the stored one, and a robot.
#[derive(Debug, Deserialize, Default, ToSchema)]
pub(crate) struct ValidateReq {
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    rule_tree: Option<Value>,
    #[serde(default)]
    robot_id: Option<String>,
}

/// Re-validate without saving.
#[utoipa::path(post, path = "/v2/algorithms/{id}/validate", request_body = Option<ValidateReq>, responses((status = 200), (status = 404)))]
pub async fn validate(
    state: web::Data<AppState>,
    V2Auth(me): V2Auth,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, V2Error> {
    // No body (or `null`, as documented) re-checks the stored tree; a body that is not a valid request is the caller's
    // error (an `Option<Json>` extractor would silently fall back to the stored tree).
    let blank = body.iter().all(u8::is_ascii_whitespace);
    let body: ValidateReq = if blank || body.trim_ascii() == b"null" {
        ValidateReq::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| V2Error::Validation(format!("invalid JSON body: {e}")))?
    };
    let a = own(&state, &me, *path).await?;
    let robot = body.robot_id.as_deref().map(robot_def).transpose()?;
    let tree = body.rule_tree.unwrap_or(a.rule_tree);
    let v = rules::validate(&tree, robot);
    Ok(HttpResponse::Ok()
        .json(json!({ "is_valid": v.is_valid(), "errors": v.errors, "warnings": v.warnings })))
}

/// Make it the one that plays.
#[utoipa::path(post, path = "/v2/algorithms/{id}/activate", responses((status = 200), (status = 400), (status = 404)))]
pub async fn activate(
    state: web::Data<AppState>,
    V2Auth(me): V2Auth,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, V2Error> {
    let a = own(&state, &me, *path).await?;
    if !a.is_valid {
        return Err(algorithm_invalid(&a.validation_errors));
    }
    if a.status == "ARCHIVED" {
        return Err(V2Error::Conflict {
            code: "CONFLICT",
            message: "an archived algorithm cannot be activated".into(),
        });
    }
    state.db.set_algorithm_status(me.id, a.id, "ACTIVE").await?;
    let a = own(&state, &me, *path).await?;
    Ok(HttpResponse::Ok().json(a.to_json()))
}

/// 400 `ALGORITHM_INVALID` with the validator's messages.
pub(crate) fn algorithm_invalid(errors: &[String]) -> V2Error {
    V2Error::BadRequest {
        code: "ALGORITHM_INVALID",
        message: format!("rule tree failed validation: {}", errors.join("; ")),
    }
}

fn robot_def(s: &str) -> Result<&'static crate::sim::catalog::RobotDef, V2Error> {
    crate::sim::catalog::robot(s)
        .or_else(|| {
            Uuid::parse_str(s)
                .ok()
                .and_then(crate::store::roster::robot_by_id)
        })
        .ok_or_else(|| V2Error::Validation(format!("unknown robot '{s}'")))
}

/// `simulate` query.
#[derive(Debug, Deserialize)]
pub struct SimulateQuery {
    robot_id: Option<String>,
    biome: Option<String>,
    ai_difficulty: Option<String>,
    seed: Option<u32>,
}

/// Dry run against a built-in AI: the full battle log.
#[utoipa::path(get, path = "/v2/algorithms/{id}/simulate", responses((status = 200), (status = 400), (status = 404)))]
pub async fn simulate(
    state: web::Data<AppState>,
    V2Auth(me): V2Auth,
    path: web::Path<Uuid>,
    q: web::Query<SimulateQuery>,
) -> Result<HttpResponse, V2Error> {
    let a = own(&state, &me, *path).await?;
    let robot = robot_def(q.robot_id.as_deref().unwrap_or("volt-striker-mk1"))?;
    let bad = |e: crate::sim::SimError| V2Error::Validation(e.to_string());
    let biome: Biome = q.biome.as_deref().unwrap_or("CITY").parse().map_err(bad)?;
    let difficulty: Difficulty = q
        .ai_difficulty
        .as_deref()
        .unwrap_or("MEDIUM")
        .parse()
        .map_err(bad)?;
    let v = rules::validate(&a.rule_tree, Some(robot));
    let Some(tree) = v.tree else {
        return Err(algorithm_invalid(&v.errors));
    };
    // The AI mirrors the player's robot so the result measures the algorithm, not the robot.
    let seed = u64::from(q.seed.unwrap_or(1));
    let inputs = BattleInputs {
        seed,
        biome,
        max_ticks: crate::sim::battle::DEFAULT_MAX_TICKS,
        p1: Fighter::new(robot, tree),
        p2: Fighter::new(robot, ai::builtin(difficulty)),
    };
    let log = web::block(move || run_to_end(inputs))
        .await
        .map_err(|e| V2Error::Internal(e.to_string()))?
        .map_err(bad)?;
    Ok(HttpResponse::Ok().json(json!({
        "lcg_seed": seed, "biome": biome, "ai_difficulty": difficulty,
        "robot": robot.slug, "warnings": v.warnings,
        "winner": log.outcome.winner, "total_ticks": log.outcome.total_ticks,
        "reason": log.outcome.reason, "log_hash": log.log_hash, "ticks": log.ticks,
    })))
}

/// Routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users/me/algorithms", web::get().to(list))
        .route("/algorithms", web::post().to(create))
        .route("/algorithms/{id}", web::get().to(get))
        .route("/algorithms/{id}", web::put().to(replace))
        .route("/algorithms/{id}", web::delete().to(archive))
        .route("/algorithms/{id}/validate", web::post().to(validate))
        .route("/algorithms/{id}/activate", web::post().to(activate))
        .route("/algorithms/{id}/simulate", web::get().to(simulate));
}
