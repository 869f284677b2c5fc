//! The matching engine: keyword prefilter, regexes near candidates, decoding layers, filters.
//!
//! Data flow for one buffer: an Aho-Corasick pass finds every rule keyword; each hit opens a
//! window (its line, bounded; 16 KiB ahead for multi-line rules); windows of one rule are merged
//! and only they are given to that rule's regex, raw and, when they hold escapes, unescaped.
//! Base64 runs are decoded and scanned as a nested layer. Candidates then pass the placeholder,
//! entropy and validator filters; overlaps are resolved (specific beats generic) and each
//! surviving match is placed at the line and column of the original bytes.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::bytes::{Regex, RegexBuilder};
use std::collections::{BTreeMap, HashMap, HashSet};
use trustmap_model::Severity;

use crate::decode;
use crate::filters;
use crate::rule::{RuleError, SourcedRule};
use crate::validators::{Hints, ValidatorKind};

const WINDOW_BEFORE: usize = 256;
const WINDOW_AFTER: usize = 1024;
const MULTILINE_AFTER: usize = 16 * 1024;
/// How deep decoded content is decoded again (base64 inside base64).
const MAX_DECODE_DEPTH: u8 = 2;
/// The inline marker that silences findings on its line.
pub const ALLOW_MARKER: &[u8] = b"trustmap:allow";

/// A compiled rule.
#[derive(Debug)]
pub struct CompiledRule {
    pub id: String,
    pub name: String,
    pub severity: Severity,
    pub provider: String,
    pub kind: String,
    pub remediation: Option<String>,
    pub generic: bool,
    pub multiline: bool,
    /// Bytes after a keyword that a multi-line rule's regex sees.
    pub window: usize,
    pub priority: i32,
    pub entropy_min: Option<f64>,
    pub validator: Option<ValidatorKind>,
    pub source: SourcedRule,
    regex: Regex,
    secret_group: usize,
    hint_groups: Vec<(usize, String)>,
    near: Vec<(String, Regex)>,
}

/// How far from a secret its `near` hints are looked for, either side.
pub const NEAR_BYTES: usize = 512;
/// How long a single-line match can be: it lies inside one keyword window.
const LINE_MATCH_MAX: usize = WINDOW_BEFORE + WINDOW_AFTER + 64;

/// A secret found in a buffer, placed in the original bytes.
#[derive(Debug, Clone)]
pub struct RawMatch {
    /// Index of the rule in [`Engine::rules`].
    pub rule: usize,
    /// Byte range in the original buffer (the encoded text, for decoded secrets).
    pub start: usize,
    pub end: usize,
    /// 1-based line and column (columns count characters).
    pub line: u64,
    pub column: u64,
    pub secret: String,
    pub encoding: Option<&'static str>,
    pub hints: Hints,
    pub entropy: f64,
}

/// Rules compiled for scanning. Cheap to share between threads.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<CompiledRule>,
    keywords: AhoCorasick,
    keyword_rules: Vec<Vec<u32>>,
    /// The keywords of the rules whose matches depend on more than their own line (multi-line
    /// rules, rules with `near` hints): where they are, an edit reaches further.
    reaching_keywords: Option<ReachingKeywords>,
}

#[derive(Debug)]
struct ReachingKeywords {
    ac: AhoCorasick,
    /// Per pattern: the widest [`CompiledRule::keyword_reach`] of the rules it opens.
    reach: Vec<usize>,
    /// The longest keyword's length.
    longest: usize,
}

impl ReachingKeywords {
    /// Each keyword of a rule that reaches past its line, with the widest reach of the rules
    /// it opens; `None` when no rule does.
    fn build(rules: &[CompiledRule]) -> Result<Option<Self>, RuleError> {
        let mut keywords: Vec<(String, usize)> = Vec::new();
        for r in rules {
            let Some(reach) = r.keyword_reach() else {
                continue;
            };
            for k in &r.source.def.keywords {
                let k = k.to_ascii_lowercase();
                match keywords.iter_mut().find(|(m, _)| *m == k) {
                    Some((_, widest)) => *widest = (*widest).max(reach),
                    None => keywords.push((k, reach)),
                }
            }
        }
        if keywords.is_empty() {
            return Ok(None);
        }
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(keywords.iter().map(|(k, _)| k))
            .map_err(|e| RuleError::Parse {
                file: "rules".into(),
                line: 0,
                message: format!("reaching keyword automaton: {e}"),
            })?;
        Ok(Some(ReachingKeywords {
            ac,
            reach: keywords.iter().map(|(_, r)| *r).collect(),
            longest: keywords.iter().map(|(k, _)| k.len()).max().unwrap_or(0),
        }))
    }
}

