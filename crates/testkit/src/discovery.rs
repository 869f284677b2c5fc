//! Google's API discovery documents (as `google-api-python-client` ships them) converted to
//! OpenAPI 3, so that Prism can check a client's requests against Google's own description of
//! each method and answer from its response schemas. Only the methods named are kept, with the
//! schemas they reach. Paths come from each method's `flatPath` (the `{+name}` form of `path`
//! cannot be templated in OpenAPI); schema names are prefixed with the API version, so that two
//! versions of one API (Resource Manager v1 and v3) can share one mock server.
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

/// Where `google-api-python-client` keeps its discovery documents, or a panic saying what to
/// install.
pub fn documents_dir() -> PathBuf {
    let out = Command::new("python3")
        .args([
            "-c",
            "import googleapiclient, os; print(os.path.join(os.path.dirname(googleapiclient.__file__), 'discovery_cache', 'documents'))",
        ])
        .output()
        .expect("python3 is needed to find Google's discovery documents");
    assert!(
        out.status.success(),
        "google-api-python-client missing: pip install google-api-python-client (.ci/run installs it)"
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// One discovery document by file stem (`iam.v1`, `admin.directory_v1`).
pub fn document(stem: &str) -> Value {
    let path = documents_dir().join(format!("{stem}.json"));
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every method of a document, by its id (`iam.projects.serviceAccounts.list`).
fn methods(doc: &Value) -> Vec<&Value> {
    fn walk<'a>(resources: &'a Value, out: &mut Vec<&'a Value>) {
        let Some(resources) = resources.as_object() else {
            return;
        };
        for r in resources.values() {
            if let Some(ms) = r["methods"].as_object() {
                out.extend(ms.values());
            }
            walk(&r["resources"], out);
        }
    }
    let mut out = Vec::new();
    if let Some(ms) = doc["methods"].as_object() {
        out.extend(ms.values());
    }
    walk(&doc["resources"], &mut out);
    out
}

fn schema_name(doc: &Value, name: &str) -> String {
    format!("{}_{name}", doc["version"].as_str().unwrap_or("v"))
}

/// A discovery schema as an OpenAPI 3.0 schema. Descriptions are dropped, and so are formats:
/// Google's (`google-datetime`, `int64` on strings, `byte`) are not JSON Schema's, and Prism
/// would either ignore them or reject its own samples.
fn schema(doc: &Value, s: &Value) -> Value {
    if let Some(r) = s["$ref"].as_str() {
        return json!({ "$ref": format!("#/components/schemas/{}", schema_name(doc, r)) });
    }
    let mut out = Map::new();
    match s["type"].as_str() {
        Some("any") | None => {}
        Some(t) => {
            out.insert("type".into(), json!(t));
        }
    }
    if let Some(e) = s.get("enum") {
        out.insert("enum".into(), e.clone());
    }
    if let Some(f @ ("int32" | "double" | "float")) = s["format"].as_str() {
        out.insert("format".into(), json!(f));
    }
    if let Some(props) = s["properties"].as_object() {
        let props: Map<String, Value> = props
            .iter()
            .map(|(k, v)| (k.clone(), schema(doc, v)))
            .collect();
        out.insert("properties".into(), Value::Object(props));
    }
    if let Some(items) = s.get("items") {
        out.insert("items".into(), schema(doc, items));
    }
    if let Some(extra) = s.get("additionalProperties") {
        out.insert("additionalProperties".into(), schema(doc, extra));
    }
    Value::Object(out)
}

/// A method's path parameters (from `flatPath`'s `{names}`) and query parameters.
fn parameters(doc: &Value, method: &Value, flat_path: &str) -> Vec<Value> {
    let mut out: Vec<Value> = flat_path
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if let Some(ps) = method["parameters"].as_object() {
        for (name, p) in ps {
            if p["location"] != "query" {
                continue;
            }
            let one = schema(doc, p);
            let s = if p["repeated"] == true {
                json!({"type": "array", "items": one})
            } else {
                one
            };
            out.push(json!({
                "name": name,
                "in": "query",
                "required": p["required"] == true,
                "schema": s,
                "style": "form",
                "explode": true,
            }));
        }
    }
    out
}

/// Every schema name reachable from `v` through `$ref`s.
fn reachable(v: &Value, seen: &mut BTreeSet<String>, schemas: &Map<String, Value>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                if let Some(name) = r.strip_prefix("#/components/schemas/") {
                    if seen.insert(name.to_string()) {
                        if let Some(target) = schemas.get(name) {
                            reachable(target, seen, schemas);
                        }
                    }
                }
            }
            for child in m.values() {
                reachable(child, seen, schemas);
            }
        }
        Value::Array(a) => {
            for child in a {
                reachable(child, seen, schemas);
            }
        }
        _ => {}
    }
}

