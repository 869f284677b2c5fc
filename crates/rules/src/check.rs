//! `rules check`: every rule must find each of its examples and none of its negative examples.
use crate::engine::Engine;

/// One example that did not behave.
#[derive(Debug, Clone)]
pub struct ExampleFailure {
    pub rule: String,
    pub location: String,
    pub example: String,
    pub expected_match: bool,
}

impl std::fmt::Display for ExampleFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Examples are fabricated test data, but still shown redacted past 60 characters.
        let shown: String = self.example.chars().take(60).collect();
        if self.expected_match {
            write!(
                f,
                "{}: rule {}: example not found: {shown:?}",
                self.location, self.rule
            )
        } else {
            write!(
                f,
                "{}: rule {}: negative example matched: {shown:?}",
                self.location, self.rule
            )
        }
    }
}

/// Run every rule's examples through the whole engine (prefilter, decoding, filters).
pub fn check_examples(engine: &Engine) -> Vec<ExampleFailure> {
    let mut failures = Vec::new();
    for (ri, rule) in engine.rules().iter().enumerate() {
        let location = format!("{}:{}", rule.source.file.display(), rule.source.line);
        let cases = rule
            .source
            .def
            .examples
            .iter()
            .map(|e| (e, true))
            .chain(rule.source.def.negative_examples.iter().map(|e| (e, false)));
        for (example, expected) in cases {
            let found = engine.scan(example.as_bytes()).iter().any(|m| m.rule == ri);
            if found != expected {
                failures.push(ExampleFailure {
                    rule: rule.id.clone(),
                    location: location.clone(),
                    example: example.clone(),
                    expected_match: expected,
                });
            }
        }
    }
    failures
}