fn invalid(r: &SourcedRule, field: &'static str, message: impl Into<String>) -> RuleError {
    RuleError::Invalid {
        file: r.file.clone(),
        line: r.line,
        rule: r.def.id.get_ref().clone(),
        field,
        message: message.into(),
    }
}

impl CompiledRule {
    /// How far a match's outcome can depend on bytes beyond its own line(s). A single-line
    /// rule's keyword window, escapes and base64 runs stay on the match's line, so only `near`
    /// hints look past it; a multi-line match depends on its keyword up to a window before it,
    /// that window, and its hints.
    fn reach(&self) -> usize {
        if self.multiline {
            self.window + WINDOW_BEFORE + NEAR_BYTES + 256
        } else if !self.near.is_empty() {
            NEAR_BYTES
        } else {
            0
        }
    }

    /// How far from its keyword an edit can change a match of this rule, for the rules whose
    /// matches depend on more than their line (`None` for the others).
    fn keyword_reach(&self) -> Option<usize> {
        if self.multiline {
            Some(self.reach())
        } else if !self.near.is_empty() {
            // The match lies within a keyword window of the keyword, its hints NEAR_BYTES
            // further.
            Some(NEAR_BYTES + LINE_MATCH_MAX)
        } else {
            None
        }
    }

    /// How far a multi-line rule's regex looks after its keyword.
    fn window(src: &SourcedRule) -> Result<usize, RuleError> {
        match &src.def.window {
            None => Ok(MULTILINE_AFTER),
            Some(_) if !src.def.multiline => {
                Err(invalid(src, "window", "only a multiline rule has a window"))
            }
            Some(w) if !(64..=65536).contains(w.get_ref()) => {
                Err(invalid(src, "window", "must be 64 to 65536 bytes"))
            }
            Some(w) => Ok(*w.get_ref()),
        }
    }

    /// The `near` hint regexes, each with a group for its value.
    fn near(src: &SourcedRule) -> Result<Vec<(String, Regex)>, RuleError> {
        let mut near = Vec::new();
        for (hint, pattern) in &src.def.near {
            let re = RegexBuilder::new(pattern)
                .unicode(false)
                .build()
                .map_err(|e| invalid(src, "near", format!("{hint}: {e}")))?;
            if re.captures_len() < 2 {
                return Err(invalid(
                    src,
                    "near",
                    format!("{hint}: needs a capture group for the value"),
                ));
            }
            near.push((hint.clone(), re));
        }
        Ok(near)
    }

    fn compile(src: SourcedRule) -> Result<Self, RuleError> {
        let d = &src.def;
        if d.id.get_ref().is_empty()
            || !d
                .id
                .get_ref()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(invalid(
                &src,
                "id",
                "must be non-empty kebab-case (a-z, 0-9, -)",
            ));
        }
        if d.keywords.is_empty() || d.keywords.iter().any(|k| k.len() < 2) {
            return Err(invalid(
                &src,
                "keywords",
                "needs at least one keyword, each of 2 or more bytes",
            ));
        }
        if d.examples.is_empty() {
            return Err(invalid(&src, "examples", "needs at least one example"));
        }
        if d.negative_examples.is_empty() {
            return Err(invalid(
                &src,
                "negative_examples",
                "needs at least one negative example",
            ));
        }
        let regex = RegexBuilder::new(d.regex.get_ref())
            .unicode(false)
            .size_limit(32 << 20)
            .dfa_size_limit(32 << 20)
            .build()
            .map_err(|e| invalid(&src, "regex", e.to_string()))?;
        let mut secret_group = if regex.captures_len() > 1 { 1 } else { 0 };
        let mut hint_groups = Vec::new();
        for (i, name) in regex.capture_names().enumerate() {
            match name {
                Some("secret") => secret_group = i,
                Some(n) => hint_groups.push((i, n.to_string())),
                None => {}
            }
        }
        let near = Self::near(&src)?;
        let window = Self::window(&src)?;
        Ok(CompiledRule {
            id: d.id.get_ref().clone(),
            name: d.name.clone(),
            severity: d.severity,
            provider: d.reveals.provider.clone(),
            kind: d.reveals.kind.clone(),
            remediation: d.remediation.clone(),
            generic: d.generic,
            multiline: d.multiline,
            window,
            priority: if d.generic {
                d.priority - 10
            } else {
                d.priority
            },
            entropy_min: d.entropy_min,
            validator: d.validator,
            regex,
            secret_group,
            hint_groups,
            near,
            source: src,
        })
    }
}

