//! Scoring a scanner's reported locations against a corpus's ground truth.
use std::collections::HashSet;

use crate::corpus::Truth;

/// Recall and precision of reported `(path, line)` locations.
#[derive(Debug, Clone, Copy, Default)]
pub struct Score {
    pub planted: usize,
    pub found: usize,
    pub reported: usize,
    pub true_positives: usize,
    pub false_positives: usize,
}

impl Score {
    pub fn recall(&self) -> f64 {
        if self.planted == 0 {
            1.0
        } else {
            self.found as f64 / self.planted as f64
        }
    }
    pub fn precision(&self) -> f64 {
        if self.reported == 0 {
            1.0
        } else {
            self.true_positives as f64 / self.reported as f64
        }
    }
}

/// Score reports (`path` relative to the corpus root, 1-based `line`). Only reports inside the
/// corpus's own files count; a report is true when a secret was planted on that line.
pub fn score(truth: &Truth, reports: &[(String, u64)]) -> Score {
    let files: HashSet<&str> = truth.files.iter().map(String::as_str).collect();
    let planted: HashSet<(&str, u64)> = truth
        .planted
        .iter()
        .map(|p| (p.path.as_str(), p.line))
        .collect();
    let mut s = Score {
        planted: truth.planted.len(),
        ..Score::default()
    };
    let mut hit: HashSet<(&str, u64)> = HashSet::new();
    let mut seen_reports: HashSet<(String, u64)> = HashSet::new();
    for (path, line) in reports {
        if !files.contains(path.as_str()) || !seen_reports.insert((path.clone(), *line)) {
            continue;
        }
        s.reported += 1;
        if let Some(p) = planted.get(&(path.as_str(), *line)) {
            s.true_positives += 1;
            hit.insert(*p);
        } else {
            s.false_positives += 1;
        }
    }
    s.found = truth
        .planted
        .iter()
        .filter(|p| hit.contains(&(p.path.as_str(), p.line)))
        .count();
    s
}
