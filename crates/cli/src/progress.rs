//! indicatif behind the library's `Progress` seam: drawn on a terminal, silent otherwise.
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use trustmap_model::Progress;

pub struct BarProgress {
    bar: Option<ProgressBar>,
}

/// Where a bar is drawn: alone on stderr, or as one line of a sweep's [`MultiProgress`].
enum Place<'a> {
    Stderr,
    Under(&'a MultiProgress),
}

impl BarProgress {
    /// A bar with `template`, or nothing when stderr is not a terminal or `quiet`.
    fn drawn(place: Place<'_>, template: &str, label: &str, quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return BarProgress { bar: None };
        }
        let bar = match place {
            Place::Stderr => ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr()),
            Place::Under(multi) => multi.add(ProgressBar::new(0)),
        };
        bar.set_style(
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(label.to_string());
        BarProgress { bar: Some(bar) }
    }

    /// A byte-counting bar on stderr (`trustmap scan`).
    pub fn bytes(quiet: bool) -> Self {
        Self::drawn(
            Place::Stderr,
            "{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} ({bytes_per_sec}) {msg}",
            "",
            quiet,
        )
    }

    /// A counting bar (`label 3/10 msg`) on stderr (`scan --verify`).
    pub fn count(quiet: bool, label: &str) -> Self {
        Self::drawn(
            Place::Stderr,
            "{spinner} {prefix} {bar:30} {pos}/{len} {msg}",
            label,
            quiet,
        )
    }

    /// The sweep's verification bar under the connectors' [`MultiProgress`]: counts, not bytes.
    pub fn counter(multi: &MultiProgress, label: &str, quiet: bool) -> Self {
        Self::drawn(
            Place::Under(multi),
            "{spinner} {prefix:>16} {pos}/{len} {msg}",
            label,
            quiet,
        )
    }

    /// One bar per connector in a sweep, under a shared [`MultiProgress`].
    pub fn connector(multi: &MultiProgress, name: &str, quiet: bool) -> Self {
        Self::drawn(
            Place::Under(multi),
            "{spinner} {prefix:>16} {bytes}/{total_bytes} ({bytes_per_sec}) {msg}",
            name,
            quiet,
        )
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Progress for BarProgress {
    fn add_total(&self, amount: u64) {
        if let Some(b) = &self.bar {
            b.inc_length(amount);
        }
    }
    fn advance(&self, amount: u64) {
        if let Some(b) = &self.bar {
            b.inc(amount);
        }
    }
    fn message(&self, msg: &str) {
        if let Some(b) = &self.bar {
            b.set_message(msg.to_string());
        }
    }
}
