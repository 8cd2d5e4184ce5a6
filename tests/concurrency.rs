//! Concurrent writers: many `pactlog` processes appending to one ledger at once, and
//! a process that finds the ledger locked. sled holds an exclusive file lock, so
//! writers take turns: each waits (up to `--lock-timeout`) rather than failing or
//! interleaving records.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{TestLedger, NOW};

const WRITERS: usize = 8;
const APPENDS_PER_WRITER: usize = 50;

/// The binary on `db` with the pinned clock and this lock timeout.
fn pactlog(db: &Path, lock_timeout: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pactlog"))
        .env_clear()
        .env("PACTLOG_DB", db)
        .env("PACTLOG_NOW", NOW)
        .env("PACTLOG_LOCK_TIMEOUT", lock_timeout)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the pactlog binary runs")
}

/// The id in `appended seq N id ID; head …`.
fn appended_id(stdout: &str) -> Option<String> {
    let rest = stdout.strip_prefix("appended seq ")?;
    let id = rest.split(" id ").nth(1)?.split(';').next()?;
    Some(id.to_string())
}

fn exported_ids(ledger: &TestLedger) -> Vec<String> {
    ledger
        .export()
        .lines()
        .map(|line| {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            record["id"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn eight_processes_appending_at_once_lose_nothing() {
    let ledger = TestLedger::bundled();
    let before = exported_ids(&ledger).len();
    let db = ledger.db.clone();
    // Every writer runs its appends one after another; the eight run at once.
    let reported: Vec<Vec<String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|n| {
                let db = db.clone();
                scope.spawn(move || {
                    let mut ids = Vec::new();
                    for m in 0..APPENDS_PER_WRITER {
                        let party = format!("p{n}-{m}");
                        let name = format!("Party {n}/{m}");
                        let args: Vec<&str> = if m % 2 == 0 {
                            vec![
                                "append",
                                "party_registered",
                                "--party",
                                &party,
                                "--name",
                                &name,
                                "--occurred-at",
                                "now",
                            ]
                        } else {
                            vec![
                                "append",
                                "statement_made",
                                "--quote",
                                &name,
                                "--attribution",
                                &party,
                                "--occurred-at",
                                "2025-12-03",
                            ]
                        };
                        // A generous timeout: the writers take turns, ~50 ms each in debug.
                        let out = pactlog(&db, "120", &args);
                        let stdout = String::from_utf8_lossy(&out.stdout);
                        let stderr = String::from_utf8_lossy(&out.stderr);
                        assert!(
                            out.status.success(),
                            "writer {n} append {m} failed: {stderr}"
                        );
                        assert!(!stderr.contains("panicked"), "{stderr}");
                        ids.push(appended_id(&stdout).unwrap_or_else(|| panic!("{stdout}")));
                    }
                    ids
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let reported: Vec<String> = reported.into_iter().flatten().collect();
    assert_eq!(reported.len(), WRITERS * APPENDS_PER_WRITER);
    let unique: HashSet<&String> = reported.iter().collect();
    assert_eq!(unique.len(), reported.len(), "every append got its own id");

    let ids = exported_ids(&ledger);
    assert_eq!(ids.len() - before, WRITERS * APPENDS_PER_WRITER);
    let stored: HashSet<&String> = ids.iter().collect();
    for id in &reported {
        assert!(stored.contains(id), "reported {id} is in the ledger");
    }
    let verify = ledger.ok(&["verify"]);
    assert!(
        verify.starts_with(&format!("ok: {} records", before + 400)),
        "{verify}"
    );
}

#[test]
fn a_locked_ledger_waits_then_fails_with_exit_7() {
    let ledger = TestLedger::bundled();
    let before = ledger.export();
    let held = pactlog::store::Ledger::open(&ledger.db, pactlog::store::Access::Existing).unwrap();
    let started = Instant::now();
    let out = pactlog(
        &ledger.db,
        "0.5",
        &[
            "append",
            "party_registered",
            "--party",
            "fr",
            "--name",
            "France",
            "--occurred-at",
            "now",
        ],
    );
    let waited = started.elapsed();
    drop(held);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    let prefix = format!("error: ledger {} ", ledger.db.display());
    assert!(
        stderr.starts_with(&prefix) && stderr.contains("is in use by another process"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        waited >= Duration::from_millis(500),
        "it waited: {waited:?}"
    );
    assert!(waited < Duration::from_secs(10), "and gave up: {waited:?}");
    // Read commands wait the same way.
    let held = pactlog::store::Ledger::open(&ledger.db, pactlog::store::Access::Existing).unwrap();
    let out = pactlog(&ledger.db, "0", &["verify"]);
    drop(held);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(ledger.export(), before, "nothing was appended");
}

#[test]
fn a_waiting_writer_goes_ahead_once_the_lock_is_released() {
    let ledger = TestLedger::bundled();
    let held = pactlog::store::Ledger::open(&ledger.db, pactlog::store::Access::Existing).unwrap();
    let db = ledger.db.clone();
    let writer = std::thread::spawn(move || {
        pactlog(
            &db,
            "30",
            &[
                "append",
                "party_registered",
                "--party",
                "fr",
                "--name",
                "France",
                "--occurred-at",
                "now",
            ],
        )
    });
    std::thread::sleep(Duration::from_millis(400));
    drop(held);
    let out = writer.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = appended_id(&stdout).unwrap();
    assert!(exported_ids(&ledger).contains(&id));
    ledger.ok(&["verify"]);
}