/// Where a decoded layer's bytes came from in the original buffer.
enum Origin<'a> {
    Identity,
    /// Every byte maps to one place (a base64 run's start).
    Fixed(usize),
    /// Byte `i` came from `base + table[i]` of the parent layer.
    Table {
        parent: &'a Origin<'a>,
        base: usize,
        table: &'a [u32],
    },
}

impl Origin<'_> {
    fn map(&self, i: usize) -> usize {
        match self {
            Origin::Identity => i,
            Origin::Fixed(o) => *o,
            Origin::Table {
                parent,
                base,
                table,
            } => {
                let j = table
                    .get(i)
                    .copied()
                    .or_else(|| table.last().copied())
                    .unwrap_or(0);
                parent.map(base + j as usize)
            }
        }
    }
}

struct Candidate {
    rule: usize,
    start: usize,
    end: usize,
    secret: String,
    encoding: Option<&'static str>,
    hints: Hints,
    entropy: f64,
}

fn line_bounds(data: &[u8], pos: usize, before: usize, after: usize) -> (usize, usize) {
    let lo = pos.saturating_sub(before);
    let start = memchr::memrchr(b'\n', &data[lo..pos]).map_or(lo, |i| lo + i + 1);
    let hi = (pos + after).min(data.len());
    let end = memchr::memchr(b'\n', &data[pos..hi]).map_or(hi, |i| pos + i);
    (start, end)
}

