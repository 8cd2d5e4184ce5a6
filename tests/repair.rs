//! Damaged storage and its repair. The journal makes a write durable and sled's files
//! are rebuilt from it: overwritten bytes in sled's data file, a deleted data file, a
//! deleted sled folder, a record deleted from sled, a sled that missed the last write.
//! After each, the next command succeeds, says on stderr what it repaired, and the
//! ledger exports byte for byte as before. The journal itself: an unfinished write at
//! its end is trimmed; a journal cut inside an acknowledged write takes the records
//! back from sled; a changed byte fails `verify` (exit 6) naming the records; a
//! consistent truncation of everything is caught by the head witness and by
//! `verify --head`. A ledger of the layout before the journal is upgraded on open.

use std::path::{Path, PathBuf};

use crate::common::{json, Run, TestLedger};

/// The head as `SEQ:HASH`, from `verify --json`.
fn published_head(ledger: &TestLedger) -> String {
    let head = json(ledger, &["verify", "--json"])["head"].clone();
    format!("{}:{}", head["seq"], head["hash"].as_str().unwrap())
}

/// A failure with one clear `error:` line and no panic.
fn assert_clear_failure(run: &Run, what: &str) {
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

/// The next command repairs: `verify` passes, stderr names the repair, and the
/// export is what it was.
fn assert_repaired(ledger: &TestLedger, export_before: &str, note: &str, what: &str) {
    let run = ledger.run(&["verify"]);
    assert_eq!(run.code, 0, "{what}: {}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
    assert!(run.stderr.contains(note), "{what}: {}", run.stderr);
    assert!(run.stdout.starts_with("ok: "), "{what}: {}", run.stdout);
    assert_eq!(ledger.export(), export_before, "{what}");
    // Repaired once: the next command has nothing to say.
    let again = ledger.run(&["verify"]);
    assert_eq!(again.code, 0, "{what}: {}", again.stderr);
    assert_eq!(again.stderr, "", "{what}");
}

/// Cuts `bytes` off the end of the ledger's journal; returns its path and length before.
fn cut_journal(ledger: &TestLedger, bytes: u64) -> (PathBuf, u64) {
    let path = journal(ledger);
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - bytes)
        .unwrap();
    (path, len)
}

/// A write refused because sled was found damaged: exit 6, `said` and "nothing was
/// written" on stderr.
fn refused_as_damage(ledger: &TestLedger, args: &[&str], said: &str) {
    let run = ledger.run(args);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.stderr.contains(said) && run.stderr.contains("nothing was written"),
        "{}",
        run.stderr
    );
}

fn sled_dir(ledger: &TestLedger) -> PathBuf {
    ledger.db.join(pactlog::store::SLED_DIR)
}

fn journal(ledger: &TestLedger) -> PathBuf {
    ledger.db.join(pactlog::journal::FILE)
}

