//! `postdesk stats --html`.

use super::Stats;

pub fn render(_s: &Stats) -> String {
    String::new()
}
