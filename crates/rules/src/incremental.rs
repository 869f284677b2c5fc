//! Scanning a new version of a buffer against its previous version.
//!
//! Most versions of a file in a repository's history differ from the one before by a few
//! lines. [`scan_edit`] diffs the two versions by lines, matches again only the lines an edit
//! touched plus the reach of the rules around them ([`Engine::rescan_span`]), and carries every
//! other occurrence of the previous version over to its new place (line numbers moved by the
//! lines inserted or deleted above it). An occurrence is carried only when no edit falls within
//! its [`Engine::dependency`], so the result is what [`Engine::scan_occurrences`] finds on the
//! whole new version, for a fraction of the work.
//!
//! It knows nothing about git: callers decide which version precedes which.

use std::ops::Range;

use crate::engine::{Engine, RawMatch};

/// Below this many bytes between the common prefix and suffix, one edit covers them all:
/// diffing the lines would cost more than matching them again.
const DIFF_MIN_BYTES: usize = 8 * 1024;
/// A version that needs more than this share of its bytes matched again is scanned whole.
const RESCAN_WHOLE_SHARE: f64 = 0.6;

/// What a scan of one version found, kept to scan the next version against it.
#[derive(Debug, Clone, Default)]
pub struct EditScan {
    /// Every occurrence in the version, as [`Engine::scan_occurrences`] gives them.
    pub occurrences: Vec<RawMatch>,
    /// Where the keywords of rules that reach past their line are ([`Engine::keyword_marks`]).
    pub marks: Vec<(usize, usize)>,
    /// Bytes of the version given to the matcher (the rest was carried over).
    pub bytes_matched: usize,
}

/// The first version of a chain: scanned whole.
pub fn scan_whole(engine: &Engine, data: &[u8]) -> EditScan {
    EditScan {
        occurrences: engine.scan_occurrences(data),
        marks: engine.keyword_marks(data, 0..data.len()),
        bytes_matched: data.len(),
    }
}

/// One edited stretch of whole lines: bytes `old` of the previous version became bytes `new`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hunk {
    old: Range<usize>,
    new: Range<usize>,
}

/// The scan of `new`, given the previous version `old` and what its scan found.
pub fn scan_edit(engine: &Engine, old: &[u8], before: &EditScan, new: &[u8]) -> EditScan {
    let hunks = line_hunks(old, new);
    let marks = moved_marks(engine, &before.marks, &hunks, new);
    let mut spans: Vec<Range<usize>> = Vec::new();
    for h in &hunks {
        let span = engine.rescan_span(new, h.new.clone(), &marks);
        match spans.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => spans.push(span),
        }
    }
    let to_match: usize = spans.iter().map(|s| s.len()).sum();
    if to_match as f64 > new.len() as f64 * RESCAN_WHOLE_SHARE {
        return EditScan {
            occurrences: engine.scan_occurrences(new),
            marks,
            bytes_matched: new.len(),
        };
    }
    let mut all = carried(engine, old, &before.occurrences, new, &hunks);
    let mut counted = (0usize, 0u64);
    for span in &spans {
        let lines_before = counted.1 + count_lines(&new[counted.0..span.start]);
        counted = (span.start, lines_before);
        for mut m in engine.scan_occurrences(&new[span.clone()]) {
            m.start += span.start;
            m.end += span.start;
            m.line += lines_before;
            // A match near the span's edge may have seen only part of what it depends on;
            // those are the carried ones, or are rescanned whole by a neighbouring span.
            let dep = engine.dependency(new, &m);
            if dep.start >= span.start && dep.end <= span.end {
                all.push(m);
            }
        }
    }
    EditScan {
        occurrences: engine.resolve_occurrences(all),
        marks,
        bytes_matched: to_match,
    }
}

