//! How much a mail dictionary saves on an mbox: the mail packed as the
//! store packs it (src/store/codec.rs) with LZ4 (older stores), with zstd
//! and no dictionary, with a dictionary trained from the mbox's first
//! messages as the store trains it, and with a given dictionary file (one
//! made by benches/gen_dict_mail.py, a candidate built-in dictionary). For
//! benches/RESULTS.md (issue 18: why the store trains its dictionary and
//! retrains it after an erasure, rather than ship one).
//!
//! `cargo run --release --example mail_dict -- MBOX [DICT]`

use postdesk::store::codec::{self, Codec};

/// The messages of an mbox, without their `From ` separator lines.
fn messages(mbox: &[u8]) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut blank = true;
    for line in mbox.split_inclusive(|&b| b == b'\n') {
        if blank && line.starts_with(b"From ") {
            if !cur.is_empty() {
                all.push(std::mem::take(&mut cur));
            }
        } else {
            cur.extend_from_slice(line);
        }
        blank = line == b"\n" || line == b"\r\n";
    }
    if !cur.is_empty() {
        all.push(cur);
    }
    all
}

fn packed(codec: &Codec, mail: &[Vec<u8>]) -> usize {
    mail.iter().map(|m| codec.pack_mail(m).len()).sum()
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: mail_dict MBOX [DICT]"))?;
    let mail = messages(&std::fs::read(&path)?);
    let raw: usize = mail.iter().map(Vec::len).sum();
    let n = mail.len().max(1);
    let report = |what: &str, bytes: usize| {
        println!(
            "{what:<28} {bytes:>12} bytes {:>8.0} B/msg {:>6.3}x raw",
            bytes as f64 / n as f64,
            bytes as f64 / raw.max(1) as f64
        )
    };
    println!("{path}: {} messages", mail.len());
    report("raw", raw);
    report(
        "lz4 (main)",
        mail.iter()
            .map(|m| lz4_flex::compress_prepend_size(m).len())
            .sum(),
    );
    report("zstd, no dictionary", packed(&Codec::default(), &mail));
    // As the store trains: the first messages, each cut short. "unseen"
    // counts only the mail after them (scaled to the whole count).
    let mut samples = Vec::new();
    let mut bytes = 0;
    for m in &mail {
        // The store's rule: a unit a message and one per 2 KiB.
        let units = samples.len() + bytes / (codec::TRAIN_BYTES / codec::TRAIN_SAMPLES);
        if units >= codec::TRAIN_SAMPLES {
            break;
        }
        let s = m[..m.len().min(codec::SAMPLE_BYTES)].to_vec();
        bytes += s.len();
        samples.push(s);
    }
    match codec::train(&samples) {
        Some((id, dict)) => {
            let c = Codec::new(&[(id, dict)], Some(id));
            report("zstd, trained (all)", packed(&c, &mail));
            let unseen = &mail[samples.len().min(mail.len())..];
            if !unseen.is_empty() {
                // Per message as if every message were one not trained on.
                report(
                    "zstd, trained (unseen)",
                    packed(&c, unseen) * n / unseen.len(),
                );
            }
        }
        None => println!("too little mail to train"),
    }
    if let Some(dict) = args.next() {
        let dict = std::fs::read(dict)?;
        let id = zstd::zstd_safe::get_dict_id_from_dict(&dict).map_or(0, |i| i.get());
        let c = Codec::new(&[(id, dict)], Some(id));
        report("zstd, given dictionary", packed(&c, &mail));
    }
    Ok(())
}
