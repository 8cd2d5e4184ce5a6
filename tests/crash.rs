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
//! sled 0.34 sometimes finds its own files damaged after a kill during its recovery.
//! Such trials are counted and bounded (1 in 25), and even then every check that can
//! run does: `verify`, `export` and the next append either work (and then the ledger
//! is checked as above) or fail with the clean integrity error (exit 6, one `error:`
//! line, no panic).
//!
//! The delays come from a fixed-seed xorshift within a window that starts from a
//! calibration run and then adapts (shorter after an import that finished, longer
//! after one that was killed), so that the kill lands before, inside and after the
//! import on any machine. Most trials import 1,000 events; every tenth imports
//! 11,000, more than one write chunk (10,000), so that a kill can land between a
//! chunk and the commit.
//!
//! The second half damages the storage itself: a deleted last record, a truncation
//! that moves the head back, a gap, bytes overwritten in sled's data file. Each must
//! fail with one clear `error:` line (exit 6, or 1 for an unreadable file), never a
//! panic, and never pass `verify --head` with the head published before.
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

/// Whether a run failed with sled's own report of damaged files.
fn is_sled_damage(run: &crate::common::Run) -> bool {
    run.code == 6
        && run
            .stderr
            .contains("the ledger's storage is damaged (sled found corrupted data)")
}

/// In a trial where sled reported damage, a command either works or fails with the
/// clean integrity error: exit 6, one `error:` line, no panic.
fn assert_clean_integrity_error(run: &crate::common::Run, what: &str) {
    assert_clear_failure(run, what);
    assert_eq!(run.code, 6, "{what}: {}", run.stderr);
    assert!(
        run.error().contains("storage is damaged"),
        "{what}: {}",
        run.stderr
    );
}

#[derive(Default, Debug)]
struct Tally {
    trials: usize,
    import_complete: usize,
    import_absent: usize,
    import_killed_but_committed: usize,
    appends_reported: usize,
    appends_killed_or_refused: usize,
    /// sled itself reported its files damaged at the first open after the kills.
    sled_damage_reported: usize,
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
        // sled 0.34 (self-declared beta) can find its own files damaged after a process
        // is killed while it recovers them (seen about once in 250 trials, under heavy
        // I/O). pactlog cannot repair sled's files; what it must do is say so, cleanly
        // and at once, never show a silently shorter or different ledger. Such trials
        // are counted and bounded, and every check that can still run does.
        let damaged = is_sled_damage(&verify);
        if damaged {
            assert_clean_integrity_error(&verify, &format!("trial {trial}: verify"));
            tally.sled_damage_reported += 1;
        } else {
            assert_eq!(
                verify.code, 0,
                "trial {trial} (kill after {delay:?}, {n} events): verify failed: {}",
                verify.stderr
            );
        }
        *window = if import_out.is_some() {
            (*window * 0.8).max(10.0)
        } else {
            *window * 1.25
        };
        let export = ledger.run(&["export"]);
        if damaged && export.code != 0 {
            assert_clean_integrity_error(&export, &format!("trial {trial}: export"));
            for out in import_out.iter().chain(appends.iter().flatten()) {
                assert!(
                    out.starts_with("imported ") || out.starts_with("appended "),
                    "trial {trial}: {out}"
                );
            }
        } else {
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
        ]);
        if damaged && after.code != 0 {
            assert_clean_integrity_error(&after, &format!("trial {trial}: append after"));
        } else {
            after.ok();
        }
        if damaged {
            let again = ledger.run(&["verify"]);
            if again.code != 0 {
                assert_clean_integrity_error(&again, &format!("trial {trial}: verify after"));
            }
        } else if trial % 10 == 0 {
            ledger.ok(&["verify"]);
        }
        tally.trials += 1;
    }
    eprintln!("crash trials: {tally:?} (calibration: {SMALL} events in {small:?})");
    assert_eq!(tally.trials, trials());
    assert!(
        tally.sled_damage_reported * 25 <= tally.trials,
        "sled reported damage in {} of {} trials",
        tally.sled_damage_reported,
        tally.trials
    );
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
        db.insert(pactlog::index::log_key(head + 1), record.bytes())
            .unwrap();
        db.insert(pactlog::index::META_PENDING, &head.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    ledger.ok(&["verify"]);
    assert_eq!(ledger.export(), before);
    ledger.ok(&[
        "append",
        "party_registered",
        "--party",
        "fr",
        "--name",
        "France",
    ]);
    ledger.ok(&["verify"]);
}

// --- Damaged storage ----------------------------------------------------------------

/// The head as `SEQ:HASH`, from `verify --json`.
fn published_head(ledger: &TestLedger) -> String {
    let head = crate::common::json(ledger, &["verify", "--json"])["head"].clone();
    format!("{}:{}", head["seq"], head["hash"].as_str().unwrap())
}

/// A failure with one clear `error:` line and no panic.
fn assert_clear_failure(run: &crate::common::Run, what: &str) {
    assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
    assert_ne!(run.code, 0, "{what}: {}", run.stdout);
    assert!(run.stderr.starts_with("error: "), "{what}: {}", run.stderr);
    assert_eq!(
        run.stderr.trim_end().lines().count(),
        1,
        "{what}: {}",
        run.stderr
    );
}

fn with_store(ledger: &TestLedger, change: impl FnOnce(&sled::Db, u64)) {
    let store = pactlog::store::Ledger::open(&ledger.db, pactlog::store::Access::Existing).unwrap();
    let head = store.head().seq;
    change(store.sled_for_tests(), head);
    store.sled_for_tests().flush().unwrap();
}

