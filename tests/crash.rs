//! Crashes: `pactlog import` of a generated file and concurrent `pactlog append`s,
//! killed with SIGKILL (`Child::kill` on Unix) at a pseudo-random moment, then the
//! ledger is reopened and checked:
//!
//! - `pactlog verify` passes (the chain, the indexes, nothing past the head);
//! - the import is all or nothing: its ids in `export` are all there or none are,
//!   and all there when the import printed success;
//! - every append that printed success is in the ledger;
//! - the ledger still takes an append after the crash.
//!
//! A write counts as acknowledged from the moment its success line is read from the
//! child's stdout, and the child is SIGKILLed right after that read: nothing it does
//! after reporting success (sled flushes when it is dropped) may be what makes the
//! write survive.
//!
//! sled 0.34 sometimes finds its own files damaged after a kill during its recovery;
//! the journal makes that harmless: the next open rebuilds sled from it. No trial is
//! allowed to skip a check or fail: every one must open, verify, hold every
//! acknowledged append, and each import whole or absent. The repairs the opens made
//! (sled caught up from the journal, sled rebuilt, a torn journal end trimmed) are
//! counted and printed.
//!
//! The delays come from a fixed-seed xorshift within a window that starts from a
//! calibration run and then adapts (shorter after an import that finished, longer
//! after one that was killed), so that the kill lands before, inside and after the
//! import on any machine. Most trials import 1,000 events; every tenth imports
//! 11,000, more than one write chunk (10,000), so that a kill can land between a
//! chunk and the commit.
//!
//! Damaged storage (sled's files, the journal) and its repair are in `repair.rs`.
//!
//! 50 trials by default (about 40 s in a debug build on 2 idle cores, more under load);
//! `PACTLOG_CRASH_TRIALS=500 cargo test --test tests crash:: -- --nocapture` runs more.

use std::collections::HashSet;
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{TestLedger, NOW};

const SMALL: usize = 1_000;
const LARGE: usize = 11_000;

/// The tiny xorshift64 generator: enough randomness for delays, and repeatable.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A value in `0..bound`.
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

