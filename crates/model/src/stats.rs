use serde::{Deserialize, Serialize};

/// What a content scan covered and what it had to pass over. Skips are counted, never silent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanStats {
    pub files_scanned: u64,
    pub blobs_scanned: u64,
    pub bytes_scanned: u64,
    /// Bytes given to the matcher: less than `bytes_scanned` when later versions of a file in
    /// a history were matched only where they changed (the rest carried over).
    #[serde(default)]
    pub bytes_matched: u64,
    pub skipped_binary: u64,
    pub skipped_oversized: u64,
    pub skipped_unreadable: u64,
    pub skipped_ignored: u64,
    /// Coverage gaps worth telling a person: unreadable files, broken objects, failed sources.
    #[serde(rename = "coverage_gaps", alias = "gaps")]
    pub gaps: Vec<String>,
}

/// At most this many gap messages are kept; the counters stay exact.
pub const MAX_GAPS: usize = 200;

impl ScanStats {
    pub fn merge(&mut self, other: ScanStats) {
        self.files_scanned += other.files_scanned;
        self.blobs_scanned += other.blobs_scanned;
        self.bytes_scanned += other.bytes_scanned;
        self.bytes_matched += other.bytes_matched;
        self.skipped_binary += other.skipped_binary;
        self.skipped_oversized += other.skipped_oversized;
        self.skipped_unreadable += other.skipped_unreadable;
        self.skipped_ignored += other.skipped_ignored;
        for g in other.gaps {
            self.add_gap(g);
        }
    }

    pub fn add_gap(&mut self, gap: impl Into<String>) {
        if self.gaps.len() < MAX_GAPS {
            self.gaps.push(gap.into());
        }
    }
}
