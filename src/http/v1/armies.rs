//! /v1/armies and /v1/factions.

use actix_web::{web, HttpResponse};
use serde::{de::IgnoredAny, Deserialize};
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::cluster::cache::CacheKind;
use crate::domain::factions::{faction, FACTIONS};
use crate::http::{
    cached,
    errors::V1Error,
    extract::V1Auth,
    pagination::{v1_page, Cursor, V1PageQuery},
    AppState,
};
use crate::store::{armies::Army, now_ms};

/// Create/replace body. The read-only fields of the Army model are accepted and ignored, so
/// a client may `PUT` back what it got from `GET`; any other unknown field is refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArmyReq {
    #[serde(default, rename = "id")]
    #[schema(value_type = Option<String>, read_only)]
    _id: Option<IgnoredAny>,
    #[serde(default, rename = "owner_id")]
    #[schema(value_type = Option<String>, read_only)]
    _owner_id: Option<IgnoredAny>,
    #[serde(default, rename = "created_at")]
    #[schema(value_type = Option<String>, read_only)]
    _created_at: Option<IgnoredAny>,
    #[serde(default, rename = "updated_at")]
    #[schema(value_type = Option<String>, read_only)]
    _updated_at: Option<IgnoredAny>,
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    name: String,
    /// One of `GET /v1/factions`.
    #[schema(example = "fac_custodes", pattern = "^fac_[a-z_]+$")]
    faction_id: String,
    #[serde(default)]
    detachment: Option<String>,
    #[schema(minimum = 1, maximum = 100000)]
    points_value: i64,
    /// `{"units": [{"name", "points" (0..10000)}, ...]}`, at most 500 units whose points
    /// add up to at most `points_value`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    army_list: Option<Value>,
}

/// Checks the body: name, known faction, units within points.
fn validate(r: &ArmyReq) -> Result<Value, V1Error> {
    let name = r.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(V1Error::field("name", "1 to 100 characters"));
    }
    if faction(&r.faction_id).is_none() {
        return Err(V1Error::field(
            "faction_id",
            format!("unknown faction '{}' (see GET /v1/factions)", r.faction_id),
        ));
    }
    if !(1..=100_000).contains(&r.points_value) {
        return Err(V1Error::field(
            "points_value",
            "must be between 1 and 100000",
        ));
    }
    let list = r.army_list.clone().unwrap_or_else(|| json!({"units": []}));
    let units = list
        .get("units")
        .and_then(Value::as_array)
        .ok_or_else(|| V1Error::field("army_list", "must be {\"units\": [...]}"))?;
    if units.len() > 500 {
        return Err(V1Error::field("army_list", "at most 500 units"));
    }
    let mut total = 0i64;
    for (i, u) in units.iter().enumerate() {
        let pts = u
            .get("points")
            .and_then(Value::as_i64)
            .filter(|p| (0..=10_000).contains(p))
            .ok_or_else(|| {
                V1Error::field(
                    "army_list",
                    format!("unit {i}: points must be an integer 0..10000"),
                )
            })?;
        if u.get("name")
            .and_then(Value::as_str)
            .is_none_or(|n| n.trim().is_empty())
        {
            return Err(V1Error::field(
                "army_list",
                format!("unit {i}: name is required"),
            ));
        }
        total += pts;
    }
    if total > r.points_value {
        return Err(V1Error::Validation {
            message: format!(
                "units total {total} points, over points_value {}",
                r.points_value
            ),
            details: json!({"field": "army_list", "units_points": total, "points_value": r.points_value}),
        });
    }
    Ok(list)
}

/// Create an army for the caller.
#[utoipa::path(post, path = "/v1/armies", request_body = ArmyReq,
    responses((status = 201, description = "`{army}`: the Army model")))]
pub(crate) async fn create(
    state: web::Data<AppState>,
    V1Auth(me): V1Auth,
    body: crate::http::extract::Json<ArmyReq>,
) -> Result<HttpResponse, V1Error> {
    let list = validate(&body)?;
    let now = now_ms();
    let army = Army {
        id: Uuid::new_v4(),
        owner_id: me.id,
        name: body.name.trim().into(),
        faction_id: body.faction_id.clone(),
        detachment: body.detachment.clone(),
        points_value: body.points_value,
        army_list: list,
        created_at: now,
        updated_at: now,
    };
    state.db.insert_army(&army).await?;
    Ok(HttpResponse::Created().json(json!({ "army": army.to_api() })))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    owner_id: Option<Uuid>,
    // Not `#[serde(flatten)]`: flattening turns every query value into a string.
    limit: Option<u32>,
    cursor: Option<String>,
    offset: Option<u32>,
}

