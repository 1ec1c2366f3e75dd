//! JSON Schema the derived description cannot say: the exact request bodies of routes that
//! read a free-form object, and the patterns and combinations the handlers check. Applied to
//! the served document, so each rule here is what the handler refuses with 400/422.

use serde_json::{json, Value};

/// A UUID string.
fn uuid() -> Value {
    json!({"type": "string", "format": "uuid"})
}

/// A UUID string or null.
fn uuid_or_null() -> Value {
    json!({"anyOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]})
}

/// An `i64` (the handler refuses a number outside it).
fn int64() -> Value {
    json!({"type": "integer", "format": "int64",
        "minimum": i64::MIN, "maximum": i64::MAX})
}

/// What Rust's `trim` and `char::is_whitespace` call white space (Unicode `White_Space`),
/// spelled out: `\s` differs between regex dialects (ECMA has U+FEFF, not U+0085).
macro_rules! ws {
    () => {
        r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}
/// Some character that `trim` keeps.
const NOT_BLANK: &str = concat!("[^", ws!(), "]");
/// `Username::parse`: trimmed, 3–32 of letters, digits, `_` and `-`.
const USERNAME: &str = concat!("^[", ws!(), "]*[A-Za-z0-9_-]{3,32}[", ws!(), "]*$");
/// `Email::parse`: one `@`, a dot inside the domain, no white space.
const EMAIL: &str = concat!(
    "^[",
    ws!(),
    "]*[^@",
    ws!(),
    "]+@[^.@",
    ws!(),
    "][^@",
    ws!(),
    "]*\\.[^@",
    ws!(),
    "]*[^.@",
    ws!(),
    "][",
    ws!(),
    "]*$"
);
/// `Password::parse`: 8–128 characters with an upper, a lower case letter and a digit.
const PASSWORD: &str = r"^(?=[\s\S]*[A-Z])(?=[\s\S]*[a-z])(?=[\s\S]*[0-9])[\s\S]{8,128}$";

fn v1_register() -> Value {
    json!({
        "type": "object", "description": "Registration body.",
        "required": ["username", "email", "password"],
        "properties": {
            "username": {"type": "string", "pattern": USERNAME},
            "email": {"type": "string", "pattern": EMAIL, "maxLength": 254},
            "password": {"type": "string", "pattern": PASSWORD},
            "display_name": {"type": ["string", "null"], "maxLength": 64},
        },
    })
}

fn v2_register() -> Value {
    json!({
        "type": "object", "description": "Registration body.",
        "required": ["username", "email", "password"],
        "properties": {
            "username": {"type": "string", "pattern": USERNAME},
            "email": {"type": "string", "pattern": EMAIL, "maxLength": 254},
            "password": {"type": "string", "pattern": PASSWORD},
        },
    })
}

fn v1_login() -> Value {
    json!({
        "type": "object", "description": "Login body: `username` or `email`, and `password`.",
        "required": ["password"],
        "properties": {
            "username": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"]},
            "password": {"type": "string"},
        },
        "anyOf": [
            {"required": ["username"], "properties": {"username": {"type": "string"}}},
            {"required": ["email"], "properties": {"email": {"type": "string"}}},
        ],
    })
}

fn army_list() -> Value {
    json!({
        "type": ["object", "null"],
        "description": "`{\"units\": [{\"name\", \"points\" (0..10000)}, ...]}`, at most 500 \
            units whose points add up to at most `points_value`.",
        "required": ["units"],
        "properties": {"units": {"type": "array", "maxItems": 500, "items": {
            "type": "object", "required": ["name", "points"],
            "properties": {
                "name": {"type": "string", "pattern": NOT_BLANK},
                "points": {"type": "integer", "minimum": 0, "maximum": 10000},
            },
        }}},
    })
}

fn v1_battle_create() -> Value {
    json!({
        "type": "object",
        "description": "Two players, each with one of their own armies.",
        "required": ["players"],
        "properties": {
            "tournament_id": uuid_or_null(),
            "battle_type": {"type": ["string", "null"]},
            "mission": {"type": ["object", "null"]},
            "players": {"type": "array", "minItems": 2, "maxItems": 2, "items": {
                "type": "object", "required": ["user_id", "army_id"],
                "properties": {
                    "user_id": uuid(), "army_id": uuid(),
                    "position": {"type": ["string", "null"]},
                },
            }},
            "max_rounds": {"type": ["integer", "null"], "minimum": 1, "maximum": 10},
            "turn_time_limit": {"type": ["integer", "null"], "minimum": 0, "maximum": u32::MAX},
            "phases": {"enum": ["10th", "full", null]},
            "auto_end_turn_on_timeout": {"type": ["boolean", "null"]},
            "clock": {"oneOf": [
                {"type": "null"},
                {"type": "object", "additionalProperties": false, "required": ["mode"],
                    "properties": {"mode": {"const": "turn"}, "bank_s": {"type": "null"}}},
                {"type": "object", "additionalProperties": false, "required": ["mode", "bank_s"],
                    "properties": {"mode": {"const": "chess"},
                        "bank_s": {"type": "integer", "minimum": 1, "maximum": 86400}}},
            ]},
        },
    })
}

fn scores_patch() -> Value {
    let n = int64();
    json!({
        "type": "object", "additionalProperties": false,
        "properties": {
            "victory_points": n, "primary": n, "secondary": n, "linchpin": n, "challenge": n,
        },
    })
}

fn v1_battle_action() -> Value {
    let action = |name: &str, required: &[&str], props: Value| {
        let mut p = props.as_object().cloned().unwrap_or_default();
        p.insert("action".into(), json!({"const": name}));
        let mut req = vec!["action"];
        req.extend_from_slice(required);
        json!({"type": "object", "required": req, "properties": p})
    };
    let bare = [
        "start",
        "next_phase",
        "end_turn",
        "pause",
        "resume",
        "cancel",
    ];
    let mut variants: Vec<Value> = bare.iter().map(|a| action(a, &[], json!({}))).collect();
    variants.push(action(
        "update_scores",
        &["player_id", "scores"],
        json!({"player_id": uuid(), "scores": scores_patch()}),
    ));
    variants.push(action(
        "set_phase",
        &["phase"],
        json!({"phase": {"enum": ["command", "movement", "shooting", "charge", "fight",
            "morale", "psychic"]}}),
    ));
    variants.push(action(
        "use_stratagem",
        &["name", "cp_cost"],
        json!({"player_id": uuid_or_null(), "name": {"type": "string"}, "cp_cost": int64()}),
    ));
    variants.push(action(
        "adjust_command_points",
        &["player_id", "delta"],
        json!({"player_id": uuid(), "delta": int64()}),
    ));
    json!({"description": "`{action, ...}`: the action and its fields", "oneOf": variants})
}

fn v2_queue() -> Value {
    json!({
        "type": "object", "required": ["mode", "robot_id"],
        "properties": {
            "mode": {"enum": ["RANKED", "CASUAL"]},
            "robot_id": uuid(),
            "algorithm_id": uuid_or_null(),
            "pilot_id": uuid_or_null(),
            "gmo_wager": {"type": ["integer", "null"], "minimum": 0, "maximum": 1_000_000_000},
        },
    })
}

/// Sets `schema` as the JSON request body of `method path`.
fn body(doc: &mut Value, method: &str, path: &str, schema: Value) {
    if let Some(content) = doc.pointer_mut(&format!(
        "/paths/{}/{method}/requestBody/content/application~1json",
        path.replace('~', "~0").replace('/', "~1")
    )) {
        content["schema"] = schema;
    }
}

/// Sets a property of a component schema (creating nothing that is not there).
fn prop(doc: &mut Value, component: &str, field: &str, schema: Value) {
    if let Some(p) = doc.pointer_mut(&format!("/components/schemas/{component}/properties")) {
        if let Some(obj) = p.as_object_mut() {
            obj.insert(field.into(), schema);
        }
    }
}

/// Applies every rule above to the served document.
pub(crate) fn apply(doc: &mut Value) {
    let schemas = &mut doc["components"]["schemas"];
    schemas["V1RegisterReq"] = v1_register();
    schemas["RegisterReq"] = v2_register();
    schemas["V1LoginReq"] = v1_login();

    body(doc, "post", "/v1/battles", v1_battle_create());
    body(doc, "patch", "/v1/battles/{id}", v1_battle_action());
    body(doc, "post", "/v2/battles/queue", v2_queue());

    prop(doc, "ArmyReq", "army_list", army_list());
    prop(
        doc,
        "ArmyReq",
        "name",
        json!({"type": "string", "minLength": 1, "maxLength": 100, "pattern": NOT_BLANK}),
    );
    prop(
        doc,
        "ProfilePatch",
        "username",
        json!({"type": ["string", "null"], "pattern": USERNAME}),
    );
    prop(
        doc,
        "ProfilePatch",
        "avatar_url",
        json!({
            "type": ["string", "null"], "maxLength": 512,
            "description": "A site path (`/avatars/x.png`) or an http(s) URL with a host name, without spaces",
            "pattern": concat!("^[", ws!(), "]*(/[!-~]+|https?://[A-Za-z0-9.-]+(/[!-~]*)?)[", ws!(), "]*$"),
        }),
    );
    for stat in [
        "upgrade_hp",
        "upgrade_attack",
        "upgrade_defense",
        "upgrade_speed",
    ] {
        prop(
            doc,
            "PatchRobotReq",
            stat,
            json!({
                "type": ["integer", "null"], "minimum": 0, "maximum": 255,
                "description": "Levels to add (the robot's cap is 5 levels per stat)",
            }),
        );
    }
    prop(
        doc,
        "PatchRobotReq",
        "nickname",
        json!({
            "type": ["string", "null"], "maxLength": 32, "pattern": NOT_BLANK,
        }),
    );
    prop(
        doc,
        "MintReq",
        "name",
        json!({"type": "string", "maxLength": 32, "pattern": NOT_BLANK}),
    );
    prop(
        doc,
        "MintReq",
        "sprite_key",
        json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}),
    );
    prop(
        doc,
        "AlgorithmReq",
        "name",
        json!({"type": "string", "maxLength": 64, "pattern": NOT_BLANK}),
    );
    prop(
        doc,
        "AlgorithmReq",
        "description",
        json!({"type": ["string", "null"], "maxLength": 1000}),
    );
    prop(
        doc,
        "ConnectReq",
        "wallet_address",
        json!({"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"}),
    );
    prop(
        doc,
        "ConnectReq",
        "signature",
        json!({
            "type": "string", "pattern": "^0x[0-9a-fA-F]{130}$",
            "description": "EIP-191 personal_sign of `message` by `wallet_address`",
        }),
    );
    prop(
        doc,
        "ConnectReq",
        "message",
        json!({
            "type": "string", "pattern": "^ROBOWAR_CONNECT_[0-9]{1,12}(_[0-9a-fA-F]{32})?$",
            "description": "`ROBOWAR_CONNECT_<unix seconds>_<nonce>`, signed within 5 minutes",
        }),
    );
    prop(
        doc,
        "DepositReq",
        "tx_hash",
        json!({"type": "string", "pattern": concat!("^[", ws!(), "]*0x[0-9a-fA-F]{64}[", ws!(), "]*$")}),
    );
    prop(
        doc,
        "DepositReq",
        "eldr_amount",
        json!({
            "type": "string", "example": "1.0",
            "description": "ELDR, a decimal with at most 9 decimals",
            "pattern": concat!("^[", ws!(), "]*([0-9]{1,9}(\\.[0-9]{0,9})?|\\.[0-9]{1,9})[", ws!(), "]*$"),
        }),
    );
    prop(
        doc,
        "WithdrawReq",
        "gmo_amount",
        json!({"type": "integer", "minimum": 1, "maximum": i64::MAX}),
    );
}
