//! PostgreSQL through the binary: `postdesk migrate` on the test cluster
//! (tests/pg/start.sh; tests/run.sh starts it), moving a desk into a
//! database and reading it back with psql, the errors an admin meets, and
//! `check` on the `[store]` keys.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{fresh_database, mail, psql, test_pg, Options, TestDesk};

/// The variable the test desks name in `[store] url_env`.
const URL_VAR: &str = "PDT_DATABASE_URL";

/// A desk whose `[store]` names the database by [`URL_VAR`] and trusts
/// the test cluster's CA (its server offers TLS, which `prefer` uses and
/// verifies), plus `extra_store`.
fn desk(extra_store: &str) -> TestDesk {
    let ca = if extra_store.contains("tls =") {
        String::new()
    } else {
        format!("ca_file = \"{}\"\n", ca_file())
    };
    TestDesk::with(Options {
        extra: format!(
            "\n[store]\nurl_env = \"{URL_VAR}\"\n{ca}{extra_store}\n\n[sla.high]\nfirst_response = \"1h\"\n"
        ),
        ..Options::default()
    })
}

fn ca_file() -> String {
    test_pg()["ca_file"].as_str().expect("ca_file").to_string()
}

fn migrate(t: &TestDesk, url: &str, args: &[&str]) -> std::process::Output {
    t.cmd()
        .arg("migrate")
        .args(args)
        .env(URL_VAR, url)
        .output()
        .expect("run migrate")
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// One value from psql (tuples only, unaligned).
fn sql(db_url: &str, query: &str) -> String {
    let pg = test_pg();
    let db = db_url.rsplit('/').next().expect("db name");
    let out = psql(&pg, db, query);
    assert!(out.status.success(), "{query}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn migrate_applies_the_schema_once_and_says_its_version() {
    let url = fresh_database("migrate_once");
    let t = desk("");
    let out = migrate(&t, &url, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    let latest = postdesk::pg::schema::latest();
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/pg/migrations"))
        .expect("the migrations")
        .count();
    // Counted as versions moved (equal to the migrations while their
    // numbers have no gap).
    let applied = if latest == 1 {
        "1 migration".to_string()
    } else {
        format!("{latest} migrations")
    };
    assert!(
        said.contains(&format!(
            "schema version {latest} (was 0; applied {applied})"
        )),
        "{said}"
    );
    assert!(
        !said.contains("secret@"),
        "the URL's password is never shown: {said}"
    );

    let again = migrate(&t, &url, &["--json"]);
    assert!(again.status.success(), "{}", text(&again));
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).expect("json");
    assert_eq!(v["schema_version"], latest);
    assert_eq!(v["applied"], 0, "nothing to apply the second time: {v}");
    assert_eq!(
        sql(&url, "SELECT count(*) FROM refinery_schema_history"),
        migrations.to_string()
    );
    let tables = sql(
        &url,
        "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'",
    );
    for table in [
        "tickets",
        "messages",
        "msgids",
        "outbox",
        "quarantine",
        "leases",
        "nodes",
    ] {
        assert!(tables.split(',').any(|n| n == table), "{table} in {tables}");
    }
}

#[test]
fn a_database_with_a_newer_schema_is_refused() {
    let url = fresh_database("newer_schema");
    let t = desk("");
    assert!(migrate(&t, &url, &[]).status.success());
    sql(
        &url,
        "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (999, 'future', 'now', '0')",
    );
    let out = migrate(&t, &url, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "the database has schema version 999, this postdesk knows up to {}",
            postdesk::pg::schema::latest()
        )),
        "{}",
        text(&out)
    );
}

