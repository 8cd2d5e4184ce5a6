//! Regression tests, each written against a bug planted by hand that the rest of the
//! suite let through (see the comment on each test for the bug it was seen to catch).
//! Every test goes through the real binary.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::common::TestLedger;

const NATO: &str = "nato-membership";
/// The staged misattribution (`examples/staged-correction/01-misattribution.ndjson`, seq 67), superseded by record 68.
const MISATTRIBUTED: &str = "d8bf2560-580b-587c-86fd-ed819b80574a";
/// The correction in `examples/staged-correction/02-correction.ndjson` (seq 68).
const CORRECTION: &str = "af923933-cfc7-5f40-95ba-f7eb10cc03e1";

// ---------------------------------------------------------------------------------
// 1. A forged record whose own hash is right: only the link to the next one breaks.
// ---------------------------------------------------------------------------------

/// THE one place that forges a record in a ledger's storage: rewrites record `seq`
/// with `quote` as its quote and recomputes its own `hash` (RFC 8785 form without
/// `hash`, SHA-256), so the record is consistent in itself and only the `prev_hash`
/// of the record after it gives it away. Every copy of the record that the storage
/// keeps must be forged here (today: its record block in sled, and the journal).
fn forge_quote(ledger: &TestLedger, seq: u64, quote: &str) {
    let store = pactlog::store::Ledger::open(&ledger.db, pactlog::store::Access::Existing).unwrap();
    let stored = store
        .stored_record_for_tests(seq)
        .expect("the record to forge exists");
    let mut object: Map<String, Value> = serde_json::from_slice(&stored).unwrap();
    assert!(
        object.contains_key("quote"),
        "record {seq} is not a statement"
    );
    object.insert("quote".into(), Value::String(quote.into()));
    object.remove("hash");
    let hash = pactlog::chain::hash_hex(&pactlog::chain::canonical(&object));
    object.insert("hash".into(), Value::String(hash));
    let forged = pactlog::chain::canonical(&object);
    store.put_record_for_tests(seq, Some(&forged));
    store.sled_for_tests().flush().unwrap();
    drop(store);
    crate::common::rewrite_journal_record(&ledger.db, seq, forged);
}

/// Planted bug caught: the `prev_hash` link check in `src/verify.rs` disabled.
#[test]
fn verify_catches_a_forged_record_that_rehashes_by_the_broken_link_after_it() {
    let ledger = TestLedger::bundled();
    ledger.ok(&["verify"]);
    // A statement in the middle of the log (not the head, whose hash the head marker holds).
    let seq = ledger
        .export()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["type"] == "statement_made" && r["seq"].as_u64().unwrap() > 10)
        .unwrap()["seq"]
        .as_u64()
        .unwrap();
    const FORGED: &str = "We accept every term, unconditionally.";
    forge_quote(&ledger, seq, FORGED);
    // The forged record is stored canonically and re-hashes to its own hash...
    let export = ledger.export();
    let line = export.lines().nth(seq as usize - 1).unwrap();
    let mut record: Map<String, Value> = serde_json::from_str(line).unwrap();
    assert_eq!(record["quote"], FORGED);
    let hash = record.remove("hash").unwrap();
    assert_eq!(
        pactlog::chain::hash_hex(&pactlog::chain::canonical(&record)),
        hash.as_str().unwrap()
    );
    // ...so only the next record's link names the change.
    let run = ledger.fails(&["verify"]);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert_eq!(
        run.error(),
        format!(
            "record {}: `prev_hash` is not the hash of record {seq}: a record before it was changed, removed or reordered",
            seq + 1
        )
    );
}

// ---------------------------------------------------------------------------------
// 2. An import of several files or of a folder is one write: all or nothing.
// ---------------------------------------------------------------------------------

fn party(slug: &str) -> String {
    format!(
        "{}\n",
        json!({"type": "party_registered", "occurred_at": "2025-12-03", "party": slug, "name": slug})
    )
}

/// A file whose first line is good and whose second names an unknown field.
fn bad_file(slug: &str) -> String {
    format!(
        "{}{}\n",
        party(slug),
        json!({"type": "party_registered", "occurred_at": "2025-12-03", "party": "zz", "nmae": "Z"})
    )
}