/// The previous version's keyword marks outside edited lines, moved, and those of the edited
/// lines looked up afresh (a keyword never spans lines, so it is wholly in or out of a hunk).
fn moved_marks(
    engine: &Engine,
    before: &[(usize, usize)],
    hunks: &[Hunk],
    new: &[u8],
) -> Vec<(usize, usize)> {
    let mut marks = Vec::with_capacity(before.len());
    let mut next = 0usize;
    let mut shift = 0isize;
    for &(p, reach) in before {
        while next < hunks.len() && hunks[next].old.end <= p {
            let h = &hunks[next];
            shift += h.new.len() as isize - h.old.len() as isize;
            next += 1;
        }
        if next < hunks.len() && hunks[next].old.start <= p && p < hunks[next].old.end {
            continue; // in an edited line
        }
        marks.push((p.saturating_add_signed(shift), reach));
    }
    for h in hunks {
        marks.extend(engine.keyword_marks(new, h.new.clone()));
    }
    marks.sort_unstable();
    marks
}

/// The previous version's occurrences that no edit can have touched, moved to their place in
/// the new version.
fn carried(
    engine: &Engine,
    old: &[u8],
    old_found: &[RawMatch],
    new: &[u8],
    hunks: &[Hunk],
) -> Vec<RawMatch> {
    // What each hunk moves the bytes and lines after it by.
    let moves: Vec<(isize, i64)> = hunks
        .iter()
        .map(|h| {
            (
                h.new.len() as isize - h.old.len() as isize,
                count_lines(&new[h.new.clone()]) as i64 - count_lines(&old[h.old.clone()]) as i64,
            )
        })
        .collect();
    let mut out = Vec::with_capacity(old_found.len());
    for m in old_found {
        let dep = engine.dependency(old, m);
        if hunks.iter().any(|h| touches(h, &dep)) {
            continue;
        }
        // Untouched, so every hunk lies wholly before or after the dependency span.
        let (mut byte_shift, mut line_shift) = (0isize, 0i64);
        for (h, (b, l)) in hunks.iter().zip(&moves) {
            if h.old.end <= dep.start {
                byte_shift += b;
                line_shift += l;
            }
        }
        let mut moved = m.clone();
        moved.start = m.start.saturating_add_signed(byte_shift);
        moved.end = m.end.saturating_add_signed(byte_shift);
        moved.line = m.line.saturating_add_signed(line_shift);
        out.push(moved);
    }
    out
}

/// Whether an edit falls inside a dependency span. An insertion (an empty old range) touches
/// it only strictly inside; an edit that merely borders it leaves its bytes as they were.
fn touches(h: &Hunk, dep: &Range<usize>) -> bool {
    if h.old.is_empty() {
        dep.start < h.old.start && h.old.start < dep.end
    } else {
        h.old.start < dep.end && dep.start < h.old.end
    }
}

