//! The shipped unit file is one systemd accepts, and its sandbox is as
//! tight as README says (`systemd-analyze security` exposure below 2.0).
//! systemd-analyze comes from the `systemd` package, which
//! tests/mailstack/install.sh installs.

use std::path::Path;
use std::process::Command;

/// The unit with its binary path pointed at the one cargo built, since
/// `verify` checks that ExecStart exists.
fn unit_copy(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/postdesk.service"),
    )
    .expect("systemd/postdesk.service");
    let text = text.replace("/usr/bin/postdesk", env!("CARGO_BIN_EXE_postdesk"));
    let path = dir.join("postdesk.service");
    std::fs::write(&path, text).expect("write unit copy");
    path
}

fn analyze(args: &[&str]) -> std::process::Output {
    Command::new("systemd-analyze")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run systemd-analyze ({e}); install the `systemd` package (tests/mailstack/install.sh does)")
        })
}

#[test]
fn unit_verifies_and_says_what_the_service_needs() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_copy(dir.path());
    let out = analyze(&["verify", unit.to_str().unwrap()]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{text}"
    );
    assert!(
        !text.contains("postdesk.service:"),
        "verify warns about the unit:\n{text}"
    );
    let unit_text = std::fs::read_to_string(&unit).unwrap();
    for needed in [
        "Type=notify",
        "ExecReload=",
        "WatchdogSec=",
        "StateDirectory=postdesk",
        "ConfigurationDirectory=postdesk",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=",
        "SystemCallFilter=@system-service",
        "CapabilityBoundingSet=\n",
    ] {
        assert!(unit_text.contains(needed), "the unit lacks {needed:?}");
    }
}

#[test]
fn unit_exposure_is_below_two() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_copy(dir.path());
    let out = analyze(&[
        "security",
        "--offline=yes",
        "--no-pager",
        unit.to_str().unwrap(),
    ]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    let score: f64 = line
        .split(':')
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the score in {line:?}"));
    assert!(score < 2.0, "exposure {score} is not below 2.0:\n{text}");
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("exposure level {score:.1}")),
        "README should quote the current score ({score:.1}): `exposure level {score:.1}`"
    );
}
