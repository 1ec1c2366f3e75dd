//! The two error surfaces: v1's envelope and v2's flat body. One enum each, mapped to status.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde_json::{json, Value};

use crate::http::request_id::current_request_id;

/// Errors of the /v1 tracker API: `{error:{code,message,details},timestamp,request_id}`.
#[derive(Debug, thiserror::Error)]
pub enum V1Error {
    /// 401.
    #[error("{0}")]
    Unauthorized(String),
    /// 403.
    #[error("{0}")]
    Forbidden(String),
    /// 404 with a specific code (`NOT_FOUND`, `BATTLE_NOT_FOUND`, ...).
    #[error("{message}")]
    NotFound {
        /// Spec code.
        code: &'static str,
        /// Human message.
        message: String,
        /// Extra details.
        details: Value,
    },
    /// 422 `VALIDATION_ERROR`.
    #[error("{message}")]
    Validation {
        /// Human message.
        message: String,
        /// Field errors.
        details: Value,
    },
    /// 409 with a specific code (`TOURNAMENT_FULL`, `INVALID_BATTLE_STATE`, `CONFLICT`).
    #[error("{message}")]
    Conflict {
        /// Spec code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// 429.
    #[error("rate limit exceeded")]
    RateLimited {
        /// Seconds until a retry can succeed.
        retry_after: u64,
    },
    /// 413.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 405 `METHOD_NOT_ALLOWED`, with `Allow`.
    #[error("method not allowed; allowed: {allow}")]
    MethodNotAllowed {
        /// The route's methods, comma-separated.
        allow: String,
    },
    /// 415.
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    /// 429 `ACCOUNT_LOCKED`: too many failed logins for this account.
    #[error("too many failed logins; account locked, retry in {retry_after} s")]
    AccountLocked {
        /// Seconds until the lock ends.
        retry_after: u64,
    },
    /// 503.
    #[error("{0}")]
    Unavailable(String),
    /// 500; the message is logged, not shown.
    #[error("internal error")]
    Internal(String),
}

impl V1Error {
    /// 404 `NOT_FOUND`.
    pub(crate) fn not_found(what: &str) -> Self {
        V1Error::NotFound {
            code: "NOT_FOUND",
            message: format!("{what} not found"),
            details: json!({}),
        }
    }
    /// 404 for a resource of kind `kind` (`battle`, `army`, `tournament`, ...): the kind's own
    /// code (`BATTLE_NOT_FOUND`, ...) where the spec has one, else `NOT_FOUND`.
    pub fn missing(kind: &str, id: &str) -> Self {
        let code = match kind {
            "battle" => "BATTLE_NOT_FOUND",
            "army" => "ARMY_NOT_FOUND",
            "tournament" => "TOURNAMENT_NOT_FOUND",
            _ => "NOT_FOUND",
        };
        let mut details = serde_json::Map::new();
        details.insert(format!("{kind}_id"), id.into());
        V1Error::NotFound {
            code,
            message: format!("The specified {kind} could not be found"),
            details: details.into(),
        }
    }
    /// 422 with one field error.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        V1Error::Validation {
            details: json!({ "field": field, "reason": message }),
            message,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            V1Error::Unauthorized(_) => "UNAUTHORIZED",
            V1Error::Forbidden(_) => "FORBIDDEN",
            V1Error::NotFound { code, .. } | V1Error::Conflict { code, .. } => code,
            V1Error::Validation { .. } => "VALIDATION_ERROR",
            V1Error::RateLimited { .. } => "RATE_LIMITED",
            V1Error::AccountLocked { .. } => "ACCOUNT_LOCKED",
            V1Error::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            V1Error::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            V1Error::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            V1Error::Unavailable(_) => "SERVICE_UNAVAILABLE",
            V1Error::Internal(_) => "INTERNAL_ERROR",
        }
    }
}

