//! The API's OpenAPI document, generated from the handlers and types
//! (`utoipa`), served at `/api/v1/openapi.json`; and its rendering as
//! Markdown, which docs/api.md carries (a test keeps the two the same).

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{ErrorBody, ErrorDetail, contacts, conversations};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Minicom API",
        description = "Read conversations and contacts, post into threads, change a conversation's state and owner. Every request names an API token: `Authorization: Bearer mc_…` (admins make them in Settings → API tokens)."
    ),
    paths(
        conversations::list,
        conversations::read,
        conversations::change,
        conversations::messages,
        conversations::post,
        contacts::read,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerToken),
    tags(
        (name = "conversations", description = "The inbox's conversations and their messages"),
        (name = "contacts", description = "Visitors"),
    )
)]
pub struct ApiDoc;

/// The `token` security scheme the paths name: a bearer token.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "token",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("mc_ followed by 64 hex digits")
                        .build(),
                ),
            );
        }
    }
}

/// `GET /api/v1/openapi.json`: public, like the docs it is made from.
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The document as Markdown: each endpoint with its parameters, body and
/// answers, then each type with its fields.
pub fn markdown() -> String {
    let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    let mut out = String::new();
    let empty = serde_json::Map::new();
    let object = |v: &serde_json::Value| v.as_object().cloned().unwrap_or_default();
    for (path, item) in doc["paths"].as_object().unwrap_or(&empty) {
        for (method, op) in object(item) {
            out.push_str(&format!("### `{} {path}`\n\n", method.to_ascii_uppercase()));
            let summary = op["description"]
                .as_str()
                .or(op["summary"].as_str())
                .unwrap_or("");
            out.push_str(&format!("{}\n\n", summary.trim()));
            let scope = if op["security"].to_string().contains("write") {
                "read and write"
            } else {
                "read"
            };
            out.push_str(&format!("Token scope: {scope}.\n\n"));
            if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
                out.push_str("| Parameter | In | Required | Description |\n|---|---|---|---|\n");
                for p in params {
                    out.push_str(&format!(
                        "| `{}` | {} | {} | {} |\n",
                        p["name"].as_str().unwrap_or(""),
                        p["in"].as_str().unwrap_or(""),
                        if p["required"].as_bool().unwrap_or(false) {
                            "yes"
                        } else {
                            "no"
                        },
                        one_line(p["description"].as_str().unwrap_or("")),
                    ));
                }
                out.push('\n');
            }
            if let Some(body) =
                op["requestBody"]["content"]["application/json"]["schema"].as_object()
            {
                out.push_str(&format!(
                    "Body: {}\n\n",
                    type_name(&serde_json::Value::Object(body.clone()))
                ));
            }
            out.push_str("| Status | Meaning | Body |\n|---|---|---|\n");
            for (status, response) in object(&op["responses"]) {
                out.push_str(&format!(
                    "| {status} | {} | {} |\n",
                    one_line(response["description"].as_str().unwrap_or("")),
                    type_name(&response["content"]["application/json"]["schema"]),
                ));
            }
            out.push('\n');
        }
    }
    out.push_str("## Types\n\n");
    for (name, schema) in object(&doc["components"]["schemas"]) {
        out.push_str(&format!("### `{name}`\n\n"));
        if let Some(text) = schema["description"].as_str() {
            out.push_str(&format!("{}\n\n", text.trim()));
        }
        if let Some(values) = schema["enum"].as_array() {
            let values: Vec<String> = values
                .iter()
                .filter_map(|v| v.as_str().map(|v| format!("`{v}`")))
                .collect();
            out.push_str(&format!("One of {}.\n\n", values.join(", ")));
            continue;
        }
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        let properties = object(&schema["properties"]);
        if properties.is_empty() {
            continue;
        }
        out.push_str("| Field | Type | Required | Description |\n|---|---|---|---|\n");
        for (field, property) in properties {
            out.push_str(&format!(
                "| `{field}` | {} | {} | {} |\n",
                type_name(&property),
                if required.contains(&field.as_str()) {
                    "yes"
                } else {
                    "no"
                },
                one_line(property["description"].as_str().unwrap_or("")),
            ));
        }
        out.push('\n');
    }
    out
}

/// A schema's type as a reader says it: `Conversation`, `array of
/// ApiMessage`, `integer or null`.
fn type_name(schema: &serde_json::Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("[`{name}`](#{})", name.to_ascii_lowercase());
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = schema[key].as_array() {
            return options
                .iter()
                .map(type_name)
                .collect::<Vec<_>>()
                .join(" or ");
        }
    }
    match &schema["type"] {
        serde_json::Value::String(t) if t == "array" => {
            format!("array of {}", type_name(&schema["items"]))
        }
        serde_json::Value::String(t) => t.clone(),
        serde_json::Value::Array(types) => types
            .iter()
            .filter_map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(" or "),
        _ if schema.is_null() => "—".into(),
        _ => "object".into(),
    }
}

/// Text for one table cell.
fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where docs/api.md's generated part starts; everything after it is
    /// [`markdown`]'s.
    const MARK: &str = "<!-- Generated from /api/v1/openapi.json by `src/server/api/doc.rs`; do not edit below. -->\n";

    /// docs/api.md says what the code serves. When the API changes, run
    /// `MINICOM_WRITE_API_DOC=1 cargo test --features ssr api::doc` to
    /// write the new reference, and read the diff.
    #[test]
    fn docs_api_md_is_the_generated_reference() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md");
        let text = std::fs::read_to_string(path).expect("docs/api.md exists");
        let (guide, _) = text
            .split_once(MARK)
            .expect("docs/api.md carries the generated-reference mark");
        let wanted = format!("{guide}{MARK}\n{}", markdown());
        if std::env::var_os("MINICOM_WRITE_API_DOC").is_some() {
            std::fs::write(path, &wanted).expect("docs/api.md is writable");
            return;
        }
        assert!(
            text == wanted,
            "docs/api.md is not what the API serves: run `MINICOM_WRITE_API_DOC=1 cargo test --features ssr api::doc` and read the diff"
        );
    }

    #[test]
    fn every_route_is_documented() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for (path, methods) in [
            ("/api/v1/conversations", &["get"][..]),
            ("/api/v1/conversations/{id}", &["get", "patch"]),
            ("/api/v1/conversations/{id}/messages", &["get", "post"]),
            ("/api/v1/contacts/{id}", &["get"]),
        ] {
            for method in methods {
                assert!(
                    paths[path][method].is_object(),
                    "{method} {path} is missing from the OpenAPI document"
                );
            }
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["token"]["scheme"],
            "bearer"
        );
    }
}
