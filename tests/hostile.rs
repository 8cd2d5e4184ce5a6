//! Hostile and broken input through the real binary.
//!
//! Every case runs `pactlog import FILE` (or `append`) against a ledger that already
//! holds the bundled record, and checks four things: the exit code (3, invalid input,
//! unless the case says why another fits), a single `error: …` line on stderr that
//! names file:line and the field where there is one, the ledger unchanged (`export`
//! before and after), and the exact error line against its golden file
//! `snapshots/errors/NN-kind.txt` (the temporary folder shown as `<tmp>`;
//! `UPDATE_SNAPSHOTS=1 cargo test` rewrites them). Input that docs/format.md accepts (a
//! byte-order mark, CRLF, an empty array) is checked to succeed, and its golden
//! holds the `imported …` line.
//!
//! At the end, a bounded fuzz test feeds arbitrary bytes and JSON-ish lines to the
//! library's reader and parser and asserts that nothing panics.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Map, Value};

use crate::common::{TestLedger, NOW};
use crate::snapshots::check;

/// Bundled events used as targets.
const FIRST_PARTY: &str = "43486f68-b576-53da-b14f-96f0dd7e93ea";
const MISATTRIBUTED: &str = "d8bf2560-580b-587c-86fd-ed819b80574a";
const CORRECTION: &str = "af923933-cfc7-5f40-95ba-f7eb10cc03e1";
/// Ids given to new events so that messages naming them are stable.
const NEW_A: &str = "0193a000-0000-7000-8000-00000000000a";
const NEW_B: &str = "0193a000-0000-7000-8000-00000000000b";

/// A good event that the bundled ledger does not hold yet.
/// (New events carry ids: an assigned UUIDv7 has random bits, which would change the
/// head hash from run to run.)
const GOOD: &str = r#"{"type":"party_registered","occurred_at":"2025-12-03","id":"0193a000-0000-7000-8000-000000000001","party":"uk","name":"United Kingdom"}"#;

