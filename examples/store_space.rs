//! What takes the space in a store: per sled tree, the number of
//! records and their logical bytes (keys + values), against the size of
//! the store directory on disk. For benches/RESULTS.md (issue 18).
//!
//! `cargo run --example store_space -- STATE_DIR` (stop the daemon
//! first: the store is locked while it runs).

use std::path::Path;

fn dir_size(p: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(p)? {
        let e = e?;
        let m = e.metadata()?;
        total += if m.is_dir() {
            dir_size(&e.path())?
        } else {
            m.len()
        };
    }
    Ok(total)
}

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: store_space STORE_DIR"))?;
    let store = postdesk::store::Store::open(Path::new(&path))?;
    let on_disk = dir_size(store.path())?;
    println!(
        "{:<14} {:>10} {:>12} {:>12} {:>9}",
        "tree", "records", "key bytes", "value bytes", "B/record"
    );
    let (mut all_k, mut all_v, mut all_n) = (0u64, 0u64, 0u64);
    for t in store.space()? {
        let (n, k, v) = (t.records, t.key_bytes, t.value_bytes);
        if n == 0 {
            continue;
        }
        println!(
            "{:<14} {:>10} {:>12} {:>12} {:>9.0}",
            t.tree,
            n,
            k,
            v,
            (k + v) as f64 / n as f64
        );
        all_k += k;
        all_v += v;
        all_n += n;
    }
    println!(
        "logical: {all_n} records, {} bytes ({all_k} keys, {all_v} values); on disk: {on_disk} bytes ({:.2}x logical)",
        all_k + all_v,
        on_disk as f64 / (all_k + all_v).max(1) as f64
    );
    Ok(())
}