fn write(path: &Path, contents: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// Everything a user sees of a ledger's records, or `None` for no ledger at all.
fn seen(ledger: &TestLedger) -> Option<(String, String, String)> {
    if !ledger.db.exists() {
        return None;
    }
    Some((
        ledger.export(),
        ledger.ok(&["log"]),
        ledger.ok(&["log", "--json"]),
    ))
}

/// Runs a failing import and notes in `problems` whatever it changed.
fn failing_import_changes_nothing(
    ledger: &TestLedger,
    paths: &[&Path],
    what: &str,
    problems: &mut Vec<String>,
) {
    let before = seen(ledger);
    let mut args = vec!["import"];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let run = ledger.fails(&args);
    assert_eq!(run.code, 3, "{what}: {}", run.stderr);
    assert!(run.error().contains("nmae"), "{what}: {}", run.error());
    let after = seen(ledger);
    if after != before {
        let count = |s: &Option<(String, String, String)>| s.as_ref().map(|s| s.0.lines().count());
        problems.push(format!(
            "{what}: the ledger changed from {:?} to {:?} records",
            count(&before),
            count(&after)
        ));
    }
}

/// A ledger of each kind: none yet, empty, holding records.
fn ledgers() -> [(&'static str, TestLedger); 3] {
    let empty = TestLedger::new();
    let e = empty.write("empty.ndjson", b"");
    empty.ok(&["import", e.to_str().unwrap()]);
    assert_eq!(empty.export(), "");
    [
        ("new", TestLedger::new()),
        ("empty", empty),
        ("bundled", TestLedger::bundled()),
    ]
}

/// Writes the inputs of each case in `dir` and returns the paths to import.
fn import_case(dir: &Path, case: usize) -> Vec<std::path::PathBuf> {
    let good = dir.join("good.ndjson");
    write(&good, &format!("{}{}", party("uk"), party("fr")));
    // A folder: good files (some in nested folders) sorted before a bad one.
    let folder = dir.join("folder");
    write(&folder.join("1-good.ndjson"), &party("it"));
    write(&folder.join("2-nested/a.jsonl"), &party("es"));
    write(&folder.join("2-nested/deeper/b.ndjson"), &party("pl"));
    write(&folder.join("3-bad.ndjson"), &bad_file("nl"));
    match case {
        // Two files, the good one first.
        0 => {
            let bad = dir.join("bad.ndjson");
            write(&bad, &bad_file("de"));
            vec![good, bad]
        }
        1 => vec![folder],
        // The bad file deep in nested folders, after good ones.
        2 => {
            let nested = dir.join("nested");
            write(&nested.join("a/good.ndjson"), &party("at"));
            write(&nested.join("b/c/good.json"), &format!("[{}]", party("be")));
            write(&nested.join("b/d/bad.ndjson"), &bad_file("ch"));
            vec![nested]
        }
        // A good file, then a folder holding a bad one.
        _ => vec![good, folder],
    }
}

const IMPORT_CASES: [&str; 4] = [
    "two files",
    "a folder",
    "nested folders",
    "a file then a folder",
];

/// Planted bug caught: `src/cli/import.rs` writing each input file on its own.
#[test]
fn an_import_of_files_or_folders_with_one_bad_file_appends_nothing() {
    let mut problems = Vec::new();
    for (case, what) in IMPORT_CASES.iter().enumerate() {
        for (kind, ledger) in ledgers() {
            let paths = import_case(ledger.dir.path(), case);
            let paths: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
            failing_import_changes_nothing(
                &ledger,
                &paths,
                &format!("{kind} ledger, {what}"),
                &mut problems,
            );
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The good files alone are good: the bad file was the only reason.
    for (kind, ledger) in ledgers() {
        let paths = import_case(ledger.dir.path(), 3);
        std::fs::remove_file(paths[1].join("3-bad.ndjson")).unwrap();
        let args = [
            "import",
            paths[0].to_str().unwrap(),
            paths[1].to_str().unwrap(),
        ];
        let out = ledger.ok(&args);
        assert!(out.starts_with("imported 5 events"), "{kind}: {out}");
        ledger.ok(&["verify"]);
    }
}

// ---------------------------------------------------------------------------------
// 3. `--expect-seq` on every writing path: below and above the head fail, at succeeds.
// ---------------------------------------------------------------------------------

fn head(ledger: &TestLedger) -> u64 {
    ledger.export().lines().count() as u64
}

/// One writing path: runs it with `--expect-seq N` (its own way) and returns the run.
type Write<'a> = dyn Fn(&TestLedger, u64, usize) -> crate::common::Run + 'a;

fn check_expect_seq(ledger: &TestLedger, what: &str, write: &Write) {
    for (i, (expected, ok)) in [(-1i64, false), (1, false), (0, true)]
        .into_iter()
        .enumerate()
    {
        let at = head(ledger);
        let before = ledger.export();
        let claimed = (at as i64 + expected) as u64;
        let run = write(ledger, claimed, i);
        if ok {
            assert_eq!(run.code, 0, "{what} at the head {at}: {}", run.stderr);
            assert_eq!(head(ledger), at + 1, "{what}: one record appended");
        } else {
            assert_eq!(
                run.code, 5,
                "{what} with --expect-seq {claimed}, head {at}: {}{}",
                run.stdout, run.stderr
            );
            let run = run.fails();
            assert!(
                run.error()
                    .contains(&format!("head is at seq {at}, not {claimed}")),
                "{what}: {}",
                run.error()
            );
            assert_eq!(ledger.export(), before, "{what}: the ledger changed");
        }
    }
}

fn status_flags(i: usize) -> Vec<String> {
    let status = ["contested", "agreed_in_principle", "agreed"][i];
    [
        "status_changed",
        "--provision",
        NATO,
        "--status",
        status,
        "--occurred-at",
        "2025-12-05",
    ]
    .map(String::from)
    .to_vec()
}

fn statement(what: &str, i: usize) -> String {
    json!({"type": "statement_made", "occurred_at": "2025-12-06", "quote": format!("{what} {i}"),
        "attribution": "a diplomat", "provisions": [NATO], "source": {"outlet": "Test Wire"}})
    .to_string()
}

/// Planted bugs caught: the `!=` check in `src/append.rs` turned into `>`; the check
/// ignored for `import` (expect_seq not passed on); ignored for `append -`.
#[test]
fn expect_seq_below_at_and_above_the_head_on_every_writing_path() {
    let ledger = TestLedger::bundled();
    let s = |n: u64| n.to_string();
    // `append TYPE --flags`, with --expect-seq before TYPE.
    check_expect_seq(&ledger, "append TYPE (flag first)", &|l, n, i| {
        let mut args = vec!["append".to_string(), "--expect-seq".into(), s(n)];
        args.extend(status_flags(i));
        l.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    });
    // `append TYPE --flags`, with --expect-seq among the event's flags.
    check_expect_seq(&ledger, "append TYPE (flag last)", &|l, n, i| {
        let mut args = vec!["append".to_string()];
        args.extend(status_flags(i));
        args.extend(["--expect-seq".into(), s(n)]);
        l.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    });
    // `append -`: JSON on stdin.
    check_expect_seq(&ledger, "append -", &|l, n, i| {
        l.at(crate::common::NOW).stdin(statement("stdin", i)).run(&[
            "append",
            "--expect-seq",
            &s(n),
            "-",
        ])
    });
    // `import FILE`.
    check_expect_seq(&ledger, "import FILE", &|l, n, i| {
        let file = l.write(&format!("one-{i}.ndjson"), statement("file", i).as_bytes());
        l.run(&["import", "--expect-seq", &s(n), file.to_str().unwrap()])
    });
    // `import -`.
    check_expect_seq(&ledger, "import -", &|l, n, i| {
        l.at(crate::common::NOW)
            .stdin(statement("import stdin", i))
            .run(&["import", "--expect-seq", &s(n), "-"])
    });
    // `retract`: each try retracts a different event of the talks.
    let targets: Vec<String> = ledger
        .export()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["type"] == "statement_made")
        .map(|r| r["id"].as_str().unwrap().to_string())
        .take(3)
        .collect();
    check_expect_seq(&ledger, "retract", &|l, n, i| {
        l.run(&[
            "retract",
            &targets[i],
            "--reason",
            "test",
            "--expect-seq",
            &s(n),
            "--occurred-at",
            "now",
        ])
    });
    // On an empty ledger the head is 0; on a missing one too, and a failure creates nothing.
    let missing = TestLedger::new();
    let file = missing.write("p.ndjson", party("p").as_bytes());
    let run = missing.fails(&["import", "--expect-seq", "1", file.to_str().unwrap()]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(!missing.db.exists(), "a failed import created the ledger");
    let e = missing.write("empty.ndjson", b"");
    missing.ok(&["import", e.to_str().unwrap()]);
    let run = missing.fails(&["import", "--expect-seq", "1", file.to_str().unwrap()]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert_eq!(missing.export(), "");
    missing.ok(&["import", "--expect-seq", "0", file.to_str().unwrap()]);
    assert_eq!(head(&missing), 1);
    ledger.ok(&["verify"]);
}

// ---------------------------------------------------------------------------------
// 4. CSV export: no user-controlled cell may start like a spreadsheet formula.
// ---------------------------------------------------------------------------------

/// What a spreadsheet runs as a formula when a cell starts with it (a carriage
/// return too, which the ledger refuses at input: see `edges.rs`).
const FORMULA_STARTS: [char; 5] = ['=', '+', '-', '@', '\t'];

/// The data cells of a CSV export (the header left out).
fn csv_cells(csv: &str) -> Vec<String> {
    let body = csv.strip_prefix('\u{feff}').expect("a byte-order mark");
    csv::Reader::from_reader(body.as_bytes())
        .records()
        .flat_map(|r| r.unwrap().iter().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// Planted bug caught: the guard in `src/cli/publish.rs` reduced to `=` only.
#[test]
fn csv_export_neutralises_every_formula_start_in_every_text_column() {
    let ledger = TestLedger::new();
    let mut events = vec![
        json!({"type": "party_registered", "occurred_at": "2025-11-20", "party": "us", "name": "US"}),
        json!({"type": "proposal_tabled", "occurred_at": "2025-11-20", "proposal": "plan", "title": "Plan", "parties": ["us"]}),
    ];
    // Every text a user gives that a CSV export shows, for each formula start.
    let fields = [
        "title", "text", "amended", "summary", "note", "outlet", "url", "quote", "attr", "stance",
        "outcome", "reason", "dropped",
    ];
    for (i, c) in FORMULA_STARTS.iter().enumerate() {
        let v = |field: &str| format!("{c}{field}{i}");
        let p = format!("p{i}");
        let source = json!({"outlet": v("outlet"), "url": v("url")});
        let quote_id = format!("00000000-0000-7000-8000-00000000010{i}");
        events.extend([
            json!({"type": "provision_drafted", "occurred_at": "2025-11-21", "provision": p, "proposal": "plan",
                "title": v("title"), "text": v("text")}),
            json!({"type": "status_changed", "occurred_at": "2025-11-22", "provision": p, "status": "contested",
                "note": v("note"), "source": source}),
            json!({"type": "statement_made", "occurred_at": "2025-11-22", "quote": v("quote"), "attribution": v("attr"),
                "provisions": [p], "id": quote_id}),
            json!({"type": "position_stated", "occurred_at": "2025-11-22", "provision": p, "party": "us",
                "stance": "supports", "summary": v("stance")}),
            json!({"type": "meeting_held", "occurred_at": "2025-11-23", "meeting": format!("m{i}"),
                "place": "Geneva", "provisions": [p], "outcome": v("outcome")}),
            json!({"type": "event_retracted", "occurred_at": "2025-11-24", "target": quote_id, "reason": v("reason")}),
            json!({"type": "provision_amended", "occurred_at": "2025-11-25", "provision": p, "proposal": "plan",
                "text": v("amended"), "summary": v("summary")}),
        ]);
    }
    // One provision dropped, so that the provisions table shows a dropped text too.
    events.push(json!({"type": "provision_drafted", "occurred_at": "2025-11-21", "provision": "gone", "proposal": "plan",
        "title": "Gone", "text": "=dropped"}));
    events.push(json!({"type": "provision_dropped", "occurred_at": "2025-11-26", "provision": "gone", "proposal": "plan",
        "reason": "@dropped"}));
    let input: String = events.iter().map(|e| format!("{e}\n")).collect();
    let file = ledger.write("formulas.ndjson", input.as_bytes());
    ledger.ok(&["import", file.to_str().unwrap()]);

    let mut exports = vec![
        ledger.ok(&["export", "--format", "csv"]),
        ledger.ok(&["export", "--format", "csv", "--at", "2025-11-24"]),
        ledger.ok(&["export", "--format", "csv", "--provision", "gone"]),
    ];
    for i in 0..FORMULA_STARTS.len() {
        exports.push(ledger.ok(&["export", "--format", "csv", "--provision", &format!("p{i}")]));
    }
    let cells: Vec<String> = exports.iter().flat_map(|csv| csv_cells(csv)).collect();
    let dangerous: Vec<&String> = cells
        .iter()
        .filter(|c| c.starts_with(FORMULA_STARTS))
        .collect();
    assert!(
        dangerous.is_empty(),
        "cells a spreadsheet runs: {dangerous:?}"
    );
    // Each text is there, neutralised with a leading apostrophe, in some cell.
    for (i, c) in FORMULA_STARTS.iter().enumerate() {
        for field in fields {
            if field == "dropped" {
                continue;
            }
            let neutral = format!("'{c}{field}{i}");
            assert!(
                cells.iter().any(|cell| cell.starts_with(&neutral)),
                "no cell starts with {neutral:?}: {cells:?}"
            );
        }
    }
    assert!(cells.iter().any(|c| c == "'=dropped"), "{cells:?}");
    assert!(cells.iter().any(|c| c == "'@dropped"), "{cells:?}");
}

// ---------------------------------------------------------------------------------
// 6. `history --known-at seq:N` on the bundled record: the correction is record 68.
// ---------------------------------------------------------------------------------

/// Planted bug caught: `<` for `<=` at the removal check of the record-time cut
/// (`query::removals` in `src/query.rs`).
#[test]
fn history_known_at_the_correction_marks_the_misattributed_quote_removed() {
    let ledger = TestLedger::bundled();
    // The seq numbers this test relies on.
    let log: Vec<Value> = ledger
        .export()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(log.len(), 68);
    assert_eq!(log[66]["id"], MISATTRIBUTED);
    assert_eq!(log[67]["id"], CORRECTION);
    assert_eq!(log[67]["supersedes"], MISATTRIBUTED);
    assert_ne!(log[66]["recorded_at"], log[67]["recorded_at"]);

    let entry = |known_at: &str| -> (Value, usize) {
        let history = crate::common::json(
            &ledger,
            &["history", NATO, "--known-at", known_at, "--json"],
        );
        let entries = history.as_array().unwrap().clone();
        let quote = entries
            .iter()
            .find(|e| e["id"] == MISATTRIBUTED)
            .expect("the misattributed quote is in the history")
            .clone();
        (quote, entries.len())
    };
    let (quote, n70) = entry("seq:67");
    assert_eq!(quote["retracted"], false, "{quote}");
    assert_eq!(quote["retracted_by"], Value::Null, "{quote}");
    let (quote, n71) = entry("seq:68");
    assert_eq!(quote["retracted"], true, "{quote}");
    assert_eq!(quote["retracted_by"], CORRECTION, "{quote}");
    assert_eq!(n71, n70 + 1, "the correction itself joins the history");

    // The human table says the same.
    let short = &CORRECTION[..8];
    let before = ledger.ok(&["history", NATO, "--known-at", "seq:67"]);
    assert!(!before.contains(&format!("removed by {short}")), "{before}");
    let after = ledger.ok(&["history", NATO, "--known-at", "seq:68"]);
    assert!(after.contains("removed by"), "{after}");
    assert!(after.contains(short), "{after}");
    assert!(after.contains("(seq 68)"), "{after}");
}

/// Pinned (issue 13, fixed on main): a statement's correction that also drops the
/// meeting the statement named removes two fields with one superseding event; the diff
/// paired the corrected statement with the meeting's removal. The statement is one
/// `corrected` row (who said it, member by member) and the meeting stays `removed`.
#[test]
fn a_statement_correction_that_drops_its_meeting_pairs_with_the_statement() {
    let ledger = TestLedger::new();
    let first = ledger.write(
        "first.ndjson",
        br#"{"type":"party_registered","occurred_at":"2025-01-01","party":"us","name":"US"}
{"type":"actor_registered","occurred_at":"2025-01-01","actor":"amb","name":"Ambassador","party":"us"}
{"type":"proposal_tabled","occurred_at":"2025-01-02","proposal":"plan","title":"Plan","parties":["us"]}
{"type":"provision_drafted","occurred_at":"2025-01-02","provision":"ban","proposal":"plan","title":"Ban","text":"A ban."}
{"type":"meeting_held","occurred_at":"2025-01-03","meeting":"talks","place":"Geneva"}
{"type":"statement_made","occurred_at":"2025-01-04","id":"11111111-1111-4111-8111-111111111111","quote":"No ban.","actor":"amb","meeting":"talks","provisions":["ban"]}
"#,
    );
    let fix = ledger.write(
        "fix.ndjson",
        br#"{"type":"statement_made","occurred_at":"2025-01-04","id":"22222222-2222-4222-8222-222222222222","quote":"No ban.","attribution":"an unnamed official","provisions":["ban"],"supersedes":"11111111-1111-4111-8111-111111111111"}"#,
    );
    ledger.ok(&["import", first.to_str().unwrap()]);
    ledger.ok(&["import", fix.to_str().unwrap()]);
    let diff = crate::common::json(
        &ledger,
        &[
            "diff",
            "ban",
            "--from",
            "2025-01-05",
            "--to",
            "2025-01-05",
            "--from-known-at",
            "seq:6",
            "--json",
        ],
    );
    let changes: Vec<(String, String)> = diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["change"].as_str().unwrap().to_string(),
                c["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("removed".to_string(), "meeting/talks".to_string()),
            (
                "corrected".to_string(),
                "statement/22222222-2222-4222-8222-222222222222".to_string()
            ),
        ],
        "{diff}"
    );
    let corrected = &diff["changes"][1]["fields"];
    assert_eq!(corrected[0]["member"], "actor", "{corrected}");
    assert_eq!(corrected[0]["from"], "amb", "{corrected}");
    assert_eq!(corrected[1]["to"], "an unnamed official", "{corrected}");
}

// ---------------------------------------------------------------------------------
// The two-thread import: the first error in input order is the answer.
// ---------------------------------------------------------------------------------

/// An import parses on one thread and checks against the ledger on another. Caught:
/// a parse error far down the file reported ahead of a ledger error above it, and an
/// input that stops without its end committing what came before it.
#[test]
fn an_import_reports_its_first_bad_line_whichever_thread_finds_it() {
    let ledger = TestLedger::new();
    ledger.register_party("p", "P");
    ledger.ok(&[
        "append",
        "actor_registered",
        "--actor",
        "a",
        "--name",
        "A",
        "--party",
        "p",
        "--occurred-at",
        "2025-11-01",
    ]);
    let before = ledger.export();
    let statement = |n: usize, actor: &str| {
        json!({"type": "statement_made", "occurred_at": "2025-11-20T00:00:00Z", "quote": format!("q{n}"),
            "actor": actor})
        .to_string()
    };
    // Line 300 names an unregistered actor (found by the stage, on the ledger); line
    // 900 is not JSON (found while parsing, far ahead of the stage).
    let mut lines: Vec<String> = (1..=1000).map(|n| statement(n, "a")).collect();
    lines[299] = statement(300, "nobody");
    lines[899] = "{not json".into();
    let file = ledger.write("mixed.ndjson", (lines.join("\n") + "\n").as_bytes());
    let run = ledger.fails(&["import", file.to_str().unwrap()]);
    assert!(run.stderr.contains("mixed.ndjson:300:"), "{}", run.stderr);
    assert_eq!(
        ledger.export(),
        before,
        "nothing of the failed import was kept"
    );
    // The other way round: the parse error comes first.
    lines[299] = "{not json".into();
    lines[899] = statement(900, "nobody");
    let file = ledger.write("mixed.ndjson", (lines.join("\n") + "\n").as_bytes());
    let run = ledger.fails(&["import", file.to_str().unwrap()]);
    assert!(run.stderr.contains("mixed.ndjson:300:"), "{}", run.stderr);
    assert_eq!(ledger.export(), before);
}

/// Two events of one input with one id and other content: the message says the first
/// is earlier in this input, not "already in the ledger" (a fresh tester was sent
/// looking for seq 301 in a ledger of 200 records).
#[test]
fn a_duplicate_id_within_one_input_is_said_to_be_in_that_input() {
    let ledger = TestLedger::new();
    ledger.register_party("a", "A");
    let before = ledger.export();
    let id = "0190a5a0-0000-7000-8000-000000000001";
    let lines = [
        json!({"type": "party_registered", "party": "b", "name": "B", "occurred_at": "2025-11-20", "id": id}),
        json!({"type": "party_registered", "party": "c", "name": "C", "occurred_at": "2025-11-20", "id": id}),
    ]
    .map(|v| v.to_string())
    .join("\n");
    // Imports `text` as file `name`: refused, saying `said`, the ledger unchanged.
    let refused = |name: &str, text: &str, said: &str| {
        let file = ledger.write(name, text.as_bytes());
        let run = ledger.fails(&["import", file.to_str().unwrap()]);
        assert!(run.stderr.contains(said), "{}", run.stderr);
        assert_eq!(ledger.export(), before);
    };
    refused(
        "dup.ndjson",
        &lines,
        &format!("dup.ndjson:2: id {id} is already given to an earlier event of this input (it would be seq 2) with other content"),
    );
    // The id of the head record (committed): that one is in the ledger.
    let head: Value = serde_json::from_str(before.lines().last().unwrap()).unwrap();
    let head_id = head["id"].as_str().unwrap();
    let line = json!({"type": "party_registered", "party": "z", "name": "Z", "occurred_at": "2025-11-20", "id": head_id});
    refused(
        "head.ndjson",
        &line.to_string(),
        &format!("id {head_id} is already in the ledger (seq 1) with other content"),
    );
}

/// Messages a fresh tester found short: an error inside a one-line JSON array names the
/// element, a one-line array cut short says it ends early, and two objects given to
/// `append -` say that one is expected and what reads many.
#[test]
fn input_errors_point_at_the_element_and_the_command_that_fits() {
    let ledger = TestLedger::new();
    ledger.register_party("a", "A");
    let before = ledger.export();
    let array = r#"[{"type":"party_registered","party":"b","name":"B","occurred_at":"2025-11-20"},{"type":"party_registered","party":"c","name":"C","occurred_at":"2025-11-20","colour":"red"}]"#;
    let file = ledger.write("arr.json", array.as_bytes());
    let run = ledger.fails(&["import", file.to_str().unwrap()]);
    assert!(
        run.stderr
            .contains("arr.json:1 (element 2 of the array): unknown field `colour`"),
        "{}",
        run.stderr
    );
    let cut = ledger.write("cut.json", &array.as_bytes()[..60]);
    let run = ledger.fails(&["import", cut.to_str().unwrap()]);
    assert!(
        run.stderr.contains("the JSON ends too early"),
        "{}",
        run.stderr
    );
    let two = r#"{"type":"party_registered","party":"b","name":"B","occurred_at":"2025-11-20"} {"type":"party_registered","party":"c","name":"C","occurred_at":"2025-11-20"}"#;
    let run = ledger
        .at(crate::common::NOW)
        .stdin(two)
        .run(&["append", "-"])
        .fails();
    assert!(
        run.stderr.contains("more than one JSON value")
            && run.stderr.contains("`pactlog import -`"),
        "{}",
        run.stderr
    );
    assert_eq!(ledger.export(), before);
}

// ---------------------------------------------------------------------------------
// 7. Many small writes of late reports on one provision: the snapshots they patch
//    must still agree with a replay of the log.
// ---------------------------------------------------------------------------------

/// Caught a refresh that folded the write's own events from memory (a speed change
/// that was reverted): after 40 CLI imports of 1–40 `status_changed` events each at
/// random 2025 valid times, `state` counted 8 events fewer than the log holds and
/// `verify` found a damaged snapshot (and repaired it, exit 0). The suite's property
/// tests, in process, let it through.
#[test]
fn many_small_writes_of_late_reports_leave_snapshots_that_verify_untouched() {
    let ledger = TestLedger::bundled();
    // A fixed linear congruential generator: the same files on every run.
    let mut state: u64 = 12345;
    let mut next = |k: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % k
    };
    let statuses = [
        "contested",
        "under_negotiation",
        "agreed_in_principle",
        "agreed",
        "rejected",
    ];
    let mut total = 0;
    for i in 0..40 {
        let size = [1, 5, 40][next(3) as usize];
        let mut lines = String::new();
        for _ in 0..size {
            let event = json!({
                "type": "status_changed",
                "provision": NATO,
                "status": statuses[next(5) as usize],
                "occurred_at": format!(
                    "2025-{:02}-{:02}T{:02}:{:02}:00Z",
                    1 + next(12),
                    1 + next(28),
                    next(24),
                    next(60)
                ),
                "source": {"outlet": format!("L{i}")},
            });
            lines.push_str(&format!("{event}\n"));
        }
        total += size;
        let file = ledger.write(&format!("late-{i}.ndjson"), lines.as_bytes());
        ledger.ok(&["-q", "import", file.to_str().unwrap()]);
    }
    let counted = |ledger: &TestLedger| {
        crate::common::json(ledger, &["state", NATO, "--json"])["events"]
            .as_u64()
            .unwrap()
    };
    let before = counted(&ledger);
    let verified = verified_untouched(&ledger);
    let snapshots: u64 = verified
        .split(" snapshot")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(snapshots >= 1, "the writes made snapshots: {}", verified);
    // Every event of the provision counts: the bundled ones and the `total` added.
    let fresh = TestLedger::new();
    let export = ledger.write("all.ndjson", ledger.export().as_bytes());
    fresh.ok(&["import", export.to_str().unwrap()]);
    assert_eq!(before, counted(&fresh), "{total} late reports added");
}

/// The same reverted refresh, seen by a tester: 257 reports on one provision at one
/// instant, then one a day later, and `state` counted one event fewer than the
/// ledger holds (or said the provision had no draft), and `verify` repaired.
#[test]
fn a_snapshot_among_many_events_at_one_instant_counts_them_all() {
    let ledger = TestLedger::new();
    let setup = [
        json!({"type": "party_registered", "party": "a", "name": "A", "occurred_at": "2025-01-01"}),
        json!({"type": "proposal_tabled", "proposal": "p", "title": "P", "parties": ["a"], "occurred_at": "2025-01-01"}),
        json!({"type": "provision_drafted", "provision": "x", "proposal": "p", "title": "X", "text": "T", "occurred_at": "2025-01-01"}),
    ];
    let setup: String = setup.iter().map(|event| format!("{event}\n")).collect();
    let file = ledger.write("setup.ndjson", setup.as_bytes());
    ledger.ok(&["-q", "import", file.to_str().unwrap()]);
    let lines: String = (0..257)
        .map(|i| {
            format!(
                "{}\n",
                json!({"type": "status_changed", "provision": "x", "status": "contested",
                       "occurred_at": "2025-12-05", "source": {"outlet": format!("o{i}")}})
            )
        })
        .collect();
    let file = ledger.write("same-instant.ndjson", lines.as_bytes());
    ledger.ok(&["-q", "import", file.to_str().unwrap()]);
    ledger.ok(&[
        "append",
        "status_changed",
        "--provision",
        "x",
        "--status",
        "contested",
        "--occurred-at",
        "2025-12-06",
        "--source-outlet",
        "late",
    ]);
    let state = crate::common::json(&ledger, &["state", "x", "--json"]);
    assert_eq!(state["events"], 259, "the draft, 257 reports and one more");
    verified_untouched(&ledger);
}

/// `verify`'s report, which must pass with nothing to repair (no word on stderr).
fn verified_untouched(ledger: &TestLedger) -> String {
    let run = ledger.run(&["verify"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.is_empty(),
        "verify had to repair: {}",
        run.stderr
    );
    run.stdout
}

/// A write of several chunks (1,000 records each) refers back to the chunk just
/// written, whose sled batch may still be being applied: a retraction, a correction
/// and an exact repeat of events of that chunk, and of a chunk before it. Every
/// lookup finds them, the write verifies, and a repeat with other content is refused
/// naming the earlier event of the input.
#[test]
fn a_write_refers_back_to_the_chunk_it_has_just_written() {
    let ledger = TestLedger::bundled();
    let id = |n: usize| format!("0190cccc-0000-7000-8000-{n:012}");
    let status = |n: usize, status: &str| {
        json!({
            "id": id(n), "type": "status_changed", "provision": NATO, "status": status,
            "occurred_at": format!("2025-03-{:02}T{:02}:{:02}:00Z", 1 + n % 28, n % 24, n % 60),
            "source": {"outlet": format!("O{n}")},
        })
    };
    let mut lines: Vec<Value> = (0..3500).map(|n| status(n, "contested")).collect();
    // In the second chunk: retract an event of the first, correct another, repeat a third.
    lines[1001] = json!({
        "id": id(1001), "type": "event_retracted", "target": id(990),
        "occurred_at": "2025-04-01", "reason": "misreported",
    });
    let mut correction = status(1002, "agreed");
    correction["supersedes"] = id(995).into();
    lines[1002] = correction;
    lines[1003] = lines[998].clone();
    // In the fourth: the same, reaching back to the first chunk and the third.
    lines[3001] = json!({
        "id": id(3001), "type": "event_retracted", "target": id(10),
        "occurred_at": "2025-04-02", "reason": "misreported",
    });
    lines[3002] = lines[2999].clone();
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let file = ledger.write("chunks.ndjson", text.as_bytes());
    let out = ledger.ok(&["import", file.to_str().unwrap()]);
    assert!(out.contains("2 already present"), "{out}");
    verified_untouched(&ledger);
    let history = crate::common::json(&ledger, &["history", NATO, "--json"]).to_string();
    for n in [990, 995, 10] {
        assert!(history.contains(&id(n)), "{n} is in the history");
    }
    let export = ledger.export();
    assert!(export.contains(&id(1001)) && export.contains(&id(3001)));
    // The same id with other content, one chunk after its first use: refused, by line.
    let mut clash: Vec<Value> = (5000..6200).map(|n| status(n, "contested")).collect();
    clash[1100] = status(5150, "rejected");
    let text: String = clash.iter().map(|l| format!("{l}\n")).collect();
    let file = ledger.write("clash.ndjson", text.as_bytes());
    let before = ledger.export();
    let run = ledger.fails(&["import", file.to_str().unwrap()]);
    assert!(
        run.stderr.contains(":1101:")
            && run
                .stderr
                .contains("given to an earlier event of this input"),
        "{}",
        run.stderr
    );
    assert_eq!(ledger.export(), before, "a refused import writes nothing");
}
