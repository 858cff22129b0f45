//! Progress bars for command-line programs (feature `terminal`): one spinner per kind of object
//! on stderr with running counts, drawn only when asked to and when stderr is a terminal
//! (indicatif hides itself otherwise), so scripts and CI logs stay clean.

use std::collections::BTreeMap;
use std::sync::Mutex;

use dirsync_core::ObjectKind;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{Progress, ProgressSink};

/// A [`ProgressSink`] that draws fetch progress as spinners with running counts on stderr.
///
/// ```
/// use dirsync_service::TerminalProgress;
/// let bars = TerminalProgress::new(false); // hidden: e.g. `--json` or not a terminal
/// bars.finish();
/// ```
pub struct TerminalProgress {
    multi: MultiProgress,
    bars: Mutex<BTreeMap<ObjectKind, ProgressBar>>,
}

impl TerminalProgress {
    /// Bars on stderr if `enabled` (and stderr is a terminal); invisible otherwise.
    #[must_use]
    pub fn new(enabled: bool) -> Self {
        let target = if enabled {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Self {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(BTreeMap::new()),
        }
    }

    /// Clears the bars (the caller reports the totals, e.g. from the run record).
    pub fn finish(&self) {
        let bars = std::mem::take(&mut *self.bars.lock().unwrap_or_else(|e| e.into_inner()));
        for bar in bars.into_values() {
            bar.finish_and_clear();
        }
    }
}

impl ProgressSink for TerminalProgress {
    fn report(&self, event: Progress) {
        if let Progress::Fetched {
            kind, pages, items, ..
        } = event
        {
            let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
            let bar = bars.entry(kind).or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix:>12} {msg}") {
                    bar.set_style(style);
                }
                bar.set_prefix(kind.as_str().replace('_', " "));
                bar
            });
            bar.set_message(format!("{items} in {pages} page(s)"));
            bar.tick();
        }
    }
}