#[test]
fn a_desk_moves_into_postgres_with_every_record_and_verified_counts() {
    let url = fresh_database("move_desk");
    let t = desk("");
    let first = mail(
        "Carol <carol@customer.test>",
        "Printer on fire",
        "m1@customer.test",
        "",
        "It burns.",
    );
    let mails = [
        first.clone(),
        mail(
            "dave@customer.test",
            "Invoice",
            "m2@customer.test",
            "",
            "Wrong total.",
        ),
        mail(
            "Carol <carol@customer.test>",
            "Re: Printer on fire",
            "m3@customer.test",
            "In-Reply-To: <m1@customer.test>\r\n",
            "Still burning.",
        ),
        mail(
            "erin@customer.test",
            "Login",
            "m4@customer.test",
            "",
            "Cannot log in.\0",
        ),
    ];
    for m in &mails {
        let out = t.pipe(m);
        assert!(out.status.success(), "{}", text(&out));
    }
    let out = t.pipe(b"not mail at all\0\x01\x02");
    assert_eq!(out.status.code(), Some(65), "quarantined: {}", text(&out));
    // A status of its own, and an erased person (their queued mail
    // cancelled), so those records move too.
    let out = t.run(&["tickets", "set", "ACME-2", "--status", "pending"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = t.run(&["customers", "erase", "erin@customer.test", "--force"]);
    assert!(out.status.success(), "{}", text(&out));
    let tickets = t.tickets_json();
    let tickets = tickets.as_array().expect("array");
    assert_eq!(tickets.len(), 3, "{tickets:?}");

    let state = t.state_dir();
    let out = migrate(
        &t,
        &url,
        &[
            "--from",
            "sled",
            state.to_str().expect("utf-8"),
            "--to",
            "postgres",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let moved: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let rows = |table: &str| {
        let t = moved["tables"]
            .as_array()
            .expect("tables")
            .iter()
            .find(|t| t["table"] == table)
            .unwrap_or_else(|| panic!("{table} in {moved}"));
        assert_eq!(t["ok"], true, "{t}");
        assert_eq!(t["rows"], t["sent"], "{t}");
        t["rows"].as_u64().expect("rows")
    };
    assert_eq!(rows("tickets"), 3);
    assert_eq!(rows("messages"), 4);
    assert_eq!(rows("quarantine"), 1);
    assert_eq!(rows("quarantine_raw"), 1);
    assert!(
        rows("outbox") >= 3,
        "an acknowledgement per new ticket: {moved}"
    );
    assert!(rows("msgids") >= 4);
    assert_eq!(moved["secret"], true);

    // What psql sees is what the desk holds.
    for table in [
        "tickets",
        "messages",
        "quarantine",
        "outbox",
        "msgids",
        "customers",
    ] {
        assert_eq!(
            sql(&url, &format!("SELECT count(*) FROM {table}")),
            rows(table).to_string(),
            "{table}"
        );
    }
    let listed = sql(
        &url,
        "SELECT string_agg(number || ' ' || status || ' ' || requester, ';' ORDER BY number) FROM tickets",
    );
    let expected: Vec<String> = tickets
        .iter()
        .map(|t| {
            format!(
                "{} {} {}",
                t["number"],
                t["status"].as_str().expect("status"),
                t["requester"]["email"].as_str().expect("requester")
            )
        })
        .collect();
    assert_eq!(listed, expected.join(";"));
    // The outbox's mail moves packed too (schema V7).
    assert_eq!(
        sql(&url, "SELECT count(*) FROM outbox WHERE NOT packed"),
        "0"
    );
    // The mail moves packed (schema V6), and unpacks byte for byte.
    let stored = sql(
        &url,
        "SELECT packed || ' ' || encode(raw, 'hex') FROM messages WHERE ticket = 1 AND seq = 0",
    );
    let (packed, hex) = stored.split_once(' ').expect("two columns");
    assert_eq!(packed, "true");
    assert_eq!(
        postdesk::pg::mail::unpack(&Default::default(), common::unhex(hex), true).expect("unpacks"),
        first,
        "the raw mail byte for byte"
    );
    assert_eq!(
        sql(&url, "SELECT count(*) FROM messages WHERE ticket = 1"),
        "2",
        "the reply threaded into ticket 1 moved with it"
    );
    assert_eq!(
        sql(
            &url,
            "SELECT record->>'subject' FROM tickets WHERE number = 1"
        ),
        "Printer on fire"
    );
    assert_eq!(
        sql(
            &url,
            "SELECT length(value) > 0 FROM meta WHERE key = 'token_secret'::bytea"
        ),
        "t"
    );
    assert_eq!(rows("erasures"), 1);
    assert_eq!(
        sql(
            &url,
            "SELECT count(*) FROM tickets WHERE status = 'pending'"
        ),
        "1"
    );
    assert_eq!(
        sql(
            &url,
            "SELECT count(*) FROM tickets WHERE requester LIKE 'erased-%@erased.invalid'"
        ),
        "1",
        "the erased requester moved as the pseudonym, not the address"
    );
    let outbox = t.run(&["outbox", "list", "--json"]);
    assert!(outbox.status.success(), "{}", text(&outbox));
    let listed: serde_json::Value = serde_json::from_slice(&outbox.stdout).expect("json");
    let queued = listed
        .as_array()
        .expect("array")
        .iter()
        .filter(|e| e["state"] == "queued")
        .count();
    assert!(queued >= 2, "{listed}");
    assert_eq!(
        sql(&url, "SELECT count(*) FROM outbox WHERE state = 'queued'"),
        queued.to_string(),
        "the queued mail, as `outbox list` shows it"
    );

    // A second move into the same database is refused and changes nothing.
    let out = migrate(
        &t,
        &url,
        &[
            "--from",
            "sled",
            state.to_str().expect("utf-8"),
            "--to",
            "postgres",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("already holds records"),
        "{}",
        text(&out)
    );
    assert_eq!(sql(&url, "SELECT count(*) FROM tickets"), "3");

    // The sled desk is untouched and still works.
    assert_eq!(t.tickets_json().as_array().expect("array").len(), 3);
}

#[test]
fn a_move_from_a_directory_without_a_store_says_so() {
    let url = fresh_database("move_nothing");
    let t = desk("");
    let out = migrate(
        &t,
        &url,
        &["--from", "sled", "/nonexistent/desk", "--to", "postgres"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("holds no sled store"), "{}", text(&out));
    let out = migrate(&t, &url, &["--from", "mysql", "--to", "postgres"]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
}

#[test]
fn unreachable_or_refusing_databases_give_a_clear_error_and_exit_69() {
    let pg = test_pg();
    let t = desk("");
    let refused = "postgres://postdesk:hunter2@127.0.0.1:1/postdesk";
    let out = migrate(&t, refused, &[]);
    assert_eq!(out.status.code(), Some(69), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("cannot connect to PostgreSQL at postdesk@127.0.0.1:1/postdesk"),
        "{said}"
    );
    assert!(said.contains("Connection refused"), "{said}");
    assert!(!said.contains("hunter2"), "never the password: {said}");

    let wrong = format!(
        "postgres://postdesk:hunter2@127.0.0.1:{}/postdesk",
        pg["port"]
    );
    let out = migrate(&t, &wrong, &[]);
    assert_eq!(out.status.code(), Some(69), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("password authentication failed"), "{said}");
    assert!(!said.contains("hunter2"), "never the password: {said}");

    let out = migrate(&t, "mysql://nope", &[]);
    assert_eq!(out.status.code(), Some(78), "{}", text(&out));
    assert!(
        text(&out).contains("not a PostgreSQL URL"),
        "{}",
        text(&out)
    );

    let out = t
        .cmd()
        .arg("migrate")
        .env_remove(URL_VAR)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(78), "{}", text(&out));
    assert!(text(&out).contains(&format!("{URL_VAR} (named by [store] url_env) is not set")));
}

#[test]
fn a_url_file_others_can_read_is_refused() {
    let url = fresh_database("url_file");
    let t = TestDesk::with(Options {
        extra: format!(
            "\n[store]\nurl_file = \"URLFILE\"\nca_file = \"{}\"\n",
            ca_file()
        ),
        ..Options::default()
    });
    let file = t.dir.path().join("db-url");
    let config = std::fs::read_to_string(&t.config_path).expect("config");
    std::fs::write(
        &t.config_path,
        config.replace("URLFILE", file.to_str().expect("utf-8")),
    )
    .expect("config");
    std::fs::write(&file, format!("{url}\n")).expect("url file");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = t.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(78), "{}", text(&out));
    assert!(
        text(&out).contains("can be read by other users (mode 644)"),
        "{}",
        text(&out)
    );
    let check = t.run(&["check"]);
    assert_eq!(check.status.code(), Some(78), "{}", text(&check));
    assert!(
        text(&check).contains("can be read by other users"),
        "{}",
        text(&check)
    );

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = t.run(&["migrate"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(t.run(&["check"]).status.success());
}

/// No database needed: `check` on the `[store]` keys, and what the desk
/// commands say on kind = "postgres" when the database cannot be reached,
/// and what backup says until it writes portable records.
#[test]
fn check_knows_the_store_keys_and_desk_commands_say_where_the_database_is() {
    let t = TestDesk::with(Options {
        extra: "\n[store]\nkind = \"postgres\"\n".into(),
        ..Options::default()
    });
    let out = t.run(&["check"]);
    assert_eq!(out.status.code(), Some(78), "{}", text(&out));
    assert!(
        text(&out).contains("kind = \"postgres\" needs url_env or url_file"),
        "{}",
        text(&out)
    );

    let t = TestDesk::with(Options {
        extra: format!("\n[store]\nkind = \"postgres\"\nurl_env = \"{URL_VAR}\"\npool = 4\ntls = \"require\"\n"),
        ..Options::default()
    });
    let check = t
        .cmd()
        .arg("check")
        .env(URL_VAR, "postgres://desk:pw@db.example:5432/postdesk")
        .output()
        .expect("check");
    assert!(check.status.success(), "{}", text(&check));
    // The desk commands run on PostgreSQL; a database that cannot be
    // reached is said with where it is (never the password), and `ingest`
    // asks the MTA to try again (75).
    for args in [&["tickets", "list"][..], &["serve"], &["status"]] {
        let out = t
            .cmd()
            .args(args)
            .env(URL_VAR, "postgres://desk:pw@127.0.0.1:9/postdesk")
            .output()
            .expect("run");
        assert!(!out.status.success(), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("desk@127.0.0.1:9/postdesk"),
            "{args:?}: {}",
            text(&out)
        );
        assert!(!text(&out).contains("pw@"), "{args:?}: {}", text(&out));
    }

    let t = TestDesk::with(Options {
        extra: format!("\n[store]\nurl_env = \"{URL_VAR}\"\ntls = \"prefer\"\n"),
        ..Options::default()
    });
    let check = t
        .cmd()
        .arg("check")
        .env(URL_VAR, "postgres://desk:pw@db.example:5432/postdesk")
        .output()
        .expect("check");
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        text(&check).contains("set tls = \"require\""),
        "{}",
        text(&check)
    );
    assert!(
        !text(&check).contains("pw@"),
        "never the password: {}",
        text(&check)
    );

    for (bad, says) in [
        ("pool = 0", "pool = 0 is not in 1..=1000"),
        ("tls = \"maybe\"", "maybe"),
        ("kind = \"mysql\"", "mysql"),
        (
            &format!("url_env = \"{URL_VAR}\"\nurl_file = \"/x\""),
            "both url_env and url_file",
        ),
        ("lease_ttl = \"1s\"", "lease_ttl = 1s is too short"),
        ("lease_ttl = \"soon\"", "soon"),
    ] {
        let t = TestDesk::with(Options {
            extra: format!("\n[store]\n{bad}\n"),
            ..Options::default()
        });
        let out = t.run(&["check"]);
        assert_eq!(out.status.code(), Some(78), "{bad}: {}", text(&out));
        assert!(text(&out).contains(says), "{bad}: {}", text(&out));
    }
}

#[test]
fn tls_require_verifies_the_server_against_ca_file() {
    let pg = test_pg();
    let url = fresh_database("tls");
    let ca = pg["ca_file"].as_str().expect("ca_file");
    let t = desk(&format!("tls = \"require\"\nca_file = \"{ca}\""));
    let out = migrate(&t, &url, &["--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["tls"], true, "{v}");

    // Without the CA the server's certificate is unknown: refused, not
    // used unverified, by require and prefer alike.
    for tls in ["require", "prefer"] {
        let t = desk(&format!("tls = \"{tls}\""));
        let out = migrate(&t, &url, &[]);
        assert_eq!(out.status.code(), Some(69), "{tls}: {}", text(&out));
        assert!(
            text(&out).contains("set [store] ca_file to the CA that signed it"),
            "{tls}: {}",
            text(&out)
        );
    }

    let t = desk("tls = \"disable\"");
    let out = migrate(&t, &url, &["--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["tls"], false, "{v}");
}

/// The PostgreSQL counterpart of sled's faults (tests/faults.rs, sled
/// only): a database that cannot be reached while the MTA pipes mail in.
/// `ingest` exits 75 (EX_TEMPFAIL), so the MTA keeps the mail and tries
/// again; once the database answers, the same mail is stored, once.
#[test]
fn ingest_defers_mail_with_75_while_the_database_is_unreachable() {
    let url = fresh_database("ingest_down");
    let t = desk("kind = \"postgres\"\n");
    assert!(migrate(&t, &url, &[]).status.success());
    let ingest = |url: &str, raw: &[u8]| t.pipe_with(raw, &[(URL_VAR, url)]);
    let first = mail("carol@customer.test", "Printer", "down-1@c", "", "Broken.");
    let out = ingest(&url, &first);
    assert!(out.status.success(), "{}", text(&out));

    let second = mail("dave@customer.test", "Invoice", "down-2@c", "", "Wrong.");
    let down = "postgres://postdesk:hunter2@127.0.0.1:1/postdesk";
    let out = ingest(down, &second);
    assert_eq!(out.status.code(), Some(75), "{}", text(&out));
    assert!(!text(&out).contains("hunter2"), "{}", text(&out));
    assert_eq!(sql(&url, "SELECT count(*) FROM tickets"), "1");

    // The MTA's retry, with the database back.
    let out = ingest(&url, &second);
    assert!(out.status.success(), "{}", text(&out));
    let out = ingest(&url, &second);
    assert!(out.status.success(), "a second delivery: {}", text(&out));
    assert_eq!(sql(&url, "SELECT count(*) FROM tickets"), "2");
    assert_eq!(sql(&url, "SELECT count(*) FROM messages"), "2");
}

/// Schema V6: a desk's mail is stored packed by postdesk (`packed`,
/// smaller than the mail; since V7 the outbox's too), reads back byte
/// for byte through the binary
/// (`customers export` writes each message as stored), and a row written
/// the V5 way (the mail as received, `packed` false) still reads.
#[test]
fn mail_is_stored_packed_and_rows_written_before_v6_still_read() {
    let url = fresh_database("packed_mail");
    let t = desk("kind = \"postgres\"\n");
    assert!(migrate(&t, &url, &[]).status.success());
    let env = [(URL_VAR, url.as_str())];
    let body: String = (0..150)
        .map(|i| {
            format!(
                "Line {i}: the printer on floor {} shows error E{} after the update; we restarted it twice.\r\n",
                i % 7,
                i % 13
            )
        })
        .collect();
    // Lines end in LF, as the export's mbox writes them: the mail is
    // then in it unchanged.
    let lf = |m: Vec<u8>| String::from_utf8(m).expect("utf-8").replace("\r\n", "\n");
    let long = lf(mail(
        "Carol <carol@customer.test>",
        "Printer errors",
        "packed-1@customer.test",
        "",
        &body,
    ))
    .into_bytes();
    let short = lf(mail(
        "Carol <carol@customer.test>",
        "Invoice",
        "packed-2@customer.test",
        "",
        "Wrong total on the March invoice.",
    ))
    .into_bytes();
    for m in [&long, &short] {
        let out = t.pipe_with(m, &env);
        assert!(out.status.success(), "{}", text(&out));
    }
    let stored = sql(
        &url,
        "SELECT string_agg(packed || ' ' || length(raw), ',' ORDER BY ticket) FROM messages",
    );
    let rows: Vec<(&str, usize)> = stored
        .split(',')
        .map(|r| {
            let (p, n) = r.split_once(' ').expect("packed and length");
            (p, n.parse().expect("a length"))
        })
        .collect();
    assert_eq!(rows.len(), 2, "{stored}");
    assert!(rows.iter().all(|(p, _)| *p == "true"), "{stored}");
    assert!(
        rows[0].1 * 4 < long.len(),
        "{} bytes of mail stored in {}",
        long.len(),
        rows[0].1
    );

    // Schema V7: the acknowledgements wait in the outbox packed too, and
    // each unpacks to its whole plan (JSON, smaller packed).
    let plans = sql(
        &url,
        "SELECT string_agg(packed || ' ' || encode(body, 'hex'), ',' ORDER BY id) FROM outbox",
    );
    let plans: Vec<&str> = plans.split(',').collect();
    assert_eq!(plans.len(), 2, "an acknowledgement per new ticket");
    for plan in plans {
        let (packed, hex) = plan.split_once(' ').expect("two columns");
        assert_eq!(packed, "true");
        let body = common::unhex(hex);
        let whole = postdesk::pg::mail::unpack(&postdesk::pg::mail::plain(), body.clone(), true)
            .expect("unpacks");
        assert!(body.len() < whole.len(), "{} < {}", body.len(), whole.len());
        let _: serde_json::Value = serde_json::from_slice(&whole).expect("a plan is JSON");
    }

    // The second message as a V5 build wrote it: the mail as received.
    let hex: String = short.iter().map(|b| format!("{b:02x}")).collect();
    sql(
        &url,
        &format!(
            "UPDATE messages SET raw = decode('{hex}', 'hex'), packed = false \
             WHERE ticket = 2 RETURNING 1"
        ),
    );
    assert_eq!(
        sql(&url, "SELECT count(*) FROM messages WHERE NOT packed"),
        "1"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let out_dir = dir.path().join("carol");
    let out = t
        .cmd()
        .args(["customers", "export", "carol@customer.test"])
        .arg(&out_dir)
        .env(URL_VAR, &url)
        .output()
        .expect("run export");
    assert!(out.status.success(), "{}", text(&out));
    let mbox = std::fs::read(out_dir.join("messages.mbox")).expect("messages.mbox");
    for (what, m) in [("packed", &long), ("V5", &short)] {
        assert!(
            mbox.windows(m.len()).any(|w| w == &m[..]),
            "the {what} row's mail byte for byte in:\n{}",
            String::from_utf8_lossy(&mbox)
        );
    }
}

/// Mails with their Message-IDs.
type Mails = Vec<(String, Vec<u8>)>;

/// `count` support mails of about 1.5 KB from `who`, numbered from
/// `first`: relay headers, a few lines of varied words with `line`, and
/// the company footer every mail of the desk's customers carries (what a
/// dictionary learns and one mail alone cannot). Lines end in LF, as
/// `customers export` writes them: each mail is then in the export
/// unchanged.
fn support_mails(who: &str, first: usize, count: usize, line: &str) -> Mails {
    const WORDS: [&str; 16] = [
        "printer",
        "invoice",
        "login",
        "the",
        "again",
        "after",
        "update",
        "export",
        "broken",
        "please",
        "account",
        "screen",
        "password",
        "yesterday",
        "order",
        "refund",
    ];
    const FOOTER: &str = "--\nCustomer Company Ltd, 12 Harbour Road, Portsmouth PO1 3AX, registered in England and Wales under number 01234567.\nThis e-mail and any attachments are confidential and intended solely for the addressee. If you have received it in error, please notify the sender immediately and delete it from your system; any use, disclosure or copying of it is prohibited.\nPlease consider the environment before printing this e-mail. Our offices are closed on public holidays; for urgent matters call our service line.\n";
    (first..first + count)
        .map(|i| {
            let mut x = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            let mut body = String::from("Hello support team,\n\n");
            for _ in 0..4 + i % 4 {
                for _ in 0..12 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    body.push_str(WORDS[(x % 16) as usize]);
                    body.push(' ');
                }
                body.push_str(&format!("(case {})\n", x % 100_000));
            }
            body.push_str(&format!("\n{line}\n\nKind regards\n{FOOTER}"));
            let id = format!("dict-{i}@customer.test");
            let mail = format!(
                "Received: from mail{a}.customer.test (mail{a}.customer.test [192.0.2.{a}])\n\tby mx.desk.test (Postfix) with ESMTPS id {i:08X}\n\tfor <support@desk.test>; Sun, 22 Nov 2026 10:00:00 +0000\nFrom: {who}\nTo: support@desk.test\nSubject: Problem number {i}\nMessage-ID: <{id}>\nDate: Sun, 22 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{body}",
                a = i % 7
            );
            (id, mail.into_bytes())
        })
        .collect()
}

fn mbox_of(mails: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut mbox = Vec::new();
    for (_, m) in mails {
        mbox.extend_from_slice(b"From someone@customer.test Sun Nov 22 10:00:00 2026\n");
        mbox.extend_from_slice(m);
        mbox.push(b'\n');
    }
    mbox
}

/// Every mail of `who` in `customers export`, byte for byte: read by a
/// process of its own, which loads the dictionaries from the database.
fn exported_whole(t: &TestDesk, url: &str, who: &str, mails: &[(String, Vec<u8>)]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_dir = dir.path().join("export");
    let out = t
        .cmd()
        .args(["customers", "export", who])
        .arg(&out_dir)
        .env(URL_VAR, url)
        .output()
        .expect("run export");
    assert!(out.status.success(), "{}", text(&out));
    let mbox = std::fs::read(out_dir.join("messages.mbox")).expect("messages.mbox");
    for (id, m) in mails {
        let at = mbox
            .windows(id.len())
            .position(|w| w == id.as_bytes())
            .unwrap_or_else(|| panic!("{id} is in the export of {who}"));
        // The mail starts at most its headers before its Message-ID.
        let near = &mbox[at.saturating_sub(1000)..(at + m.len()).min(mbox.len())];
        assert!(
            near.windows(m.len()).any(|w| w == &m[..]),
            "{id} byte for byte in the export of {who}"
        );
    }
}

/// Schema V8: enough mail trains a mail dictionary (stored in
/// `mail_dicts`, current); rows packed after it name it and are smaller;
/// every mail reads back byte for byte in other processes. An erasure
/// replaces it and re-packs every row; a re-pack cut short (an older
/// dictionary and rows packed with it left behind) is finished by the
/// next process that opens the desk, and nothing is lost.
#[test]
fn a_mail_dictionary_is_trained_replaced_by_an_erasure_and_a_cut_short_repack_finishes() {
    let url = fresh_database("mail_dict");
    let t = desk("kind = \"postgres\"\n");
    assert!(migrate(&t, &url, &[]).status.success());
    let customers = ["ann", "bob", "cid", "dee", "eve", "fay", "gus", "hal"];
    let mut all: Vec<(String, Mails)> = Vec::new();
    let mut first_mbox = Vec::new();
    for (n, who) in customers.iter().enumerate() {
        let line = format!("Best, {who} from the {who}-department");
        let mails = support_mails(&format!("{who}@customer.test"), n * 1000, 170, &line);
        first_mbox.extend(mbox_of(&mails));
        all.push((format!("{who}@customer.test"), mails));
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let import = |name: &str, mbox: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, mbox).expect("write mbox");
        let out = t
            .cmd()
            .args(["import", "mbox"])
            .arg(&path)
            .env(URL_VAR, &url)
            .output()
            .expect("run import");
        assert!(out.status.success(), "{}", text(&out));
    };
    import("first.mbox", &first_mbox);
    assert_eq!(
        sql(
            &url,
            "SELECT count(*) || ' ' || count(*) FILTER (WHERE current) FROM mail_dicts"
        ),
        "1 1",
        "the import trained one dictionary, the current one"
    );
    let first_dict = sql(&url, "SELECT id FROM mail_dicts");
    // More mail, packed with it.
    let mut second_mbox = Vec::new();
    for (n, (who, mails)) in all.iter_mut().enumerate() {
        let more = support_mails(who, n * 1000 + 500, 10, "Thanks again");
        second_mbox.extend(mbox_of(&more));
        mails.extend(more);
    }
    import("second.mbox", &second_mbox);
    let named: i64 = sql(
        &url,
        &format!("SELECT count(*) FROM messages WHERE dict = {first_dict}"),
    )
    .parse()
    .expect("a count");
    assert!(named >= 80, "{named} rows packed with the dictionary");
    // Bytes stored per byte of mail: smaller with the dictionary.
    let ratio = |filter: &str| -> f64 {
        sql(
            &url,
            &format!(
                "SELECT sum(length(raw))::float8 / sum((record->>'size')::bigint) \
                 FROM messages WHERE {filter}"
            ),
        )
        .parse()
        .expect("a ratio")
    };
    let (with, without) = (ratio("dict IS NOT NULL"), ratio("dict IS NULL"));
    assert!(
        with < without * 0.8,
        "with the dictionary {with:.3} of the mail, without {without:.3}"
    );
    for (who, mails) in &all {
        exported_whole(&t, &url, who, mails);
    }

    // Ann's erasure: her words are in the dictionary; afterwards a new
    // one is current, every row names it (or none), the old one is gone.
    // (What a re-pack cut short would have left, saved for later: every
    // row of the others' tickets as packed now, and the dictionary.)
    sql(
        &url,
        "CREATE TABLE saved_rows AS SELECT ticket, seq, raw, dict FROM messages \
         WHERE dict IS NOT NULL AND ticket NOT IN \
         (SELECT ticket FROM customers WHERE email = convert_to('ann@customer.test', 'UTF8'))",
    );
    sql(&url, "CREATE TABLE saved_dicts AS SELECT * FROM mail_dicts");
    let out = t
        .cmd()
        .args(["customers", "erase", "ann@customer.test", "--force"])
        .env(URL_VAR, &url)
        .output()
        .expect("run erase");
    assert!(out.status.success(), "{}", text(&out));
    let second_dict = sql(&url, "SELECT id FROM mail_dicts WHERE current");
    assert!(!second_dict.is_empty() && second_dict != first_dict);
    assert_eq!(sql(&url, "SELECT count(*) FROM mail_dicts"), "1");
    assert_eq!(
        sql(
            &url,
            &format!("SELECT count(*) FROM messages WHERE dict IS DISTINCT FROM {second_dict} AND dict IS NOT NULL")
        ),
        "0"
    );
    let ann_in_dict = sql(
        &url,
        "SELECT count(*) FROM mail_dicts WHERE position('ann-department'::bytea IN dict) > 0",
    );
    assert_eq!(
        ann_in_dict, "0",
        "the new dictionary has none of Ann's words"
    );
    for (who, mails) in all.iter().skip(1) {
        exported_whole(&t, &url, who, mails);
    }

    // A re-pack cut short: the old dictionary back, and the rows of every
    // other ticket back as they were packed with it (Ann's are not: the
    // erasure rewrote them).
    sql(
        &url,
        "INSERT INTO mail_dicts (id, dict, trained, current) \
         SELECT id, dict, trained, false FROM saved_dicts",
    );
    sql(
        &url,
        "UPDATE messages m SET raw = s.raw, dict = s.dict FROM saved_rows s \
         WHERE m.ticket = s.ticket AND m.seq = s.seq AND m.ticket % 2 = 0",
    );
    sql(&url, "DROP TABLE saved_rows, saved_dicts");
    let pending: i64 = sql(
        &url,
        &format!("SELECT count(*) FROM messages WHERE dict = {first_dict}"),
    )
    .parse()
    .expect("a count");
    assert!(
        pending >= 20,
        "{pending} rows left packed with the old dictionary"
    );
    // The next process to open the desk finishes the re-pack.
    let out = t
        .cmd()
        .args(["stats"])
        .env(URL_VAR, &url)
        .output()
        .expect("run stats");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        sql(&url, "SELECT string_agg(id::text, ',') FROM mail_dicts"),
        second_dict,
        "the old dictionary is gone"
    );
    assert_eq!(
        sql(
            &url,
            &format!("SELECT count(*) FROM messages WHERE dict = {first_dict}")
        ),
        "0"
    );
    for (who, mails) in all.iter().skip(1) {
        exported_whole(&t, &url, who, mails);
    }
}

/// Four customers' 400 mails each: enough for the import to train a mail
/// dictionary.
fn enough_to_train() -> Mails {
    let mut mails = Vec::new();
    for (n, who) in ["kim", "lou", "max", "ned"].iter().enumerate() {
        mails.extend(support_mails(
            &format!("{who}@customer.test"),
            n * 1000,
            400,
            "Thanks",
        ));
    }
    mails
}

/// `postdesk import mbox` of `mails` on the desk `t` (its store named in
/// its config), which must succeed.
fn import_mbox(t: &TestDesk, mails: &Mails) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("mail.mbox");
    std::fs::write(&path, mbox_of(mails)).expect("write mbox");
    let out = t.run(&["import", "mbox", path.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{}", text(&out));
}

/// A node that opened the desk before another trained its dictionary
/// reads the rows packed with it: the unknown dictionary is looked for in
/// the table once.
#[test]
fn a_node_reads_rows_packed_with_a_dictionary_another_trained_after_it_opened() {
    let (_keys_dir, t, url) = migrated_desk("mail_dict_nodes");
    // This node opens the desk while it has no dictionary.
    let node = postdesk::store::Store::open_config(&t.config()).expect("open the desk");
    assert!(!node.codec().has_dictionary());
    // Another process imports enough mail to train one, and packs with it.
    let mails = enough_to_train();
    import_mbox(&t, &mails);
    let more = support_mails("kim@customer.test", 9000, 20, "Again");
    import_mbox(&t, &more);
    let packed = sql(
        &url,
        "SELECT ticket || ' ' || seq FROM messages WHERE dict IS NOT NULL ORDER BY ticket DESC LIMIT 1",
    );
    let (ticket, seq) = packed
        .split_once(' ')
        .expect("a row packed with the dictionary");
    let raw = node
        .raw_message(
            ticket.parse().expect("a number"),
            seq.parse().expect("a number"),
        )
        .expect("read with the dictionary, loaded on the way")
        .expect("the message");
    assert!(
        more.iter().chain(&mails).any(|(_, m)| *m == raw),
        "the mail byte for byte"
    );
    assert!(node.codec().has_dictionary(), "the node loaded it");
}

/// A node that still packs with the dictionary an erasure replaced (it
/// loads the table again only every 10 s) must not store rows naming the
/// deleted dictionary, which nobody could read: the foreign key (schema
/// V9) refuses its batch, which is dropped to be fetched again, and the
/// reopened node stores the same mail with the current dictionary.
#[test]
fn a_node_packing_with_a_replaced_dictionary_is_refused_and_its_mail_stored_after_a_reopen() {
    let (_keys_dir, t, url) = migrated_desk("mail_dict_stale");
    let mails = enough_to_train();
    import_mbox(&t, &mails);
    let first = sql(&url, "SELECT id FROM mail_dicts WHERE current");
    assert!(!first.is_empty(), "the import trained a dictionary");

    // This node opens the desk with that dictionary; another process then
    // erases a customer, which replaces it and deletes the old one.
    let node = postdesk::desk::Desk::open(t.config()).expect("open the desk");
    assert!(node.store().codec().has_dictionary());
    let out = t.run(&["customers", "erase", "kim@customer.test", "--force"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        sql(
            &url,
            &format!("SELECT count(*) FROM mail_dicts WHERE id = {first}")
        ),
        "0",
        "the replaced dictionary is gone"
    );

    let late = support_mails("pat@customer.test", 7000, 1, "Late");
    let (_, raw) = late.first().expect("a mail");
    // Staged by the ingest, written by the flush.
    let refused = node
        .ingest(raw, Some("main"), "test", postdesk::decide::Mode::Live)
        .map_err(|e| e.to_string())
        .and_then(|_| node.flush().map_err(|e| e.to_string()));
    let why = refused
        .expect_err("a batch packed with the deleted dictionary is refused, not stored unreadable");
    assert!(why.contains("fetched again"), "{why}");
    drop(node);
    let reopened = postdesk::desk::Desk::open(t.config()).expect("reopen the desk");
    reopened
        .ingest(raw, Some("main"), "test", postdesk::decide::Mode::Live)
        .expect("stored with the current dictionary");
    reopened.flush().expect("flushed");
    assert_eq!(
        sql(
            &url,
            "SELECT count(*) FROM messages m WHERE dict IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM mail_dicts d WHERE d.id = m.dict)"
        ),
        "0"
    );
    exported_whole(&t, &url, "pat@customer.test", &late);
}

/// An erasure on PostgreSQL rewrites the desk's tables (`VACUUM FULL`)
/// so that the old versions of the rows it changed leave the table files,
/// as sled's rewrite leaves its log. `VACUUM FULL` keeps every version a
/// snapshot still open may see, so the erasure first waits for snapshots
/// from before it: here a reader holds one across the erasure, and the
/// files still hold nothing of the person afterwards.
#[test]
fn an_erasure_leaves_no_old_row_version_in_the_table_files() {
    let url = fresh_database("erase_vacuum");
    let db = url.rsplit('/').next().expect("db name").to_string();
    let t = desk("kind = \"postgres\"\n");
    assert!(migrate(&t, &url, &[]).status.success());
    let env = [(URL_VAR, url.as_str())];
    for i in 0..3 {
        let m = mail(
            "Zenobia Quokkafeld <zenobia@customer.test>",
            &format!("Quokka ledger {i}"),
            &format!("quokka-{i}@customer.test"),
            "",
            "The quokka ledger shows a second refund I never asked for.",
        );
        let out = t.pipe_with(&m, &env);
        assert!(out.status.success(), "{}", text(&out));
    }
    let needles: [&[u8]; 3] = [
        b"zenobia@customer.test",
        b"Quokkafeld",
        b"quokka ledger shows",
    ];
    let residue = || -> Vec<String> {
        common::table_files(&db)
            .into_iter()
            .flat_map(|(relation, f)| {
                let bytes = std::fs::read(&f).unwrap_or_default();
                needles
                    .iter()
                    .filter(|n| bytes.windows(n.len()).any(|w| w == **n))
                    .map(|n| format!("{relation} holds {}", String::from_utf8_lossy(n)))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    assert!(!residue().is_empty(), "the table files name her before");

    // A snapshot from before the erasure, held across it by a session
    // that locks none of the desk's tables (one that read them would hold
    // VACUUM FULL back by its lock anyway).
    let reader = {
        let (pg, db) = (test_pg(), db.clone());
        std::thread::spawn(move || {
            psql(
                &pg,
                &db,
                "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1; SELECT pg_sleep(3); COMMIT;",
            )
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while sql(
        &url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND backend_xmin IS NOT NULL AND pid <> pg_backend_pid()",
    ) == "0"
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the reader never began"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = t
        .cmd()
        .args([
            "customers",
            "erase",
            "zenobia@customer.test",
            "--force",
            "--json",
        ])
        .env(URL_VAR, &url)
        .output()
        .expect("run erase");
    assert!(out.status.success(), "{}", text(&out));
    let erased: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        erased["rewritten_records"].as_u64().unwrap_or(0) > 0,
        "{erased}"
    );
    let read = reader.join().expect("the reader");
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    assert_eq!(residue(), Vec::<String>::new());
}

/// An mbox of `count` messages from seven customers whose conversations
/// cross batches of three: every fourth replies to the message before it,
/// every ninth to one six back, every tenth names one that arrives two
/// later, and every eleventh comes twice in a row. Returns the mbox and how
/// many messages it holds, copies counted.
fn crossing_mbox(count: usize) -> (Vec<u8>, usize) {
    let mut mbox = Vec::new();
    let mut total = 0;
    for i in 0..count {
        let who = format!("c{}@customer.test", i % 7);
        let mut threading = String::new();
        if i % 4 == 1 {
            threading = format!("In-Reply-To: <wb{}@customer.test>\n", i - 1);
        } else if i % 9 == 8 {
            threading = format!("References: <wb{}@customer.test>\n", i - 6);
        } else if i % 10 == 3 {
            threading = format!("References: <wb{}@customer.test>\n", i + 2);
        }
        let mail = format!(
            "From: {who}\nTo: support@desk.test\nSubject: Question {n}\nMessage-ID: <wb{i}@customer.test>\n{threading}Date: Sun, 22 Nov 2026 10:{m:02}:00 +0000\n\nAbout case {i}.\n",
            n = i / 3,
            m = i % 60
        );
        let copies = if i % 11 == 5 { 2 } else { 1 };
        for _ in 0..copies {
            mbox.extend_from_slice(b"From someone@customer.test Sun Nov 22 10:00:00 2026\n");
            mbox.extend_from_slice(mail.as_bytes());
            mbox.push(b'\n');
            total += 1;
        }
    }
    (mbox, total)
}

/// A desk on a fresh database `name`, migrated, and the directory that
/// holds the database's URL file. Returns the directory, the desk and
/// the URL.
fn migrated_desk(name: &str) -> (tempfile::TempDir, TestDesk, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database(name);
    let keys = common::store_keys(&dir.path().join("db.url"), &url);
    let t = TestDesk::with(Options {
        extra: format!("\n[store]\nkind = \"postgres\"\n{keys}"),
        ..Options::default()
    });
    let migrated = t.run(&["migrate"]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    (dir, t, url)
}

/// A [`migrated_desk`] that stores its intake in batches of three, with
/// `mbox` as `history.mbox` in its directory.
fn importing_in_threes(name: &str, mbox: &[u8]) -> (tempfile::TempDir, TestDesk, String) {
    let (dir, t, url) = migrated_desk(name);
    std::fs::write(dir.path().join("history.mbox"), mbox).expect("write mbox");
    t.in_batches_of(3);
    (dir, t, url)
}

/// An import on PostgreSQL decides each batch while the one before it
/// commits (write-behind). With batches of three every conversation
/// crosses batches: a reply whose parent is still being committed, a
/// customer's next ticket, the same message twice in a row, a message
/// naming one nobody stored yet. The desk it makes is the one sled makes
/// from the same mbox, ticket by ticket and message by message, and a
/// second import finds every message stored.
#[test]
fn an_import_written_behind_threads_across_batches_as_sled_does() {
    let (mbox, total) = crossing_mbox(90);
    let (dir, pg, _) = importing_in_threes("write_behind", &mbox);
    let path = dir.path().join("history.mbox");
    let path = path.to_str().expect("utf-8 path");
    let sled = TestDesk::with(Options {
        extra: common::SLED_ONLY.into(),
        ..Options::default()
    });
    sled.in_batches_of(3);
    let summary = |t: &TestDesk| {
        let out = t.run(&["import", "mbox", path, "--json"]);
        assert!(out.status.success(), "{}", text(&out));
        let mut s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        for timing in ["seconds", "per_second"] {
            s[timing] = serde_json::Value::Null;
        }
        s
    };
    let (on_pg, on_sled) = (summary(&pg), summary(&sled));
    assert_eq!(on_pg, on_sled);
    assert_eq!(on_pg["messages"], total);
    assert_eq!(on_pg["duplicates"], total - 90);
    assert_eq!(pg.tickets_json(), sled.tickets_json());
    let messages = |t: &TestDesk, reference: &str| {
        let out = t.run(&["tickets", "show", reference, "--json"]);
        assert!(out.status.success(), "{}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        v["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m["message_id"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    // The lists agree on every ticket's count: conversations of more than
    // one message are compared message by message.
    let tickets = pg.tickets_json();
    let mut seen = 0;
    for t in tickets.as_array().expect("tickets") {
        let count = t["message_count"].as_u64().expect("message_count");
        seen += count;
        if count > 1 {
            let reference = t["reference"].as_str().expect("reference");
            let (a, b) = (messages(&pg, reference), messages(&sled, reference));
            assert_eq!(a, b, "{reference}");
            assert_eq!(a.len() as u64, count, "{reference}");
        }
    }
    assert_eq!(seen, 90, "every message in exactly one ticket");
    let again = summary(&pg);
    assert_eq!(again["duplicates"], total, "{again}");
    assert_eq!(again["stored"], 0, "{again}");
}

/// The server drops every connection of an import written behind while
/// it runs (a batch is committing at any moment): the import stops and
/// says to run it again, nothing decided on top of the lost batch is
/// stored, and the rerun stores every message exactly once.
#[test]
fn an_import_whose_connections_the_server_drops_stops_and_a_rerun_stores_each_message_once() {
    let (mbox, total) = crossing_mbox(3000);
    let (dir, t, url) = importing_in_threes("write_behind_dropped", &mbox);
    let path = dir.path().join("history.mbox");
    let path = path.to_str().expect("utf-8 path");

    let child = t
        .cmd()
        .args(["import", "mbox", path])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the import");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while sql(&url, "SELECT count(*) FROM messages")
        .parse::<u64>()
        .expect("a count")
        < 300
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the import stored fewer than 300 messages in 120 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Five times, a tenth of a second apart: whatever the import holds
    // then (the turn's connection with a batch on it, the read-ahead's).
    for _ in 0..5 {
        sql(
            &url,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let first = child.wait_with_output().expect("wait for the import");
    assert!(
        !first.status.success(),
        "the import went on as if nothing happened: {}",
        text(&first)
    );
    assert!(
        text(&first).contains("run the same import again"),
        "{}",
        text(&first)
    );
    let stored: u64 = sql(&url, "SELECT count(*) FROM messages")
        .parse()
        .expect("a count");
    assert!(stored < 3000, "{stored} messages stored before the stop");

    let again = t.run(&["import", "mbox", path, "--json"]);
    assert!(again.status.success(), "{}", text(&again));
    let s: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON");
    assert_eq!(s["messages"], total);
    assert_eq!(
        sql(
            &url,
            "SELECT count(*) || ' ' || count(DISTINCT record->>'message_id') FROM messages"
        ),
        "3000 3000",
        "every message stored exactly once"
    );
    assert_eq!(
        sql(
            &url,
            "SELECT sum((record->>'message_count')::bigint) FROM tickets"
        ),
        "3000",
        "the tickets count every message once"
    );
}
