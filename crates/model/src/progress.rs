/// Progress reporting seam: libraries call it, the CLI draws it (indicatif), tests ignore it.
pub trait Progress: Send + Sync {
    /// More work became known (bytes, blobs, ...).
    fn add_total(&self, _amount: u64) {}
    /// Work done.
    fn advance(&self, _amount: u64) {}
    /// A short status line ("reading history of repo/x").
    fn message(&self, _msg: &str) {}
}

/// A reporter that reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {}