impl Engine {
    /// Compile rules. Errors name the file, line, rule and field at fault.
    pub fn new(rules: Vec<SourcedRule>) -> Result<Self, RuleError> {
        let mut seen: HashMap<String, (std::path::PathBuf, usize)> = HashMap::new();
        let mut compiled = Vec::with_capacity(rules.len());
        for r in rules {
            if let Some((file, line)) = seen.get(r.def.id.get_ref()) {
                let msg = format!(
                    "duplicate rule id, first defined at {}:{line}",
                    file.display()
                );
                return Err(invalid(&r, "id", msg));
            }
            seen.insert(r.def.id.get_ref().clone(), (r.file.clone(), r.line));
            compiled.push(CompiledRule::compile(r)?);
        }
        let mut keyword_index: HashMap<String, usize> = HashMap::new();
        let mut keyword_rules: Vec<Vec<u32>> = Vec::new();
        let mut patterns: Vec<String> = Vec::new();
        for (ri, r) in compiled.iter().enumerate() {
            for k in &r.source.def.keywords {
                let key = k.to_ascii_lowercase();
                let pi = *keyword_index.entry(key.clone()).or_insert_with(|| {
                    patterns.push(key);
                    keyword_rules.push(Vec::new());
                    patterns.len() - 1
                });
                if !keyword_rules[pi].contains(&(ri as u32)) {
                    keyword_rules[pi].push(ri as u32);
                }
            }
        }
        let keywords = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&patterns)
            .or_else(|_| {
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)
            })
            .map_err(|e| RuleError::Parse {
                file: "rules".into(),
                line: 0,
                message: format!("keyword automaton: {e}"),
            })?;
        let reaching_keywords = ReachingKeywords::build(&compiled)?;
        Ok(Engine {
            rules: compiled,
            keywords,
            keyword_rules,
            reaching_keywords,
        })
    }

    /// The built-in rules of the repository's `rules/` directory.
    pub fn builtin() -> Result<Self, RuleError> {
        Engine::new(crate::rule::builtin_rules()?)
    }

    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// Find the secrets in one buffer (a file or blob), each once per (rule, secret).
    pub fn scan(&self, data: &[u8]) -> Vec<RawMatch> {
        first_occurrences(self.scan_occurrences(data))
    }

    /// Every occurrence of every secret in one buffer, in order; [`Engine::scan`] keeps the
    /// first of each (rule, secret). Incremental scans ([`crate::incremental`]) carry these
    /// between versions, so that an occurrence that becomes the first is not lost.
    pub fn scan_occurrences(&self, data: &[u8]) -> Vec<RawMatch> {
        let mut cands = Vec::new();
        self.scan_layer(data, &Origin::Identity, 0, None, &mut cands);
        if cands.is_empty() {
            return Vec::new();
        }
        let cands = self.resolve(cands);
        let mut found = place(data, cands);
        for m in &mut found {
            self.near_hints(data, m);
        }
        found
    }

    /// The bytes whose content can change whether and how `m` is found in `data`: its line(s)
    /// and `near` hints, and for a multi-line rule every keyword window that can reach it.
    /// Outside this span, edits leave `m` exactly as it is (line numbers aside).
    pub fn dependency(&self, data: &[u8], m: &RawMatch) -> std::ops::Range<usize> {
        let reach = self.rules[m.rule].reach();
        line_span(
            data,
            m.start.saturating_sub(reach),
            m.end.saturating_add(reach),
        )
    }

    /// Where the keywords of the rules that reach past their line (multi-line rules, rules
    /// with `near` hints) start within `range` of `data`, each with how far an edit can reach
    /// from it, in order. An incremental scan
    /// keeps them from version to version and looks for new ones only in edited lines.
    pub fn keyword_marks(&self, data: &[u8], range: std::ops::Range<usize>) -> Vec<(usize, usize)> {
        let Some(ml) = &self.reaching_keywords else {
            return Vec::new();
        };
        let end = range.end.saturating_add(ml.longest).min(data.len());
        let Some(hay) = data.get(range.start..end) else {
            return Vec::new();
        };
        let mut marks: Vec<(usize, usize)> = ml
            .ac
            .find_overlapping_iter(hay)
            .filter(|k| range.start + k.start() < range.end)
            .map(|k| (range.start + k.start(), ml.reach[k.pattern().as_usize()]))
            .collect();
        marks.sort_unstable();
        marks
    }

    /// The part of `data` to scan again after the bytes in `changed` were edited (and nothing
    /// else): it holds, whole, the [`Engine::dependency`] of every match that the edit can
    /// create, change or remove. `marks` are [`Engine::keyword_marks`] of all of `data`.
    pub fn rescan_span(
        &self,
        data: &[u8],
        changed: std::ops::Range<usize>,
        marks: &[(usize, usize)],
    ) -> std::ops::Range<usize> {
        // A single-line match of a rule without `near` hints depends on its line alone: the
        // edited lines are all there is to match again for those.
        let (mut lo, mut hi) = (changed.start, changed.end);
        // Any other match whose dependency reaches the edit has its keyword at most its rule's
        // keyword reach away from it; only such keywords widen the span, each by its own
        // (twice and three times the reach: the match, then what it depends on, fit inside).
        let widest = self
            .reaching_keywords
            .as_ref()
            .map_or(0, |ml| ml.reach.iter().copied().max().unwrap_or(0));
        let first = marks.partition_point(|&(p, _)| p + 2 * widest < changed.start);
        for &(p, reach) in &marks[first..] {
            if p > changed.end + 2 * widest {
                break;
            }
            if p + 2 * reach < changed.start || p > changed.end + 2 * reach {
                continue;
            }
            lo = lo.min(p.saturating_sub(2 * reach));
            hi = hi.max(p.saturating_add(3 * reach));
        }
        line_span(data, lo, hi)
    }

    /// The rule's `near` hints around one match: for each, the capture closest to the secret.
    fn near_hints(&self, data: &[u8], m: &mut RawMatch) {
        let rule = &self.rules[m.rule];
        if rule.near.is_empty() {
            return;
        }
        let ws = m.start.saturating_sub(NEAR_BYTES);
        let we = m.end.saturating_add(NEAR_BYTES).min(data.len());
        let Some(window) = data.get(ws..we) else {
            return;
        };
        for (hint, re) in &rule.near {
            if m.hints.contains_key(hint) {
                continue;
            }
            let closest = re
                .captures_iter(window)
                .filter_map(|c| c.get(1))
                .min_by_key(|g| (ws + g.start()).abs_diff(m.start));
            if let Some(g) = closest {
                m.hints.insert(
                    hint.clone(),
                    String::from_utf8_lossy(g.as_bytes()).into_owned(),
                );
            }
        }
    }

    fn scan_layer(
        &self,
        data: &[u8],
        origin: &Origin<'_>,
        depth: u8,
        encoding: Option<&'static str>,
        out: &mut Vec<Candidate>,
    ) {
        // (rule, window start, window end), one entry per keyword hit and rule.
        let mut windows: Vec<(u32, usize, usize)> = Vec::new();
        for m in self.keywords.find_overlapping_iter(data) {
            for &ri in &self.keyword_rules[m.pattern().as_usize()] {
                let rule = &self.rules[ri as usize];
                let (ws, we) = if rule.multiline {
                    (
                        m.start().saturating_sub(WINDOW_BEFORE),
                        (m.end() + rule.window).min(data.len()),
                    )
                } else {
                    line_bounds(data, m.start(), WINDOW_BEFORE, WINDOW_AFTER)
                };
                windows.push((ri, ws, we));
            }
        }
        if !windows.is_empty() {
            windows.sort_unstable();
            let mut merged: Vec<(u32, usize, usize)> = Vec::with_capacity(windows.len());
            for w in windows {
                match merged.last_mut() {
                    Some(last) if last.0 == w.0 && w.1 <= last.2 => last.2 = last.2.max(w.2),
                    _ => merged.push(w),
                }
            }
            for (ri, ws, we) in merged {
                let window = &data[ws..we];
                self.match_window(ri as usize, window, &|i| origin.map(ws + i), encoding, out);
                if decode::has_escapes(window) {
                    if let Some((decoded, table)) = decode::unescape(window) {
                        let inner = Origin::Table {
                            parent: origin,
                            base: ws,
                            table: &table,
                        };
                        self.match_window(
                            ri as usize,
                            &decoded,
                            &|i| inner.map(i),
                            Some(encoding.unwrap_or("escaped")),
                            out,
                        );
                    }
                }
            }
        }
        if depth < MAX_DECODE_DEPTH {
            for (s, e) in decode::base64_runs(data) {
                let Some(decoded) = decode::decode_base64_text(&data[s..e]) else {
                    continue;
                };
                // Keep the key the value was assigned to (`password: <base64>`), so that
                // context-dependent rules still see their keyword; only an assignment's key,
                // never other encoded text that would splice into new "secrets".
                let (ls, _) = line_bounds(data, s, 80, 0);
                let before = &data[ls..s];
                let trimmed = before
                    .iter()
                    .rposition(|b| !matches!(b, b' ' | b'\t' | b'"' | b'\''))
                    .map(|i| before[i]);
                let key: &[u8] = if matches!(trimmed, Some(b':' | b'=')) {
                    before
                } else {
                    b""
                };
                let mut buf = Vec::with_capacity(key.len() + decoded.len() + 1);
                buf.extend_from_slice(key);
                buf.extend_from_slice(&decoded);
                buf.push(b'\n');
                let inner = Origin::Fixed(origin.map(s));
                self.scan_layer(&buf, &inner, depth + 1, Some("base64"), out);
            }
        }
    }

    fn match_window(
        &self,
        ri: usize,
        window: &[u8],
        map: &dyn Fn(usize) -> usize,
        encoding: Option<&'static str>,
        out: &mut Vec<Candidate>,
    ) {
        let rule = &self.rules[ri];
        for caps in rule.regex.captures_iter(window) {
            let Some(m) = caps.get(rule.secret_group).or_else(|| caps.get(0)) else {
                continue;
            };
            let Ok(secret) = std::str::from_utf8(m.as_bytes()) else {
                continue;
            };
            // A generic rule's key that names an identifier (`private_key_id`, `secretId`)
            // holds the id of a secret, which is public, not the secret.
            if rule.generic {
                let whole = caps
                    .get(0)
                    .map_or(&[][..], |w| &window[w.start()..m.start()]);
                if filters::key_names_an_id(whole) {
                    continue;
                }
            }
            let Some((hints, entropy)) = self.accept(rule, secret) else {
                continue;
            };
            let mut hints = hints;
            for (gi, name) in &rule.hint_groups {
                if let Some(g) = caps.get(*gi) {
                    hints.insert(
                        name.clone(),
                        String::from_utf8_lossy(g.as_bytes()).into_owned(),
                    );
                }
            }
            out.push(Candidate {
                rule: ri,
                start: map(m.start()),
                end: map(m.end().saturating_sub(1)) + 1,
                secret: secret.to_string(),
                encoding,
                hints,
                entropy,
            });
        }
    }

    /// The filters every candidate passes: placeholders, entropy, generic plausibility, validator.
    fn accept(&self, rule: &CompiledRule, secret: &str) -> Option<(Hints, f64)> {
        if secret.len() < 4 || filters::is_placeholder(secret) {
            return None;
        }
        let entropy = filters::shannon_entropy(secret.as_bytes());
        if rule.entropy_min.is_some_and(|min| entropy < min) {
            return None;
        }
        if rule.generic && !filters::generic_value_is_plausible(secret) {
            return None;
        }
        let mut hints = match rule.validator {
            Some(v) => v.check(secret)?,
            None => BTreeMap::new(),
        };
        hints.insert("provider".into(), rule.provider.clone());
        hints.insert("credential".into(), rule.kind.clone());
        Some((hints, entropy))
    }

    /// Where spans overlap, the higher-priority rule wins.
    fn resolve(&self, mut cands: Vec<Candidate>) -> Vec<Candidate> {
        cands.sort_by(|a, b| a.order(b));
        // The same candidate twice (a raw and a decoded pass over one window): once.
        cands.dedup_by(|b, a| a.same_as(b));
        self.suppress_overlaps(cands)
    }

    /// Occurrences put together from several passes over one buffer (an incremental scan's
    /// carried and rescanned parts) resolved as one pass would: in order, each once, and where
    /// spans overlap, the higher-priority rule wins.
    pub fn resolve_occurrences(&self, mut all: Vec<RawMatch>) -> Vec<RawMatch> {
        all.sort_by(|a, b| a.order(b));
        all.dedup_by(|b, a| a.same_as(b));
        self.suppress_overlaps(all)
    }

    /// `items` sorted by start; drops each one that a higher-priority rule's span overlaps.
    fn suppress_overlaps<T: Placed>(&self, items: Vec<T>) -> Vec<T> {
        let n = items.len();
        let mut keep = vec![true; n];
        for i in 0..n {
            let (_, end_i) = items[i].span();
            let mut j = i + 1;
            while j < n && items[j].span().0 < end_i {
                let (ri, rj) = (items[i].rule(), items[j].rule());
                let (pi, pj) = (self.rules[ri].priority, self.rules[rj].priority);
                if pi > pj {
                    keep[j] = false;
                } else if pj > pi {
                    keep[i] = false;
                } else if ri == rj {
                    // The same rule on raw and decoded text of one place: the raw one stands.
                    match (items[i].encoded(), items[j].encoded()) {
                        (false, true) => keep[j] = false,
                        (true, false) => keep[i] = false,
                        _ => {}
                    }
                }
                j += 1;
            }
        }
        items
            .into_iter()
            .zip(keep)
            .filter_map(|(c, k)| k.then_some(c))
            .collect()
    }
}

