//! The commands of docs/commands.md (SPEC §5 as first written) through the real binary on real ledgers.

use serde_json::{json, Value};

use crate::common::{events_dir, json, TestLedger};

const NATO: &str = "nato-membership";
/// The statement first recorded as Rubio's, superseded by the correction.
const MISATTRIBUTED: &str = "d8bf2560-580b-587c-86fd-ed819b80574a";
const CORRECTION: &str = "af923933-cfc7-5f40-95ba-f7eb10cc03e1";

#[test]
fn state_json_has_the_contract_shape() {
    let ledger = TestLedger::bundled();
    let state = json(
        &ledger,
        &["state", NATO, "--at", "florida-2025-11-30", "--json"],
    );
    assert_eq!(state["provision"], NATO);
    assert_eq!(state["title"], "NATO membership");
    assert_eq!(state["at"], "2025-11-30T23:59:59.999999999Z");
    assert_eq!(state["known_at"], "2026-11-26T09:00:00Z");
    assert_eq!(state["status"], "under_negotiation");
    assert_eq!(state["status_since"], "2025-11-30T00:00:00Z");
    let texts = state["texts"].as_array().unwrap();
    assert_eq!(texts.len(), 2);
    for text in texts {
        for key in ["proposal", "text", "since", "dropped"] {
            assert!(text.get(key).is_some(), "texts[] has `{key}`: {text}");
        }
    }
    let us = state["positions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["party"] == "us")
        .unwrap();
    assert_eq!(us["stance"], "conditional");
    assert!(us["summary"].is_string() && us["since"].is_string());
    assert_eq!(
        state["meetings"],
        json!(["geneva-2025-11-23", "florida-2025-11-30"])
    );
    assert!(state["events"].as_u64().unwrap() > 0);
    assert!(state["last_event"].as_str().unwrap().len() == 36);
}

#[test]
fn state_changes_between_the_meetings() {
    let ledger = TestLedger::bundled();
    let geneva = json(
        &ledger,
        &["state", NATO, "--at", "geneva-2025-11-23", "--json"],
    );
    let florida = json(
        &ledger,
        &["state", NATO, "--at", "florida-2025-11-30", "--json"],
    );
    assert_eq!(geneva["status"], "contested");
    assert_eq!(florida["status"], "under_negotiation");
    assert_eq!(geneva["meetings"], json!(["geneva-2025-11-23"]));
    // The same cut written as a day.
    let day = json(&ledger, &["state", NATO, "--at", "2025-11-23", "--json"]);
    assert_eq!(day, geneva);
}

#[test]
fn all_states_leave_out_provisions_not_yet_drafted() {
    let ledger = TestLedger::bundled();
    let before = json(&ledger, &["state", "--at", "2025-11-19", "--json"]);
    assert_eq!(before, json!([]));
    let all = json(&ledger, &["state", "--at", "florida-2025-11-30", "--json"]);
    let slugs: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["provision"].as_str().unwrap())
        .collect();
    for slug in [
        "nato-membership",
        "donetsk-territory",
        "troop-limits",
        "ceasefire-line",
        "recovery-fund-profits",
    ] {
        assert!(slugs.contains(&slug), "{slug} in {slugs:?}");
    }
    let mut sorted = slugs.clone();
    sorted.sort();
    assert_eq!(slugs, sorted, "provisions come in slug order");
    // The cut as given: `seq:N` stays `seq:N` (found by a fresh tester: an import gives
    // all its records one record time, so the time alone does not say which cut).
    let run = ledger.fails(&["state", NATO, "--at", "2025-11-19", "--known-at", "seq:40"]);
    assert!(
        run.error()
            .contains("has no counted draft at end of 2025-11-19 (known at seq:40)"),
        "{}",
        run.error()
    );
    let run = ledger.fails(&["state", NATO, "--at", "2025-11-19"]);
    assert_eq!(run.code, 4);
    assert!(
        run.error()
            .contains("has no counted draft at end of 2025-11-19 (known at "),
        "{}",
        run.error()
    );
}

