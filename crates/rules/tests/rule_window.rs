//! A multi-line rule's `window`: where it is wrong, the error names the file, line, rule and
//! field; where it is set, the regex sees that far after its keyword and no further.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use std::path::Path;
use trustmap_rules::{parse_rule_file, Engine};

fn rule(extra: &str) -> String {
    format!(
        r#"
[[rules]]
id = "test-block-secret"
name = "A secret some lines after its keyword"
regex = '(?s)BLOCKSTART.*?secret=(?P<secret>[A-Za-z0-9]{{20}})'
keywords = ["BLOCKSTART"]
severity = "high"
reveals = {{ provider = "test", kind = "secret" }}
{extra}
examples = ['''BLOCKSTART
secret=Q7xLp2Vx9Kb4Nm6Rt8Wy''']
negative_examples = ['secret=Q7xLp2Vx9Kb4Nm6Rt8Wy']
"#
    )
}

fn compile(text: &str) -> Result<Engine, String> {
    let rules = parse_rule_file(Path::new("rules/test.toml"), text).map_err(|e| e.to_string())?;
    Engine::new(rules).map_err(|e| e.to_string())
}

#[test]
fn a_window_on_a_single_line_rule_or_out_of_range_is_refused_with_its_place() {
    let e = compile(&rule("window = 512")).unwrap_err();
    assert!(
        e.contains("rules/test.toml:3") && e.contains("window"),
        "{e}"
    );
    assert!(e.contains("only a multiline rule"), "{e}");
    let e = compile(&rule("multiline = true\nwindow = 10")).unwrap_err();
    assert!(
        e.contains("rules/test.toml:3") && e.contains("64 to 65536"),
        "{e}"
    );
}

#[test]
fn the_window_bounds_how_far_after_its_keyword_a_secret_is_found() {
    let engine = compile(&rule("multiline = true\nwindow = 128")).unwrap();
    let near = "BLOCKSTART\nsecret=Q7xLp2Vx9Kb4Nm6Rt8Wy\n";
    assert_eq!(engine.scan(near.as_bytes()).len(), 1);
    let far = format!(
        "BLOCKSTART\n{}\nsecret=Q7xLp2Vx9Kb4Nm6Rt8Wy\n",
        "x".repeat(300)
    );
    assert!(engine.scan(far.as_bytes()).is_empty());
    let default = compile(&rule("multiline = true")).unwrap();
    assert_eq!(default.scan(far.as_bytes()).len(), 1);
}
