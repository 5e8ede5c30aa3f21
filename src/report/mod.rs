//! Reports for managers: `postdesk stats` and its HTML page.
//!
//! [`stats::Fold`] is pure: it takes each ticket's [`summary::Summary`]
//! (what the store keeps beside the ticket for reports), the clock and a
//! few settings, and returns a [`Stats`] whose field names are the stable
//! `--json` contract; [`stats::compute`] runs full tickets through it.
//! [`text`] turns it into a terminal summary and [`html`] into one
//! self-contained page with SVG charts. The
//! desk only streams the summaries (see `Request::Stats`), so a report reads
//! the same with or without a running daemon.

pub mod csv;
pub mod html;
pub mod stats;
pub mod summary;
pub mod text;

pub use stats::{compute, Fold, Options, Shown, Stats};
pub use summary::Summary;

/// A duration the way a person says it: `45s`, `12m`, `3h 20m`, `2d 4h`.
pub fn human(secs: i64) -> String {
    let s = secs.max(0);
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_durations() {
        assert_eq!(super::human(42), "42s");
        assert_eq!(super::human(900), "15m");
        assert_eq!(super::human(3 * 3600), "3h");
        assert_eq!(super::human(3 * 3600 + 1200), "3h 20m");
        assert_eq!(super::human(2 * 86_400 + 4 * 3600 + 59), "2d 4h");
        assert_eq!(super::human(86_400), "1d");
        assert_eq!(super::human(-5), "0s");
    }
}