impl ResponseError for V1Error {
    fn status_code(&self) -> StatusCode {
        match self {
            V1Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            V1Error::Forbidden(_) => StatusCode::FORBIDDEN,
            V1Error::NotFound { .. } => StatusCode::NOT_FOUND,
            V1Error::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            V1Error::Conflict { .. } => StatusCode::CONFLICT,
            V1Error::RateLimited { .. } | V1Error::AccountLocked { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            V1Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            V1Error::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            V1Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            V1Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            V1Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let V1Error::Internal(m) = self {
            tracing::error!(error = %m, "internal error");
        }
        let details = match self {
            V1Error::NotFound { details, .. } | V1Error::Validation { details, .. } => {
                details.clone()
            }
            _ => json!({}),
        };
        let mut b = HttpResponse::build(self.status_code());
        if let V1Error::RateLimited { retry_after } | V1Error::AccountLocked { retry_after } = self
        {
            b.insert_header(("Retry-After", retry_after.to_string()));
        }
        if let V1Error::MethodNotAllowed { allow } = self {
            b.insert_header(("Allow", allow.as_str()));
        }
        b.json(json!({
            "error": { "code": self.code(), "message": self.to_string(), "details": details },
            "timestamp": crate::store::rfc3339(crate::store::now_ms()),
            "request_id": current_request_id(),
        }))
    }
}

/// The /v1 error envelope, as documented in `/openapi.json`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct V1ErrorBody {
    error: V1ErrorDetail,
    /// RFC 3339.
    timestamp: String,
    /// The response's `X-Request-Id`.
    request_id: String,
}

/// The inside of [`V1ErrorBody`].
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct V1ErrorDetail {
    /// `UNAUTHORIZED`, `FORBIDDEN`, `NOT_FOUND`, `BATTLE_NOT_FOUND`, `VALIDATION_ERROR`, ...
    code: String,
    message: String,
    #[schema(value_type = Object)]
    details: Value,
}

/// The /v2 error body, as documented in `/openapi.json`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct V2ErrorBody {
    /// `VALIDATION_ERROR`, `UNAUTHORIZED`, `NOT_FOUND`, `INSUFFICIENT_GMO`, ...
    error: String,
    message: String,
}

/// Errors of the /v2 robot API: `{"error":"CODE","message":"..."}`.
#[derive(Debug, thiserror::Error)]
pub enum V2Error {
    /// 400 `VALIDATION_ERROR`.
    #[error("{0}")]
    Validation(String),
    /// 400 with a business code (`INSUFFICIENT_GMO`, `ALREADY_OWNED`, `ALGORITHM_INVALID`).
    #[error("{message}")]
    BadRequest {
        /// Spec code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// 401.
    #[error("{0}")]
    Unauthorized(String),
    /// 403 `FORBIDDEN`.
    #[error("{0}")]
    Forbidden(String),
    /// 403 `USER_BANNED`.
    #[error("account is banned")]
    Banned,
    /// 404.
    #[error("{0} not found")]
    NotFound(String),
    /// 409 with a code (`ALREADY_IN_QUEUE`, `BATTLE_IN_PROGRESS`, `CONFLICT`).
    #[error("{message}")]
    Conflict {
        /// Spec code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// 413.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 405 `METHOD_NOT_ALLOWED`, with `Allow`.
    #[error("method not allowed; allowed: {allow}")]
    MethodNotAllowed {
        /// The route's methods, comma-separated.
        allow: String,
    },
    /// 415.
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    /// 429.
    #[error("too many requests")]
    RateLimited {
        /// Seconds until a retry can succeed.
        retry_after: u64,
    },
    /// 429 `ACCOUNT_LOCKED`: too many failed logins for this account.
    #[error("too many failed logins; account locked, retry in {retry_after} s")]
    AccountLocked {
        /// Seconds until the lock ends.
        retry_after: u64,
    },
    /// 503.
    #[error("{0}")]
    Unavailable(String),
    /// 500.
    #[error("unexpected server error")]
    Internal(String),
}

impl V2Error {
    fn code(&self) -> &'static str {
        match self {
            V2Error::Validation(_) => "VALIDATION_ERROR",
            V2Error::BadRequest { code, .. } | V2Error::Conflict { code, .. } => code,
            V2Error::Unauthorized(_) => "UNAUTHORIZED",
            V2Error::Forbidden(_) => "FORBIDDEN",
            V2Error::Banned => "USER_BANNED",
            V2Error::NotFound(_) => "NOT_FOUND",
            V2Error::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            V2Error::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            V2Error::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            V2Error::RateLimited { .. } => "RATE_LIMITED",
            V2Error::AccountLocked { .. } => "ACCOUNT_LOCKED",
            V2Error::Unavailable(_) => "SERVICE_UNAVAILABLE",
            V2Error::Internal(_) => "INTERNAL_ERROR",
        }
    }
}

impl ResponseError for V2Error {
    fn status_code(&self) -> StatusCode {
        match self {
            V2Error::Validation(_) | V2Error::BadRequest { .. } => StatusCode::BAD_REQUEST,
            V2Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            V2Error::Forbidden(_) | V2Error::Banned => StatusCode::FORBIDDEN,
            V2Error::NotFound(_) => StatusCode::NOT_FOUND,
            V2Error::Conflict { .. } => StatusCode::CONFLICT,
            V2Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            V2Error::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            V2Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            V2Error::RateLimited { .. } | V2Error::AccountLocked { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            V2Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            V2Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let V2Error::Internal(m) = self {
            tracing::error!(error = %m, "internal error");
        }
        let mut b = HttpResponse::build(self.status_code());
        if let V2Error::RateLimited { retry_after } | V2Error::AccountLocked { retry_after } = self
        {
            b.insert_header(("Retry-After", retry_after.to_string()));
        }
        if let V2Error::MethodNotAllowed { allow } = self {
            b.insert_header(("Allow", allow.as_str()));
        }
        b.json(json!({ "error": self.code(), "message": self.to_string() }))
    }
}

impl From<crate::store::StoreError> for V1Error {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::NotFound => V1Error::not_found("resource"),
            crate::store::StoreError::Conflict(m) => V1Error::Conflict {
                code: "CONFLICT",
                message: m,
            },
            other => V1Error::Internal(other.to_string()),
        }
    }
}

impl From<crate::store::StoreError> for V2Error {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::NotFound => V2Error::NotFound("resource".into()),
            crate::store::StoreError::Conflict(m) => V2Error::Conflict {
                code: "CONFLICT",
                message: m,
            },
            other => V2Error::Internal(other.to_string()),
        }
    }
}