#[test]
fn unknown_slugs_get_a_suggestion() {
    let ledger = TestLedger::bundled();
    let run = ledger.fails(&["state", "nato-membrship"]);
    assert_eq!(
        run.error(),
        "unknown provision `nato-membrship` (did you mean `nato-membership`?)"
    );
    assert_eq!(run.code, 4);
    let run = ledger.fails(&["state", NATO, "--at", "genva-2025-11-23"]);
    assert_eq!(
        run.error(),
        "--at: unknown meeting `genva-2025-11-23` (did you mean `geneva-2025-11-23`?)"
    );
}

#[test]
fn a_meeting_only_scheduled_is_not_a_cut() {
    let ledger = TestLedger::bundled();
    let run = ledger.fails(&["state", NATO, "--at", "moscow-2025-12-01"]);
    assert!(
        run.error()
            .starts_with("--at: meeting `moscow-2025-12-01` is only scheduled"),
        "{}",
        run.error()
    );
}

#[test]
fn history_lists_every_event_with_its_removal() {
    let ledger = TestLedger::bundled();
    let history = json(&ledger, &["history", NATO, "--json"]);
    let records = history.as_array().unwrap();
    let keys = |v: &Value| {
        (
            chrono::DateTime::parse_from_rfc3339(&occurred(v)).unwrap(),
            v["seq"].as_u64().unwrap(),
        )
    };
    assert!(
        records.windows(2).all(|w| keys(&w[0]) <= keys(&w[1])),
        "valid-time order, ties by seq"
    );
    for record in records {
        for key in [
            "seq",
            "recorded_at",
            "prev_hash",
            "hash",
            "id",
            "type",
            "occurred_at",
            "retracted",
        ] {
            assert!(
                record.get(key).is_some(),
                "history record has `{key}`: {record}"
            );
        }
    }
    let wrong = records.iter().find(|r| r["id"] == MISATTRIBUTED).unwrap();
    assert_eq!(wrong["retracted"], true);
    assert_eq!(wrong["retracted_by"], CORRECTION);
    let fix = records.iter().find(|r| r["id"] == CORRECTION).unwrap();
    assert_eq!(fix["retracted"], false);
    // Before the correction arrived, the statement still counted.
    let then = json(
        &ledger,
        &[
            "history",
            NATO,
            "--known-at",
            "2025-12-01T23:00:00Z",
            "--json",
        ],
    );
    let wrong = then
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == MISATTRIBUTED)
        .unwrap();
    assert_eq!(wrong["retracted"], false);
    assert!(then
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["id"] != CORRECTION));
}

fn occurred(v: &Value) -> String {
    let t = v["occurred_at"].as_str().unwrap();
    if t.len() == 10 {
        format!("{t}T00:00:00Z")
    } else {
        t.to_string()
    }
}

#[test]
fn log_lists_records_in_seq_order() {
    let ledger = TestLedger::bundled();
    let log = json(&ledger, &["log", "--json"]);
    let seqs: Vec<u64> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert_eq!(log[0]["prev_hash"], "0".repeat(64));
    assert_eq!(log[1]["prev_hash"], log[0]["hash"]);
    let before = json(
        &ledger,
        &["log", "--known-at", "2025-12-01T23:00:00Z", "--json"],
    );
    assert_eq!(
        before.as_array().unwrap().len(),
        seqs.len() - 1,
        "the correction came later"
    );
}

