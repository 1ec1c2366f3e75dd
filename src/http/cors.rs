//! CORS for both APIs (`WARROOM_CORS_ORIGINS`).
//!
//! `actix-cors` answers preflights and sets the headers. It can only grant credentials to
//! every allowed origin or to none, and v2 keeps its refresh token in a cookie, so an origin
//! admitted only through `*` must not get `Access-Control-Allow-Credentials`. A thin outer
//! middleware strips that header unless the request's origin is listed by name.

use std::{collections::HashSet, sync::Arc};

use actix_cors::Cors;
use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::{header, Method},
    middleware::Next,
    Error,
};

/// Parsed `WARROOM_CORS_ORIGINS`: named origins (credentials allowed) and the wildcard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CorsOrigins {
    /// `*` was listed: any origin may call, without credentials.
    pub any: bool,
    /// Origins listed by name (`https://app.example`): they may send cookies.
    pub named: HashSet<String>,
}

impl CorsOrigins {
    /// Parses a comma list; empty items are ignored, trailing slashes dropped.
    pub fn parse(list: &str) -> Self {
        let mut o = Self::default();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "*" {
                o.any = true;
            } else {
                o.named.insert(item.trim_end_matches('/').to_string());
            }
        }
        o
    }

    fn allows(&self, origin: &str) -> bool {
        self.any || self.named.contains(origin)
    }
}

/// The `actix-cors` layer for the configured origins.
pub(crate) fn layer(origins: &CorsOrigins) -> Cors {
    let o = Arc::new(origins.clone());
    Cors::default()
        .allowed_origin_fn(move |origin, _| origin.to_str().map(|s| o.allows(s)).unwrap_or(false))
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::HeaderName::from_static("idempotency-key"),
            header::HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("x-ratelimit-limit"),
            header::HeaderName::from_static("x-ratelimit-remaining"),
            header::HeaderName::from_static("x-ratelimit-reset"),
            header::RETRY_AFTER,
            header::LOCATION,
        ])
        .supports_credentials()
        .max_age(3600)
}

/// Outer middleware: credentials only for origins listed by name.
pub(crate) async fn credentials_for_named(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let named = req
        .app_data::<actix_web::web::Data<CorsOrigins>>()
        .map(|o| o.named.clone());
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut res = next.call(req).await?;
    let listed = match (&origin, named) {
        (Some(o), Some(named)) => named.contains(o),
        _ => false,
    };
    if !listed {
        res.headers_mut()
            .remove(header::ACCESS_CONTROL_ALLOW_CREDENTIALS);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists() {
        let o = CorsOrigins::parse(" https://a.example/ ,*,, http://b:3000");
        assert!(o.any);
        assert!(o.named.contains("https://a.example"));
        assert!(o.named.contains("http://b:3000"));
        assert!(o.allows("https://evil.example"));
        let o = CorsOrigins::parse("https://a.example");
        assert!(!o.allows("https://evil.example"));
    }
}
