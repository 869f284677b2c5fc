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
/// The line diff of one version gives up refining after this long (the hunks it has are
/// still correct, only coarser).
const DIFF_DEADLINE: std::time::Duration = std::time::Duration::from_millis(20);

/// What [`scan_edit`] found and how much it had to match again.
#[derive(Debug, Clone)]
pub struct EditScan {
    /// Every occurrence in the new version, as [`Engine::scan_occurrences`] gives them.
    pub occurrences: Vec<RawMatch>,
    /// Bytes of the new version given to the matcher (the rest was carried over).
    pub bytes_matched: usize,
}

/// One edited stretch of whole lines: bytes `old` of the previous version became bytes `new`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hunk {
    old: Range<usize>,
    new: Range<usize>,
}

/// The occurrences of `new`, given the previous version `old` and its occurrences.
pub fn scan_edit(engine: &Engine, old: &[u8], old_found: &[RawMatch], new: &[u8]) -> EditScan {
    let hunks = line_hunks(old, new);
    let mut spans: Vec<Range<usize>> = Vec::new();
    for h in &hunks {
        let span = engine.rescan_span(new, h.new.clone());
        match spans.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => spans.push(span),
        }
    }
    let to_match: usize = spans.iter().map(|s| s.len()).sum();
    if to_match as f64 > new.len() as f64 * RESCAN_WHOLE_SHARE {
        return EditScan {
            occurrences: engine.scan_occurrences(new),
            bytes_matched: new.len(),
        };
    }
    let mut all = carried(engine, old, old_found, new, &hunks);
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
        bytes_matched: to_match,
    }
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
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let prefix = line_start(new, prefix);
    let max_suffix = limit - prefix;
    let suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    // The unchanged suffix starts at a line start: move its start forward past a newline.
    let mut new_end = new.len() - suffix;
    if new_end > prefix && new[new_end - 1] != b'\n' {
        new_end = memchr::memchr(b'\n', &new[new_end..]).map_or(new.len(), |i| new_end + i + 1);
    }
    let old_end = old.len() - (new.len() - new_end);
    let whole = Hunk {
        old: prefix..old_end,
        new: prefix..new_end,
    };
    if whole.old.len().min(whole.new.len()) < DIFF_MIN_BYTES {
        return vec![whole];
    }
    let old_lines = lines(&old[whole.old.clone()]);
    let new_lines = lines(&new[whole.new.clone()]);
    let deadline = std::time::Instant::now() + DIFF_DEADLINE;
    let ops = similar::capture_diff_slices_deadline(
        similar::Algorithm::Myers,
        &old_lines,
        &new_lines,
        Some(deadline),
    );
    let offsets = |ls: &[&[u8]]| {
        let mut at = Vec::with_capacity(ls.len() + 1);
        let mut pos = 0usize;
        at.push(0);
        for l in ls {
            pos += l.len();
            at.push(pos);
        }
        at
    };
    let (old_at, new_at) = (offsets(&old_lines), offsets(&new_lines));
    let mut hunks: Vec<Hunk> = Vec::new();
    for op in ops {
        if matches!(op, similar::DiffOp::Equal { .. }) {
            continue;
        }
        let (o, n) = (op.old_range(), op.new_range());
        let h = Hunk {
            old: prefix + old_at[o.start]..prefix + old_at[o.end],
            new: prefix + new_at[n.start]..prefix + new_at[n.end],
        };
        match hunks.last_mut() {
            Some(last) if last.old.end == h.old.start && last.new.end == h.new.start => {
                last.old.end = h.old.end;
                last.new.end = h.new.end;
            }
            _ => hunks.push(h),
        }
    }
    hunks
}

/// `data` split after each newline (the last line may lack one).
fn lines(data: &[u8]) -> Vec<&[u8]> {
    data.split_inclusive(|&b| b == b'\n').collect()
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