/// A party_registered line with one field replaced or added.
fn party(extra: &str) -> String {
    format!(r#"{{"type":"party_registered","occurred_at":"2025-12-03","name":"France",{extra}}}"#)
}

/// The error line with the temporary folder replaced by `<tmp>`.
fn stable(ledger: &TestLedger, text: &str) -> String {
    text.trim_end()
        .replace(&ledger.dir.path().display().to_string(), "<tmp>")
}

/// Imports `contents` as `NN-kind.ndjson` into a bundled ledger, expects `code`,
/// one error line naming the file (and `line` when given), an unchanged ledger, and
/// the golden error line. Returns the error line.
fn reject(kind: &str, contents: &[u8], code: i32, line: Option<usize>) -> String {
    let ledger = TestLedger::bundled();
    reject_in(&ledger, kind, contents, code, line)
}

fn reject_in(
    ledger: &TestLedger,
    kind: &str,
    contents: &[u8],
    code: i32,
    line: Option<usize>,
) -> String {
    let before = ledger.export();
    let file = ledger.write(&format!("{kind}.ndjson"), contents);
    let run = ledger.fails(&["import", file.to_str().unwrap()]);
    assert_eq!(run.code, code, "{kind}: {}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{kind}: {}", run.stderr);
    let prefix = match line {
        Some(n) => format!("{}:{n}: ", file.display()),
        None => format!("{}", file.display()),
    };
    assert!(
        run.error().starts_with(&prefix),
        "{kind}: `{}` should start with `{prefix}`",
        run.error()
    );
    assert_eq!(ledger.export(), before, "{kind}: nothing may be appended");
    let message = stable(ledger, &run.stderr);
    check(&format!("errors/{kind}.txt"), &format!("{message}\n"));
    message
}

/// Imports `contents` that docs/format.md accepts; returns the number of new records.
fn accept(kind: &str, contents: &[u8]) -> usize {
    let ledger = TestLedger::bundled();
    let before = ledger.export().lines().count();
    let file = ledger.write(&format!("{kind}.ndjson"), contents);
    let out = ledger.ok(&["import", file.to_str().unwrap()]);
    check(
        &format!("errors/{kind}.txt"),
        &format!("accepted: {}\n", out.trim_end()),
    );
    ledger.ok(&["verify"]);
    ledger.export().lines().count() - before
}

// --- The shape of the file -------------------------------------------------------

#[test]
fn malformed_json() {
    let err = reject(
        "01-malformed-json",
        br#"{"type": "party_registered", "occurred_at" "2025-12-03"}"#,
        3,
        Some(1),
    );
    assert!(
        err.contains("invalid JSON: expected `:` at column"),
        "{err}"
    );
}

#[test]
fn truncated_last_line() {
    let text = format!("{GOOD}\n{}", &party(r#""party":"fr""#)[..40]);
    let err = reject("02-truncated-last-line", text.as_bytes(), 3, Some(2));
    assert!(err.contains("the JSON ends too early"), "{err}");
}

#[test]
fn invalid_utf8() {
    let mut bytes = format!("{GOOD}\n").into_bytes();
    bytes.extend_from_slice(b"{\"type\":\"party_registered\",\"occurred_at\":\"2025-12-03\",\"party\":\"fr\",\"name\":\"Fran\xe7e\"}\n");
    let err = reject("03-invalid-utf8", &bytes, 3, Some(2));
    assert!(
        err.contains("invalid UTF-8 at byte 80 of the line"),
        "{err}"
    );
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let text = format!("\u{feff}{GOOD}\n");
    assert_eq!(accept("04-bom", text.as_bytes()), 1);
}

#[test]
fn crlf_line_ends_are_accepted() {
    let text = format!(
        "# comment\r\n{GOOD}\r\n\r\n{}\r\n",
        party(r#""party":"fr","id":"0193a000-0000-7000-8000-000000000002""#)
    );
    assert_eq!(accept("05-crlf", text.as_bytes()), 2);
}

#[test]
fn nul_bytes() {
    let text = format!("{GOOD}\n{{\"type\":\"party_registered\"\0}}\n");
    let err = reject("06-nul-byte", text.as_bytes(), 3, Some(2));
    assert!(err.contains("a NUL byte at byte 27 of the line"), "{err}");
}

#[test]
fn a_50_mb_line_is_refused_before_it_is_parsed() {
    // The reader stops at MAX_LINE_BYTES (16 MiB): memory stays bounded by it.
    let mut bytes = format!("{GOOD}\n").into_bytes();
    bytes.extend_from_slice(
        br#"{"type":"party_registered","occurred_at":"2025-12-03","party":"fr","name":""#,
    );
    bytes.resize(bytes.len() + (50 << 20), b'x');
    bytes.extend_from_slice(b"\"}\n");
    let err = reject("07-line-50mb", &bytes, 3, Some(2));
    assert!(err.ends_with("line is longer than 16 MiB"), "{err}");
}

#[test]
fn deeply_nested_objects() {
    let depth = 100_000;
    let text = format!(
        r#"{{"type":"party_registered","occurred_at":"2025-12-03","party":"fr","name":"F","source":{}1{}}}"#,
        "{\"a\":".repeat(depth),
        "}".repeat(depth)
    );
    let err = reject("08-deeply-nested-object", text.as_bytes(), 3, Some(1));
    assert!(err.contains("recursion limit exceeded"), "{err}");
}

#[test]
fn deeply_nested_arrays() {
    let depth = 100_000;
    let text = format!("[\n{}{}\n]\n", "[".repeat(depth), "]".repeat(depth));
    let err = reject("09-deeply-nested-array", text.as_bytes(), 3, Some(2));
    assert!(err.contains("recursion limit exceeded"), "{err}");
}

#[test]
fn a_top_level_value_that_is_not_an_object() {
    let text = format!("{GOOD}\n\"party_registered\"\n");
    let err = reject("10-top-level-string", text.as_bytes(), 3, Some(2));
    assert!(
        err.ends_with("expected a JSON object, found a string"),
        "{err}"
    );
}

#[test]
fn an_empty_array_is_zero_events() {
    assert_eq!(accept("11-empty-array", b"# nothing yet\n[]\n"), 0);
}

#[test]
fn an_array_with_a_bad_element_names_its_line() {
    let text = format!("[\n  {GOOD},\n\n  42,\n  {}\n]\n", party(r#""party":"fr""#));
    let err = reject("12-array-bad-element", text.as_bytes(), 3, Some(4));
    assert!(
        err.ends_with("expected a JSON object in the array, found a number"),
        "{err}"
    );
}

#[test]
fn a_repeated_key_is_refused() {
    // serde_json alone keeps the last value: `name` would silently become "Paris".
    let text = format!("{GOOD}\n{}\n", party(r#""party":"fr","name":"Paris""#));
    let err = reject("13-duplicate-key", text.as_bytes(), 3, Some(2));
    assert!(err.contains("the key `name` appears twice"), "{err}");
}

#[test]
fn utf16_input() {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in GOOD.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let err = reject("14-utf16", &bytes, 3, Some(1));
    assert!(err.contains("UTF-16 byte-order mark"), "{err}");
}

// --- Fields and values -------------------------------------------------------------

#[test]
fn a_value_of_the_wrong_type() {
    let text = format!("{GOOD}\n{}\n", party(r#""party":5"#));
    let err = reject("15-wrong-type", text.as_bytes(), 3, Some(2));
    assert!(
        err.ends_with("field `party`: expected a string, found integer `5`"),
        "{err}"
    );
}

#[test]
fn a_string_where_a_list_belongs() {
    let text = r#"{"type":"proposal_tabled","occurred_at":"2025-12-03","proposal":"p","title":"T","parties":"us"}"#;
    let err = reject("16-wrong-type-list", text.as_bytes(), 3, Some(1));
    assert!(
        err.contains("field `parties`: expected a sequence, found string"),
        "{err}"
    );
}

#[test]
fn an_unknown_event_type() {
    let text = r#"{"type":"party_registerd","occurred_at":"2025-12-03","party":"fr","name":"F"}"#;
    let err = reject("17-unknown-type", text.as_bytes(), 3, Some(1));
    assert!(err.contains("(did you mean `party_registered`?)"), "{err}");
}

#[test]
fn an_unknown_field_gets_a_suggestion() {
    let text = format!(
        "{GOOD}\n{}\n",
        party(r#""party":"fr","occured_at":"2025-12-03""#)
    );
    let err = reject("18-unknown-field", text.as_bytes(), 3, Some(2));
    assert!(err.contains("(did you mean `occurred_at`?)"), "{err}");
}

#[test]
fn a_missing_field() {
    let text = r#"{"type":"status_changed","occurred_at":"2025-12-03","status":"agreed"}"#;
    let err = reject("19-missing-field", text.as_bytes(), 3, Some(1));
    assert!(
        err.ends_with("status_changed needs field `provision`"),
        "{err}"
    );
}

#[test]
fn a_slug_with_a_capital() {
    let text = party(r#""party":"France""#);
    let err = reject("20-slug-uppercase", text.as_bytes(), 3, Some(1));
    assert!(
        err.contains("field `party`: slug `France` has the capital `F`"),
        "{err}"
    );
}

#[test]
fn a_slug_with_a_leading_dash() {
    let err = reject(
        "21-slug-leading-dash",
        party(r#""party":"-fr""#).as_bytes(),
        3,
        Some(1),
    );
    assert!(err.contains("cannot start with `-`"), "{err}");
}

#[test]
fn a_slug_too_long() {
    let text = party(&format!(r#""party":"{}""#, "f".repeat(65)));
    let err = reject("22-slug-too-long", text.as_bytes(), 3, Some(1));
    assert!(err.contains("is 65 characters long; at most 64"), "{err}");
}

#[test]
fn a_slug_with_a_cyrillic_look_alike() {
    // `frаnce` with U+0430 CYRILLIC SMALL LETTER A: it looks like `france`.
    let text = party("\"party\":\"fr\u{430}nce\"");
    let err = reject("23-slug-cyrillic", text.as_bytes(), 3, Some(1));
    assert!(err.contains("(U+0430) at character 3"), "{err}");
}

#[test]
fn an_unknown_reference_gets_a_suggestion() {
    let text = r#"{"type":"status_changed","occurred_at":"2025-12-03","provision":"nato-membrship","status":"agreed"}"#;
    let err = reject("24-unknown-reference", text.as_bytes(), 3, Some(1));
    assert!(
        err.ends_with(
            "field `provision`: unknown provision `nato-membrship` (did you mean `nato-membership`?)"
        ),
        "{err}"
    );
}

#[test]
fn a_day_that_does_not_exist() {
    let text = r#"{"type":"party_registered","occurred_at":"2025-02-30","party":"fr","name":"F"}"#;
    let err = reject("25-date-feb-30", text.as_bytes(), 3, Some(1));
    assert!(err.ends_with("2025-02 has days 01 to 28, not 30"), "{err}");
}

#[test]
fn a_month_that_does_not_exist() {
    let text = r#"{"type":"meeting_scheduled","occurred_at":"2025-12-03","meeting":"m","title":"T","place":"P","planned_for":"2025-13-01"}"#;
    let err = reject("26-date-month-13", text.as_bytes(), 3, Some(1));
    assert!(
        err.contains("field `planned_for`: `2025-13-01` is not a date: month 13"),
        "{err}"
    );
}

#[test]
fn an_instant_without_offset() {
    let text = r#"{"type":"party_registered","occurred_at":"2025-12-03T10:00:00","party":"fr","name":"F"}"#;
    let err = reject("27-instant-without-offset", text.as_bytes(), 3, Some(1));
    assert!(err.contains("has no UTC offset"), "{err}");
}

#[test]
fn fields_the_ledger_assigns() {
    let text = format!("{GOOD}\n{}\n", party(r#""party":"fr","seq":69"#));
    let err = reject("28-seq-alone", text.as_bytes(), 3, Some(2));
    assert!(err.contains("a restored record needs all of"), "{err}");
    assert!(
        err.contains("(missing `recorded_at`, `prev_hash`, `hash`)"),
        "{err}"
    );
}

// --- Against the ledger's rules ------------------------------------------------------

#[test]
fn an_id_reused_with_other_content() {
    let text = party(&format!(r#""party":"fr","id":"{FIRST_PARTY}""#));
    let err = reject("29-duplicate-id", text.as_bytes(), 3, Some(1));
    assert!(
        err.ends_with(&format!(
            "id {FIRST_PARTY} is already in the ledger (seq 1) with other content"
        )),
        "{err}"
    );
}

#[test]
fn retracting_an_unknown_event() {
    let text = r#"{"type":"event_retracted","occurred_at":"2025-12-03","target":"0193a000-0000-7000-8000-0000000000ff","reason":"wrong"}"#;
    let err = reject("30-retract-unknown", text.as_bytes(), 3, Some(1));
    assert!(err.contains("field `target`: no event with id"), "{err}");
}

#[test]
fn retracting_twice() {
    let retract = |id: &str| {
        format!(
            r#"{{"type":"event_retracted","occurred_at":"2025-12-03","id":"{id}","target":"{CORRECTION}","reason":"wrong"}}"#
        )
    };
    let text = format!("{}\n{}\n", retract(NEW_A), retract(NEW_B));
    let err = reject("31-retract-twice", text.as_bytes(), 3, Some(2));
    assert!(
        err.contains(&format!("already retracted or superseded by {NEW_A}")),
        "{err}"
    );
    // And an event the bundled correction already superseded.
    let text = format!(
        r#"{{"type":"event_retracted","occurred_at":"2025-12-03","target":"{MISATTRIBUTED}","reason":"x"}}"#
    );
    let err = reject("32-retract-superseded", text.as_bytes(), 3, Some(1));
    assert!(
        err.contains(&format!("superseded by {CORRECTION}")),
        "{err}"
    );
}

#[test]
fn superseding_a_retraction() {
    let text = format!(
        "{}\n{}\n",
        format_args!(
            r#"{{"type":"event_retracted","occurred_at":"2025-12-03","id":"{NEW_A}","target":"{CORRECTION}","reason":"wrong"}}"#
        ),
        party(&format!(r#""party":"fr","supersedes":"{NEW_A}""#))
    );
    let err = reject("33-supersede-retraction", text.as_bytes(), 3, Some(2));
    assert!(
        err.contains(
            "field `supersedes`: event 0193a000-0000-7000-8000-00000000000a is a retraction"
        ),
        "{err}"
    );
}

/// Record 72 as the bundled ledger would store it after `GOOD`, as an object.
fn record_72() -> Map<String, Value> {
    let other = TestLedger::bundled();
    let file = other.write("good.ndjson", GOOD.as_bytes());
    other.ok(&["import", file.to_str().unwrap()]);
    let export = other.export();
    let last = export.lines().last().unwrap();
    serde_json::from_str(last).unwrap()
}

fn rehash(mut record: Map<String, Value>) -> String {
    record.remove("hash");
    let hash = pactlog::chain::hash_hex(&pactlog::chain::canonical(&record));
    record.insert("hash".into(), Value::String(hash));
    serde_json::to_string(&record).unwrap()
}

#[test]
fn a_restored_record_with_a_broken_hash_or_prev_hash() {
    let good = record_72();
    assert_eq!(good["seq"], 69);
    let mut broken = good.clone();
    let hash = broken["hash"].as_str().unwrap().to_string();
    let flipped = format!(
        "{}{}",
        if hash.starts_with('0') { "1" } else { "0" },
        &hash[1..]
    );
    broken.insert("hash".into(), Value::String(flipped));
    let err = reject(
        "34-restored-broken-hash",
        serde_json::to_string(&broken).unwrap().as_bytes(),
        3,
        Some(1),
    );
    assert!(err.contains("record 69 does not match its hash"), "{err}");

    // A prev_hash that is not record 68's, with the record's own hash made to match.
    let mut broken = good.clone();
    broken.insert("prev_hash".into(), Value::String("ab".repeat(32)));
    let err = reject(
        "35-restored-broken-prev-hash",
        rehash(broken).as_bytes(),
        3,
        Some(1),
    );
    assert!(
        err.contains("record 69: `prev_hash` is not the hash of the record before it"),
        "{err}"
    );

    // The untouched record restores (the control case).
    let ledger = TestLedger::bundled();
    let file = ledger.write("69.ndjson", rehash(good).as_bytes());
    ledger.ok(&["import", file.to_str().unwrap()]);
    ledger.ok(&["verify"]);
}

/// Lines in the large import. 50k lines take ~13 s in a debug build; the reliability
/// target of 200k (~65 s debug) runs with `PACTLOG_HOSTILE_LINES=200000`. Memory: the
/// reader streams NDJSON line by line, but the write path stages every record in
/// sled before the head moves, and sled 0.34 keeps the dirty pages in memory (about
/// 5 KB per event in a debug build, see the report in the reliability issue).
fn large_lines() -> usize {
    std::env::var("PACTLOG_HOSTILE_LINES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50_000)
}

#[test]
fn an_error_on_the_last_line_of_a_large_import_appends_nothing() {
    let n = large_lines();
    let mut text = String::with_capacity(n * 90);
    for i in 0..n {
        text.push_str(&format!(
            "{{\"type\":\"party_registered\",\"occurred_at\":\"2025-12-03\",\"party\":\"p{i}\",\"name\":\"P\"}}\n"
        ));
    }
    text.push_str(
        r#"{"type":"party_registered","occurred_at":"2025-12-03","party":"p1","name":"Again"}"#,
    );
    text.push('\n');
    let ledger = TestLedger::bundled();
    let before = ledger.export();
    let file = ledger.write("large.ndjson", text.as_bytes());
    let run = ledger.fails(&["import", file.to_str().unwrap()]);
    assert_eq!(run.code, 3);
    assert_eq!(
        stable(&ledger, run.error()),
        format!(
            // The import appends nothing, so no seq is named (seq 70 would never exist).
            "<tmp>/large.ndjson:{}: party `p1` is already registered (an earlier event of this input)",
            n + 1
        )
    );
    assert_eq!(ledger.export(), before);
    ledger.ok(&["verify"]);
    // The golden stays the same whatever the size.
    check(
        "errors/36-error-on-last-line.txt",
        &format!(
            "{}\n",
            stable(&ledger, &run.stderr).replace(&format!(":{}:", n + 1), ":N+1:")
        ),
    );
}

// --- Where the ledger lives -----------------------------------------------------------

#[test]
fn a_db_path_that_is_a_regular_file() {
    // Exit 1: a storage or file error, not invalid input.
    let ledger = TestLedger::new();
    let file = ledger.write("ledger", b"not a ledger\n");
    assert_eq!(file, ledger.db);
    let input = ledger.write("good.ndjson", GOOD.as_bytes());
    let run = ledger.fails(&["import", input.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert_eq!(std::fs::read(&file).unwrap(), b"not a ledger\n");
    let message = stable(&ledger, &run.stderr);
    assert_eq!(
        message,
        "error: <tmp>/ledger: is a file, not a ledger directory"
    );
    check("errors/37-db-is-a-file.txt", &format!("{message}\n"));
}

/// Whether file permissions stop this process: not when it runs as root (CI
/// containers do), where chmod 000 is no obstacle.
fn permissions_apply(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let probe = dir.join("probe");
    std::fs::create_dir(&probe).unwrap();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o500)).unwrap();
    let blocked = std::fs::write(probe.join("x"), b"").is_err();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::remove_dir_all(&probe).unwrap();
    blocked
}

/// Runs the binary as an unprivileged user when this process is root and `setpriv`
/// can drop to uid 65534; None when neither applies (then the check is skipped).
fn unprivileged(db: &Path, scratch: &Path, args: &[&str]) -> Option<crate::common::Run> {
    let bin = env!("CARGO_BIN_EXE_pactlog");
    let mut command = if permissions_apply(scratch) {
        Command::new(bin)
    } else {
        let probe = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                bin,
                "--version",
            ])
            .env_clear()
            .output()
            .ok()?;
        if !probe.status.success() {
            return None;
        }
        let mut command = Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin]);
        command
    };
    let output = command
        .args(args)
        .env_clear()
        .env("PACTLOG_DB", db)
        .env("PACTLOG_NOW", NOW)
        .env("PACTLOG_LOCK_TIMEOUT", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Some(crate::common::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        args: args.join(" "),
    })
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Lets the unprivileged user reach the temporary folder and read the input.
fn open_up(ledger: &TestLedger) {
    chmod(ledger.dir.path(), 0o755);
}

#[test]
fn a_db_folder_that_cannot_be_read() {
    // Exit 1: the ledger exists but this user may not open it.
    let ledger = TestLedger::bundled();
    let before = ledger.export();
    let input = ledger.write("good.ndjson", GOOD.as_bytes());
    chmod(&input, 0o644);
    open_up(&ledger);
    chmod(&ledger.db, 0o000);
    let run = unprivileged(
        &ledger.db,
        ledger.dir.path(),
        &["import", input.to_str().unwrap()],
    );
    chmod(&ledger.db, 0o700);
    let Some(run) = run else {
        eprintln!("skipped: running as root without setpriv, permissions do not apply");
        return;
    };
    let run = run.fails();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let message = stable(&ledger, &run.stderr);
    assert_eq!(
        message,
        "error: <tmp>/ledger: Permission denied (os error 13)"
    );
    check("errors/38-db-unreadable.txt", &format!("{message}\n"));
    assert_eq!(ledger.export(), before);
}

#[test]
fn a_read_command_on_a_db_folder_that_cannot_be_read() {
    let ledger = TestLedger::bundled();
    open_up(&ledger);
    chmod(&ledger.db, 0o000);
    let run = unprivileged(&ledger.db, ledger.dir.path(), &["verify"]);
    chmod(&ledger.db, 0o700);
    let Some(run) = run else { return };
    let run = run.fails();
    // Today: exit 4 "no ledger at …", which sends the user looking for a missing ledger.
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.error().contains("Permission denied"), "{}", run.stderr);
}

#[test]
fn a_db_under_a_read_only_folder() {
    // Exit 1, and nothing is created.
    let ledger = TestLedger::new();
    let input = ledger.write("good.ndjson", GOOD.as_bytes());
    chmod(&input, 0o644);
    let parent = ledger.path("read-only");
    std::fs::create_dir(&parent).unwrap();
    open_up(&ledger);
    chmod(&parent, 0o555);
    let db = parent.join("ledger");
    let run = unprivileged(&db, ledger.dir.path(), &["import", input.to_str().unwrap()]);
    chmod(&parent, 0o755);
    let Some(run) = run else {
        eprintln!("skipped: running as root without setpriv, permissions do not apply");
        return;
    };
    let run = run.fails();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!db.exists(), "nothing is created");
    let message = stable(&ledger, &run.stderr);
    assert_eq!(
        message,
        "error: <tmp>/read-only/ledger: Permission denied (os error 13)"
    );
    check("errors/39-db-read-only-parent.txt", &format!("{message}\n"));
}

// --- append and stdin -------------------------------------------------------------------

/// Runs `pactlog ARGS` with `stdin` on a bundled ledger, expects `code`, one line,
/// an unchanged ledger and the golden.
fn reject_run(kind: &str, args: &[&str], stdin: &[u8], code: i32) -> String {
    let ledger = TestLedger::bundled();
    let before = ledger.export();
    let run = ledger.at(NOW).stdin(stdin.to_vec()).run(args).fails();
    assert_eq!(run.code, code, "{kind}: {}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{kind}: {}", run.stderr);
    assert_eq!(ledger.export(), before, "{kind}: nothing may be appended");
    let message = stable(&ledger, &run.stderr);
    check(&format!("errors/{kind}.txt"), &format!("{message}\n"));
    message
}

#[test]
fn append_flags_with_a_bad_slug() {
    let err = reject_run(
        "40-append-bad-slug",
        &[
            "append",
            "party_registered",
            "--party",
            "Fr",
            "--name",
            "F",
            "--occurred-at",
            "now",
        ],
        b"",
        3,
    );
    assert!(
        err.contains("--party: slug `Fr` has the capital `F`"),
        "{err}"
    );
}

#[test]
fn append_flags_with_an_unknown_field() {
    let err = reject_run(
        "41-append-unknown-field",
        &[
            "append",
            "party_registered",
            "--party",
            "fr",
            "--nmae",
            "F",
            "--occurred-at",
            "now",
        ],
        b"",
        3,
    );
    assert!(
        err.contains("unknown flag --nmae for party_registered (did you mean `--name`?)"),
        "{err}"
    );
}

#[test]
fn append_stdin_truncated() {
    let err = reject_run(
        "42-append-stdin-truncated",
        &["append", "-"],
        br#"{"type":"#,
        3,
    );
    assert!(
        err.starts_with("error: stdin: the JSON ends too early"),
        "{err}"
    );
}

#[test]
fn append_stdin_with_a_repeated_key() {
    let text = party(r#""party":"fr","party":"de""#);
    let err = reject_run(
        "43-append-stdin-duplicate-key",
        &["append", "-"],
        text.as_bytes(),
        3,
    );
    assert!(err.contains("the key `party` appears twice"), "{err}");
}

#[test]
fn append_with_a_stale_expected_head() {
    // Exit 5: a conflict, the input itself is fine.
    let err = reject_run(
        "44-append-expect-seq",
        &[
            "append",
            "party_registered",
            "--party",
            "fr",
            "--name",
            "F",
            "--expect-seq",
            "67",
            "--occurred-at",
            "now",
        ],
        b"",
        5,
    );
    assert!(
        err.contains("the ledger head is at seq 68, not 67"),
        "{err}"
    );
}

#[test]
fn import_from_stdin_names_stdin_and_the_line() {
    let text = format!("{GOOD}\n{}\n", party(r#""party":"fr","stauts":"x""#));
    let err = reject_run("45-import-stdin", &["import", "-"], text.as_bytes(), 3);
    assert!(
        err.starts_with("error: stdin:2: unknown field `stauts`"),
        "{err}"
    );
}

#[test]
fn append_stdin_with_invalid_utf8() {
    let ledger = TestLedger::bundled();
    let run = ledger
        .at(NOW)
        .stdin(b"{\"type\":\"party_registered\",\"name\":\"\xff\"}".to_vec())
        .run(&["append", "-"])
        .fails();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.error().starts_with("stdin: invalid UTF-8"),
        "{}",
        run.stderr
    );
}

// --- Fuzzing the reader and the parser ---------------------------------------------------

mod fuzz {
    //! Arbitrary bytes and JSON-ish lines through `import::items` and `parse_event`:
    //! errors are fine, panics are not. 2000 cases by default, a few seconds; run
    //! longer with e.g. `PROPTEST_CASES=200000 cargo test --test tests hostile::fuzz`.

    use proptest::prelude::*;
    use serde_json::Value;

    fn config() -> ProptestConfig {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(2000);
        ProptestConfig {
            cases,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// Reads every item of `bytes` and parses each object; returns how many parsed.
    fn read_and_parse(bytes: Vec<u8>) -> usize {
        let mut parsed = 0;
        let items = pactlog::import::items("fuzz".into(), Box::new(std::io::Cursor::new(bytes)));
        for item in items.take(10_000) {
            let Ok(item) = item else { continue };
            assert!(item.at.0.starts_with("fuzz:"), "{}", item.at.0);
            let mut object = item.object;
            if pactlog::event::parse_event(&mut object, &mut || uuid::Uuid::nil()).is_ok() {
                parsed += 1;
            }
        }
        parsed
    }

    /// Pieces of events: real field names and values, broken ones, and JSON punctuation.
    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(r#""type":"#.to_string()),
            Just(r#""party_registered""#.to_string()),
            Just(r#""status_changed""#.to_string()),
            Just(r#""event_retracted""#.to_string()),
            Just(r#""statement_made""#.to_string()),
            Just(r#""occurred_at":"#.to_string()),
            Just(r#""2025-12-03""#.to_string()),
            Just(r#""2025-02-30T10:00:00+02:00""#.to_string()),
            Just(r#""party":"fr""#.to_string()),
            Just(r#""name":"F""#.to_string()),
            Just(r#""provision":"nato-membership""#.to_string()),
            Just(r#""status":"agreed""#.to_string()),
            Just(r#""target":"00000000-0000-0000-0000-000000000001""#.to_string()),
            Just(r#""source":{"outlet":"x","published_at":"#.to_string()),
            Just(r#""seq":1"#.to_string()),
            Just(r#""hash":"00""#.to_string()),
            Just("{".to_string()),
            Just("}".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just(",".to_string()),
            Just(":".to_string()),
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just("# c\n".to_string()),
            Just("\u{feff}".to_string()),
            Just("null".to_string()),
            Just("1e999".to_string()),
            Just("-0".to_string()),
            Just("\"\\ud800\"".to_string()),
            "[a-z_\\-]{0,12}".prop_map(|s| format!("\"{s}\"")),
            "\\PC{0,8}",
        ]
    }

    /// A well-formed event object with one field changed to an arbitrary JSON value.
    fn mutated_event() -> impl Strategy<Value = String> {
        let value = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "\\PC{0,20}".prop_map(Value::String),
            prop::collection::vec("[a-z\\-]{0,6}", 0..3)
                .prop_map(|v| Value::Array(v.into_iter().map(Value::String).collect())),
        ];
        let field = prop_oneof![
            Just("type"),
            Just("occurred_at"),
            Just("id"),
            Just("party"),
            Just("name"),
            Just("source"),
            Just("actor"),
            Just("supersedes"),
            Just("parties"),
            Just("status"),
        ];
        let kind = prop_oneof![
            Just("party_registered"),
            Just("proposal_tabled"),
            Just("status_changed"),
            Just("statement_made"),
            Just("meeting_scheduled"),
            Just("event_retracted"),
        ];
        (kind, field, value).prop_map(|(kind, field, value)| {
            let mut object = serde_json::json!({
                "type": kind, "occurred_at": "2025-12-03", "party": "fr", "name": "F",
                "parties": ["us"], "proposal": "p", "title": "T", "provision": "x",
                "status": "agreed", "quote": "q", "attribution": "a", "meeting": "m",
                "place": "P", "planned_for": "2025-12-04",
                "target": "00000000-0000-0000-0000-000000000001", "reason": "r"
            });
            object[field] = value;
            object.to_string()
        })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            read_and_parse(bytes);
        }

        #[test]
        fn json_ish_lines_never_panic(tokens in prop::collection::vec(token(), 0..40)) {
            read_and_parse(tokens.concat().into_bytes());
        }

        #[test]
        fn mutated_events_never_panic(lines in prop::collection::vec(mutated_event(), 1..6), array in any::<bool>()) {
            let text = if array {
                format!("[\n{}\n]\n", lines.join(",\n"))
            } else {
                lines.join("\n")
            };
            read_and_parse(text.into_bytes());
        }
    }
}

// Files and permissions.

#[test]
fn a_new_ledger_folder_is_readable_only_by_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let ledger = TestLedger::new();
    ledger.ok(&[
        "append",
        "party_registered",
        "--party",
        "us",
        "--name",
        "US",
        "--occurred-at",
        "2025-11-20",
    ]);
    let mode = std::fs::metadata(&ledger.db).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "mode {mode:o}");
}

#[test]
fn importing_a_folder_follows_links_inside_it_and_names_those_out_of_it() {
    let ledger = TestLedger::new();
    let dir = ledger.path("in");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let party = |slug: &str| {
        format!(
            r#"{{"type":"party_registered","occurred_at":"2025-11-20","party":"{slug}","name":"{slug}"}}"#
        )
    };
    std::fs::write(dir.join("a.ndjson"), party("inside")).unwrap();
    std::fs::write(dir.join("sub/b.ndjson"), party("nested")).unwrap();
    let outside = ledger.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("c.ndjson"), party("outside")).unwrap();
    std::os::unix::fs::symlink(outside.join("c.ndjson"), dir.join("link.ndjson")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("linked-folder")).unwrap();
    // Links out of the folder are never followed, and never skipped in silence: the
    // import names each and appends nothing.
    let run = ledger.run(&["import", dir.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let error = run.error();
    assert!(
        error.contains("follows links only inside the folder"),
        "{error}"
    );
    assert!(
        error.contains("link.ndjson -> ") && error.contains("linked-folder -> "),
        "{error}"
    );
    assert!(!ledger.db.exists(), "a refused import created the ledger");
    // Links inside the folder are followed, and a file reached twice is read once.
    std::fs::remove_file(dir.join("link.ndjson")).unwrap();
    std::fs::remove_file(dir.join("linked-folder")).unwrap();
    std::os::unix::fs::symlink(dir.join("a.ndjson"), dir.join("z-again.ndjson")).unwrap();
    std::os::unix::fs::symlink(dir.join("sub"), dir.join("sub-again")).unwrap();
    let out = ledger.ok(&["import", dir.to_str().unwrap()]);
    assert!(
        out.starts_with("imported 2 events (0 already present) from 2 inputs"),
        "{out}"
    );
    let log = ledger.ok(&["log", "--json"]);
    assert!(log.contains("\"inside\"") && log.contains("\"nested\""));
    assert!(!log.contains("\"outside\""));
    std::os::unix::fs::symlink(outside.join("c.ndjson"), dir.join("link.ndjson")).unwrap();
    // A link the user names is read: they named it.
    let out = ledger.ok(&["import", dir.join("link.ndjson").to_str().unwrap()]);
    assert!(out.starts_with("imported 1 event ("), "{out}");
}

/// A tester's case: a quote of 200,000 characters without a space made `state` run
/// for over 30 s (the table's wrapping of one long word grows faster than its
/// length). Text tables show a cell's first 4,000 characters and say how many more
/// there are; `--json` has them all.
#[test]
fn a_very_long_unbroken_quote_is_cut_in_tables_and_whole_in_json() {
    let ledger = TestLedger::bundled();
    let quote = "q".repeat(60_000);
    let event = serde_json::json!({
        "type": "statement_made", "quote": quote, "attribution": "someone",
        "occurred_at": "2025-12-11", "provisions": ["nato-membership"],
        "source": {"outlet": "X"},
    });
    ledger.at(NOW).stdin(event.to_string()).ok(&["append", "-"]);
    for args in [
        &["state", "nato-membership"][..],
        &["history", "nato-membership"],
        &["search", "qqqq"],
    ] {
        let shown = ledger.ok(args);
        // The table wraps the note across lines: read it without the borders.
        let flat: String = shown
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ';' || *c == '-')
            .collect();
        assert!(
            flat.contains("morecharacters;--jsonshowsthemall"),
            "{args:?}: {}",
            &shown[..shown.len().min(2000)]
        );
    }
    let json = crate::common::json(&ledger, &["history", "nato-membership", "--json"]);
    assert!(
        json.to_string().contains(&quote),
        "--json has the whole quote"
    );
}