/// What overlap resolution needs of a candidate or a placed match.
trait Placed {
    fn span(&self) -> (usize, usize);
    fn rule(&self) -> usize;
    fn encoded(&self) -> bool;
    fn secret(&self) -> &str;

    /// By start, raw before decoded, then by rule: duplicates end up side by side.
    fn order(&self, other: &Self) -> std::cmp::Ordering {
        self.span()
            .0
            .cmp(&other.span().0)
            .then(self.encoded().cmp(&other.encoded()))
            .then(self.rule().cmp(&other.rule()))
            .then(self.span().1.cmp(&other.span().1))
    }

    fn same_as(&self, other: &Self) -> bool {
        self.span() == other.span()
            && self.rule() == other.rule()
            && self.encoded() == other.encoded()
            && self.secret() == other.secret()
    }
}

/// Candidates and placed matches name their parts alike.
macro_rules! placed_by_fields {
    ($($t:ty),*) => {$(
        impl Placed for $t {
            fn span(&self) -> (usize, usize) {
                (self.start, self.end)
            }
            fn rule(&self) -> usize {
                self.rule
            }
            fn encoded(&self) -> bool {
                self.encoding.is_some()
            }
            fn secret(&self) -> &str {
                &self.secret
            }
        }
    )*};
}
placed_by_fields!(Candidate, RawMatch);