fn count_lines(bytes: &[u8]) -> u64 {
    // A plain count vectorises; memchr's iterator pays per newline.
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Start of the line holding `pos`.
fn line_start(data: &[u8], pos: usize) -> usize {
    memchr::memrchr(b'\n', &data[..pos]).map_or(0, |i| i + 1)
}

/// The edited stretches of whole lines, in order: the common prefix and suffix are cut off by
/// bytes, and what is left between them is diffed by lines when it is large.
fn line_hunks(old: &[u8], new: &[u8]) -> Vec<Hunk> {
    let limit = old.len().min(new.len());
    let prefix = line_start(new, common_prefix(old, new));
    let max_suffix = limit - prefix;
    let suffix = common_suffix(
        &old[old.len() - max_suffix..],
        &new[new.len() - max_suffix..],
    );
    // The unchanged suffix starts at a line start in both versions: if the byte before it is
    // not a newline in either, move its start past the suffix's first newline (whose bytes,
    // and so the byte before any later start, are the same in both).
    let mut new_end = new.len() - suffix;
    let old_end_of = |new_end: usize| old.len() - (new.len() - new_end);
    let line_starts_at = |data: &[u8], i: usize| i == 0 || data[i - 1] == b'\n';
    if !(line_starts_at(new, new_end) && line_starts_at(old, old_end_of(new_end))) {
        new_end = memchr::memchr(b'\n', &new[new_end..]).map_or(new.len(), |i| new_end + i + 1);
    }
    let old_end = old_end_of(new_end);
    let whole = Hunk {
        old: prefix..old_end,
        new: prefix..new_end,
    };
    if whole.old.len().min(whole.new.len()) < DIFF_MIN_BYTES {
        return vec![whole];
    }
    let (old_mid, new_mid) = (&old[whole.old.clone()], &new[whole.new.clone()]);
    let input = imara_diff::InternedInput::new(old_mid, new_mid);
    let diff = imara_diff::Diff::compute(imara_diff::Algorithm::Histogram, &input);
    let (old_at, new_at) = (line_offsets(old_mid), line_offsets(new_mid));
    diff.hunks()
        .map(|h| Hunk {
            old: prefix + old_at[h.before.start as usize]..prefix + old_at[h.before.end as usize],
            new: prefix + new_at[h.after.start as usize]..prefix + new_at[h.after.end as usize],
        })
        .collect()
}

/// Where each line of `data` starts, and its end: line `i` is `at[i]..at[i + 1]`.
fn line_offsets(data: &[u8]) -> Vec<usize> {
    let mut at = Vec::with_capacity(data.len() / 32 + 2);
    at.push(0);
    at.extend(memchr::memchr_iter(b'\n', data).map(|i| i + 1));
    if at.last() != Some(&data.len()) {
        at.push(data.len());
    }
    at
}

/// Block by block first: comparing 64-byte slices is a vectorised memcmp, a byte loop is not.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 64;
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + BLOCK <= n && a[i..i + BLOCK] == b[i..i + BLOCK] {
        i += BLOCK;
    }
    i + a[i..n]
        .iter()
        .zip(&b[i..n])
        .take_while(|(x, y)| x == y)
        .count()
}

/// Bytes the two end with in common; `a` and `b` have the same length.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 64;
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let mut i = 0;
    while i + BLOCK <= n && a[n - i - BLOCK..n - i] == b[n - i - BLOCK..n - i] {
        i += BLOCK;
    }
    i + a[..n - i]
        .iter()
        .rev()
        .zip(b[..n - i].iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hunks(old: &str, new: &str) -> Vec<(Range<usize>, Range<usize>)> {
        line_hunks(old.as_bytes(), new.as_bytes())
            .into_iter()
            .map(|h| (h.old, h.new))
            .collect()
    }

    #[test]
    fn small_edits_are_one_hunk_of_whole_lines() {
        assert_eq!(hunks("a\nbc\nd\n", "a\nbX\nd\n"), vec![(2..5, 2..5)]);
        // Found by the incremental_scan fuzz target: a line split in two, or cut at its start,
        // is an edit of the whole line in both versions.
        assert_eq!(hunks("ab\ntoken\n", "ab\nto\nken\n"), vec![(3..9, 3..10)]);
        assert_eq!(hunks("ab\ncd\n", "ab\nd\n"), vec![(3..6, 3..5)]);
        assert_eq!(hunks("a\nb\n", "a\nb\nc\n"), vec![(4..4, 4..6)]);
        assert_eq!(hunks("a\nb\nc\n", "a\nc\n"), vec![(2..4, 2..2)]);
        assert_eq!(hunks("abc", "abd"), vec![(0..3, 0..3)]);
    }

    #[test]
    fn distant_edits_of_a_large_file_are_separate_hunks() {
        let body: String = (0..2000).map(|i| format!("line {i}\n")).collect();
        let edited = body
            .replace("line 10\n", "line ten\n")
            .replace("line 1990\n", "");
        let got = hunks(&body, &edited);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(&body[got[0].0.clone()], "line 10\n");
        assert_eq!(&edited[got[0].1.clone()], "line ten\n");
        assert_eq!(&body[got[1].0.clone()], "line 1990\n");
        assert!(got[1].1.is_empty());
    }
}
