//! Trimming a large OpenAPI 3 description (Microsoft Graph's is 20 MB, too big for Prism to
//! start on) to the operations a connector calls and every component they reference, with the
//! paths moved under a prefix (`/v1.0`) so that a mock server answers at the client's URLs.
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Every `#/components/...` reference reachable from `v`, followed through `spec`.
fn collect_refs(spec: &Value, v: &Value, seen: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                if seen.insert(r.clone()) {
                    if let Some(target) = r.strip_prefix('#').and_then(|p| spec.pointer(p)) {
                        collect_refs(spec, target, seen);
                    }
                }
            }
            for child in m.values() {
                collect_refs(spec, child, seen);
            }
        }
        Value::Array(a) => {
            for child in a {
                collect_refs(spec, child, seen);
            }
        }
        _ => {}
    }
}

/// The description with only `paths` (their GET operations), the components they need, and
/// each path as `{prefix}{path}`. Panics on a path the description lacks: the test should say
/// which endpoint disappeared.
pub fn trim(spec: &Value, paths: &[&str], prefix: &str) -> Value {
    let mut kept = Map::new();
    for p in paths {
        let item = spec["paths"]
            .get(*p)
            .unwrap_or_else(|| panic!("the description has no path {p}"));
        let mut item = item.clone();
        if let Value::Object(m) = &mut item {
            m.retain(|k, _| k == "get" || k == "parameters");
        }
        kept.insert(format!("{prefix}{p}"), item);
    }
    let kept = Value::Object(kept);
    let mut refs = BTreeSet::new();
    collect_refs(spec, &kept, &mut refs);
    let mut components = Map::new();
    for r in &refs {
        let Some(rest) = r.strip_prefix("#/components/") else {
            continue;
        };
        let Some((section, name)) = rest.split_once('/') else {
            continue;
        };
        // JSON pointer escapes in component names.
        let name = name.replace("~1", "/").replace("~0", "~");
        if let Some(v) = spec["components"][section].get(&name) {
            components
                .entry(section.to_string())
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .map(|m| m.insert(name, v.clone()));
        }
    }
    serde_json::json!({
        "openapi": spec["openapi"],
        "info": spec["info"],
        "servers": [{"url": "/"}],
        "paths": kept,
        "components": components,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_what_is_referenced_transitively_and_nothing_else() {
        let spec = json!({
            "openapi": "3.0.1", "info": {"title": "t", "version": "1"},
            "paths": {
                "/a": {"get": {"responses": {"200": {"$ref": "#/components/responses/A"}}}, "post": {}},
                "/b": {"get": {}}
            },
            "components": {
                "responses": {"A": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/X"}}}}},
                "schemas": {"X": {"properties": {"y": {"$ref": "#/components/schemas/Y"}}}, "Y": {}, "Unused": {}}
            }
        });
        let t = trim(&spec, &["/a"], "/v1.0");
        assert!(t["paths"]["/v1.0/a"]["get"].is_object());
        assert!(t["paths"]["/v1.0/a"].get("post").is_none());
        assert!(t["paths"].get("/b").is_none());
        assert!(t["components"]["schemas"]["Y"].is_object());
        assert!(t["components"]["schemas"].get("Unused").is_none());
    }
}
