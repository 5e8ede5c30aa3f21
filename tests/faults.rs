//! Faults an admin meets, through the binary: a damaged store, a second
//! `serve`, a start while a command holds the store, a bad rule file, a
//! secret others can read. Each must end in a clear word and the right
//! exit code, never a panic or a silent loss.
//!
//! Sled's faults: every desk here keeps sled on either pass of the suite
//! ([`common::SLED_ONLY`]), since what is damaged or held is sled's files
//! and lock, and the file is not in tests/run.sh's PostgreSQL pass. Its
//! PostgreSQL counterparts are in tests/postgres.rs (an unreachable
//! database: `migrate` exits 69, `ingest` 75 and the mail stays).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::{deliver, mail, wait_until, Options, TestDesk, SLED_ONLY};

/// A desk on sled, whichever engine the suite runs on.
fn sled() -> Options {
    Options {
        extra: SLED_ONLY.into(),
        ..Options::default()
    }
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A desk that held three tickets and was stopped cleanly.
fn closed_desk() -> TestDesk {
    let t = TestDesk::with(sled());
    let mut daemon = t.serve();
    for i in 0..3 {
        deliver(
            &t.inbox(),
            &format!("m{i}"),
            &mail(
                "carol@customer.test",
                &format!("Mail {i}"),
                &format!("f{i}@c"),
                "",
                "Hi",
            ),
        );
    }
    wait_until(30, "three tickets", || {
        t.tickets_json().as_array().is_some_and(|a| a.len() == 3)
    });
    assert!(daemon.terminate().success());
    t
}

#[test]
fn a_damaged_store_is_refused_with_a_word_not_a_panic() {
    // Cut short: sled would open what is left, nothing, as a new store.
    let t = closed_desk();
    let db = t.state_dir().join("store/db");
    let bytes = std::fs::read(&db).expect("db");
    std::fs::write(&db, &bytes[..bytes.len().min(512)]).expect("truncate");
    for args in [&["tickets", "list"][..], &["serve"][..]] {
        let o = t.cmd().args(args).output().expect("runs");
        assert_ne!(
            o.status.code(),
            Some(101),
            "{args:?} panicked: {}",
            stderr(&o)
        );
        assert!(
            !o.status.success(),
            "{args:?} went on as if nothing happened"
        );
        let err = stderr(&o);
        assert!(err.contains("is damaged"), "{args:?}: {err}");
        assert!(err.contains("postdesk restore"), "{args:?}: {err}");
    }
    // Garbage in the middle: where it lands decides what sled loses (it
    // reads the log up to the damage). Whatever it loses, the desk never
    // carries on with less: it shows every ticket, or it refuses.
    for at in [4, 3, 2] {
        let t = closed_desk();
        let db = t.state_dir().join("store/db");
        let mut b = std::fs::read(&db).expect("db");
        let from = b.len() / at;
        for x in b.iter_mut().skip(from).take(4096) {
            *x = 0xff;
        }
        std::fs::write(&db, &b).expect("garble");
        let o = t.run(&["tickets", "list", "--json"]);
        assert_ne!(o.status.code(), Some(101), "panicked: {}", stderr(&o));
        if o.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
            assert_eq!(
                v.as_array().map(Vec::len),
                Some(3),
                "garbage at 1/{at} lost tickets silently"
            );
        } else {
            assert!(stderr(&o).contains("is damaged"), "{}", stderr(&o));
        }
    }
}

#[test]
fn a_second_serve_says_one_is_running() {
    let t = TestDesk::with(sled());
    let _daemon = t.serve();
    let o = t.run(&["serve"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("already running") && err.contains("(pid "),
        "{err}"
    );
    assert!(!err.contains("without its control socket"), "{err}");
}

#[test]
fn serve_waits_for_a_command_that_holds_the_store() {
    let t = TestDesk::with(Options {
        extra: format!("[daemon]\nlock_wait = \"10s\"\n{SLED_ONLY}"),
        ..sled()
    });
    ok_run(&t, &["tickets", "list"]);
    // Hold the store as a command does, for a moment.
    let held = postdesk::store::Store::open(&t.state_dir()).expect("store opens");
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        drop(held);
    });
    let _daemon = t.serve();
    release.join().expect("released");

    // With a short wait, it gives up and names who holds the store.
    let t = TestDesk::with(Options {
        extra: format!("[daemon]\nlock_wait = \"300ms\"\n{SLED_ONLY}"),
        ..sled()
    });
    ok_run(&t, &["tickets", "list"]);
    let held = postdesk::store::Store::open(&t.state_dir()).expect("store opens");
    let o = t.run(&["serve"]);
    drop(held);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("in use by another process")
            && err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
}