fn trials() -> usize {
    std::env::var("PACTLOG_CRASH_TRIALS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50)
}

/// A running command whose first stdout line is read the moment it is written.
struct Running {
    child: Arc<Mutex<Child>>,
    line: std::thread::JoinHandle<Option<String>>,
}

fn spawn(db: &Path, args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pactlog"))
        .env_clear()
        .env("PACTLOG_DB", db)
        .env("PACTLOG_NOW", NOW)
        .env("PACTLOG_LOCK_TIMEOUT", "30")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the pactlog binary runs");
    let stdout = child.stdout.take().unwrap();
    let child = Arc::new(Mutex::new(child));
    let killer = Arc::clone(&child);
    let line = std::thread::spawn(move || {
        let mut line = String::new();
        match std::io::BufReader::new(stdout).read_line(&mut line) {
            Ok(_) if line.ends_with('\n') => {
                // Acknowledged. SIGKILL at once: whatever the process would still do
                // (drop sled, flush, exit) must not be what makes the write durable.
                let _ = killer.lock().unwrap().kill();
                Some(line)
            }
            _ => None,
        }
    });
    Running { child, line }
}

/// How a command ended: the success line it wrote, if it wrote one (it is killed
/// right after; one still running now is SIGKILLed, with no chance to clean up).
fn finish(running: Running) -> Option<String> {
    {
        let mut child = running.child.lock().unwrap();
        let _ = child.kill();
        child.wait().unwrap();
    }
    running.line.join().unwrap()
}

/// The id of the trial's `i`th imported event.
fn import_id(trial: usize, i: usize) -> String {
    uuid::Uuid::from_u128(
        0x0193_0000_0000_7000_8000_0000_0000_0000 | ((trial as u128) << 32) | i as u128,
    )
    .to_string()
}

fn import_file(ledger: &TestLedger, trial: usize, n: usize) -> std::path::PathBuf {
    let mut text = String::with_capacity(n * 130);
    for i in 0..n {
        text.push_str(&format!(
            "{{\"type\":\"party_registered\",\"occurred_at\":\"2025-12-03\",\"id\":\"{}\",\"party\":\"t{trial}-{i}\",\"name\":\"Imported {i}\"}}\n",
            import_id(trial, i)
        ));
    }
    ledger.write("import.ndjson", text.as_bytes())
}

/// A ledger with a few events, so that the crash never meets an empty one.
fn base_ledger() -> TestLedger {
    let ledger = TestLedger::new();
    let base = ledger.write(
        "base.ndjson",
        br#"{"type":"party_registered","occurred_at":"2025-11-20","party":"us","name":"United States"}
{"type":"party_registered","occurred_at":"2025-11-20","party":"ukraine","name":"Ukraine"}
{"type":"party_registered","occurred_at":"2025-11-20","party":"russia","name":"Russia"}
"#,
    );
    ledger.ok(&["import", base.to_str().unwrap()]);
    ledger
}

/// How long an uncontended import of SMALL events takes here (debug or release).
fn calibrate() -> Duration {
    let ledger = base_ledger();
    let file = import_file(&ledger, 0, SMALL);
    let started = Instant::now();
    ledger.ok(&["import", file.to_str().unwrap()]);
    started.elapsed()
}

/// The ids in an `export` (canonical records: `"id":"…"` once per line).
fn exported_ids(export: &str) -> HashSet<String> {
    export
        .lines()
        .map(|line| {
            let start = line.find("\"id\":\"").expect("every record has an id") + 6;
            line[start..start + 36].to_string()
        })
        .collect()
}

#[derive(Default, Debug)]
struct Tally {
    trials: usize,
    import_complete: usize,
    import_absent: usize,
    import_killed_but_committed: usize,
    appends_reported: usize,
    appends_killed_or_refused: usize,
    /// The first open after the kills caught sled up from the journal.
    sled_caught_up: usize,
    /// The first open found sled's files damaged and rebuilt them from the journal.
    sled_rebuilt: usize,
    /// The first open trimmed an unfinished write from the journal's end.
    journal_trimmed: usize,
}

#[test]
fn sigkill_at_random_moments_leaves_a_whole_ledger() {
    let small = calibrate();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut tally = Tally::default();
    let mut small_window = small.as_millis() as f64 * 1.5;
    let mut large_window = small_window * (LARGE / SMALL) as f64;
    for trial in 1..=trials() {
        let n = if trial % 10 == 0 { LARGE } else { SMALL };
        // A staircase keeps about half the imports finishing whatever the machine's
        // speed or load: the window shrinks after a finished import, grows after a kill.
        let window = if n == LARGE {
            &mut large_window
        } else {
            &mut small_window
        };
        let delay = Duration::from_millis(rng.below(*window as u64 + 1));
        let ledger = base_ledger();
        let file = import_file(&ledger, trial, n);
        let db = ledger.db.clone();

        let quote = |k: usize| format!("statement {k} of trial {trial}");
        let (q0, q1, q2) = (quote(0), quote(1), quote(2));
        let append = |q: &str| {
            spawn(
                &db,
                &[
                    "append",
                    "statement_made",
                    "--quote",
                    q,
                    "--attribution",
                    "someone",
                    "--occurred-at",
                    "2025-12-03",
                ],
            )
        };
        let first = append(&q0);
        let import = spawn(&db, &["import", file.to_str().unwrap()]);
        let second = append(&q1);
        std::thread::sleep(delay / 2);
        let third = append(&q2);
        std::thread::sleep(delay - delay / 2);

        let import_out = finish(import);
        let appends: Vec<Option<String>> = [first, second, third].into_iter().map(finish).collect();

        // Reopen: every command recovers an interrupted write first.
        let verify = ledger.run(&["verify"]);
        assert!(
            !verify.stderr.contains("panicked"),
            "trial {trial}: {}",
            verify.stderr
        );
        assert_eq!(
            verify.code, 0,
            "trial {trial} (kill after {delay:?}, {n} events): verify failed: {}",
            verify.stderr
        );
        tally.sled_caught_up += usize::from(verify.stderr.contains("that sled had not stored yet"));
        tally.sled_rebuilt += usize::from(verify.stderr.contains("could not be used"));
        tally.journal_trimmed += usize::from(verify.stderr.contains("trimmed an unfinished write"));
        *window = if import_out.is_some() {
            (*window * 0.8).max(10.0)
        } else {
            *window * 1.25
        };
        let export = ledger.run(&["export"]);
        {
            let ids = exported_ids(&export.ok());
            let present = (0..n)
                .filter(|&i| ids.contains(&import_id(trial, i)))
                .count();
            assert!(
                present == 0 || present == n,
                "trial {trial}: the import is partly present ({present} of {n})"
            );
            if let Some(out) = &import_out {
                assert!(out.starts_with(&format!("imported {n} events")), "{out}");
                assert_eq!(present, n, "trial {trial}: a reported import is missing");
            }
            match (import_out.is_some(), present == n) {
                (true, _) => tally.import_complete += 1,
                (false, false) => tally.import_absent += 1,
                // Killed after the commit, before it printed.
                (false, true) => tally.import_killed_but_committed += 1,
            }
            for out in &appends {
                match out {
                    Some(out) => {
                        let id = out
                            .strip_prefix("appended seq ")
                            .and_then(|rest| rest.split(" id ").nth(1))
                            .and_then(|rest| rest.split(';').next())
                            .unwrap_or_else(|| panic!("trial {trial}: {out}"));
                        assert!(
                            ids.contains(id),
                            "trial {trial}: append {id} reported success but is missing"
                        );
                        tally.appends_reported += 1;
                    }
                    None => tally.appends_killed_or_refused += 1,
                }
            }
        }
        // Still writable, and the write lands right after the recovered head.
        let after = ledger.run(&[
            "append",
            "party_registered",
            "--party",
            "after-crash",
            "--name",
            "After",
            "--occurred-at",
            "now",
        ]);
        after.ok();
        if trial % 10 == 0 {
            ledger.ok(&["verify"]);
        }
        tally.trials += 1;
    }
    eprintln!("crash trials: {tally:?} (calibration: {SMALL} events in {small:?})");
    assert_eq!(tally.trials, trials());
}

/// The kill lands exactly between a written chunk and the commit: simulated by a
/// pending marker and a record past the head, as a killed import leaves them.
#[test]
fn a_leftover_past_the_head_is_removed_on_open() {
    let ledger = base_ledger();
    let before = ledger.export();
    {
        let store =
            pactlog::store::Ledger::open(&ledger.db, pactlog::store::Access::Existing).unwrap();
        let head = store.head().seq;
        let record = store.record(head).unwrap().unwrap();
        let db = store.sled_for_tests();
        // A copy of the head record stored past the head, and the pending marker.
        store.put_record_for_tests(head + 1, Some(&record.bytes()));
        db.insert(pactlog::index::META_PENDING, &head.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    ledger.ok(&["verify"]);
    assert_eq!(ledger.export(), before);
    ledger.register_party("fr", "France");
    ledger.ok(&["verify"]);
}
