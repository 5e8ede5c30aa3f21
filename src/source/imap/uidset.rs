//! UID sets as IMAP writes them (`1:5,7,9:12`): one command for a whole
//! batch instead of one per message.

/// The sorted, deduplicated UIDs as a compact sequence set; empty for none.
pub fn format(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// The UIDs of a `UID SEARCH UID n:*` answer that really are at least `n`:
/// `n:*` always matches the last message, even when its UID is below `n`.
pub fn at_least(found: impl IntoIterator<Item = u32>, n: u32) -> Vec<u32> {
    let mut uids: Vec<u32> = found.into_iter().filter(|u| *u >= n).collect();
    uids.sort_unstable();
    uids.dedup();
    uids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_singles() {
        assert_eq!(format(&[]), "");
        assert_eq!(format(&[7]), "7");
        assert_eq!(format(&[3, 1, 2, 5, 7, 8, 9, 9]), "1:3,5,7:9");
        assert_eq!(format(&[u32::MAX - 1, u32::MAX]), "4294967294:4294967295");
    }

    #[test]
    fn star_quirk_is_filtered() {
        // The folder's last UID is 41; we asked for 42:*.
        assert_eq!(at_least([41], 42), Vec::<u32>::new());
        assert_eq!(at_least([44, 42, 41, 43], 42), vec![42, 43, 44]);
    }
}