impl ListQuery {
    fn page(&self) -> V1PageQuery {
        V1PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
            offset: self.offset,
        }
    }
}

/// List armies, optionally of one owner (cursor pagination).
#[utoipa::path(get, path = "/v1/armies", params(
        ("owner_id" = Option<String>, Query, description = "Only this owner's armies"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size (default 20)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
        ("offset" = Option<i64>, Query, minimum = 0, maximum = 4_294_967_295_i64, description = "Rows to skip (instead of a cursor)")),
    responses((status = 200, description = "`{data, pagination}`")))]
pub(crate) async fn list(
    state: web::Data<AppState>,
    _me: V1Auth,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, V1Error> {
    let page = q.page().parse()?;
    let after = page.after.map(|c| (c.k, c.id));
    let rows = state
        .db
        .armies(q.owner_id, after, page.offset, page.limit + 1)
        .await?;
    let rows: Vec<(i64, String, Value)> = rows
        .iter()
        .map(|a| (a.created_at, a.id.to_string(), a.to_api()))
        .collect();
    let v = v1_page(rows, page.limit, |(k, id, _)| Cursor {
        k: *k,
        id: id.clone(),
    });
    let data: Vec<Value> = v["data"]
        .as_array()
        .map(|a| a.iter().map(|r| r[2].clone()).collect())
        .unwrap_or_default();
    Ok(HttpResponse::Ok().json(json!({ "data": data, "pagination": v["pagination"] })))
}

async fn load(state: &AppState, id: Uuid) -> Result<Army, V1Error> {
    state
        .db
        .army(id)
        .await?
        .ok_or_else(|| V1Error::missing("army", &id.to_string()))
}

/// One army.
#[utoipa::path(get, path = "/v1/armies/{id}", responses((status = 200, description = "`{army}`")))]
pub(crate) async fn get(
    state: web::Data<AppState>,
    _me: V1Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, V1Error> {
    let army = cached::read(&state, CacheKind::Army, *id, async {
        Ok::<_, V1Error>(load(&state, *id).await?.to_api())
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "army": army })))
}

/// Replace an army (owner or admin). Read-only fields of the model may be sent back; they
/// are ignored.
#[utoipa::path(put, path = "/v1/armies/{id}", request_body = ArmyReq,
    responses((status = 200, description = "`{army}`")))]
pub(crate) async fn replace(
    state: web::Data<AppState>,
    V1Auth(me): V1Auth,
    id: web::Path<Uuid>,
    body: crate::http::extract::Json<ArmyReq>,
) -> Result<HttpResponse, V1Error> {
    let mut army = load(&state, *id).await?;
    if !me.is_owner_or_admin(army.owner_id) {
        return Err(V1Error::Forbidden(
            "only the owner or an admin may change this army".into(),
        ));
    }
    army.army_list = validate(&body)?;
    army.name = body.name.trim().into();
    army.faction_id = body.faction_id.clone();
    army.detachment = body.detachment.clone();
    army.points_value = body.points_value;
    let updated = state.db.update_army(&army).await;
    cached::invalidate(&state, CacheKind::Army, &[army.id]).await;
    updated?;
    Ok(HttpResponse::Ok().json(json!({ "army": load(&state, *id).await?.to_api() })))
}

/// Delete an army that no ongoing battle or tournament uses (owner or admin).
#[utoipa::path(delete, path = "/v1/armies/{id}",
    responses((status = 204), (status = 409, description = "`ARMY_IN_USE`")))]
pub(crate) async fn delete(
    state: web::Data<AppState>,
    V1Auth(me): V1Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, V1Error> {
    let army = load(&state, *id).await?;
    if !me.is_owner_or_admin(army.owner_id) {
        return Err(V1Error::Forbidden(
            "only the owner or an admin may delete this army".into(),
        ));
    }
    let deleted = state.db.delete_army_if_unused(*id).await;
    cached::invalidate(&state, CacheKind::Army, &[*id]).await;
    if !deleted? {
        return Err(V1Error::Conflict {
            code: "ARMY_IN_USE",
            message: "army is used by an ongoing battle or tournament".into(),
        });
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The factions an army may belong to.
#[utoipa::path(get, path = "/v1/factions", responses((status = 200, description = "`{data}`")))]
pub(crate) async fn factions() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "data": FACTIONS }))
}

/// Routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/factions", web::get().to(factions))
        .route("/armies", web::post().to(create))
        .route("/armies", web::get().to(list))
        .route("/armies/{id}", web::get().to(get))
        .route("/armies/{id}", web::put().to(replace))
        .route("/armies/{id}", web::delete().to(delete));
}
