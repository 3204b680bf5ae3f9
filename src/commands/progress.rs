//! Progress of long operator commands (a replay of many quarantined records), on stderr so stdout
//! keeps the command's own output: on a terminal one line rewritten in place, elsewhere (a log, a
//! pipe) one line every few seconds. Counts and rates only, never a record's data.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Progress {
    what: &'static str,
    total: u64,
    done: u64,
    started: Instant,
    last_shown: Option<Instant>,
    every: Duration,
    terminal: bool,
}

impl Progress {
    /// `DHUB_PROGRESS_EVERY_MS` sets how often a line is written (default: 200 ms on a terminal,
    /// 5 s elsewhere).
    pub fn new(what: &'static str, total: u64) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let default = if terminal { 200 } else { 5_000 };
        let every_ms = std::env::var("DHUB_PROGRESS_EVERY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default);
        Progress {
            what,
            total,
            done: 0,
            started: Instant::now(),
            last_shown: None,
            every: Duration::from_millis(every_ms),
            terminal,
        }
    }

    /// `count` more are done; writes a line when one is due.
    pub fn advance(&mut self, count: u64) {
        self.done += count;
        let due = self
            .last_shown
            .is_none_or(|shown| shown.elapsed() >= self.every);
        if due && self.done < self.total {
            self.show(false);
        }
    }

    /// The last line, with the time taken.
    pub fn finish(mut self) {
        self.show(true);
    }

    fn show(&mut self, last: bool) {
        self.last_shown = Some(Instant::now());
        let line = self.line(self.started.elapsed(), last);
        let mut stderr = std::io::stderr().lock();
        let _ = if self.terminal {
            write!(stderr, "\r\x1b[2K{line}{}", if last { "\n" } else { "" })
        } else {
            writeln!(stderr, "{line}")
        };
        let _ = stderr.flush();
    }

    fn line(&self, elapsed: Duration, last: bool) -> String {
        let seconds = elapsed.as_secs_f64().max(0.001);
        let rate = self.done as f64 / seconds;
        let percent = if self.total == 0 {
            100.0
        } else {
            100.0 * self.done as f64 / self.total as f64
        };
        let mut line = format!(
            "{}: {}/{} ({percent:.0}%), {rate:.0}/s",
            self.what, self.done, self.total
        );
        if last {
            line.push_str(&format!(", done in {seconds:.1} s"));
        } else if rate > 0.0 {
            let left = (self.total.saturating_sub(self.done)) as f64 / rate;
            line.push_str(&format!(", about {left:.0} s left"));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_says_how_far_how_fast_and_how_long() {
        let mut progress = Progress::new("replay", 400);
        progress.done = 100;
        let line = progress.line(Duration::from_secs(2), false);
        assert_eq!(line, "replay: 100/400 (25%), 50/s, about 6 s left");
        progress.done = 400;
        let line = progress.line(Duration::from_secs(8), true);
        assert_eq!(line, "replay: 400/400 (100%), 50/s, done in 8.0 s");
    }
}
