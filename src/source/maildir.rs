//! A local Maildir (the embedded default inbox, or one an MTA or Dovecot
//! delivers into). New mail sits in `new/`; a message is moved to `cur/`
//! with the Seen flag only after it is durably stored, so a crash in between
//! means it is read again and recognized as a duplicate, never lost.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Maildir {
    root: PathBuf,
}

impl Maildir {
    /// Opens a Maildir, creating `new`, `cur` and `tmp` if missing so an
    /// admin can start the daemon before the first delivery.
    pub fn open(root: &Path) -> io::Result<Maildir> {
        for sub in ["new", "cur", "tmp"] {
            fs::create_dir_all(root.join(sub))?;
        }
        Ok(Maildir {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Up to `limit` messages waiting in `new/`, oldest name first (Maildir
    /// names start with the delivery time).
    pub fn pending(&self, limit: usize) -> io::Result<Vec<PathBuf>> {
        let mut names = list_files(&self.root.join("new"))?;
        names.sort();
        names.truncate(limit);
        Ok(names)
    }

    /// Moves a stored message to `cur/` with the Seen flag.
    pub fn mark_done(&self, path: &Path) -> io::Result<()> {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "maildir file name is not UTF-8",
            ));
        };
        let target = if name.contains(":2,") {
            name.to_string()
        } else {
            format!("{name}:2,S")
        };
        fs::rename(path, self.root.join("cur").join(target))
    }

    /// Every message in `new/` and `cur/`, for import.
    pub fn all(&self) -> io::Result<Vec<PathBuf>> {
        let mut all = list_files(&self.root.join("cur"))?;
        all.extend(list_files(&self.root.join("new"))?);
        all.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
        Ok(all)
    }
}

fn list_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        // Dot files are editors' and tools' temporaries, never messages.
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_file() {
            out.push(entry.path());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_then_done() {
        let dir = tempfile::tempdir().unwrap();
        let md = Maildir::open(dir.path()).unwrap();
        fs::write(dir.path().join("new/2.b"), "x").unwrap();
        fs::write(dir.path().join("new/1.a"), "x").unwrap();
        fs::write(dir.path().join("new/.hidden"), "x").unwrap();
        let p = md.pending(10).unwrap();
        assert_eq!(p.len(), 2);
        assert!(p[0].ends_with("1.a"));
        md.mark_done(&p[0]).unwrap();
        assert!(dir.path().join("cur/1.a:2,S").exists());
        assert_eq!(md.pending(10).unwrap().len(), 1);
        assert_eq!(md.all().unwrap().len(), 2);
    }
}