/// Compute line and column for each candidate (sorted by start), dropping those on a line that
/// carries the allow marker.
fn place(data: &[u8], cands: Vec<Candidate>) -> Vec<RawMatch> {
    let mut out = Vec::with_capacity(cands.len());
    let mut line = 1u64;
    let mut counted_to = 0usize;
    let mut line_start = 0usize;
    for c in cands {
        let pos = c.start.min(data.len());
        if pos > counted_to {
            let chunk = &data[counted_to..pos];
            line += memchr::memchr_iter(b'\n', chunk).count() as u64;
            if let Some(i) = memchr::memrchr(b'\n', chunk) {
                line_start = counted_to + i + 1;
            }
            counted_to = pos;
        }
        let line_end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
        if memchr::memmem::find(&data[line_start..line_end], ALLOW_MARKER).is_some() {
            continue;
        }
        let column = data[line_start..pos]
            .iter()
            .filter(|&&b| b & 0xC0 != 0x80)
            .count() as u64
            + 1;
        out.push(RawMatch {
            rule: c.rule,
            start: c.start,
            end: c.end,
            line,
            column,
            secret: c.secret,
            encoding: c.encoding,
            hints: c.hints,
            entropy: c.entropy,
        });
    }
    out
}

/// The first occurrence of each (rule, secret), in order.
pub fn first_occurrences(all: Vec<RawMatch>) -> Vec<RawMatch> {
    let mut seen: HashSet<(usize, String)> = HashSet::new();
    all.into_iter()
        .filter(|m| seen.insert((m.rule, m.secret.clone())))
        .collect()
}

