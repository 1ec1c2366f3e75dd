//! Completes the generated description with what the server does for every operation, so
//! the annotations on handlers only say what is particular to each: path parameters from the
//! path template, who may call (bearer unless public), and the error answers of its surface.

use utoipa::openapi::{
    path::{Operation, ParameterBuilder, ParameterIn},
    schema::{ObjectBuilder, SchemaFormat, Type},
    security::SecurityRequirement,
    ContentBuilder, OpenApi, Ref, Required, ResponseBuilder,
};

/// Operations anyone may call (no bearer token).
const PUBLIC: &[&str] = &[
    "/healthz",
    "/readyz",
    "/metrics",
    "/v1/auth/register",
    "/v1/auth/login",
    "/v1/auth/refresh",
    "/v1/factions",
    "/v2/auth/register",
    "/v2/auth/login",
    "/v2/auth/refresh",
    "/v2/auth/logout",
    "/v2/auth/guest",
    "/v2/economy/rates",
    "/v2/leaderboard",
    "/v2/pilots/{id}",
    "/v2/pilots/{id}/metadata",
    "/v2/robots",
    "/v2/robots/{id}",
    "/v2/users/{id}",
];

/// Operations where a bearer token is optional (it changes what the call does).
const OPTIONAL_AUTH: &[&str] = &["/v1/auth/logout"];

/// Path parameters that take a catalogue slug as well as a UUID.
const SLUG_OR_ID: &[&str] = &["/v2/robots/{id}", "/v2/users/me/robots/{robotId}/purchase"];

/// Which error body a surface answers with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Surface {
    V1,
    V2,
    Ops,
}

impl Surface {
    fn of(path: &str) -> Self {
        if path.starts_with("/v1/") {
            Surface::V1
        } else if path.starts_with("/v2/") {
            Surface::V2
        } else {
            Surface::Ops
        }
    }
    fn body(self) -> &'static str {
        match self {
            Surface::V1 => "V1ErrorBody",
            _ => "V2ErrorBody",
        }
    }
    /// The status of a malformed or invalid request on this surface.
    fn validation(self) -> &'static str {
        match self {
            Surface::V1 => "422",
            _ => "400",
        }
    }
}

/// The modifier: see the module docs.
pub(crate) struct ServerContract;

impl utoipa::Modify for ServerContract {
    fn modify(&self, openapi: &mut OpenApi) {
        reference_enums(openapi);
        for (path, item) in openapi.paths.paths.iter_mut() {
            let surface = Surface::of(path);
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                complete(path, surface, op);
            }
        }
    }
}

fn template_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

fn complete(path: &str, surface: Surface, op: &mut Operation) {
    // Path parameters the annotation did not declare.
    let params = op.parameters.get_or_insert_with(Vec::new);
    for name in template_params(path) {
        if params
            .iter()
            .any(|p| p.name == name && p.parameter_in == ParameterIn::Path)
        {
            continue;
        }
        let mut schema = ObjectBuilder::new().schema_type(Type::String);
        if !SLUG_OR_ID.contains(&path) {
            schema = schema.format(Some(SchemaFormat::Custom("uuid".into())));
        }
        params.push(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(
                    "Resource id; one that names nothing, or is not a UUID, is 404",
                ))
                .schema(Some(schema))
                .build(),
        );
    }
    // Query parameters the handler parses as ids or dates.
    for p in params.iter_mut() {
        if p.parameter_in != ParameterIn::Query {
            continue;
        }
        let format = if p.name.ends_with("_id") {
            "uuid"
        } else if p.name == "starts_after" {
            "date-time"
        } else {
            continue;
        };
        if let Some(utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(o))) =
            p.schema.as_mut()
        {
            o.format = Some(SchemaFormat::Custom(format.into()));
        }
    }
    let has_path = template_params(path).next().is_some();
    let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);

    // Who may call.
    let public = PUBLIC.contains(&path);
    if public {
        op.security = Some(Vec::new());
    } else if OPTIONAL_AUTH.contains(&path) {
        op.security = Some(vec![
            SecurityRequirement::default(),
            SecurityRequirement::new("bearer", Vec::<String>::new()),
        ]);
    } else if op.security.as_ref().is_none_or(|s| s.is_empty()) {
        op.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }

    // Error answers.
    if surface == Surface::Ops {
        return;
    }
    let mut errors: Vec<(&str, &str)> = vec![
        ("429", "Rate limited (`RATE_LIMITED`, with `Retry-After`)"),
        ("503", "Temporarily unavailable (`SERVICE_UNAVAILABLE`)"),
    ];
    if !public {
        errors.push(("401", "Missing, expired or invalid token (`UNAUTHORIZED`)"));
        errors.push(("403", "Not allowed, or the account is banned"));
    }
    if has_path {
        errors.push((
            "404",
            "No such resource (also for an id that is not a UUID)",
        ));
    }
    if op.request_body.is_some() {
        errors.push(("413", "Body too large (`PAYLOAD_TOO_LARGE`)"));
        errors.push(("415", "Body is not `application/json`"));
    }
    if op.request_body.is_some() || has_query {
        errors.push((surface.validation(), "Invalid request (`VALIDATION_ERROR`)"));
    }
    for (status, description) in errors {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| {
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name(surface.body())))
                            .build(),
                    )
                    .build()
                    .into()
            });
    }
    // Answers an annotation listed without a body get the surface's error body.
    for (status, response) in op.responses.responses.iter_mut() {
        let error = status.starts_with('4') || status.starts_with('5');
        if let utoipa::openapi::RefOr::T(r) = response {
            if error && r.content.is_empty() {
                r.content.insert(
                    "application/json".into(),
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(surface.body())))
                        .build(),
                );
            }
        }
    }
}

/// Fields whose values come from reference data get that data as their `enum`.
fn reference_enums(openapi: &mut OpenApi) {
    use utoipa::openapi::{schema::Schema, RefOr};
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    if let Some(RefOr::T(Schema::Object(army))) = components.schemas.get_mut("ArmyReq") {
        if let Some(RefOr::T(Schema::Object(f))) = army.properties.get_mut("faction_id") {
            f.enum_values = Some(
                crate::domain::factions::FACTIONS
                    .iter()
                    .map(|f| f.id.into())
                    .collect(),
            );
            f.pattern = None;
        }
    }
}