/// The kind of resource a route's `{id}` names, from the path segment before it
/// (`/v1/armies/{id}` → `army`, `/v2/admin/users/{id}/ban` → `user`).
pub(crate) fn path_resource(req: &actix_web::HttpRequest) -> (String, String) {
    let id = req.match_info().get("id").unwrap_or_default().to_string();
    let segments: Vec<&str> = req.path().split('/').collect();
    let kind = segments
        .iter()
        .position(|s| *s == id)
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| segments.get(i))
        .map(|s| match s.strip_suffix("ies") {
            Some(stem) => format!("{stem}y"),
            None => s.strip_suffix('s').unwrap_or(s).to_string(),
        })
        .unwrap_or_else(|| "resource".into());
    (kind, id)
}

/// A path parameter that does not parse (an id that is not a UUID) names nothing: 404 with
/// the resource's code, as for a well-formed id that names nothing.
pub(crate) fn path_error_v1(req: &actix_web::HttpRequest) -> V1Error {
    let (kind, id) = path_resource(req);
    V1Error::missing(&kind, &id)
}

/// v2 flavour of [`path_error_v1`]: 404 `NOT_FOUND`.
pub(crate) fn path_error_v2(req: &actix_web::HttpRequest) -> V2Error {
    V2Error::NotFound(path_resource(req).0)
}

/// Maps actix's JSON extractor errors onto each surface: 413, 415 or a validation error.
pub(crate) fn json_error_v1(err: actix_web::error::JsonPayloadError) -> V1Error {
    use actix_web::error::JsonPayloadError as J;
    match err {
        J::OverflowKnownLength { .. } | J::Overflow { .. } => V1Error::PayloadTooLarge,
        J::ContentType => V1Error::UnsupportedMediaType,
        J::Deserialize(e) => V1Error::Validation {
            message: format!("invalid JSON body: {e}"),
            details: json!({}),
        },
        other => V1Error::Validation {
            message: format!("invalid body: {other}"),
            details: json!({}),
        },
    }
}

/// v2 flavour of [`json_error_v1`].
pub(crate) fn json_error_v2(err: actix_web::error::JsonPayloadError) -> V2Error {
    use actix_web::error::JsonPayloadError as J;
    match err {
        J::OverflowKnownLength { .. } | J::Overflow { .. } => V2Error::PayloadTooLarge,
        J::ContentType => V2Error::UnsupportedMediaType,
        J::Deserialize(e) => V2Error::Validation(format!("invalid JSON body: {e}")),
        other => V2Error::Validation(format!("invalid body: {other}")),
    }
}
