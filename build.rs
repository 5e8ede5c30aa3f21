//! Names the git revision a binary was built from, so `postdesk --version`
//! (and a bug report quoting it) says which commit is running, not only the
//! crate version that many commits share.
//!
//! Exports `POSTDESK_GIT_REV`: `git rev-parse --short HEAD` when the source
//! is a git checkout, "unknown" otherwise (a source tarball, no git on the
//! build machine). A packager building from a tarball can set
//! `POSTDESK_GIT_REV` in the environment to name the revision themselves.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=POSTDESK_GIT_REV");
    let rev = std::env::var("POSTDESK_GIT_REV")
        .ok()
        .filter(|r| !r.trim().is_empty())
        .or_else(git_rev)
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=POSTDESK_GIT_REV={}", rev.trim());
}

/// The short hash of HEAD, after asking cargo to run this again when HEAD
/// moves: HEAD itself changes on a checkout, the branch's ref on a commit.
fn git_rev() -> Option<String> {
    // `.git` is a directory in a clone, a file in a worktree: either counts.
    if !Path::new(".git").exists() {
        return None;
    }
    let head = git(&["rev-parse", "--git-path", "HEAD"])?;
    watch(Path::new(&head));
    // On a detached HEAD there is no ref to follow; HEAD holds the hash.
    if let Some(name) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(loose) = git(&["rev-parse", "--git-path", &name]) {
            watch(Path::new(&loose));
        }
        // A ref that `git pack-refs` (or gc) moved lives in packed-refs.
        if let Some(packed) = git(&["rev-parse", "--git-path", "packed-refs"]) {
            watch(Path::new(&packed));
        }
    }
    git(&["rev-parse", "--short", "HEAD"])
}

/// Only files that exist: cargo treats a missing one as always changed,
/// which would rebuild the crate on every `cargo build`.
fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", PathBuf::from(path).display());
    }
}

/// One line of git's output, or None when git is missing or fails.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let line = text.trim();
    (!line.is_empty()).then(|| line.to_string())
}