#[test]
fn deleting_the_last_record_is_caught() {
    let ledger = TestLedger::bundled();
    let earlier = published_head(&ledger);
    with_store(&ledger, |db, head| {
        db.remove(pactlog::index::log_key(head)).unwrap();
    });
    let run = ledger.run(&["verify", "--head", &earlier]);
    assert_clear_failure(&run, "last record deleted");
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert_eq!(
        run.error(),
        "the head marker names record 71, which is missing"
    );
}

#[test]
fn a_truncation_that_moves_the_head_back_is_caught_by_the_published_head() {
    let ledger = TestLedger::bundled();
    let earlier = published_head(&ledger);
    let export = ledger.export();
    let record_70: serde_json::Value =
        serde_json::from_str(export.lines().nth(69).unwrap()).unwrap();
    with_store(&ledger, |db, head| {
        assert_eq!(head, 71);
        db.remove(pactlog::index::log_key(71)).unwrap();
        // Its index entries too, so that the shorter ledger is consistent in itself.
        for tag in pactlog::index::INDEX_TAGS {
            for item in db.scan_prefix([*tag]) {
                let (key, value) = item.unwrap();
                if pactlog::index::entry_seq(&key, &value) == Some(71) {
                    db.remove(key).unwrap();
                }
            }
        }
        // The head marker: the seq (8 bytes, big-endian) then the hash.
        let mut marker = 70u64.to_be_bytes().to_vec();
        marker.extend_from_slice(record_70["hash"].as_str().unwrap().as_bytes());
        db.insert(pactlog::index::META_HEAD, marker).unwrap();
    });
    // The head witnessed beside sled's files catches it at the next open.
    let run = ledger.run(&["verify"]);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.error().contains("71 records were committed"),
        "{}",
        run.error()
    );
    // A truncation that also removes the witness is consistent in itself: only the
    // published head tells it apart.
    std::fs::remove_file(ledger.db.join(pactlog::store::HEAD_FILE)).unwrap();
    ledger.ok(&["verify"]);
    let run = ledger.run(&["verify", "--head", &earlier]);
    assert_clear_failure(&run, "truncated to 70");
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.error()
            .contains("no longer holds record 71: the published history was truncated"),
        "{}",
        run.error()
    );
}

#[test]
fn a_record_removed_in_the_middle_is_a_gap() {
    let ledger = TestLedger::bundled();
    with_store(&ledger, |db, _| {
        db.remove(pactlog::index::log_key(30)).unwrap();
    });
    let run = ledger.run(&["verify"]);
    assert_clear_failure(&run, "gap");
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert_eq!(
        run.error(),
        "record 30 is missing: the log jumps from 29 to 31"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Overwrites `len` bytes of sled's data file at `fraction` of its length.
fn overwrite_db(db: &Path, fraction: f64, len: usize) {
    use std::io::{Seek, SeekFrom, Write};
    let path = db.join("db");
    let size = std::fs::metadata(&path).unwrap().len();
    let offset = ((size as f64 * fraction) as u64).min(size.saturating_sub(len as u64));
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.seek(SeekFrom::Start(offset)).unwrap();
    file.write_all(&vec![0xAB; len]).unwrap();
    file.sync_all().unwrap();
}

/// The bundled record imported in one run, never reopened since, and its head as
/// printed by the import (reading it back would reopen sled and change its files).
fn fresh_bundled() -> (TestLedger, String) {
    let ledger = TestLedger::new();
    let events = crate::common::events_dir().join("russia-ukraine-2025");
    let out = ledger.ok(&["import", events.to_str().unwrap()]);
    let head = out
        .trim_end()
        .rsplit("; head ")
        .next()
        .unwrap()
        .replacen(' ', ":", 1);
    (ledger, head)
}

#[test]
fn overwritten_bytes_in_the_data_file_never_pass_as_the_published_head_or_panic() {
    // Two states of the files: right after the import, and after one more open
    // (sled then has written a snapshot of its page table).
    for reopened in [false, true] {
        let (pristine, head) = fresh_bundled();
        if reopened {
            pristine.ok(&["verify", "--head", &head]);
        }
        let mut outcomes = Vec::new();
        for k in 1..=12 {
            let fraction = k as f64 / 13.0;
            let copy = TestLedger::new();
            copy_dir(&pristine.db, &copy.db);
            overwrite_db(&copy.db, fraction, 4096);
            let run = copy.run(&["verify", "--head", &head]);
            let what = format!("reopened {reopened}, 4 KiB at {fraction:.2}");
            if run.code == 0 {
                // The damage hit bytes sled no longer reads; the chain up to the
                // published head was re-hashed and found whole.
                assert!(
                    run.stdout.starts_with("ok: 71 records"),
                    "{what}: {}",
                    run.stdout
                );
            } else {
                assert_clear_failure(&run, &what);
                assert!([1, 6].contains(&run.code), "{what}: {}", run.stderr);
            }
            outcomes.push((k, run.code, run.stderr.trim_end().to_string()));
        }
        eprintln!("reopened {reopened}: {outcomes:#?}");
        assert!(
            outcomes.iter().any(|(_, code, _)| *code != 0),
            "some damage must be noticed: {outcomes:?}"
        );
    }
}

#[test]
fn overwritten_bytes_in_the_data_file_fail_verify_without_a_published_head() {
    let (ledger, _) = fresh_bundled();
    overwrite_db(&ledger.db, 0.5, 4096);
    let run = ledger.run(&["verify"]);
    // Today: exit 0, "ok: 0 records, hash chain intact, …": 71 records silently gone.
    assert_clear_failure(&run, "4 KiB overwritten in the middle");
}