/// The race as it happens in production: cron's `stats` and an MTA's
/// `ingest` run whenever they like, and systemd starts (and restarts)
/// `serve` meanwhile. Every start must come up, and no command may fail.
#[test]
fn twenty_starts_with_commands_running_meanwhile_all_succeed() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    let t = Arc::new(TestDesk::with(sled()));
    ok_run(&t, &["tickets", "list"]);
    let stop = Arc::new(AtomicBool::new(false));
    let (ran, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let (t, stop, ran, failed, failures) = (
                t.clone(),
                stop.clone(),
                ran.clone(),
                failed.clone(),
                failures.clone(),
            );
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let o = if w == 0 {
                        t.run(&["stats"])
                    } else {
                        i += 1;
                        t.pipe(&mail(
                            // One sender each: a sender's 21st ticket in an
                            // hour is held back by the flood guard.
                            &format!("dave{i}@customer.test"),
                            &format!("Race {i}"),
                            &format!("race{i}@c"),
                            "",
                            &format!("Question number {i}"),
                        ))
                    };
                    ran.fetch_add(1, Ordering::Relaxed);
                    if !o.status.success() {
                        failed.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut f) = failures.lock() {
                            f.push(stderr(&o));
                        }
                    }
                }
                i
            })
        })
        .collect();
    let mut refused = Vec::new();
    for start in 0..20 {
        let mut o = t.cmd();
        let mut child = o
            .arg("serve")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn serve");
        let socket = t.state_dir().join("control.sock");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut up = false;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
                up = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let out = child.wait_with_output().expect("serve exits");
        if !up || !out.status.success() {
            refused.push(format!("start {start}: {}", stderr(&out)));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mailed: usize = workers.into_iter().map(|w| w.join().expect("worker")).sum();
    assert!(
        refused.is_empty(),
        "{} of 20 starts failed:\n{}",
        refused.len(),
        refused.join("\n")
    );
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "of {} commands run meanwhile, these failed:\n{:?}",
        ran.load(Ordering::Relaxed),
        failures.lock().map(|f| f.clone()).unwrap_or_default()
    );
    // Every piped mail is a ticket: nothing taken during the starts and
    // stops was lost.
    let tickets = t.tickets_json().as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(tickets, mailed, "tickets vs mails piped");
}

#[test]
fn serve_exits_78_on_a_rule_file_it_cannot_use() {
    let t = TestDesk::with(Options {
        rules: "[[rule]]\nname = \"Bad\"\nwhen.subject = '(unclosed'\nset.category = \"x\"\n"
            .into(),
        ..sled()
    });
    let o = t.run(&["serve"]);
    assert_eq!(o.status.code(), Some(78), "{}", stderr(&o));
    assert!(stderr(&o).contains("rules.toml:3"), "{}", stderr(&o));
}

#[test]
fn check_warns_of_a_password_file_others_can_read() {
    let t = TestDesk::with(Options {
        smtp_port: Some(2525),
        ..sled()
    });
    let secret = t.dir.path().join("smtp.password");
    std::fs::write(&secret, "hunter2\n").expect("write");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let text = std::fs::read_to_string(&t.config_path).expect("config");
    let text = text.replacen(
        "kind = \"smtp\"\n",
        &format!(
            "kind = \"smtp\"\nusername = \"desk\"\npassword_file = \"{}\"\n",
            secret.display()
        ),
        1,
    );
    std::fs::write(&t.config_path, text).expect("config");
    let o = t.run(&["check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("can be read by other users (mode 644)"),
        "{}",
        stderr(&o)
    );
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let o = t.run(&["check"]);
    assert!(!stderr(&o).contains("other users"), "{}", stderr(&o));
}

fn ok_run(t: &TestDesk, args: &[&str]) {
    let o = t.run(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
}

#[test]
fn check_store_reads_every_record_with_or_without_the_daemon() {
    let t = closed_desk();
    let o = t.run(&["check", "--store"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("3 tickets") && out.contains("no damage found"),
        "{out}"
    );
    let _daemon = t.serve();
    let o = t.run(&["check", "--store", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["ok"], true);
    assert_eq!(v["store"]["read"]["messages"], 3);
    assert_eq!(v["store"]["problems"], serde_json::json!([]));
}
