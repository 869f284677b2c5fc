//! An incremental scan of an edited buffer finds exactly what a full scan of it finds: the
//! same occurrences, at the same bytes, lines and columns, whatever the edit.
#![allow(clippy::unwrap_used)] // test set-up: a panic is the clearest report
use proptest::prelude::*;
use std::sync::OnceLock;
use trustmap_rules::{scan_edit, scan_whole, Engine, RawMatch};

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::builtin().unwrap())
}

/// Pieces a file is made of: every rule's examples and negative examples (PEM keys, netrc
/// blocks and kubeconfigs among them: the multi-line rules), filler code, and large blocks of
/// filler so that the line diff, not only the prefix and suffix cut, decides the edits.
fn pieces() -> &'static Vec<String> {
    static PIECES: OnceLock<Vec<String>> = OnceLock::new();
    PIECES.get_or_init(|| {
        let mut p: Vec<String> = Vec::new();
        for r in engine().rules() {
            p.extend(r.source.def.examples.iter().cloned());
            p.extend(r.source.def.negative_examples.iter().take(1).cloned());
        }
        for i in 0..40 {
            p.push(format!(
                "    let value_{i} = compute({i}); // password handling here"
            ));
        }
        p.push("# trustmap:allow".into());
        p.push("-----BEGIN RSA PRIVATE KEY-----".into());
        p.push("machine example.com".into());
        let block: String = (0..400)
            .map(|i| format!("    filler_line_{i} = call(argument_{i});\n"))
            .collect();
        p.push(block);
        p
    })
}

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, usize),
    Delete(usize),
    Replace(usize, usize),
    Append(usize, String),
    /// A newline put inside a line (at a byte of it, on a character boundary).
    Split(usize, usize),
    /// A line joined with the next.
    Join(usize),
    /// The first bytes of a line cut off.
    Trim(usize, usize),
}

fn apply(doc: &mut Vec<String>, edit: &Edit) {
    let p = pieces();
    match edit {
        Edit::Insert(at, piece) => {
            let at = at % (doc.len() + 1);
            doc.insert(at, p[piece % p.len()].clone());
        }
        Edit::Delete(at) if !doc.is_empty() => {
            let at = at % doc.len();
            doc.remove(at);
        }
        Edit::Replace(at, piece) if !doc.is_empty() => {
            let at = at % doc.len();
            doc[at] = p[piece % p.len()].clone();
        }
        Edit::Append(at, text) if !doc.is_empty() => {
            let at = at % doc.len();
            doc[at].push_str(text);
        }
        Edit::Split(at, pos) if !doc.is_empty() => {
            let at = at % doc.len();
            let cut = char_boundary(&doc[at], pos % (doc[at].len() + 1));
            doc[at].insert(cut, '\n');
        }
        Edit::Join(at) if doc.len() > 1 => {
            let at = at % (doc.len() - 1);
            let next = doc.remove(at + 1);
            doc[at].push_str(&next);
        }
        Edit::Trim(at, n) if !doc.is_empty() => {
            let at = at % doc.len();
            let cut = char_boundary(&doc[at], n % 8);
            doc[at].replace_range(..cut, "");
        }
        _ => {}
    }
}

/// The nearest character boundary at or before `i`.
fn char_boundary(s: &str, i: usize) -> usize {
    (0..=i.min(s.len()))
        .rev()
        .find(|&j| s.is_char_boundary(j))
        .unwrap_or(0)
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(a, p)| Edit::Insert(a, p)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), any::<usize>()).prop_map(|(a, p)| Edit::Replace(a, p)),
        (any::<usize>(), "[a-zA-Z0-9 =:#]{0,12}").prop_map(|(a, t)| Edit::Append(a, t)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, p)| Edit::Split(a, p)),
        any::<usize>().prop_map(Edit::Join),
        (any::<usize>(), any::<usize>()).prop_map(|(a, n)| Edit::Trim(a, n)),
    ]
}

fn text(doc: &[String]) -> String {
    let mut s = doc.join("\n");
    s.push('\n');
    s
}

type Placed = (usize, usize, usize, u64, u64, String);

fn placed(ms: &[RawMatch]) -> Vec<Placed> {
    let mut v: Vec<Placed> = ms
        .iter()
        .map(|m| (m.rule, m.start, m.end, m.line, m.column, m.secret.clone()))
        .collect();
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn an_edited_version_scans_as_a_whole_scan_would(
        start in proptest::collection::vec(any::<usize>(), 1..40),
        edits in proptest::collection::vec(edit(), 1..6),
    ) {
        let p = pieces();
        // Large blocks around the pieces: most of each version is carried, not matched again.
        let block = p[p.len() - 1].clone();
        let mut doc: Vec<String> = vec![block.clone()];
        doc.extend(start.iter().map(|i| p[i % p.len()].clone()));
        doc.push(block.clone());
        doc.extend(start.iter().rev().map(|i| p[i % p.len()].clone()));
        doc.push(block);
        let old = text(&doc);
        for e in &edits {
            apply(&mut doc, e);
        }
        let new = text(&doc);
        let e = engine();
        let before = scan_whole(e, old.as_bytes());
        let got = scan_edit(e, old.as_bytes(), &before, new.as_bytes());
        let want = scan_whole(e, new.as_bytes());
        prop_assert_eq!(placed(&got.occurrences), placed(&want.occurrences));
        prop_assert_eq!(got.marks, want.marks);
    }
}

/// A chain of versions, each scanned against the one before: the last one's occurrences are
/// still a whole scan's, and far less than the whole was matched again.
#[test]
fn a_long_chain_of_small_edits_stays_exact_and_matches_little() {
    let e = engine();
    let mut doc: Vec<String> = (0..3000)
        .map(|i| format!("    call_{i}(argument, other); // line {i}"))
        .collect();
    doc.insert(
        100,
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzzKEY0".into(),
    );
    doc.insert(2500, pieces()[0].clone());
    let mut old = text(&doc);
    let mut found = scan_whole(e, old.as_bytes());
    let (mut matched, mut total) = (0usize, 0usize);
    for step in 0..50 {
        let at = (step * 577) % doc.len();
        doc[at] = format!("    changed_{step}(); // token = \"ghp_{step:036}\"");
        let new = text(&doc);
        let scanned = scan_edit(e, old.as_bytes(), &found, new.as_bytes());
        assert_eq!(
            placed(&scanned.occurrences),
            placed(&e.scan_occurrences(new.as_bytes())),
            "step {step}"
        );
        matched += scanned.bytes_matched;
        total += new.len();
        found = scanned;
        old = new;
    }
    assert!(matched * 10 < total, "matched {matched} of {total} bytes");
}
