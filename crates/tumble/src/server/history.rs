//! The runs `tumble serve` played, newest last, in `STATE_DIR/history.jsonl`: one JSON object
//! per line (tumble-core's `history::write_run`), appended when a run ends, by the log thread
//! (which puts the controller's notices together into runs, off the controller thread). The
//! newest [`KEPT`] are kept in memory for `get_history`; the file is cut back to them when it
//! grows past [`MAX_LINES`] (rewritten atomically). A line torn by a power cut is skipped.

use std::collections::VecDeque;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Runs kept in memory and after a cut.
pub const KEPT: usize = 200;
/// Lines the file may reach before it is cut back to the newest [`KEPT`].
const MAX_LINES: usize = 1000;

pub struct History {
    path: PathBuf,
    runs: Mutex<(VecDeque<String>, usize)>,
}

impl History {
    /// The history in `state_dir`, read now (a missing file is an empty history).
    pub fn open(state_dir: &Path) -> History {
        let path = state_dir.join("history.jsonl");
        let text = fs::read_to_string(&path).unwrap_or_default();
        let all: Vec<&str> = text
            .lines()
            .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| v.is_object()))
            .collect();
        let lines = all.len();
        let runs = all[all.len().saturating_sub(KEPT)..]
            .iter()
            .map(|l| l.to_string())
            .collect();
        History {
            path,
            runs: Mutex::new((runs, lines)),
        }
    }

    /// The newest `limit` runs, newest first.
    pub fn newest(&self, limit: usize) -> Vec<String> {
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.0.iter().rev().take(limit).cloned().collect()
    }

    /// Adds a run (a JSON object on one line) and writes it down.
    pub fn append(&self, run: String) -> io::Result<()> {
        let mut guard = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        let (runs, lines) = &mut *guard;
        if runs.len() == KEPT {
            runs.pop_front();
        }
        runs.push_back(run.clone());
        *lines += 1;
        if *lines > MAX_LINES {
            self.rewrite(runs)?;
            *lines = runs.len();
            return Ok(());
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        f.write_all(format!("{run}\n").as_bytes())?;
        f.sync_data()
    }

    fn rewrite(&self, runs: &VecDeque<String>) -> io::Result<()> {
        let text: String = runs.iter().map(|r| format!("{r}\n")).collect();
        let (Some(dir), Some(name)) = (self.path.parent(), self.path.file_name()) else {
            return Err(io::Error::other("no folder for the history"));
        };
        super::store::replace(dir, &name.to_string_lossy(), text.as_bytes(), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_kept_newest_first_bounded_and_torn_lines_skipped() {
        let dir = std::env::temp_dir().join(format!("tumble-history-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("history.jsonl"), "{\"n\":0}\n{\"n\":1}\n{\"n\":").unwrap();
        let h = History::open(&dir);
        assert_eq!(h.newest(5), ["{\"n\":1}", "{\"n\":0}"]);
        for n in 2..MAX_LINES + 10 {
            h.append(format!("{{\"n\":{n}}}")).unwrap();
        }
        assert_eq!(h.newest(1), [format!("{{\"n\":{}}}", MAX_LINES + 9)]);
        assert_eq!(h.newest(10_000).len(), KEPT);
        let again = History::open(&dir);
        assert_eq!(
            again.newest(10_000),
            h.newest(10_000),
            "the file says the same"
        );
        let lines = fs::read_to_string(dir.join("history.jsonl"))
            .unwrap()
            .lines()
            .count();
        assert!(lines <= MAX_LINES, "{lines}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