#[test]
fn export_then_import_into_an_empty_ledger_keeps_the_head_hash() {
    let ledger = TestLedger::bundled();
    let export = ledger.export();
    let file = ledger.write("export.ndjson", export.as_bytes());
    let copy = TestLedger::new();
    copy.ok(&["import", file.to_str().unwrap()]);
    assert_eq!(copy.export(), export, "same records, times and hashes");
    let head = json(&ledger, &["verify", "--json"])["head"].clone();
    assert_eq!(json(&copy, &["verify", "--json"])["head"], head);
    // Importing the export again is a no-op.
    let out = copy.ok(&["import", file.to_str().unwrap()]);
    assert!(
        out.starts_with("imported 0 events (68 already present)"),
        "{out}"
    );
    // `--out` writes the same bytes.
    let out_file = ledger.path("out.ndjson");
    ledger.ok(&["export", "--out", out_file.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(out_file).unwrap(), export);
}

#[test]
fn each_exported_line_rehashes_to_its_hash() {
    use sha2::{Digest, Sha256};
    let ledger = TestLedger::bundled();
    for line in ledger.export().lines() {
        let Value::Object(mut record) = serde_json::from_str(line).unwrap() else {
            panic!()
        };
        let hash = record.remove("hash").unwrap();
        // serde_json's map is sorted; bundled keys are ASCII, so this is the canonical form.
        let canonical = serde_json::to_string(&record).unwrap();
        assert_eq!(
            format!("{:x}", Sha256::digest(canonical.as_bytes())),
            hash.as_str().unwrap()
        );
    }
}

#[test]
fn reimporting_the_same_events_changes_nothing() {
    let ledger = TestLedger::bundled();
    let before = ledger.export();
    let out = ledger.ok(&["import", events_dir().to_str().unwrap()]);
    assert!(
        out.starts_with("imported 0 events (66 already present) from 1 input"),
        "{out}"
    );
    assert_eq!(ledger.export(), before);
}

#[test]
fn a_bad_line_rejects_the_whole_import_and_names_file_and_line() {
    let ledger = TestLedger::bundled();
    let before = ledger.export();
    let cases: &[(&str, &str)] = &[
        (
            r#"{"type":"status_changed","occurred_at":"2025-12-03","provision":"nato-membership","staus":"agreed"}"#,
            "unknown field `staus` for status_changed (did you mean `status`?)",
        ),
        (
            r#"{"type":"status_changed","occurred_at":"2025-12-03","provision":"nato-membrship","status":"agreed"}"#,
            "field `provision`: unknown provision `nato-membrship` (did you mean `nato-membership`?)",
        ),
        (
            r#"{"type":"party_registered","occurred_at":"2025-12-03","party":"us","name":"Again"}"#,
            "party `us` is already registered (seq 1)",
        ),
        (
            &format!(r#"{{"type":"party_registered","occurred_at":"2025-12-03","party":"uk","name":"UK","id":"{MISATTRIBUTED}"}}"#),
            &format!("id {MISATTRIBUTED} is already in the ledger (seq 67) with other content"),
        ),
        (r#"{"type":"status_changed","occurred_at":"#, "the JSON ends too early"),
    ];
    for (i, (bad, expected)) in cases.iter().enumerate() {
        let good = r#"{"type":"party_registered","occurred_at":"2025-12-03","party":"uk","name":"United Kingdom"}"#;
        let file = ledger.write(
            &format!("bad{i}.ndjson"),
            format!("# a comment\n{good}\n{bad}\n").as_bytes(),
        );
        let run = ledger.fails(&["import", file.to_str().unwrap()]);
        assert_eq!(run.code, 3, "{}", run.stderr);
        let prefix = format!("{}:3: ", file.display());
        assert!(
            run.error().starts_with(&prefix),
            "{} starts with {prefix}",
            run.error()
        );
        assert!(
            run.error().contains(expected),
            "{}\n  should contain: {expected}",
            run.error()
        );
        assert_eq!(ledger.export(), before, "nothing appended for case {i}");
    }
    ledger.ok(&["verify"]);
}

#[test]
fn append_takes_flags_or_json_and_checks_the_expected_head() {
    let ledger = TestLedger::bundled();
    let head = ledger.export().lines().count().to_string();
    let out = ledger.ok(&[
        "append",
        "status_changed",
        "--provision",
        NATO,
        "--status",
        "agreed_in_principle",
        "--occurred-at",
        "2025-12-05",
        "--source-outlet",
        "Test Wire",
        "--expect-seq",
        &head,
    ]);
    assert!(out.starts_with("appended seq 69 id "), "{out}");
    let state = json(&ledger, &["state", NATO, "--json"]);
    assert_eq!(state["status"], "agreed_in_principle");
    let run = ledger.fails(&[
        "append",
        "--expect-seq",
        &head,
        "status_changed",
        "--provision",
        NATO,
        "--status",
        "agreed",
        "--occurred-at",
        "now",
    ]);
    assert_eq!(run.code, 5);
    assert!(
        run.error().contains("head is at seq 69, not 68"),
        "{}",
        run.error()
    );
    let event = json!({"type": "statement_made", "occurred_at": "2025-12-06", "quote": "We are close.",
        "attribution": "a diplomat", "provisions": [NATO], "source": {"outlet": "Test Wire"}});
    let out = ledger
        .at(crate::common::NOW)
        .stdin(event.to_string())
        .ok(&["append", "-"]);
    assert!(out.starts_with("appended seq 70"), "{out}");
    let run = ledger.fails(&[
        "append",
        "status_changd",
        "--provision",
        NATO,
        "--occurred-at",
        "now",
    ]);
    assert!(
        run.error().contains("did you mean `status_changed`"),
        "{}",
        run.error()
    );
    let run = ledger.fails(&[
        "append",
        "status_changed",
        "--provision",
        NATO,
        "--status",
        "agred",
        "--occurred-at",
        "now",
    ]);
    assert!(
        run.error()
            .contains("unknown status `agred` (did you mean `agreed`?)"),
        "{}",
        run.error()
    );
}

#[test]
fn records_stamped_after_the_clock_still_count_by_default() {
    // An export from a machine whose clock ran ahead, or a clock stepped back.
    let ledger = TestLedger::bundled();
    nato_agreed_recorded_at(&ledger, "2030-01-01T00:00:00Z");
    let state = json(&ledger, &["state", NATO, "--json"]);
    assert_eq!(
        state["status"], "agreed",
        "a record stamped 2030 counts at the default cut"
    );
    assert_eq!(state["known_at"], "2030-01-01T00:00:00Z");
    let log = json(&ledger, &["log", "--json"]);
    assert_eq!(log.as_array().unwrap().len(), 69);
}

#[test]
fn a_failed_write_on_a_missing_ledger_leaves_nothing_behind() {
    let ledger = TestLedger::new();
    let bad = ledger.write("bad.ndjson", b"{\"type\":\"party_registered\"}\n");
    ledger.fails(&["import", bad.to_str().unwrap()]);
    assert!(!ledger.db.exists(), "a failed import created the ledger");
    ledger.fails(&[
        "append",
        "status_changed",
        "--provision",
        NATO,
        "--occurred-at",
        "now",
    ]);
    assert!(!ledger.db.exists(), "a failed append created the ledger");
    // Nor the folders it would have been created in (found by a fresh tester).
    let nested = ledger.path("new/deeper/led");
    ledger.fails(&[
        "--db",
        nested.to_str().unwrap(),
        "import",
        bad.to_str().unwrap(),
    ]);
    assert!(
        !ledger.path("new").exists(),
        "a failed import left the folders it made"
    );
    // A global option among the fields works there as before the command.
    let elsewhere = ledger.path("elsewhere");
    ledger.ok(&[
        "append",
        "party_registered",
        "--party",
        "us",
        "--name",
        "US",
        "--db",
        elsewhere.to_str().unwrap(),
        "--occurred-at",
        "now",
    ]);
    assert!(!ledger.db.exists() && elsewhere.exists());
}

#[test]
fn usage_errors_are_one_line() {
    let ledger = TestLedger::bundled();
    let run = ledger.fails(&["state", "--bogus"]);
    assert_eq!(run.code, 2);
    assert!(
        run.error().contains("unexpected argument '--bogus'"),
        "{}",
        run.error()
    );
    let run = ledger.fails(&["history"]);
    assert_eq!(run.error(), "PROVISION is required");
    ledger.ok(&["export", "--json"]);
}

#[test]
fn record_time_never_goes_back() {
    let ledger = TestLedger::bundled();
    ledger.at("2020-01-01T00:00:00Z").ok(&[
        "append",
        "party_registered",
        "--party",
        "uk",
        "--name",
        "UK",
        "--occurred-at",
        "2025-12-01",
    ]);
    let log = json(&ledger, &["log", "--json"]);
    let records = log.as_array().unwrap();
    let last = &records[records.len() - 1];
    assert_eq!(
        last["recorded_at"],
        records[records.len() - 2]["recorded_at"]
    );
}

#[test]
fn read_commands_on_a_missing_ledger_fail_and_create_nothing() {
    let ledger = TestLedger::new();
    for args in [
        vec!["state"],
        vec!["log"],
        vec!["history", NATO],
        vec!["export"],
        vec!["verify"],
    ] {
        let run = ledger.fails(&args);
        assert_eq!(run.code, 4);
        assert!(run.error().starts_with("no ledger at "), "{}", run.error());
        assert!(!ledger.db.exists(), "{args:?} created the ledger");
    }
}

#[test]
fn verify_detects_a_changed_record() {
    let ledger = TestLedger::bundled();
    ledger.ok(&["verify"]);
    {
        let store =
            pactlog::store::Ledger::open(&ledger.db, pactlog::store::Access::Existing).unwrap();
        let bytes = store.stored_record_for_tests(20).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let tampered = text.replacen("2025-11-2", "2025-10-2", 1);
        assert_ne!(text, tampered);
        store.put_record_for_tests(20, Some(tampered.as_bytes()));
        store.sled_for_tests().flush().unwrap();
    }
    let run = ledger.fails(&["verify"]);
    assert_eq!(run.code, 6);
    assert!(
        run.error().starts_with("record 20 does not match its hash"),
        "{}",
        run.error()
    );
}

#[test]
fn verify_head_detects_a_rewritten_or_truncated_history() {
    let ledger = TestLedger::bundled();
    let head = json(&ledger, &["verify", "--json"])["head"].clone();
    let claim = format!("{}:{}", head["seq"], head["hash"].as_str().unwrap());
    ledger.ok(&["verify", "--head", &claim]);
    let run = ledger.fails(&["verify", "--head", &format!("68:{}", "a".repeat(64))]);
    assert!(
        run.error().contains("the published history was rewritten"),
        "{}",
        run.error()
    );
    let run = ledger.fails(&["verify", "--head", &format!("99:{}", "a".repeat(64))]);
    assert!(run.error().contains("was truncated"), "{}", run.error());
}

#[test]
fn demo_prints_the_nato_clause_after_both_meetings_and_never_alters_a_ledger() {
    let ledger = TestLedger::new();
    let out = ledger.ok(&["demo"]);
    assert!(
        out.contains("The NATO clause after geneva-2025-11-23"),
        "{out}"
    );
    assert!(
        out.contains("The NATO clause after florida-2025-11-30"),
        "{out}"
    );
    assert!(
        out.contains("status: contested") && out.contains("status: under_negotiation"),
        "{out}"
    );
    assert!(out.contains("EA WorldView"), "sources are shown: {out}");
    // PACTLOG_DB names a missing ledger: the demo loads into it.
    assert!(ledger.db.exists());
    let before = ledger.export();
    // Now it holds events: the demo leaves it alone and uses a temporary ledger.
    let out = ledger.ok(&["demo"]);
    assert!(
        out.starts_with("Note: ") && out.contains("holds 68 events and is left as it is"),
        "{out}"
    );
    assert!(
        out.contains("The NATO clause after florida-2025-11-30"),
        "{out}"
    );
    assert_eq!(ledger.export(), before);
}

#[test]
fn ids_are_written_one_way_and_arrays_may_carry_comments() {
    let ledger = TestLedger::new();
    let upper = ledger.write(
        "upper.ndjson",
        br#"{"type":"party_registered","occurred_at":"2025-11-20","party":"us","name":"US","id":"0193A1B2-0000-7000-8000-000000000001"}"#,
    );
    let run = ledger.fails(&["import", upper.to_str().unwrap()]);
    assert!(
        run.error()
            .contains("field `id`: write the UUID as `0193a1b2-0000-7000-8000-000000000001`"),
        "{}",
        run.error()
    );
    let array = ledger.write(
        "array.json",
        b"# parties\n[\n  {\"type\":\"party_registered\",\"occurred_at\":\"2025-11-20\",\"party\":\"us\",\"name\":\"US\"}\n]\n# end of file\n",
    );
    let out = ledger.ok(&["import", array.to_str().unwrap()]);
    assert!(out.starts_with("imported 1 event ("), "{out}");
}

#[test]
fn a_misformed_time_cut_is_explained_not_taken_for_a_meeting() {
    let ledger = TestLedger::bundled();
    let run = ledger.fails(&["state", NATO, "--at", "2024-02-30"]);
    assert_eq!(
        run.error(),
        "--at: `2024-02-30` is not a date: 2024-02 has days 01 to 29, not 30"
    );
    let run = ledger.fails(&["state", NATO, "--at", "2024-04-03T10:00:00"]);
    assert!(run.error().contains("has no UTC offset"), "{}", run.error());
}

#[test]
fn ids_repeated_across_write_chunks_are_still_found() {
    // More than one write chunk (1,000 records): the repeat is checked against the store.
    let ledger = TestLedger::new();
    let mut lines = vec![
        r#"{"type":"party_registered","occurred_at":"2025-11-20","party":"us","name":"US"}"#
            .to_string(),
    ];
    let statement = |n: usize, quote: &str| {
        format!(
            r#"{{"type":"statement_made","occurred_at":"2025-11-21","quote":"{quote}","attribution":"a","id":"00000000-0000-7000-8000-{n:012}"}}"#
        )
    };
    lines.extend((1..=2500).map(|n| statement(n, "q")));
    lines.push(statement(7, "q"));
    let same = ledger.write("same.ndjson", lines.join("\n").as_bytes());
    let out = ledger.ok(&["import", same.to_str().unwrap()]);
    assert!(
        out.starts_with("imported 2501 events (1 already present)"),
        "{out}"
    );
    lines.push(statement(8, "other"));
    let other = ledger.write("other.ndjson", lines.join("\n").as_bytes());
    let copy = TestLedger::new();
    let run = copy.fails(&["import", other.to_str().unwrap()]);
    assert!(
        run.error()
            .contains("is already given to an earlier event of this input (it would be seq 9) with other content"),
        "{}",
        run.error()
    );
}

#[test]
fn quiet_prints_nothing_on_success_and_verbose_says_where_and_how_long() {
    let ledger = TestLedger::new();
    let out = ledger.ok(&[
        "--quiet",
        "import",
        crate::common::events_dir().to_str().unwrap(),
    ]);
    assert_eq!(out, "");
    assert_eq!(ledger.ok(&["-q", "verify"]), "");
    let run = ledger.run(&["--verbose", "log"]);
    assert!(
        run.stderr.starts_with("pactlog: done in ") && run.stderr.contains("head 66:"),
        "{}",
        run.stderr
    );
    let run = ledger.fails(&["-q", "state", "nato-membrship"]);
    assert!(
        run.error().contains("did you mean"),
        "errors still show with --quiet"
    );
}

/// A record time is an instant: at midnight it is shown to the second, never as a
/// bare day, which typed back as `--known-at` would mean that day's end (the kind of
/// fault a fresh tester found in cut headers).
#[test]
fn a_record_time_at_midnight_reads_back_as_the_same_instant() {
    let ledger = TestLedger::bundled();
    nato_agreed_recorded_at(&ledger, "2030-01-01T00:00:00Z");
    for args in [&["log"][..], &["history", NATO][..]] {
        let out = ledger.ok(args);
        let line = out
            .lines()
            .find(|l| l.contains("2030-01-01"))
            .unwrap_or_else(|| panic!("{args:?}: {out}"));
        assert!(line.contains("2030-01-01 00:00:00Z"), "{args:?}: {line}");
    }
    let header = ledger.ok(&["state", NATO, "--known-at", "2030-01-01T00:00:00Z"]);
    assert!(header.contains("2030-01-01 00:00:00Z"), "{header}");
}

/// Appends the NATO clause `agreed` on 2025-12-10, recorded at `now`.
fn nato_agreed_recorded_at(ledger: &TestLedger, now: &str) {
    ledger.at(now).ok(&[
        "append",
        "status_changed",
        "--provision",
        NATO,
        "--status",
        "agreed",
        "--occurred-at",
        "2025-12-10",
    ]);
}

/// Found by a fresh tester: a registration corrected by a `supersedes` left the
/// entity refusing every new event ("was retracted"); the correction restates it, so
/// the entity stays. A retracted registration stays dead, and registering its slug
/// again says so; messages about records of the same input name no seq (none is given
/// until the commit).
#[test]
fn a_superseded_registration_keeps_its_entity_and_a_retracted_one_says_why() {
    let ledger = TestLedger::new();
    let ok = |args: &[&str]| ledger.ok(args);
    // `party_registered` of `slug` on 2025-01-DAY, with more flags.
    let party = |slug: &str, name: &str, day: &str, more: &[&str]| {
        let at = format!("2025-01-{day}");
        let mut args = vec![
            "append",
            "party_registered",
            "--party",
            slug,
            "--name",
            name,
        ];
        args.extend(["--occurred-at", &at]);
        args.extend(more);
        ledger.run(&args)
    };
    let ru = "0190bbbb-0000-7000-8000-000000000001";
    party("ru", "Russia", "01", &["--id", ru]).ok();
    party("ru", "Russian Federation", "01", &["--supersedes", ru]).ok();
    ok(&[
        "append",
        "proposal_tabled",
        "--proposal",
        "p",
        "--title",
        "P",
        "--parties",
        "ru",
        "--occurred-at",
        "2025-01-02",
    ]);
    // Corrected twice over, in one import: still the same party.
    let second = "0190bbbb-0000-7000-8000-000000000002";
    let input = ledger.write(
        "kel.ndjson",
        format!(
            "{}\n{}\n{}\n",
            format_args!(r#"{{"type":"actor_registered","occurred_at":"2025-01-03","actor":"kel","name":"Kellogg","party":"ru","id":"{second}"}}"#),
            format_args!(r#"{{"type":"actor_registered","occurred_at":"2025-01-03","actor":"kel","name":"Keith Kellogg","party":"ru","supersedes":"{second}"}}"#),
            r#"{"type":"statement_made","occurred_at":"2025-01-04","actor":"kel","quote":"Progress.","provisions":[]}"#,
        )
        .as_bytes(),
    );
    ok(&["import", input.to_str().unwrap()]);
    ok(&["verify"]);
    // Retracted: dead, and re-registering the slug says why.
    let gone = "0190bbbb-0000-7000-8000-000000000003";
    party("xx", "X", "05", &["--id", gone]).ok();
    ok(&[
        "retract",
        gone,
        "--reason",
        "never a party",
        "--occurred-at",
        "2025-01-06",
    ]);
    let run = party("xx", "X", "07", &[]).fails();
    assert!(
        run.error()
            .contains("is already registered (seq 7), and retracted by seq 8")
            && run.error().contains("register it under another slug"),
        "{}",
        run.error()
    );
    // Within one input: no seq that was never given.
    let input = ledger.write(
        "wit.ndjson",
        concat!(
            r#"{"type":"actor_registered","occurred_at":"2025-01-08","actor":"wit","name":"Witkoff","party":"ru","id":"0190bbbb-0000-7000-8000-000000000004"}"#,
            "\n",
            r#"{"type":"event_retracted","occurred_at":"2025-01-09","target":"0190bbbb-0000-7000-8000-000000000004","reason":"no"}"#,
            "\n",
            r#"{"type":"statement_made","occurred_at":"2025-01-10","actor":"wit","quote":"Hello.","provisions":[]}"#,
            "\n",
        )
        .as_bytes(),
    );
    let run = ledger.fails(&["import", input.to_str().unwrap()]);
    assert!(
        run.error().contains(
            "its registration, an earlier event of this input, by an earlier event of this input"
        ),
        "{}",
        run.error()
    );
}

/// `verify --json` gives its verdict on stdout whatever failed: no ledger, a lock held.
#[test]
fn verify_json_gives_a_verdict_when_it_cannot_even_open() {
    let ledger = TestLedger::bundled();
    let missing = ledger.path("none");
    let run = ledger.run(&["--db", missing.to_str().unwrap(), "verify", "--json"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    let verdict: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        (verdict["ok"].clone(), verdict["exit_code"].clone()),
        (false.into(), 4.into())
    );
    assert!(
        verdict["error"].as_str().unwrap().contains("no ledger at"),
        "{verdict}"
    );
    let held = pactlog::store::Ledger::open(&ledger.db, pactlog::store::Access::Existing).unwrap();
    let run = ledger.run(&["verify", "--json", "--lock-timeout", "0"]);
    drop(held);
    assert_eq!(run.code, 7, "{}", run.stderr);
    let verdict: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(verdict["exit_code"], 7);
}

/// `log` prints a long log as tables of 1,000 records, so it never holds the whole
/// log: every record is printed once, in seq order, across the tables' seams.
#[test]
fn a_long_log_prints_every_record_once_in_tables_of_a_thousand() {
    let ledger = TestLedger::new();
    let lines: Vec<String> = (0..2_001)
        .map(|n| {
            json!({"type": "party_registered", "occurred_at": "2025-11-20", "party": format!("p{n}"), "name": format!("Party {n}")})
                .to_string()
        })
        .collect();
    ledger
        .at("2025-11-21T00:00:00Z")
        .stdin(lines.join("\n"))
        .ok(&["import", "-"]);
    let log = ledger.ok(&["log"]);
    let seqs: Vec<u64> = log
        .lines()
        .filter_map(|line| {
            line.strip_prefix("│ ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(seqs, (1..=2_001).collect::<Vec<u64>>());
    assert_eq!(
        log.matches("│ seq").count(),
        3,
        "three tables, each with its header"
    );
}

/// `list` takes a kind in the singular as well: `list provision` is `list provisions`.
#[test]
fn list_takes_a_kind_in_the_singular_too() {
    let ledger = TestLedger::bundled();
    for (one, many) in [
        ("provision", "provisions"),
        ("party", "parties"),
        ("meeting", "meetings"),
    ] {
        assert_eq!(
            ledger.ok(&["list", one]),
            ledger.ok(&["list", many]),
            "{one}"
        );
    }
    let err = ledger.run(&["list", "provisons"]).fails();
    assert_eq!(err.code, 2);
    assert!(err.error().contains("provisions"), "{}", err.error());
}