/// `[lo, hi)` widened to whole lines of `data` (the line holding `lo` from its start, the line
/// holding `hi - 1` through its newline).
fn line_span(data: &[u8], lo: usize, hi: usize) -> std::ops::Range<usize> {
    let hi = hi.min(data.len());
    let lo = lo.min(hi);
    let start = memchr::memrchr(b'\n', &data[..lo]).map_or(0, |i| i + 1);
    let end = if hi == 0 {
        0
    } else {
        memchr::memchr(b'\n', &data[hi - 1..]).map_or(data.len(), |i| hi + i)
    };
    start..end
}

/// Content that looks binary: a NUL byte in the first 8 KiB (git's own test).
pub fn looks_binary(data: &[u8]) -> bool {
    memchr::memchr(0, &data[..data.len().min(8192)]).is_some()
}

impl Engine {
    /// Scan a buffer and describe each match as a [`SecretMatch`] found at `path`.
    pub fn secret_matches(&self, data: &[u8], path: &str) -> Vec<trustmap_model::SecretMatch> {
        self.scan(data)
            .into_iter()
            .map(|m| self.secret_match(m, path))
            .collect()
    }

    /// One placed match as the [`trustmap_model::SecretMatch`] that connectors emit.
    pub fn secret_match(&self, m: RawMatch, path: &str) -> trustmap_model::SecretMatch {
        let rule = &self.rules[m.rule];
        trustmap_model::SecretMatch {
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            severity: rule.severity,
            secret: trustmap_model::Secret::new(m.secret),
            path: path.to_string(),
            line: m.line,
            column: m.column,
            commit: None,
            commit_date: None,
            also_seen_in: Vec::new(),
            encoding: m.encoding.map(str::to_string),
            hints: m.hints,
            entropy: m.entropy,
            remediation: rule.remediation.clone(),
            verification: None,
        }
    }

    /// `text` with every secret the rules find in it replaced by its redacted form: for
    /// messages that quote what a source said (a program's stderr, an API's error body), so
    /// that an error never carries a secret further than the source put it.
    pub fn redact_secrets(&self, text: &str) -> String {
        let mut out = text.to_string();
        for m in self.scan(text.as_bytes()) {
            if !m.secret.is_empty() {
                out = out.replace(&m.secret, &trustmap_model::redact(&m.secret));
            }
        }
        out
    }

    /// The remediation text of a rule, if it has one.
    pub fn remediation(&self, rule_id: &str) -> Option<&str> {
        self.rules
            .iter()
            .find(|r| r.id == rule_id)
            .and_then(|r| r.remediation.as_deref())
    }
}
