//! `--baseline FILE`: a previous findings file (jsonl, json or sarif); its ids are known.
use std::collections::HashSet;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{path}: cannot read baseline: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: baseline is not a trustmap findings file: {message}")]
    Format {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// The finding ids in a findings file written by `--format jsonl`, `json` or `sarif`.
pub fn load_baseline(path: &Path) -> Result<HashSet<String>, BaselineError> {
    let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |line: usize, message: String| BaselineError::Format {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut ids = HashSet::new();
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Ok(ids);
    }
    // A single JSON document (json or sarif) or one object per line (jsonl).
    if let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) {
        if let Some(findings) = doc.get("findings").and_then(|f| f.as_array()) {
            for f in findings {
                let id = f.get("id").and_then(|v| v.as_str());
                ids.insert(
                    id.ok_or_else(|| bad(1, "a finding has no \"id\"".into()))?
                        .to_string(),
                );
            }
            return Ok(ids);
        }
        if let Some(runs) = doc.get("runs").and_then(|r| r.as_array()) {
            for run in runs {
                for r in run
                    .get("results")
                    .and_then(|r| r.as_array())
                    .into_iter()
                    .flatten()
                {
                    if let Some(id) = r
                        .pointer("/partialFingerprints/trustmapFindingId")
                        .and_then(|v| v.as_str())
                    {
                        ids.insert(id.to_string());
                    }
                }
            }
            return Ok(ids);
        }
        if let Some(id) = doc.get("id").and_then(|v| v.as_str()) {
            ids.insert(id.to_string());
            return Ok(ids);
        }
        return Err(bad(
            1,
            "expected \"findings\", \"runs\" or one finding per line".into(),
        ));
    }
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| bad(i + 1, e.to_string()))?;
        let id = v
            .get("id")
            .and_then(|v| v.as_str())
            .ok_or_else(|| bad(i + 1, "no \"id\" field".into()))?;
        ids.insert(id.to_string());
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_jsonl_json_and_sarif_and_rejects_others() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.jsonl");
        std::fs::write(&p, "{\"id\":\"tm-1\"}\n\n{\"id\":\"tm-2\"}\n").unwrap();
        assert_eq!(load_baseline(&p).unwrap().len(), 2);
        std::fs::write(&p, r#"{"findings":[{"id":"tm-3"}],"stats":{}}"#).unwrap();
        assert!(load_baseline(&p).unwrap().contains("tm-3"));
        std::fs::write(
            &p,
            r#"{"runs":[{"results":[{"partialFingerprints":{"trustmapFindingId":"tm-4"}}]}]}"#,
        )
        .unwrap();
        assert!(load_baseline(&p).unwrap().contains("tm-4"));
        std::fs::write(&p, "{\"id\":\"tm-1\"}\nnot json\n").unwrap();
        let err = load_baseline(&p).unwrap_err().to_string();
        assert!(err.contains(":2:"), "{err}");
    }
}
