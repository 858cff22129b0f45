//! Progress bars for the example programs: one line per kind of object on stderr, drawn only
//! when stderr is a terminal (indicatif hides itself otherwise), so scripts and CI logs stay
//! clean.

use std::collections::BTreeMap;
use std::sync::Mutex;

use directory_sync::core::ObjectKind;
use directory_sync::service::{Progress, ProgressSink};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Draws fetch progress as spinners with running counts.
pub(crate) struct Bars {
    multi: MultiProgress,
    bars: Mutex<BTreeMap<ObjectKind, ProgressBar>>,
}

impl Bars {
    /// Bars on stderr if `enabled` (and stderr is a terminal); invisible otherwise.
    pub(crate) fn new(enabled: bool) -> Self {
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

    /// Clears the bars (their totals are reported by the caller).
    pub(crate) fn finish(&self) {
        let bars = std::mem::take(&mut *self.bars.lock().unwrap_or_else(|e| e.into_inner()));
        for bar in bars.into_values() {
            bar.finish_and_clear();
        }
    }
}

impl ProgressSink for Bars {
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