fn with_store(ledger: &TestLedger, change: impl FnOnce(&pactlog::store::Ledger, u64)) {
    let store = pactlog::store::Ledger::open(&ledger.db, pactlog::store::Access::Existing).unwrap();
    let head = store.head().seq;
    change(&store, head);
    store.sled_for_tests().flush().unwrap();
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

/// Overwrites `len` bytes of a file at `fraction` of its length.
fn overwrite(path: &Path, fraction: f64, len: usize) {
    use std::io::{Seek, SeekFrom, Write};
    let size = std::fs::metadata(path).unwrap().len();
    let offset = ((size as f64 * fraction) as u64).min(size.saturating_sub(len as u64));
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.seek(SeekFrom::Start(offset)).unwrap();
    file.write_all(&vec![0xAB; len]).unwrap();
    file.sync_all().unwrap();
}

/// The bundled record imported in one run, never reopened since.
fn fresh_bundled() -> TestLedger {
    let ledger = TestLedger::new();
    let events = crate::common::events_dir().join("russia-ukraine-2025");
    ledger.ok(&["import", events.to_str().unwrap()]);
    ledger
}

#[test]
fn overwritten_bytes_in_sleds_data_file_are_repaired_from_the_journal() {
    let pristine = fresh_bundled();
    let export = {
        let copy = TestLedger::new();
        copy_dir(&pristine.db, &copy.db);
        copy.export()
    };
    let mut repaired = 0;
    for k in 1..=12 {
        let fraction = k as f64 / 13.0;
        for len in [4096, 64 << 10] {
            let copy = TestLedger::new();
            copy_dir(&pristine.db, &copy.db);
            overwrite(&sled_dir(&copy).join("db"), fraction, len);
            let what = format!("{len} bytes at {fraction:.2}");
            let run = copy.run(&["verify"]);
            assert_eq!(run.code, 0, "{what}: {}", run.stderr);
            assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
            repaired += usize::from(run.stderr.contains("rebuilt sled from the journal"));
            assert_eq!(copy.export(), export, "{what}");
        }
    }
    eprintln!("sled reported damage and was rebuilt in {repaired} of 24 cases");
}

#[test]
fn a_deleted_sled_data_file_is_rebuilt_from_the_journal() {
    let ledger = TestLedger::bundled();
    let export = ledger.export();
    std::fs::remove_file(sled_dir(&ledger).join("db")).unwrap();
    assert_repaired(
        &ledger,
        &export,
        "rebuilt sled from the journal",
        "db deleted",
    );
    // The damaged files were kept aside, named in the note.
    assert!(ledger.db.join("sled.damaged.1").is_dir());
}

#[test]
fn a_deleted_sled_folder_is_rebuilt_from_the_journal() {
    let ledger = TestLedger::bundled();
    let export = ledger.export();
    std::fs::remove_dir_all(sled_dir(&ledger)).unwrap();
    assert_repaired(
        &ledger,
        &export,
        "rebuilt sled from the journal",
        "sled deleted",
    );
    ledger.register_party("fr", "France");
    ledger.ok(&["verify"]);
}

#[test]
fn deleting_the_last_record_from_sled_is_repaired_from_the_journal() {
    let ledger = TestLedger::bundled();
    let export = ledger.export();
    with_store(&ledger, |store, head| {
        store.put_record_for_tests(head, None);
    });
    assert_repaired(
        &ledger,
        &export,
        "the head marker names record 68, which is missing",
        "last record deleted",
    );
}

#[test]
fn a_write_sled_never_stored_is_applied_from_the_journal() {
    // sled's files as they were before the last write: what a crash after the
    // journal's fsync and before sled wrote its batch leaves.
    let ledger = TestLedger::bundled();
    let before = TestLedger::new();
    copy_dir(&sled_dir(&ledger), &before.db);
    ledger.register_party("fr", "France");
    let export = ledger.export();
    std::fs::remove_dir_all(sled_dir(&ledger)).unwrap();
    copy_dir(&before.db, &sled_dir(&ledger));
    assert_repaired(
        &ledger,
        &export,
        "applied 1 record from the journal that sled had not stored yet",
        "sled one write behind",
    );
}

#[test]
fn an_unfinished_write_at_the_end_of_the_journal_is_trimmed() {
    let ledger = TestLedger::bundled();
    let export = ledger.export();
    let path = journal(&ledger);
    let bytes = std::fs::read(&path).unwrap();
    // Half of a frame, as a crash in the middle of its write leaves it.
    let mut torn = bytes.clone();
    torn.extend_from_slice(&bytes[..bytes.len().min(120) / 2]);
    std::fs::write(&path, &torn).unwrap();
    assert_repaired(
        &ledger,
        &export,
        "trimmed an unfinished write",
        "torn frame",
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn a_journal_cut_inside_an_acknowledged_write_takes_the_records_back_from_sled() {
    let ledger = TestLedger::bundled();
    let export = ledger.export();
    cut_journal(&ledger, 20);
    assert_repaired(
        &ledger,
        &export,
        "wrote them back to the journal",
        "journal cut",
    );
    // Which records the cut took is said, and that sled held them.
    let ledger_again = TestLedger::bundled();
    cut_journal(&ledger_again, 20);
    let run = ledger_again.run(&["verify"]);
    assert!(
        run.stderr.contains("the journal was cut after record 67")
            && run.stderr.contains("sled holds the records after it"),
        "{}",
        run.stderr
    );
}

/// `verify` refuses the ledger (exit 6) with an error that says `said`.
fn verify_refuses(ledger: &TestLedger, said: &str) {
    let run = ledger.run(&["verify"]);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(run.error().contains(said), "{}", run.error());
}

/// The bundled record with the journal's byte `at` changed.
fn bundled_with_journal_byte_changed(at: usize) -> TestLedger {
    let ledger = TestLedger::bundled();
    change_journal_byte(&ledger, |_| at);
    ledger
}

/// Changes the journal's byte `at(its length)`.
fn change_journal_byte(ledger: &TestLedger, at: impl FnOnce(usize) -> usize) {
    let path = journal(ledger);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = at(bytes.len());
    bytes[at] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();
}

/// `verify` on the bundled record with one byte of its journal changed: exit 6 and
/// one clear line, which must contain `named`.
fn verify_with_journal_byte_changed(at: usize, named: &str) {
    let ledger = bundled_with_journal_byte_changed(at);
    let run = ledger.run(&["verify"]);
    assert_clear_failure(&run, &format!("journal byte {at} changed"));
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(run.error().contains(named), "{}", run.error());
    // It says what to do, as the refused writes do.
    assert!(
        run.error().ends_with(pactlog::error::JOURNAL_RECOVERY),
        "{}",
        run.error()
    );
}

/// A command on a ledger whose journal is damaged: exit 6, one line, ending with the
/// one recovery hint every error about a damaged journal gives, once.
fn says_how_to_recover(run: &Run, what: &str) {
    let hint = pactlog::error::JOURNAL_RECOVERY;
    assert_clear_failure(run, what);
    assert_eq!(run.code, 6, "{what}: {}", run.stderr);
    assert!(run.error().ends_with(hint), "{what}: {}", run.error());
    assert_eq!(
        run.error().matches(hint).count(),
        1,
        "{what}: {}",
        run.error()
    );
}

/// Found by a fresh tester: with the journal's last frame trailer changed, every
/// command exited 6 saying what was damaged but not what to do, where other
/// integrity errors said it. Every error about a damaged journal now ends with the
/// same hint, and leaves the journal as it was.
#[test]
fn every_error_about_a_damaged_journal_says_how_to_recover() {
    // The example: the last byte of the last frame's trailer changed.
    let ledger = TestLedger::bundled();
    change_journal_byte(&ledger, |len| len - 1);
    let damaged = std::fs::read(journal(&ledger)).unwrap();
    for args in [
        &["state", "nato-membership"][..],
        &["verify"],
        &["log"],
        &crate::common::APPEND_VATICAN,
    ] {
        let run = ledger.run(args);
        says_how_to_recover(&run, &args.join(" "));
        assert!(run.error().contains("trailer"), "{}", run.error());
    }
    let run = ledger.run(&["verify", "--json"]);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(run.json()["error"]
        .as_str()
        .unwrap()
        .ends_with(pactlog::error::JOURNAL_RECOVERY));
    assert_eq!(
        std::fs::read(journal(&ledger)).unwrap(),
        damaged,
        "the journal as it was"
    );
    // Another case of the kind: damage `verify` finds inside a frame, and the write
    // refused after it, which names what was found.
    let ledger = bundled_with_journal_byte_changed(200);
    says_how_to_recover(&ledger.run(&["verify"]), "verify");
    let run = ledger.run(&crate::common::APPEND_VATICAN);
    says_how_to_recover(&run, "a write after the damage was found");
    assert!(run.error().contains("records 1–66"), "{}", run.error());
}

#[test]
fn a_changed_byte_in_the_journal_fails_verify_naming_the_records() {
    // Inside the first frame's compressed payload (after its 53-byte header).
    verify_with_journal_byte_changed(200, "records 1–66");
    // In a frame header (the first frame's first seq).
    verify_with_journal_byte_changed(6, "the journal");
}

#[test]
fn a_record_removed_in_the_middle_of_sled_is_a_gap() {
    let ledger = TestLedger::bundled();
    with_store(&ledger, |store, _| {
        store.put_record_for_tests(30, None);
    });
    let run = ledger.run(&["verify"]);
    assert_clear_failure(&run, "gap");
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert_eq!(
        run.error(),
        "record 30 is missing: the log jumps from 29 to 31"
    );
    // `--json` gives the verdict on stdout too, beside the usual message and code
    // (it printed nothing on a failure).
    let run = ledger.run(&["verify", "--json"]);
    assert_eq!(run.code, 6, "{}", run.stderr);
    let verdict: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(verdict["ok"], false);
    assert_eq!(verdict["exit_code"], 6);
    assert_eq!(
        verdict["error"],
        "record 30 is missing: the log jumps from 29 to 31"
    );
    assert_eq!(run.error(), verdict["error"]);
}

#[test]
fn a_consistent_truncation_is_caught_by_the_witness_and_the_published_head() {
    let ledger = TestLedger::bundled();
    let earlier = published_head(&ledger);
    // The journal cut back to its first commit (the talks, 66 records), sled gone.
    let first_commit = {
        let journal = std::fs::read(journal(&ledger)).unwrap();
        // The first frame's length is in its trailer; it is the whole first commit.
        let header = 53;
        let payload = u32::from_le_bytes(journal[17..21].try_into().unwrap()) as usize;
        header + payload + 8
    };
    std::fs::OpenOptions::new()
        .write(true)
        .open(journal(&ledger))
        .unwrap()
        .set_len(first_commit as u64)
        .unwrap();
    std::fs::remove_dir_all(sled_dir(&ledger)).unwrap();
    // The head witnessed beside the journal catches it at the next open.
    verify_refuses(&ledger, "68 records were committed");
    // Without the witness too, only the published head tells it apart.
    std::fs::remove_file(ledger.db.join(pactlog::store::HEAD_FILE)).unwrap();
    let out = ledger.ok(&["verify"]);
    assert!(out.starts_with("ok: 66 records"), "{out}");
    let run = ledger.run(&["verify", "--head", &earlier]);
    assert_clear_failure(&run, "truncated to 66");
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.error()
            .contains("no longer holds record 68: the published history was truncated"),
        "{}",
        run.error()
    );
}

/// `tests/fixtures/ledger-before-journal`: the bundled record of the time imported by the
/// release before the journal (sled's files directly in the ledger folder, no journal);
/// `ledger-before-journal.export.ndjson` beside it is its export.
#[test]
fn a_ledger_of_the_layout_before_the_journal_is_upgraded_on_open() {
    let fixture = crate::common::project().join("tests/fixtures/ledger-before-journal");
    let ledger = TestLedger::new();
    copy_dir(&fixture, &ledger.db);
    let out = ledger.ok_noting(
        &["verify"],
        "upgraded the ledger to the journal layout (71 records, head 71)",
    );
    assert!(out.starts_with("ok: 71 records"), "{out}");
    assert!(journal(&ledger).is_file());
    assert!(!ledger.db.join("conf").exists() && !ledger.db.join("db").exists());
    assert!(!ledger.db.join(pactlog::recover::PRE_JOURNAL_DIR).exists());
    // The same records as before the upgrade: the export committed beside the fixture
    // (made once from it), so the bundled record is free to change.
    let expected = std::fs::read_to_string(
        crate::common::project().join("tests/fixtures/ledger-before-journal.export.ndjson"),
    )
    .unwrap();
    assert_eq!(ledger.export(), expected);
    ledger.register_party("fr", "France");
    assert_eq!(ledger.run(&["verify"]).stderr, "");
}

/// `tests/fixtures/ledger-per-record-keys`: the bundled record imported by the
/// release before packed blocks (a journal, and sled with one key per record and
/// per index entry), and its export then (`ledger-per-record-keys.export.ndjson`).
/// The first command rebuilds sled from the journal in the packed layout, says so in
/// one line, and the ledger is the same: the same export, and sled's records equal to
/// the journal's byte for byte (`verify`).
#[test]
fn a_ledger_of_the_per_record_layout_is_upgraded_on_open() {
    let fixture = crate::common::project().join("tests/fixtures/ledger-per-record-keys");
    let ledger = TestLedger::new();
    copy_dir(&fixture, &ledger.db);
    let journal_before = std::fs::read(journal(&ledger)).unwrap();
    let run = ledger.run(&["export"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr.lines().collect::<Vec<_>>(),
        ["pactlog: upgraded sled to the packed layout (71 records rebuilt from the journal)"],
        "{}",
        run.stderr
    );
    let exported =
        crate::common::project().join("tests/fixtures/ledger-per-record-keys.export.ndjson");
    assert_eq!(run.stdout, std::fs::read_to_string(exported).unwrap());
    // The journal is untouched; the old files went once the rebuild reached its head.
    assert_eq!(std::fs::read(journal(&ledger)).unwrap(), journal_before);
    assert!(!ledger.db.join(pactlog::recover::PER_RECORD_DIR).exists());
    let run = ledger.run(&["verify"]);
    assert_eq!(run.stderr, "");
    assert!(run.stdout.starts_with("ok: 71 records"), "{}", run.stdout);
    ledger.register_party("fr", "France");
    assert_eq!(ledger.run(&["verify"]).stderr, "");
}

/// `tests/fixtures/ledger-fold-by-order`: 705 events about one provision (late reports
/// and a retraction among them) imported in three sessions by the release whose fold
/// took events in valid-time order, its snapshots stored in that fold's form; and
/// `ledger-fold-by-order.states.json`, that release's `state --json` at four cuts (the
/// `known_at` lines left out: they are the clock's). The first command rebuilds sled
/// from the journal (its layout is older too), snapshots in the keyed fold's form, and
/// says so in one line; the states are the same.
#[test]
fn snapshots_of_the_fold_by_order_are_rewritten_on_open_and_states_are_unchanged() {
    let fixture = crate::common::project().join("tests/fixtures/ledger-fold-by-order");
    let ledger = TestLedger::new();
    copy_dir(&fixture, &ledger.db);
    let cuts: [&[&str]; 4] = [
        &["--at", "2025-03-01", "--known-at", "seq:400"],
        &["--at", "2025-06-01", "--known-at", "seq:705"],
        &["--at", "2025-02-10", "--known-at", "seq:290"],
        &["--at", "2025-07-01"],
    ];
    let mut states = String::new();
    for (i, cut) in cuts.iter().enumerate() {
        let mut args = vec!["state", "nato", "--json"];
        args.extend_from_slice(cut);
        let run = ledger.run(&args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let notes: Vec<&str> = run.stderr.lines().collect();
        if i == 0 {
            assert_eq!(
                notes,
                ["pactlog: upgraded sled to layout 3, with parties and actors in the history index (705 records rebuilt from the journal)"]
            );
        } else {
            assert!(notes.is_empty(), "{}", run.stderr);
        }
        for line in run.stdout.lines().filter(|l| !l.contains("\"known_at\"")) {
            states.push_str(line);
            states.push('\n');
        }
    }
    let expected = crate::common::project().join("tests/fixtures/ledger-fold-by-order.states.json");
    assert_eq!(states, std::fs::read_to_string(expected).unwrap());
    let run = ledger.run(&["verify"]);
    assert_eq!(run.stderr, "");
    assert!(
        run.stdout.starts_with("ok: 705 records") && run.stdout.contains("2 snapshots"),
        "{}",
        run.stdout
    );
}

/// Found by a new user: damage that sled only reports in the middle of a command
/// (here a record whose bytes no longer decode) sets sled aside and the read runs
/// again on sled rebuilt from the journal; a write is refused and the next command
/// rebuilds.
#[test]
fn damage_sled_reports_during_a_command_is_repaired_from_the_journal() {
    let ledger = TestLedger::bundled();
    let export = ledger.export();
    let log = ledger.ok(&["log"]);
    let garble = |ledger: &TestLedger| {
        with_store(ledger, |store, _| {
            store.put_record_for_tests(30, Some(b"\x00garbled"));
        })
    };
    garble(&ledger);
    // `export` reads the journal: a record damaged in sled is never written out.
    assert_eq!(ledger.export(), export);
    let run = ledger.run(&["log"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("sled's files are damaged (its record 30 does not decode"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, log);
    assert!(ledger.db.join("sled.damaged.1").is_dir());
    ledger.ok(&["verify"]);
    // A write that meets the damage writes nothing; the next command rebuilds.
    garble(&ledger);
    let record_30: serde_json::Value =
        serde_json::from_str(export.lines().nth(29).unwrap()).unwrap();
    let id = record_30["id"].as_str().unwrap();
    let run = ledger.run(&["retract", id, "--reason", "test", "--occurred-at", "now"]);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.error().contains("nothing was written"),
        "{}",
        run.error()
    );
    assert!(ledger.db.join("sled.damaged.2").is_dir());
    assert_eq!(ledger.ok(&["log"]), log);
    assert_eq!(ledger.export(), export);
}

/// Found by a new user: a ledger folder that holds only its head witness is a ledger
/// that lost its records, not a missing one.
#[test]
fn a_ledger_reduced_to_its_head_witness_is_an_integrity_error_for_every_command() {
    let ledger = TestLedger::bundled();
    std::fs::remove_dir_all(sled_dir(&ledger)).unwrap();
    std::fs::remove_file(journal(&ledger)).unwrap();
    for args in [&["state"][..], &["verify"], &["export"], &["import", "-"]] {
        let run = ledger.run(args);
        assert_clear_failure(&run, &format!("{args:?}"));
        assert_eq!(run.code, 6, "{args:?}: {}", run.stderr);
        assert!(
            run.error().contains("68 records were committed"),
            "{}",
            run.error()
        );
    }
}

/// Found by a new user: a missing or older head witness is rewritten, and said so.
#[test]
fn a_missing_or_older_head_witness_is_rewritten_and_said() {
    let ledger = TestLedger::bundled();
    let witness = ledger.db.join(pactlog::store::HEAD_FILE);
    let current = std::fs::read_to_string(&witness).unwrap();
    std::fs::remove_file(&witness).unwrap();
    let run = ledger.run(&["verify"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("pactlog.head was missing: rewritten at head 68"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&witness).unwrap(), current);
    let export = ledger.export();
    let record_70: serde_json::Value =
        serde_json::from_str(export.lines().nth(66).unwrap()).unwrap();
    std::fs::write(
        &witness,
        format!("67 {}\n", record_70["hash"].as_str().unwrap()),
    )
    .unwrap();
    let run = ledger.run(&["verify"]);
    assert!(
        run.stderr
            .contains("pactlog.head named record 67, behind the head"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&witness).unwrap(), current);
}

/// Found by a new user: bytes after the journal's last commit that are not a frame
/// are trimmed only when nothing acknowledged goes with them, and the note says
/// what is known about them.
#[test]
fn a_journal_tail_is_trimmed_only_when_nothing_acknowledged_is_lost() {
    // Garbage after the last commit, witness intact: never acknowledged.
    let ledger = TestLedger::bundled();
    let export = ledger.export();
    let path = journal(&ledger);
    let mut bytes = std::fs::read(&path).unwrap();
    let len = bytes.len();
    bytes.extend((0..500u32).map(|i| (i * 7 + 3) as u8));
    std::fs::write(&path, &bytes).unwrap();
    assert_repaired(&ledger, &export, "never acknowledged", "garbage tail");
    assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, len);
    // The same with sled gone: the witness names what the journal holds, so the tail
    // is still an unfinished write and sled is rebuilt whole.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend((0..500u32).map(|i| (i * 7 + 3) as u8));
    std::fs::write(&path, &bytes).unwrap();
    std::fs::remove_dir_all(sled_dir(&ledger)).unwrap();
    let run = ledger.run(&["verify"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("never acknowledged"), "{}", run.stderr);
    assert_eq!(ledger.export(), export);
    // The journal cut inside its last commit and sled gone: the witness says record
    // 71 was committed, so nothing is trimmed and every command says so.
    let ledger = TestLedger::bundled();
    let (path, len) = cut_journal(&ledger, 20);
    std::fs::remove_dir_all(sled_dir(&ledger)).unwrap();
    let run = ledger.run(&["export"]);
    assert_clear_failure(&run, "acknowledged tail lost");
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.error().contains("68 records were committed"),
        "{}",
        run.error()
    );
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len - 20);
    // The witness gone too: nothing can tell, and the note says that.
    std::fs::remove_file(ledger.db.join(pactlog::store::HEAD_FILE)).unwrap();
    let run = ledger.run(&["verify"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("whether it was acknowledged cannot be told"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.starts_with("ok: 67 records"), "{}", run.stdout);
}

/// Found by a new user: `import - -` waited forever on standard input, holding the ledger.
#[test]
fn standard_input_twice_is_a_usage_error() {
    let ledger = TestLedger::bundled();
    let file = ledger.write("one.ndjson", b"");
    for args in [
        &["import", "-", "-"][..],
        &["import", "-", file.to_str().unwrap(), "-"],
    ] {
        let run = ledger.run(args);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert_eq!(run.error(), "`-` (standard input) can be given only once");
    }
}

/// Found by a new user: a sled folder from another ledger, or one holding records the
/// head witness says were never committed, is never trusted over the journal: it is
/// set aside and sled is rebuilt from the journal.
#[test]
fn a_sled_ahead_of_the_journal_is_trusted_only_for_what_was_committed() {
    let statements = |ledger: &TestLedger, who: &str, n: usize| {
        for i in 0..n {
            ledger.ok(&[
                "append",
                "statement_made",
                "--quote",
                &format!("{who}{i}"),
                "--attribution",
                who,
                "--occurred-at",
                "2025-12-03",
            ]);
        }
    };
    // Another ledger's sled, longer and diverging after record 68.
    let other = TestLedger::bundled();
    statements(&other, "x", 3);
    let ledger = TestLedger::bundled();
    statements(&ledger, "y", 2);
    let export = ledger.export();
    std::fs::remove_dir_all(sled_dir(&ledger)).unwrap();
    copy_dir(&sled_dir(&other), &sled_dir(&ledger));
    assert_repaired(
        &ledger,
        &export,
        "differs from the journal's: it is not this ledger's",
        "foreign sled",
    );
    // The same ledger's sled holding records past what was committed (a copy taken
    // later): the extra records are not absorbed.
    let later = TestLedger::bundled();
    let before = TestLedger::new();
    copy_dir(&later.db, &before.db);
    statements(&later, "z", 2);
    let export = before.export();
    std::fs::remove_dir_all(sled_dir(&before)).unwrap();
    copy_dir(&sled_dir(&later), &sled_dir(&before));
    assert_repaired(
        &before,
        &export,
        "says were never committed",
        "sled from later",
    );
}

/// Found by a fresh tester: a frame header's seq or hash changed went unnoticed by
/// `verify`, and `export` then wrote fewer records than it claimed (0 of 69) with exit
/// 0. A header must match its records, and an export never ends short with success.
///
/// Found by a later one: with any byte of the journal changed, `export` wrote nothing
/// at all, so the README's recovery (export, import into a new ledger) could not start
/// although sled held every record. Past the journal's damage, `export` reads sled,
/// checking each record against the hash chain, and says so.
#[test]
fn a_damaged_journal_fails_verify_and_export_reads_sled_past_the_damage() {
    let healthy = TestLedger::bundled().export();
    // Byte 5: the first frame's first seq; byte 30: inside its last record's hash;
    // byte 200: inside its compressed records.
    for at in [5usize, 30, 200] {
        let ledger = bundled_with_journal_byte_changed(at);
        let run = ledger.run(&["verify"]);
        assert_eq!(run.code, 6, "byte {at}: {}", run.stderr);
        let out = ledger.path("e.ndjson");
        let run = ledger.run(&["export", "--out", out.to_str().unwrap()]);
        assert_eq!(run.code, 0, "byte {at}: {} / {}", run.stdout, run.stderr);
        assert!(run.stdout.contains("68 records"), "{}", run.stdout);
        assert!(
            run.stderr.contains("the journal")
                && run
                    .stderr
                    .contains("read from sled instead, each checked against the hash chain"),
            "byte {at}: {}",
            run.stderr
        );
        assert_eq!(std::fs::read_to_string(&out).unwrap(), healthy, "byte {at}");
        // The recovery the README gives: the export imported into a new ledger.
        let new = TestLedger::new();
        new.ok(&["import", out.to_str().unwrap()]);
        assert_eq!(new.export(), healthy);
    }
}

/// Found by a fresh tester: with the journal damaged and sled gone, no command could
/// open the ledger, and `export` wrote nothing, though the journal held intact records
/// before the damage. `export` then reads the journal alone and writes the records
/// that verify, from record 1 to the damage, exiting 6 naming both.
#[test]
fn export_writes_the_journals_verified_records_when_the_ledger_cannot_open() {
    let healthy = TestLedger::bundled().export();
    let ledger = TestLedger::bundled();
    change_journal_byte(&ledger, |len| len - 40);
    std::fs::remove_dir_all(sled_dir(&ledger)).unwrap();
    ledger.fails(&["state", "nato-membership"]);
    let out = ledger.path("e.ndjson");
    let run = ledger.run(&["export", "--out", out.to_str().unwrap()]);
    assert_clear_failure(&run, "copies alone");
    assert_eq!(run.code, 6, "{}", run.stderr);
    let written = std::fs::read_to_string(&out).unwrap();
    let n = written.lines().count();
    assert!((66..68).contains(&n), "the records before the damage: {n}");
    let prefix: String = healthy.lines().take(n).map(|l| format!("{l}\n")).collect();
    assert_eq!(written, prefix);
    assert!(
        run.error().contains(&format!("wrote {n} records to"))
            && run.error().contains("read the copies alone"),
        "{}",
        run.error()
    );
    // The recovery: the file imported into a new ledger verifies.
    let new = TestLedger::new();
    new.ok(&["import", out.to_str().unwrap()]);
    new.ok(&["verify"]);
}

/// Found by a fresh tester: damage in the journal's last frame stops every command
/// (the open checks that frame), and `export` gave nothing, though sled held every
/// record. `export` reads the journal to the damage and sled past it, each record
/// checked, and with every committed record (the head witness) exits 0 and says so.
#[test]
fn export_reads_sled_past_damage_in_the_journals_last_frame() {
    let healthy = TestLedger::bundled().export();
    let ledger = TestLedger::bundled();
    change_journal_byte(&ledger, |len| len - 1);
    ledger.fails(&["state", "nato-membership"]);
    let out = ledger.path("e.ndjson");
    let run = ledger.run(&["export", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("it wrote every record") && run.stderr.contains("from sled"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), healthy);
}

/// Found by a fresh tester: a ledger whose journal `verify` had found damaged still
/// took writes, acknowledged on sled alone. Once `verify` or `export` finds the
/// journal damaged, writes are refused (reads go on) until a `verify` passes.
#[test]
fn writes_stop_once_the_journal_is_found_damaged_until_a_verify_passes() {
    for finder in ["verify", "export"] {
        let ledger = TestLedger::bundled();
        let path = journal(&ledger);
        let whole = std::fs::read(&path).unwrap();
        let mut damaged = whole.clone();
        damaged[200] ^= 0x55;
        std::fs::write(&path, &damaged).unwrap();
        // Not found yet: nothing stops a write (only a whole read finds the damage).
        ledger.register_party("fr", "France");
        let run = ledger.run(&[finder]);
        assert_eq!(
            run.code,
            if finder == "verify" { 6 } else { 0 },
            "{}",
            run.stderr
        );
        let run = ledger.run(&[
            "append",
            "party_registered",
            "--party",
            "de",
            "--name",
            "Germany",
            "--occurred-at",
            "2025-12-01",
        ]);
        assert_clear_failure(&run, "a write after the damage was found");
        assert_eq!(run.code, 6, "{}", run.stderr);
        assert!(
            run.error().contains("this ledger takes no writes"),
            "{}",
            run.error()
        );
        assert!(
            run.error().contains("records 1–66"),
            "names what was found: {}",
            run.error()
        );
        // Reads go on, and say what they stand on (they said nothing).
        let run = ledger.run(&["state", "nato-membership"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stderr.contains("found the journal damaged")
                && run.stderr.contains("reads come from sled alone"),
            "{}",
            run.stderr
        );
        // The journal restored whole (its first frame as it was): verify passes and
        // writes go on.
        let mut restored = std::fs::read(&path).unwrap();
        restored[200] = whole[200];
        std::fs::write(&path, &restored).unwrap();
        ledger.ok_noting(
            &["verify"],
            "the journal verifies again: the ledger takes writes again",
        );
        ledger.register_party("de", "Germany");
        ledger.ok(&["verify"]);
    }
}

/// A record neither copy holds intact: `export` writes every record before it, each
/// verified, keeps the file, and exits 6 naming it.
#[test]
fn a_record_in_neither_copy_ends_the_export_after_the_records_before_it() {
    let healthy = TestLedger::bundled().export();
    let ledger = bundled_with_journal_byte_changed(200);
    with_store(&ledger, |store, _| {
        store.put_record_for_tests(30, None);
    });
    let out = ledger.path("e.ndjson");
    let run = ledger.run(&["export", "--out", out.to_str().unwrap()]);
    assert_clear_failure(&run, "record 30 in neither copy");
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.error().contains("wrote 29 records to")
            && run.error().contains("record 30 is in neither copy"),
        "{}",
        run.error()
    );
    let first_29: String = healthy.lines().take(29).map(|l| format!("{l}\n")).collect();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), first_29);
}

/// Past the journal's damage, sled's copy of a record is checked, not trusted: a
/// changed record there ends the export too (its hash no longer matches).
#[test]
fn a_changed_record_in_sled_past_the_journals_damage_is_not_exported() {
    let healthy = TestLedger::bundled().export();
    let ledger = bundled_with_journal_byte_changed(200);
    let record_30 = healthy
        .lines()
        .nth(29)
        .unwrap()
        .replace("\"seq\":30", "\"seq\":30,\"x\":1");
    with_store(&ledger, |store, _| {
        store.put_record_for_tests(30, Some(record_30.as_bytes()));
    });
    let out = ledger.path("e.ndjson");
    let run = ledger.run(&["export", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.error().contains("record 30 is in neither copy")
            && run.error().contains("sled's copy does not verify"),
        "{}",
        run.error()
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 29);
}

/// Found by a fresh tester: another ledger's longer journal copied in (sled set aside
/// or deleted) passed `verify` and the head witness was rewritten to its head. The
/// witness names a record of this history; a journal without it is refused, and the
/// witness is kept.
#[test]
fn a_journal_from_another_ledger_is_refused_by_the_head_witness() {
    let ours = TestLedger::bundled();
    // The same talks recorded on another day: another history, longer than ours.
    let other = TestLedger::new();
    let talks = crate::common::events_dir().join("russia-ukraine-2025/01-talks.ndjson");
    other
        .at("2025-12-05T12:00:00Z")
        .ok(&["import", talks.to_str().unwrap()]);
    for slug in ["x", "y", "z", "w", "v"] {
        other.register_party(slug, slug);
    }
    let witness = std::fs::read_to_string(ours.db.join("pactlog.head")).unwrap();
    std::fs::copy(journal(&other), journal(&ours)).unwrap();
    std::fs::remove_dir_all(sled_dir(&ours)).unwrap();
    verify_refuses(&ours, "not this ledger's history");
    assert_eq!(
        std::fs::read_to_string(ours.db.join("pactlog.head")).unwrap(),
        witness,
        "the witness is kept as the evidence"
    );
}

/// With the head witness gone, a cut journal tail cannot be told acknowledged or not:
/// it is trimmed, and its bytes kept aside rather than deleted (a fresh tester saw a
/// read-only command delete 3 MB of journal).
#[test]
fn a_tail_trimmed_without_a_witness_is_kept_aside() {
    let ledger = TestLedger::bundled();
    let path = journal(&ledger);
    let len = std::fs::metadata(&path).unwrap().len();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..len as usize - 1]).unwrap();
    std::fs::remove_file(ledger.db.join("pactlog.head")).unwrap();
    std::fs::remove_dir_all(sled_dir(&ledger)).unwrap();
    let run = ledger.run(&["verify"]);
    assert!(run.stderr.contains("kept in"), "{}", run.stderr);
    let kept = std::fs::read(ledger.db.join("journal.trimmed.1")).unwrap();
    let trimmed = std::fs::metadata(&path).unwrap().len() as usize;
    assert_eq!(
        [&bytes[..trimmed], &kept[..]].concat(),
        &bytes[..len as usize - 1],
        "journal and the kept tail are the cut journal"
    );
}

/// Found by a fresh tester: a deleted file under `sled/blobs` (sled keeps large pages
/// there) made every command fail with "IO error: No such file or directory", never
/// repaired. A file of sled's gone is damage like any other: rebuilt from the journal.
#[test]
fn deleted_sled_blob_files_are_rebuilt_from_the_journal() {
    let ledger = TestLedger::new();
    ledger.register_party("a", "A");
    // Quotes of incompressible text, so that sled's pages outgrow its blob threshold.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut text = |n: usize| -> String {
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b'a' + (state % 26) as u8)
            })
            .collect()
    };
    // Pages stay under it while records are small (see `block::BLOCK_BYTES`): each of
    // these is a block of its own, about 35 KiB compressed.
    let lines: Vec<String> = (0..150)
        .map(|_| {
            serde_json::json!({"type": "statement_made", "occurred_at": "2025-11-20",
                "quote": text(60_000), "attribution": "an official"})
            .to_string()
        })
        .collect();
    let file = ledger.write("big.ndjson", lines.join("\n").as_bytes());
    ledger.ok(&["import", file.to_str().unwrap()]);
    let before = ledger.export();
    // Every blob file: some of them are old versions sled no longer reads.
    let blobs: Vec<PathBuf> = std::fs::read_dir(sled_dir(&ledger).join("blobs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(!blobs.is_empty(), "sled wrote blob files");
    for blob in blobs {
        std::fs::remove_file(&blob).unwrap();
    }
    let run = ledger.run(&["verify"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // sled reports a missing blob as a missing file, or (seen under load) panics while
    // opening: either way its files are set aside and rebuilt.
    assert!(
        run.stderr.contains("rebuilt sled from the journal"),
        "{}",
        run.stderr
    );
    assert_eq!(ledger.export(), before);
}

/// Found by a fresh tester: sled's own panic on a truncated data file reached the user
/// as a backtrace before the repair message; and a witness whose hash differs was
/// reported as a count ("69 were committed but the journal and sled hold 69").
#[test]
fn repairs_speak_plainly_and_a_witness_of_another_hash_says_so() {
    let ledger = fresh_bundled();
    let before = ledger.export();
    let db = sled_dir(&ledger).join("db");
    let len = std::fs::metadata(&db).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    file.set_len(len / 3).unwrap();
    drop(file);
    let run = ledger.run(&["verify"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(!run.stderr.contains("backtrace"), "{}", run.stderr);
    assert_eq!(ledger.export(), before);
    let head_file = ledger.db.join("pactlog.head");
    let witness = std::fs::read_to_string(&head_file).unwrap();
    let (seq, hash) = witness.trim().split_once(' ').unwrap();
    let other = format!(
        "{}{}",
        &hash[..63],
        if hash.ends_with('0') { '1' } else { '0' }
    );
    std::fs::write(&head_file, format!("{seq} {other}\n")).unwrap();
    verify_refuses(
        &ledger,
        &format!("record {seq} was committed with hash {other}"),
    );
}

/// Found by a fresh tester: a damaged history block made `verify` fail (exit 6) with
/// "a history block is damaged", naming nothing and repairing nothing, while the next
/// query set sled aside and rebuilt it. A history block is sled's index of the log:
/// `verify` names whose it is and rebuilds sled from the journal, as for every index
/// entry and snapshot; a query does the same.
#[test]
fn a_damaged_history_block_is_named_and_rebuilt_by_verify_as_by_a_query() {
    let ledger = TestLedger::bundled();
    let export = ledger.export();
    let state = ledger.ok(&["state", "nato-membership", "--json"]);
    let damage = || {
        with_store(&ledger, |store, _| {
            let db = store.sled_for_tests();
            let (key, value) = db
                .scan_prefix([pactlog::index::POSTINGS])
                .map(|kv| kv.unwrap())
                .find(|(k, _)| k.windows(15).any(|w| w == b"nato-membership"))
                .unwrap();
            db.insert(key, &value[..value.len() - 3]).unwrap();
        })
    };
    for (n, command) in [
        (1, vec!["verify"]),
        (2, vec!["state", "nato-membership", "--json"]),
    ] {
        damage();
        let run = ledger.run(&command);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stderr.contains("the history of ")
                && run.stderr.contains("nato-membership")
                && run.stderr.contains(&format!(
                    "sled.damaged.{n}; rebuilding sled from the journal"
                )),
            "{}",
            run.stderr
        );
        assert_eq!(ledger.export(), export);
        assert_eq!(ledger.ok(&["state", "nato-membership", "--json"]), state);
    }
}

/// Found by a fresh tester: a registration entry deleted from sled made `state` call a
/// drafted provision unknown (exit 4), and `state` of every provision leave it out,
/// with nothing said. Only its registration lets a record name an entity, so a
/// missing one beside a history is sled's damage: named, set aside, rebuilt. A write
/// naming a provision whose entry is gone is refused as damage too (exit 6, nothing
/// written), not as naming an unknown provision, and the next command rebuilds.
#[test]
fn a_missing_registration_entry_is_named_and_rebuilt_from_the_journal() {
    use pactlog::event::{Kind, Slug};
    let ledger = TestLedger::bundled();
    let export = ledger.export();
    let state = ledger.ok(&["state", "nato-membership", "--json"]);
    let remove = |kind: Kind, slug: &str| {
        with_store(&ledger, |store, _| {
            let key = pactlog::index::registered_key(kind, &Slug::parse(slug).unwrap());
            let removed = store.sled_for_tests().remove(key).unwrap();
            assert!(removed.is_some(), "`{slug}` was registered");
        })
    };
    remove(Kind::Provision, "nato-membership");
    let run = ledger.run(&["state", "nato-membership", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "the registration of provision `nato-membership` is missing from sled's index, yet record"
        ) && run
            .stderr
            .contains("sled.damaged.1; rebuilding sled from the journal"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, state);
    assert_eq!(ledger.export(), export);

    remove(Kind::Provision, "sanctions-relief");
    let stance = [
        "append",
        "position_stated",
        "--provision",
        "sanctions-relief",
        "--party",
        "europe",
        "--stance",
        "supports",
        "--occurred-at",
        "2025-12-02",
        "--summary",
        "s",
    ];
    refused_as_damage(
        &ledger,
        &stance,
        "the registration of provision `sanctions-relief` is missing",
    );
    assert_eq!(ledger.export(), export);
    ledger.ok(&stance);
    assert!(ledger.export().starts_with(&export));

    // `verify --json` says what it repaired before its checks passed; nothing when
    // there was nothing.
    let verdict = |run: &Run| serde_json::from_str::<serde_json::Value>(&run.stdout).unwrap();
    let clean = ledger.run(&["verify", "--json"]);
    assert_eq!(
        verdict(&clean)["repaired"],
        serde_json::json!([]),
        "{}",
        clean.stdout
    );
    remove(Kind::Provision, "nato-membership");
    let run = ledger.run(&["verify", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let verdict = verdict(&run);
    assert_eq!(verdict["ok"], true);
    let repaired = verdict["repaired"].as_array().unwrap();
    assert!(
        repaired.iter().any(|note| {
            let note = note.as_str().unwrap();
            note.contains("registration of provision `nato-membership`")
                && note.contains("sled.damaged.3")
        }),
        "{verdict}"
    );
}

/// `tests/fixtures/ledger-layout-2`: the bundled record imported by the release of
/// layout 2 (parties and actors had no history), and its export then. The first
/// command rebuilds sled from the journal, says so in one line, and the ledger is the
/// same: the same export, `verify` passes, the old files are gone, writes go on.
#[test]
fn a_ledger_of_layout_2_is_upgraded_on_open() {
    let fixture = crate::common::project().join("tests/fixtures/ledger-layout-2");
    let ledger = TestLedger::new();
    copy_dir(&fixture, &ledger.db);
    let run = ledger.run(&["export"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr.lines().collect::<Vec<_>>(),
        ["pactlog: upgraded sled to layout 3, with parties and actors in the history index (66 records rebuilt from the journal)"],
        "{}",
        run.stderr
    );
    let exported = crate::common::project().join("tests/fixtures/ledger-layout-2.export.ndjson");
    assert_eq!(run.stdout, std::fs::read_to_string(exported).unwrap());
    assert!(!ledger.db.join(pactlog::recover::LAYOUT_2_DIR).exists());
    let run = ledger.run(&["verify"]);
    assert_eq!(run.stderr, "");
    ledger.register_party("fr", "France");
    assert_eq!(ledger.run(&["verify"]).stderr, "");
}

/// Found by a fresh tester: with a party's registration entry deleted from sled, a
/// second `party_registered` of the same slug was appended (exit 0), and the journal
/// then failed its own replay. The registration is in the party's history now, so the
/// lost entry is found: the write is refused (exit 6, nothing written), the next
/// command rebuilds, and the duplicate is refused as one.
#[test]
fn a_lost_party_registration_never_lets_a_duplicate_in() {
    use pactlog::event::{Kind, Slug};
    let ledger = TestLedger::bundled();
    let export = ledger.export();
    with_store(&ledger, |store, _| {
        let key = pactlog::index::registered_key(Kind::Party, &Slug::parse("europe").unwrap());
        assert!(store.sled_for_tests().remove(key).unwrap().is_some());
    });
    let again = [
        "append",
        "party_registered",
        "--party",
        "europe",
        "--name",
        "Dup",
        "--occurred-at",
        "2026-03-01",
    ];
    refused_as_damage(
        &ledger,
        &again,
        "the registration of party `europe` is missing",
    );
    assert_eq!(ledger.export(), export);
    let run = ledger.run(&again);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("already registered"), "{}", run.stderr);
    assert_eq!(ledger.export(), export);
    ledger.ok(&["verify"]);
}

/// Found by a fresh tester: with a provision's registration gone, `state` of every
/// provision left it out with nothing said; a registration value cut short was read
/// as "not registered". Both are sled's damage: named, set aside, rebuilt. And a
/// registration that is the head record itself is missed by no check.
#[test]
fn every_way_a_registration_is_lost_is_found() {
    use pactlog::event::{Kind, Slug};
    let ledger = TestLedger::bundled();
    let all = ledger.ok(&["state", "--json"]);
    let one = ledger.ok(&["state", "nato-membership", "--json"]);
    let key = |kind, slug| pactlog::index::registered_key(kind, &Slug::parse(slug).unwrap());
    let nato = key(Kind::Provision, "nato-membership");
    let cases: [(_, _, &[&str], &String, &str); 2] = [
        (
            1,
            None,
            &["state", "--json"],
            &all,
            "is missing from sled's index",
        ),
        (
            2,
            Some(&[1u8; 10][..]),
            &["state", "nato-membership", "--json"],
            &one,
            "does not decode",
        ),
    ];
    for (n, change, command, before, said) in cases {
        with_store(&ledger, |store, _| {
            let db = store.sled_for_tests();
            match change {
                None => db.remove(&nato).unwrap(),
                Some(value) => db.insert(&nato, value).unwrap(),
            };
        });
        let run = ledger.run(command);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stderr.contains("provision `nato-membership`")
                && run.stderr.contains(said)
                && run.stderr.contains(&format!("sled.damaged.{n};")),
            "{}",
            run.stderr
        );
        assert_eq!(&run.stdout, before);
    }
    ledger.ok(&crate::common::APPEND_VATICAN);
    let export = ledger.export();
    with_store(&ledger, |store, _| {
        assert!(store
            .sled_for_tests()
            .remove(key(Kind::Party, "vatican"))
            .unwrap()
            .is_some());
    });
    refused_as_damage(
        &ledger,
        &[
            "append",
            "party_registered",
            "--party",
            "vatican",
            "--name",
            "Dup",
            "--occurred-at",
            "2025-12-04",
        ],
        "the registration of party `vatican` is missing",
    );
    assert_eq!(ledger.export(), export);
}

/// A history block changed inside sled so that it still decodes (one entry's seq
/// replaced by an earlier one, as a stray write would leave it) made `history` show
/// a wrong history with exit 0. Its entries run in seq order from the seq in its key:
/// anything else is damage, and the command rebuilds sled from the journal and
/// answers as before. The second case: a block whose first entry no longer matches
/// its key.
#[test]
fn a_changed_history_block_is_damage_never_a_wrong_history() {
    for case in ["an entry out of order", "a first entry not its key's"] {
        let ledger = TestLedger::bundled();
        let history = ledger.ok(&["history", "nato-membership", "--json"]);
        let export = ledger.export();
        with_store(&ledger, |store, _| {
            let sled = store.sled_for_tests();
            let nato = pactlog::event::Slug::parse("nato-membership").unwrap();
            let prefix = pactlog::index::postings_prefix(pactlog::event::Kind::Provision, &nato);
            let (key, value) = sled
                .scan_prefix(&prefix)
                .next()
                .map(|kv| kv.unwrap())
                .unwrap_or_else(|| panic!("no history block under {prefix:?}"));
            let mut value = value.to_vec();
            assert!(value.len() >= 40, "the block has two entries");
            // Each entry is 12 bytes of valid time and 8 of seq.
            let (from, to) = match case {
                "an entry out of order" => (value.len() - 8, 12),
                _ => (12, value.len() - 8),
            };
            let seq: [u8; 8] = value[to..to + 8].try_into().unwrap();
            value[from..from + 8].copy_from_slice(&seq);
            sled.insert(key, value).unwrap();
        });
        let run = ledger.run(&["history", "nato-membership", "--json"]);
        assert_eq!(run.code, 0, "{case}: {}", run.stderr);
        assert_eq!(run.stdout, history, "{case}");
        assert!(
            run.stderr
                .contains("the history of provision `nato-membership`")
                && run.stderr.contains("rebuilding sled from the journal"),
            "{case}: {}",
            run.stderr
        );
        assert_eq!(ledger.export(), export, "{case}");
        ledger.ok(&["verify"]);
    }
}
