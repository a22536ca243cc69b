//! The progress bar of `start_indexer`: files, bytes, words, rate and ETA
//! on standard error, only when it is a terminal.

use std::io::{self, IsTerminal};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress on standard error when it is a terminal (and not `quiet`).
pub(super) struct Bar {
    bar: ProgressBar,
    started: Instant,
}

impl Bar {
    pub(super) fn new(quiet: bool) -> Self {
        let bar = if quiet || !io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{elapsed_precise} {pos}/{len} files, {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        };
        Bar {
            bar,
            started: Instant::now(),
        }
    }

    /// Shows `done` of `found` files, `bytes` and `words` read; an ETA once
    /// `found` is the total.
    pub(super) fn show(
        &self,
        done: usize,
        found: usize,
        total_known: bool,
        bytes: u64,
        words: u64,
    ) {
        if self.bar.is_hidden() {
            return;
        }
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let eta = if total_known && done > 0 {
            let left = secs * (found - done.min(found)) as f64 / done as f64;
            format!(", ETA {left:.0} s")
        } else {
            String::new()
        };
        self.bar.set_length(found as u64);
        self.bar.set_position(done as u64);
        self.bar.set_message(format!(
            "{:.1} MB, {words} words, {:.1} MB/s{eta}",
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / secs
        ));
    }

    /// Prints a line above the bar.
    pub(super) fn println(&self, line: &str) {
        self.bar.suspend(|| eprintln!("{line}"));
    }

    pub(super) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