/// An OpenAPI 3.0 description of the methods `ids` of each document, served at `/`, with a
/// bearer token required on every call (Google's APIs refuse anonymous reads of IAM). Panics
/// on an id the documents lack: the test should say which method disappeared.
pub fn to_openapi(apis: &[(&Value, &[&str])]) -> Value {
    let mut paths = Map::new();
    let mut all_schemas = Map::new();
    for (doc, ids) in apis {
        for (name, s) in doc["schemas"].as_object().into_iter().flatten() {
            all_schemas.insert(schema_name(doc, name), schema(doc, s));
        }
        let methods = methods(doc);
        for id in *ids {
            let m = methods
                .iter()
                .find(|m| m["id"] == *id)
                .unwrap_or_else(|| panic!("{}: no method {id}", doc["name"]));
            let flat = m["flatPath"]
                .as_str()
                .or(m["path"].as_str())
                .unwrap_or_default();
            let path = format!("/{}{flat}", doc["servicePath"].as_str().unwrap_or_default());
            let verb = m["httpMethod"]
                .as_str()
                .unwrap_or("GET")
                .to_ascii_lowercase();
            let response = match m["response"]["$ref"].as_str() {
                Some(r) => {
                    json!({"content": {"application/json": {"schema": schema(doc, &json!({"$ref": r}))}}})
                }
                None => json!({}),
            };
            let mut op = json!({
                "operationId": id,
                "parameters": parameters(doc, m, flat),
                "responses": {"200": {"description": "OK", "content": response.get("content").cloned().unwrap_or_else(|| json!({"application/json": {"schema": {}}}))}},
            });
            if let Some(r) = m["request"]["$ref"].as_str() {
                op["requestBody"] = json!({
                    "required": true,
                    "content": {"application/json": {"schema": schema(doc, &json!({"$ref": r}))}},
                });
            }
            paths
                .entry(path)
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .map(|item| item.insert(verb, op));
        }
    }
    let paths = Value::Object(paths);
    let mut keep = BTreeSet::new();
    reachable(&paths, &mut keep, &all_schemas);
    let schemas: Map<String, Value> = all_schemas
        .into_iter()
        .filter(|(k, _)| keep.contains(k))
        .collect();
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Google APIs (from discovery documents)", "version": "1"},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_paths_query_parameters_bodies_and_reachable_schemas() {
        let doc = json!({
            "name": "iam", "version": "v1", "servicePath": "",
            "resources": {"projects": {"resources": {"serviceAccounts": {"methods": {
                "list": {"id": "iam.projects.serviceAccounts.list", "httpMethod": "GET",
                         "path": "v1/{+name}/serviceAccounts",
                         "flatPath": "v1/projects/{projectsId}/serviceAccounts",
                         "parameters": {
                             "name": {"location": "path", "type": "string", "required": true},
                             "pageSize": {"location": "query", "type": "integer", "format": "int32"},
                             "keyTypes": {"location": "query", "type": "string", "repeated": true, "enum": ["A", "B"]}
                         },
                         "response": {"$ref": "ListResponse"}},
                "patch": {"id": "iam.projects.serviceAccounts.patch", "httpMethod": "PATCH",
                          "flatPath": "v1/projects/{projectsId}/serviceAccounts/{id}",
                          "request": {"$ref": "Unused"}}
            }}}}},
            "schemas": {
                "ListResponse": {"type": "object", "properties": {
                    "accounts": {"type": "array", "items": {"$ref": "Account"}},
                    "nextPageToken": {"type": "string"}}},
                "Account": {"type": "object", "properties": {
                    "etag": {"type": "string", "format": "byte"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "extra": {"type": "any"}}},
                "Unused": {"type": "object"}
            }
        });
        let spec = to_openapi(&[(&doc, &["iam.projects.serviceAccounts.list"])]);
        let op = &spec["paths"]["/v1/projects/{projectsId}/serviceAccounts"]["get"];
        assert_eq!(op["parameters"][0]["name"], "projectsId");
        assert_eq!(op["parameters"][0]["in"], "path");
        let keys = op["parameters"]
            .as_array()
            .unwrap_or(&Vec::new())
            .iter()
            .find(|p| p["name"] == "keyTypes")
            .cloned()
            .unwrap_or_default();
        assert_eq!(keys["schema"]["type"], "array");
        assert_eq!(keys["schema"]["items"]["enum"], json!(["A", "B"]));
        assert_eq!(
            op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/v1_ListResponse"
        );
        let schemas = &spec["components"]["schemas"];
        assert!(schemas["v1_Account"].is_object());
        assert!(schemas["v1_Account"]["properties"]["etag"]
            .get("format")
            .is_none());
        assert_eq!(schemas["v1_Account"]["properties"]["extra"], json!({}));
        assert!(schemas.get("v1_Unused").is_none());
        assert!(spec["paths"]
            .get("/v1/projects/{projectsId}/serviceAccounts/{id}")
            .is_none());
    }
}
