//! Right at the edges: inputs and retries the way real use breaks them. Each test
//! pins one example of a kind of failure, and one more case of the same kind.

use crate::common::{TestLedger, NOW};

/// The id an `append` or `retract` reports ("appended seq N id ID; head …").
fn appended_id(out: &str) -> String {
    out.split(" id ")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// A refusal: this exit code and one line that says `says`.
fn refused(run: &crate::common::Run, code: i32, says: &str) {
    assert_eq!(run.code, code, "{}", run.stderr);
    assert!(run.error().contains(says), "{}", run.error());
}

/// The stored records of an export.
fn stored(export: &str) -> Vec<serde_json::Value> {
    export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A stored record of `fields`, chained after the last record of `export` (its seq
/// and `prev_hash`, recorded on 2025-12-05), with its hash: what an earlier release
/// could have written.
fn record_after(export: &str, mut record: serde_json::Value) -> serde_json::Value {
    let last = stored(export).pop().unwrap();
    record["seq"] = (last["seq"].as_u64().unwrap() + 1).into();
    record["recorded_at"] = "2025-12-05T00:00:00Z".into();
    record["prev_hash"] = last["hash"].clone();
    let hash = pactlog::chain::hash_hex(&pactlog::chain::canonical(record.as_object().unwrap()));
    record["hash"] = hash.into();
    record
}

/// The id of the first record `pred` picks.
fn id_where(records: &[serde_json::Value], pred: &dyn Fn(&serde_json::Value) -> bool) -> String {
    records.iter().find(|r| pred(r)).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// An append of one event from flags: France's registration.
const APPEND_FRANCE: &[&str] = &[
    "append",
    "party_registered",
    "--party",
    "fr",
    "--name",
    "France",
    "--occurred-at",
    "2025-11-20",
];

const EVENT: &str = r#"{"id":"0190aaaa-0000-7000-8000-000000000001","type":"party_registered","occurred_at":"2025-11-20","party":"fr","name":"France"}"#;

/// A retry of an append that succeeded is a no-op success, before `--expect-seq` is
/// checked: the same id with the same content is already recorded. The same id with
/// other content stays an error; a new event still meets the check.
#[test]
fn an_idempotent_retry_succeeds_under_expect_seq_on_every_writing_path() {
    let ledger = TestLedger::bundled();
    let first = ledger
        .at(NOW)
        .stdin(EVENT)
        .run(&["append", "-", "--expect-seq", "68"])
        .ok();
    assert!(first.starts_with("appended seq 69 "), "{first}");
    let export = ledger.export();
    // The identical retry, through `append -` and through `import -`.
    let again = ledger
        .at(NOW)
        .stdin(EVENT)
        .run(&["append", "-", "--expect-seq", "68"])
        .ok();
    assert!(again.contains("already in the ledger at seq 69"), "{again}");
    let file = ledger.write("retry.ndjson", EVENT.as_bytes());
    let imported = ledger.ok(&["import", file.to_str().unwrap(), "--expect-seq", "68"]);
    assert!(
        imported.starts_with("imported 0 events (1 already present)"),
        "{imported}"
    );
    assert_eq!(ledger.export(), export);
    // Other content under the same id: still refused.
    let other = EVENT.replace("France", "French Republic");
    let run = ledger
        .at(NOW)
        .stdin(other)
        .run(&["append", "-", "--expect-seq", "69"]);
    refused(&run, 3, "with other content");
    // A new event with a stale --expect-seq: the conflict.
    let run = ledger.run(&[
        "append",
        "party_registered",
        "--party",
        "de",
        "--name",
        "Germany",
        "--expect-seq",
        "68",
        "--occurred-at",
        "now",
    ]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    // A file holding the retried event and a new one: the new one meets the check.
    let both = format!("{EVENT}\n{{\"type\":\"party_registered\",\"occurred_at\":\"2025-11-20\",\"party\":\"it\",\"name\":\"Italy\"}}\n");
    let file = ledger.write("both.ndjson", both.as_bytes());
    let run = ledger.run(&["import", file.to_str().unwrap(), "--expect-seq", "68"]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert_eq!(ledger.export(), export);
    ledger.ok(&["import", file.to_str().unwrap(), "--expect-seq", "69"]);
}

/// `seq:N` is exactly records 1..N on every command, even when later records share
/// record N's record time (a clock that went back: three writes, one record time).
#[test]
fn a_seq_cut_counts_exactly_the_records_up_to_it_on_every_command() {
    let ledger = TestLedger::bundled();
    // The clock is behind the head: each write takes the head's record time.
    for status in ["contested", "agreed_in_principle", "rejected"] {
        ledger.at("2025-11-01T00:00:00Z").ok(&[
            "append",
            "status_changed",
            "--provision",
            "nato-membership",
            "--status",
            status,
            "--occurred-at",
            "2025-12-05",
        ]);
    }
    let log = crate::common::json(&ledger, &["log", "--json"]);
    let times: Vec<&str> = (68..71)
        .map(|i| log.as_array().unwrap()[i]["recorded_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] == w[1]), "{times:?}");
    let state = |seq: &str| {
        crate::common::json(
            &ledger,
            &[
                "state",
                "nato-membership",
                "--at",
                "2025-12-10",
                "--known-at",
                seq,
                "--json",
            ],
        )["status"]
            .clone()
    };
    assert_eq!(state("seq:69"), "contested");
    assert_eq!(state("seq:70"), "agreed_in_principle");
    assert_eq!(state("seq:71"), "rejected");
    // The same cut on the other commands.
    let n = |args: &[&str]| crate::common::json(&ledger, args).as_array().unwrap().len();
    assert_eq!(n(&["log", "--known-at", "seq:69", "--json"]), 69);
    let history = crate::common::json(
        &ledger,
        &[
            "history",
            "nato-membership",
            "--known-at",
            "seq:69",
            "--json",
        ],
    );
    let seqs: Vec<u64> = history["events"]
        .as_array()
        .unwrap_or_else(|| history.as_array().unwrap())
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert!(seqs.contains(&69) && !seqs.contains(&70), "{seqs:?}");
    let diff = ledger.ok(&[
        "diff",
        "nato-membership",
        "--from",
        "2025-12-10",
        "--to",
        "2025-12-10",
        "--from-known-at",
        "seq:69",
        "--to-known-at",
        "seq:70",
    ]);
    assert!(diff.contains("seq:69") && diff.contains("seq:70"), "{diff}");
    assert!(diff.contains("agreed_in_principle"), "{diff}");
    let blame = ledger.ok(&[
        "blame",
        "nato-membership",
        "--at",
        "2025-12-10",
        "--known-at",
        "seq:70",
    ]);
    assert!(blame.contains("as known at seq:70"), "{blame}");
    assert!(blame.contains("agreed_in_principle"), "{blame}");
    let export = ledger.ok(&[
        "export",
        "--format",
        "csv",
        "--at",
        "2025-12-10",
        "--known-at",
        "seq:69",
    ]);
    assert!(
        export.contains("contested") && !export.contains("rejected"),
        "{export}"
    );
    let timeline = crate::common::json(
        &ledger,
        &[
            "timeline",
            "nato-membership",
            "--at",
            "2025-12-10",
            "--known-at",
            "seq:69",
            "--json",
        ],
    );
    assert_eq!(timeline["known_seq"], 69);
    // Every --json cut says which records it counted.
    for args in [
        &["state", "nato-membership", "--known-at", "seq:69", "--json"][..],
        &["blame", "nato-membership", "--known-at", "seq:69", "--json"],
    ] {
        assert_eq!(
            crate::common::json(&ledger, args)["known_seq"],
            69,
            "{args:?}"
        );
    }
    let all = crate::common::json(&ledger, &["state", "--known-at", "seq:69", "--json"]);
    assert!(all.as_array().unwrap().iter().all(|s| s["known_seq"] == 69));
    let page = ledger.path("seq.html");
    let wrote = ledger.ok(&[
        "timeline",
        "nato-membership",
        "--known-at",
        "seq:69",
        "--html",
        page.to_str().unwrap(),
    ]);
    assert!(wrote.contains("as known at seq:69"), "{wrote}");
    assert!(std::fs::read_to_string(&page)
        .unwrap()
        .contains("as known at seq:69"));
}

/// Files the user asks for get the umask's mode, and a replaced file keeps its own: a
/// published timeline must stay readable by a web server. `--quiet` silences the
/// "wrote" line.
#[cfg(unix)]
#[test]
fn written_files_get_the_umask_mode_or_keep_their_own() {
    use std::os::unix::fs::PermissionsExt;
    let ledger = TestLedger::bundled();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // The test process's umask applies to the binary it starts; compare with a file
    // made the ordinary way in the same folder.
    let ordinary = ledger.write("ordinary", b"");
    let expected = mode(&ordinary);
    assert_ne!(
        expected, 0o600,
        "the test needs a umask that lets others read"
    );
    for (name, args) in [
        ("all.ndjson", &["export", "--out"][..]),
        ("table.csv", &["export", "--format", "csv", "--out"][..]),
        ("page.html", &["timeline", "-q", "--html"][..]),
    ] {
        let path = ledger.path(name);
        let mut full: Vec<&str> = args.to_vec();
        full.push(path.to_str().unwrap());
        let out = ledger.ok(&full);
        assert_eq!(mode(&path), expected, "{name}");
        if name == "page.html" {
            assert_eq!(out, "", "--quiet prints nothing");
        }
        // An existing file keeps its mode when it is written again.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        ledger.ok(&full);
        assert_eq!(mode(&path), 0o640, "{name} rewritten");
    }
    // Writing to a link writes the file it points to; the link stays a link.
    let target = ledger.write("target.csv", b"old");
    let link = ledger.path("link.csv");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    ledger.ok(&["export", "--format", "csv", "--out", link.to_str().unwrap()]);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&target)
        .unwrap()
        .contains("known_at"));
}

/// A meeting slug that a `WHEN` reads as a date could never be a cut: refused when
/// the meeting is first registered (scheduled or held), with the reason.
#[test]
fn a_meeting_slug_that_reads_as_a_date_is_refused() {
    let ledger = TestLedger::bundled();
    let export = ledger.export();
    for (slug, line) in [
        (
            "2025-02-30",
            r#"{"type":"meeting_held","occurred_at":"2025-02-28","meeting":"2025-02-30","place":"X","participants":[]}"#,
        ),
        (
            "2025-12-01-paris",
            r#"{"type":"meeting_scheduled","occurred_at":"2025-11-28","meeting":"2025-12-01-paris","title":"Paris talks","place":"Paris","planned_for":"2025-12-01","participants":[]}"#,
        ),
    ] {
        let run = ledger.at(NOW).stdin(line).run(&["append", "-"]);
        refused(
            &run,
            3,
            &format!("meeting slug `{slug}` would be read as a date"),
        );
    }
    assert_eq!(ledger.export(), export);
}

/// A folder whose only file is a link out of it: the link is named, not "no files".
#[cfg(unix)]
#[test]
fn a_folder_of_one_link_out_names_the_link() {
    let ledger = TestLedger::new();
    let dir = ledger.path("in");
    std::fs::create_dir_all(&dir).unwrap();
    let target = ledger.write(
        "target.ndjson",
        br#"{"type":"party_registered","occurred_at":"2025-11-20","party":"fr","name":"France"}"#,
    );
    std::os::unix::fs::symlink(&target, dir.join("02-link.ndjson")).unwrap();
    let run = ledger.run(&["import", dir.to_str().unwrap()]);
    refused(&run, 3, "02-link.ndjson -> ");
    // Files a folder import does not read (by their name) are passed over, links or not.
    std::fs::remove_file(dir.join("02-link.ndjson")).unwrap();
    std::fs::copy(&target, dir.join("01-party.ndjson")).unwrap();
    std::fs::write(dir.join("notes.txt"), b"not an event").unwrap();
    let out = ledger.ok(&["import", dir.to_str().unwrap()]);
    assert!(
        out.starts_with("imported 1 event (0 already present) from 1 input"),
        "{out}"
    );
}

/// A control character in a text would make some output invalid for its format (an
/// HTML validator rejects U+0000 and U+0001, Markdown loses a lone CR): refused at
/// input on every path, naming the field; line feeds and tabs are text.
#[test]
fn control_characters_in_texts_are_refused_on_every_input_path_naming_the_field() {
    let ledger = TestLedger::bundled();
    let export = ledger.export();
    let statement = |quote: &str| {
        serde_json::json!({"type": "statement_made", "occurred_at": "2025-12-04", "attribution": "a diplomat",
            "quote": quote, "provisions": ["nato-membership"]})
        .to_string()
    };
    for (text, named) in [
        (
            "before\u{0}after",
            "the control character U+0000 at character 7",
        ),
        ("a\u{1}", "U+0001"),
        ("a\u{7f}", "U+007F"),
        ("a\u{85}", "U+0085"),
        ("line\rbreak", "a carriage return (U+000D) at character 5"),
    ] {
        let run = ledger.at(NOW).stdin(statement(text)).run(&["append", "-"]);
        assert_eq!(run.code, 3, "{text:?}: {}", run.stderr);
        assert!(
            run.error().contains("field `quote`: ") && run.error().contains(named),
            "{}",
            run.error()
        );
        let file = ledger.write("bad.ndjson", statement(text).as_bytes());
        let run = ledger.run(&["import", file.to_str().unwrap()]);
        refused(&run, 3, "bad.ndjson:1: field `quote`");
    }
    // Nested fields are named by their path; flags go through the same check.
    let nested = r#"{"type":"status_changed","occurred_at":"2025-12-04","provision":"nato-membership","status":"contested","source":{"outlet":"Wire\u0002"}}"#;
    let run = ledger.at(NOW).stdin(nested).run(&["append", "-"]);
    assert!(
        run.error().contains("field `source.outlet`"),
        "{}",
        run.error()
    );
    let run = ledger.run(&[
        "append",
        "statement_made",
        "--attribution",
        "x",
        "--quote",
        "a\u{1b}[31m",
        "--provisions",
        "nato-membership",
        "--occurred-at",
        "2025-12-04",
    ]);
    refused(&run, 3, "U+001B");
    assert_eq!(ledger.export(), export);
    // Line feeds and tabs are text.
    ledger
        .at(NOW)
        .stdin(statement("one\n\ttwo"))
        .run(&["append", "-"])
        .ok();
}

/// A leap second counts within its UTC day wherever an instant is read; `:60` that is
/// not the last second of a UTC day is refused; instants outside the years 0000-9999
/// in UTC are refused, so that every instant the ledger prints reads back as a cut.
#[test]
fn leap_seconds_count_in_their_day_and_instants_stay_printable() {
    let ledger = TestLedger::new();
    let leap = ledger.at("2016-12-31T23:59:60.5Z");
    let lines = [
        r#"{"type":"party_registered","occurred_at":"2016-12-01","party":"us","name":"US"}"#,
        r#"{"type":"proposal_tabled","occurred_at":"2016-12-01","proposal":"plan","title":"Plan","parties":["us"]}"#,
        r#"{"type":"provision_drafted","occurred_at":"2016-12-30","provision":"clause","proposal":"plan","title":"Clause","text":"t"}"#,
        r#"{"type":"status_changed","occurred_at":"2016-12-31T23:59:60Z","provision":"clause","status":"agreed"}"#,
        r#"{"type":"meeting_held","occurred_at":"2016-12-31T23:59:60Z","meeting":"leap-summit","place":"Here","participants":[],"provisions":["clause"]}"#,
    ];
    let file = ledger.write("leap.ndjson", lines.join("\n").as_bytes());
    leap.run(&["import", file.to_str().unwrap()]).ok();
    let status = |args: &[&str]| {
        let mut full = vec!["state", "clause", "--json"];
        full.extend_from_slice(args);
        crate::common::json(&ledger, &full)["status"].clone()
    };
    // Valid time: the leap second is in 2016-12-31, and in the meeting's day.
    assert_eq!(status(&["--at", "2016-12-31"]), "agreed");
    assert_eq!(status(&["--at", "leap-summit"]), "agreed");
    // Record time: a clock reading 23:59:60.5 recorded within 2016-12-31.
    assert_eq!(
        status(&["--at", "2016-12-31", "--known-at", "2016-12-31"]),
        "agreed"
    );
    // What is printed reads back as the same cut.
    let printed = crate::common::json(
        &ledger,
        &["state", "clause", "--at", "2016-12-31T23:59:60Z", "--json"],
    );
    let at = printed["at"].as_str().unwrap().to_string();
    assert_eq!(status(&["--at", &at]), "agreed");
    // Refused: `:60` elsewhere, and years outside 0000-9999 in UTC, on input and in cuts.
    for (when, says) in [
        ("2025-11-20T10:00:60Z", "not the last second of a UTC day"),
        ("9999-12-31T23:59:59-23:59", "the year 10000 in UTC"),
        ("0000-01-01T00:00:00+00:01", "the year -1 in UTC"),
    ] {
        let line = format!(
            r#"{{"type":"status_changed","occurred_at":"{when}","provision":"clause","status":"contested"}}"#
        );
        let run = ledger.at(NOW).stdin(line).run(&["append", "-"]);
        assert_eq!(run.code, 3, "{when}: {}", run.stderr);
        assert!(run.error().contains(says), "{}", run.error());
        let run = ledger.run(&["state", "clause", "--at", when]);
        assert_eq!(run.code, 2, "{when}: {}", run.stderr);
        assert!(run.error().contains(says), "{}", run.error());
    }
    let run = ledger.at("2025-11-20T10:00:60Z").run(&["log"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.error().starts_with("PACTLOG_NOW: "), "{}", run.error());
}

/// When an event supersedes another, `diff` shows the change field by field (the
/// speaker: `actor: marco-rubio -> —`, `attribution: — -> unnamed US official …`),
/// as one `corrected` row, in the table and in `--json`.
#[test]
fn a_correction_diff_says_what_changed_member_by_member() {
    let ledger = TestLedger::bundled();
    let args = [
        "diff",
        "nato-membership",
        "--from",
        "2025-12-01",
        "--to",
        "2025-12-01",
        "--from-known-at",
        "seq:67",
    ];
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let diff = crate::common::json(&ledger, &json_args);
    let changes = diff["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{diff:#}");
    let change = &changes[0];
    assert_eq!(change["change"], "corrected");
    assert_eq!(change["event"]["seq"], 68);
    assert!(change["replaces"]
        .as_str()
        .unwrap()
        .starts_with("statement/"));
    let members: Vec<(&str, &serde_json::Value, &serde_json::Value)> = change["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["member"].as_str().unwrap(), &m["from"], &m["to"]))
        .collect();
    assert_eq!(members.len(), 2, "{members:?}");
    assert_eq!(members[0].0, "actor");
    assert_eq!(members[0].1, "marco-rubio");
    assert!(members[0].2.is_null());
    assert_eq!(members[1].0, "attribution");
    assert!(members[1]
        .2
        .as_str()
        .unwrap()
        .starts_with("unnamed US official"));
    assert_eq!(diff["from"]["known_seq"], 67);
    let table = ledger.ok(&args);
    assert!(
        // People read the actor's registered name; --json above keeps the slug.
        table.contains("corrected") && table.contains("actor: Marco Rubio"),
        "{table}"
    );
    assert!(
        !table.contains("removed") && !table.contains("added"),
        "{table}"
    );
    // A retraction is not a correction: the statement is removed, nothing is added.
    let id = change["replaces"]
        .as_str()
        .unwrap()
        .trim_start_matches("statement/")
        .to_string();
    let _ = id;
}

/// A correction restates the same kind of fact about the same entity: a status that
/// supersedes a party's registration is refused (the party would list with no name
/// and still take events), and so is a status of one provision superseding another's.
#[test]
fn a_correction_across_kinds_of_fact_is_refused() {
    let ledger = TestLedger::bundled();
    let export = ledger.export();
    let records = stored(&export);
    let id_of = |pred: &dyn Fn(&serde_json::Value) -> bool| id_where(&records, pred);
    let us = id_of(&|r| r["type"] == "party_registered" && r["party"] == "us");
    let status = |supersedes: &str, provision: &str| {
        format!(
            r#"{{"type":"status_changed","occurred_at":"2025-12-03","provision":"{provision}","status":"contested","supersedes":"{supersedes}"}}"#
        )
    };
    let run = ledger
        .at(NOW)
        .stdin(status(&us, "nato-membership"))
        .run(&["append", "-"]);
    refused(&run, 3, "is of type `party_registered` about `us`; a correction restates the same kind of fact about the same entity");
    let nato_status =
        id_of(&|r| r["type"] == "status_changed" && r["provision"] == "nato-membership");
    let other = records
        .iter()
        .find(|r| r["type"] == "provision_drafted" && r["provision"] != "nato-membership")
        .unwrap()["provision"]
        .as_str()
        .unwrap()
        .to_string();
    let run = ledger
        .at(NOW)
        .stdin(status(&nato_status, &other))
        .run(&["append", "-"]);
    refused(&run, 3, "`status_changed` about `nato-membership`");
    assert_eq!(ledger.export(), export);
    // The same fact about the same entity is a correction.
    ledger
        .at(NOW)
        .stdin(status(&nato_status, "nato-membership"))
        .run(&["append", "-"])
        .ok();
}

/// A registration that counted events still refer to cannot be retracted (they are
/// named); once a registration is retracted, the entity takes no new events.
#[test]
fn a_retracted_registration_takes_no_new_events_and_a_named_one_stays() {
    let ledger = TestLedger::bundled();
    let export = ledger.export();
    let records = stored(&export);
    let id_of = |pred: &dyn Fn(&serde_json::Value) -> bool| id_where(&records, pred);
    // Party `us` and an actor are named by counted events: refused, naming them.
    let us = id_of(&|r| r["type"] == "party_registered" && r["party"] == "us");
    let run = ledger.run(&["retract", &us, "--reason", "test", "--occurred-at", "now"]);
    refused(&run, 3, "party `us` is still named by");
    assert!(
        run.error().contains("retract those first"),
        "{}",
        run.error()
    );
    let actor = records
        .iter()
        .find(|r| r["type"] == "statement_made" && r["actor"].is_string())
        .unwrap()["actor"]
        .as_str()
        .unwrap()
        .to_string();
    let actor_id = id_of(&|r| r["type"] == "actor_registered" && r["actor"] == actor.as_str());
    let run = ledger.run(&[
        "retract",
        &actor_id,
        "--reason",
        "test",
        "--occurred-at",
        "now",
    ]);
    refused(&run, 3, &format!("actor `{actor}` is still named by"));
    assert_eq!(ledger.export(), export);
    // A party nobody names can be retracted; then it takes no new events.
    let out = ledger.register_party("fr", "France");
    let fr = appended_id(&out);
    ledger.ok(&[
        "retract",
        &fr,
        "--reason",
        "registered by mistake",
        "--occurred-at",
        "now",
    ]);
    let run = ledger.run(&[
        "append",
        "position_stated",
        "--provision",
        "nato-membership",
        "--party",
        "fr",
        "--stance",
        "supports",
        "--occurred-at",
        "2025-12-03",
    ]);
    refused(&run, 3, "party `fr` was retracted");
    // A retraction names who made it but never pins that actor's registration.
    ledger.register_party("it", "Italy");
    let out = ledger.ok(&[
        "append",
        "actor_registered",
        "--actor",
        "clerk",
        "--name",
        "A Clerk",
        "--party",
        "it",
        "--occurred-at",
        "now",
    ]);
    let clerk = appended_id(&out);
    let out = ledger.ok(&[
        "append",
        "statement_made",
        "--quote",
        "q",
        "--attribution",
        "someone",
        "--occurred-at",
        "2025-12-03",
    ]);
    let quote = appended_id(&out);
    ledger.ok(&[
        "retract",
        &quote,
        "--reason",
        "r",
        "--actor",
        "clerk",
        "--occurred-at",
        "now",
    ]);
    ledger.ok(&[
        "retract",
        &clerk,
        "--reason",
        "registered by mistake",
        "--occurred-at",
        "now",
    ]);
}

/// Ids made within minutes of each other share their first 8 digits (UUIDv7 is
/// time-ordered): tables show the shortest prefix unique in the ledger (8 digits at
/// least), and any unique prefix, or `seq:N`, is taken wherever an id is; an
/// ambiguous prefix is an error listing the candidates.
#[test]
fn short_ids_are_unique_and_any_unique_prefix_or_seq_names_an_event() {
    let ledger = TestLedger::new();
    for (slug, name) in [("fr", "France"), ("de", "Germany"), ("it", "Italy")] {
        ledger.register_party(slug, name);
    }
    let ids: Vec<String> = crate::common::json(&ledger, &["log", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().replace('-', ""))
        .collect();
    let shared = ids[0]
        .chars()
        .zip(ids[1].chars())
        .take_while(|(a, b)| a == b)
        .count();
    assert!(shared >= 8, "the ids share {shared} digits: {ids:?}");
    // The log shows each id by a prefix no other id has.
    let log = ledger.ok(&["log"]);
    for (i, id) in ids.iter().enumerate() {
        let others: Vec<&String> = ids
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, o)| o)
            .collect();
        let shown = (8..=32)
            .map(|n| &id[..n])
            .find(|p| log.contains(*p) && others.iter().all(|o| !o.starts_with(*p)))
            .unwrap_or_else(|| panic!("no unique prefix of {id} in\n{log}"));
        assert!(shown.len() >= 8);
    }
    // An ambiguous prefix names the candidates; a unique one and `seq:N` name the event.
    let run = ledger.run(&[
        "retract",
        &ids[0][..8],
        "--reason",
        "x",
        "--occurred-at",
        "now",
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.error().contains("event ids:")
            && run.error().contains("(seq 1)")
            && run.error().contains("give more digits"),
        "{}",
        run.error()
    );
    let unique = (8..=32)
        .map(|n| &ids[2][..n])
        .find(|p| !ids[0].starts_with(*p) && !ids[1].starts_with(*p))
        .unwrap();
    ledger.ok(&[
        "retract",
        unique,
        "--reason",
        "registered twice",
        "--occurred-at",
        "now",
    ]);
    ledger.ok(&[
        "retract",
        "seq:2",
        "--reason",
        "registered twice",
        "--occurred-at",
        "now",
    ]);
    let log = crate::common::json(&ledger, &["log", "--json"]);
    let targets: Vec<String> = log.as_array().unwrap()[3..]
        .iter()
        .map(|r| r["target"].as_str().unwrap().replace('-', ""))
        .collect();
    assert_eq!(targets, vec![ids[2].clone(), ids[1].clone()]);
    // `--supersedes` takes a prefix too; a prefix that names nothing is said so.
    let run = ledger.run(&[
        "append",
        "party_registered",
        "--party",
        "fr",
        "--name",
        "French Republic",
        "--supersedes",
        "seq:1",
        "--occurred-at",
        "now",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = ledger.run(&[
        "retract",
        "ffff0000",
        "--reason",
        "x",
        "--occurred-at",
        "now",
    ]);
    refused(&run, 3, "ID: no event id starts with `ffff0000`");
}

/// `list` and `search` count removals as of everything the ledger holds, like every
/// other read, even when its records are stamped after this machine's clock.
#[test]
fn list_and_search_see_records_stamped_after_the_clock() {
    let ledger = TestLedger::new();
    let future = || ledger.at("2030-01-01T00:00:00Z");
    future().run(APPEND_FRANCE).ok();
    let out = future()
        .run(&[
            "append",
            "party_registered",
            "--party",
            "de",
            "--name",
            "Germany",
            "--occurred-at",
            "2025-11-20",
        ])
        .ok();
    let id = appended_id(&out);
    future()
        .run(&[
            "retract",
            &id,
            "--reason",
            "a mistake",
            "--occurred-at",
            "2025-11-21",
        ])
        .ok();
    // The clock is now behind every record: the retraction still counts.
    let list = ledger.ok(&["list", "parties", "--json"]);
    assert!(
        list.contains("\"fr\"") && !list.contains("\"de\""),
        "{list}"
    );
    let search = ledger.ok(&["search", "Germany", "--json"]);
    assert!(
        search.contains("removed") || search.contains("retracted"),
        "{search}"
    );
}

/// In JSON an event names another by its whole id; a prefix or `seq:N` there is
/// refused with what to write instead, not a parser's words.
#[test]
fn json_input_names_events_by_whole_ids_with_a_clear_error() {
    let ledger = TestLedger::bundled();
    for (field, value) in [("target", "seq:3"), ("supersedes", "0190aaaa")] {
        let line = if field == "target" {
            format!(
                r#"{{"type":"event_retracted","occurred_at":"2025-12-03","target":"{value}","reason":"x"}}"#
            )
        } else {
            format!(
                r#"{{"type":"party_registered","occurred_at":"2025-12-03","party":"us","name":"US","supersedes":"{value}"}}"#
            )
        };
        let run = ledger.at(NOW).stdin(line).run(&["append", "-"]);
        refused(
            &run,
            3,
            &format!("field `{field}`: `{value}` is not a UUID"),
        );
        assert!(
            !run.error().contains("UUID parsing failed"),
            "{}",
            run.error()
        );
    }
}

/// The same two rules for entities registered by several events: a meeting (each
/// schedule or holding) and a provision (a draft per proposal) stay while one of
/// their registrations is live; the last one cannot be retracted while counted events
/// name the entity, and once it is retracted the entity takes no new events.
#[test]
fn meetings_and_provisions_keep_their_registrations_while_events_name_them() {
    let ledger = TestLedger::new();
    let lines = [
        r#"{"type":"party_registered","occurred_at":"2025-11-20","party":"us","name":"US"}"#,
        r#"{"type":"proposal_tabled","occurred_at":"2025-11-20","proposal":"p","title":"P","parties":["us"]}"#,
        r#"{"type":"proposal_tabled","occurred_at":"2025-11-20","proposal":"q","title":"Q","parties":["us"]}"#,
        r#"{"id":"0190aaaa-0000-7000-8000-000000000001","type":"provision_drafted","occurred_at":"2025-11-21","provision":"x","proposal":"p","title":"X","text":"t"}"#,
        r#"{"id":"0190aaaa-0000-7000-8000-000000000002","type":"provision_drafted","occurred_at":"2025-11-21","provision":"x","proposal":"q","title":"X","text":"u"}"#,
        r#"{"id":"0190aaaa-0000-7000-8000-000000000003","type":"status_changed","occurred_at":"2025-11-22","provision":"x","status":"contested"}"#,
        r#"{"id":"0190aaaa-0000-7000-8000-000000000004","type":"meeting_held","occurred_at":"2025-11-23","meeting":"summit","place":"Geneva","participants":[]}"#,
        r#"{"id":"0190aaaa-0000-7000-8000-000000000005","type":"statement_made","occurred_at":"2025-11-23","attribution":"a","quote":"q","meeting":"summit"}"#,
        r#"{"id":"0190aaaa-0000-7000-8000-000000000006","type":"meeting_held","occurred_at":"2025-11-24","meeting":"talks","place":"Paris","participants":[]}"#,
    ];
    let file = ledger.write("entities.ndjson", lines.join("\n").as_bytes());
    ledger.ok(&["import", file.to_str().unwrap()]);
    let retract =
        |id: &str| ledger.run(&["retract", id, "--reason", "test", "--occurred-at", "now"]);
    // x is drafted in p and in q: one draft may go, the last may not while a status names x.
    retract("0190aaaa-0000-7000-8000-000000000001").ok();
    let run = retract("0190aaaa-0000-7000-8000-000000000002");
    refused(
        &run,
        3,
        "provision `x` is still named by 1 counted event: seq 6 (status_changed)",
    );
    // A held meeting a statement names stays; one nobody names may go, and then
    // takes no new events.
    let run = retract("0190aaaa-0000-7000-8000-000000000004");
    refused(&run, 3, "meeting `summit` is still named by");
    retract("0190aaaa-0000-7000-8000-000000000006").ok();
    let run = ledger.run(&[
        "append",
        "statement_made",
        "--attribution",
        "b",
        "--quote",
        "r",
        "--meeting",
        "talks",
        "--occurred-at",
        "2025-11-25",
    ]);
    refused(&run, 3, "meeting `talks` was retracted");
}

/// `PACTLOG_SERVER` as `serve --bind` takes an address (no scheme) is refused with the
/// value corrected; nothing runs, here or anywhere.
#[test]
fn pactlog_server_without_its_scheme_shows_the_url_corrected() {
    let ledger = TestLedger::bundled();
    let run = |server: &str| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_pactlog"))
            .env_clear()
            .env("PACTLOG_DB", &ledger.db)
            .env("PACTLOG_NOW", NOW)
            .env("PACTLOG_SERVER", server)
            .args(["state", "nato-membership"])
            .output()
            .unwrap();
        (
            output.status.code().unwrap(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    // The example.
    let (code, err) = run("127.0.0.1:7878");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("needs http://") && err.contains("PACTLOG_SERVER=http://127.0.0.1:7878"),
        "{err}"
    );
    // Another scheme, and a host name.
    let (code, err) = run("ftp://example.org");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not ftp://"), "{err}");
    let (code, err) = run("localhost:7878/");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("PACTLOG_SERVER=http://localhost:7878"),
        "{err}"
    );
}

/// An event built from a command's flags is refused naming the flag that gave the
/// field, never the event's inner path (`sources[0].outlet`, `source.outlet`).
#[test]
fn errors_of_events_built_from_flags_name_the_flags() {
    let ledger = TestLedger::bundled();
    let before = ledger.export();
    // The example.
    let run = ledger.run(&["cite", "seq:3", "--outlet", ""]);
    refused(&run, 3, "--outlet cannot be empty");
    assert!(!run.error().contains("sources[0]"), "{}", run.error());
    // Cases of the kind: another flag of `cite`, `append`'s source and fields,
    // `retract`'s reason and its ID.
    let run = ledger.run(&["cite", "seq:3", "--outlet", "BBC", "--grade", "Q9"]);
    refused(&run, 3, "--grade: grade `Q9`");
    let run = ledger.run(&[
        "append",
        "statement_made",
        "--quote",
        "q",
        "--attribution",
        "a",
        "--occurred-at",
        "2025-12-04",
        "--source-outlet",
        "",
    ]);
    refused(&run, 3, "--source-outlet cannot be empty");
    let run = ledger.run(&[
        "append",
        "status_changed",
        "--provision",
        "nato-membership",
        "--staus",
        "agreed",
        "--occurred-at",
        "now",
    ]);
    refused(
        &run,
        3,
        "unknown flag --staus for status_changed (did you mean `--status`?)",
    );
    let run = ledger.run(&[
        "append",
        "status_changed",
        "--status",
        "agreed",
        "--occurred-at",
        "now",
    ]);
    refused(&run, 3, "status_changed needs --provision");
    let run = ledger.run(&["retract", "seq:5", "--reason", "", "--occurred-at", "now"]);
    refused(&run, 3, "--reason cannot be empty");
    // JSON on stdin keeps the event's own field names.
    let run = ledger
        .at(NOW)
        .stdin(r#"{"type":"status_changed","occurred_at":"2025-12-04","provision":"nato-membership","status":"agreed","source":{"outlet":""}}"#)
        .run(&["append", "-"]);
    refused(&run, 3, "field `source.outlet` cannot be empty");
    assert_eq!(ledger.export(), before);
}

/// `append -` with nothing on stdin says so (exit 3, invalid input); an empty input
/// to `import` imports nothing (exit 0) and says which input was empty.
#[test]
fn an_empty_input_is_refused_by_append_and_noted_by_import() {
    let ledger = TestLedger::bundled();
    let before = ledger.export();
    // The example.
    for stdin in ["", " \n\n"] {
        let run = ledger.at(NOW).stdin(stdin).run(&["append", "-"]).fails();
        refused(&run, 3, "stdin: no event on standard input");
    }
    let empty = ledger.write("empty.ndjson", b"");
    let run = ledger.run(&["import", empty.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("imported 0 events"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stderr.trim(),
        format!("pactlog: no events in {}", empty.display())
    );
    // Comments only, beside a file with an event: that one is imported, the empty one named.
    let comments = ledger.write("comments.ndjson", b"# nothing yet\n\n");
    let one = ledger.write("one.ndjson", EVENT.as_bytes());
    let run = ledger.run(&["import", comments.to_str().unwrap(), one.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("imported 1 event"), "{}", run.stdout);
    assert!(run.stderr.contains("no events in") && run.stderr.contains("comments.ndjson"));
    assert!(!run.stderr.contains("one.ndjson"), "{}", run.stderr);
    // Standard input, and --quiet says nothing.
    let run = ledger.at(NOW).stdin("").run(&["import", "-"]);
    assert!(
        run.stderr.contains("no events in standard input"),
        "{}",
        run.stderr
    );
    let run = ledger.at(NOW).stdin("").run(&["--quiet", "import", "-"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert_eq!(ledger.export().lines().count(), before.lines().count() + 1);
}

/// A file that cannot be written is named as the user gave it, never by the
/// temporary file beside it that is renamed into place.
#[test]
fn an_unwritable_output_is_named_as_given() {
    let ledger = TestLedger::bundled();
    let missing = ledger.path("nowhere/x.html");
    let shown = missing.to_str().unwrap();
    // The example.
    let run = ledger.run(&["timeline", "nato-membership", "--html", shown]);
    refused(&run, 1, &format!("{shown}: the folder "));
    assert!(!run.error().contains(".pactlog-"), "{}", run.error());
    // Every writer of a FILE: export's NDJSON and each publishing format.
    for args in [
        &["export", "--out"][..],
        &["export", "--format", "csv", "--out"],
        &["export", "--format", "timelinejs", "--out"],
    ] {
        let out = ledger.path("nowhere/x.out");
        let run = ledger.run(&[args, &[out.to_str().unwrap()]].concat());
        refused(&run, 1, &format!("{}: the folder ", out.display()));
        assert!(!run.error().contains(".pactlog-"), "{}", run.error());
    }
    // A file where a folder should be.
    let file = ledger.write("plain", b"x");
    let inside = file.join("x.ndjson");
    let run = ledger.run(&["export", "--out", inside.to_str().unwrap()]);
    refused(&run, 1, &inside.display().to_string());
    assert!(!run.error().contains(".pactlog-"), "{}", run.error());
    // A tester's case: a folder where the file should be said "Is a directory (os
    // error 21)".
    let folder = ledger.path("");
    let run = ledger.run(&["export", "--out", folder.to_str().unwrap()]);
    refused(&run, 1, "is a folder: name a file");
    assert!(!run.error().contains("os error"), "{}", run.error());
}

/// Found by a fresh tester: a seq written with a sign (`--expect-seq +68`) was read
/// as 68 (Rust's number parser takes the sign). A seq is a record's number in digits
/// alone wherever a user gives one; a sign is refused naming where it was given, and
/// nothing is written.
#[test]
fn a_seq_with_a_sign_is_refused_wherever_a_seq_is_given() {
    let ledger = TestLedger::bundled();
    let before = ledger.export();
    let head = ledger.ok(&["verify", "--json"]);
    let hash = serde_json::from_str::<serde_json::Value>(&head).unwrap()["head"]["hash"]
        .as_str()
        .unwrap()
        .to_string();
    // The example, with the flag before the event's fields and among them.
    let mut append = crate::common::APPEND_VATICAN.to_vec();
    append.extend(["--expect-seq", "+68"]);
    let run = ledger.fails(&append);
    refused(
        &run,
        2,
        "--expect-seq: `+68` is not a seq: write its digits alone (`68`)",
    );
    let run = ledger.fails(&["append", "--expect-seq", "+68", "-"]);
    refused(&run, 2, "--expect-seq: `+68` is not a seq");
    // Cases of the kind: the flag of `import`, `seq:N` as a cut and as an event,
    // the seq of `--head`.
    let file = ledger.write("one.ndjson", EVENT.as_bytes());
    let run = ledger.fails(&["import", "--expect-seq", "+68", file.to_str().unwrap()]);
    refused(&run, 2, "--expect-seq: `+68` is not a seq");
    let run = ledger.fails(&["state", "--known-at", "seq:+5"]);
    refused(
        &run,
        2,
        "--known-at: `seq:+5`: `seq:` takes a record number in digits alone, such as `seq:5`",
    );
    let run = ledger.fails(&["retract", "seq:+3", "--reason", "r", "--occurred-at", "now"]);
    refused(
        &run,
        3,
        "`seq:+3`: `seq:` takes a record number in digits alone",
    );
    let run = ledger.fails(&["verify", "--head", &format!("+68:{hash}")]);
    refused(&run, 2, "--head: `+68:");
    assert!(
        run.error().contains("`+68` is not a seq"),
        "{}",
        run.error()
    );
    assert_eq!(ledger.export(), before);
    // Digits alone are taken.
    ledger.ok(&["verify", "--head", &format!("68:{hash}")]);
    ledger.ok(&["import", "--expect-seq", "68", file.to_str().unwrap()]);
}

/// Found by a fresh tester: `append -` with only comment lines on stdin said
/// "invalid JSON". Comments and blank lines alone are no event, refused as an empty
/// stdin is; a comment before the one event is a comment, as in a file.
#[test]
fn comments_and_blank_lines_alone_are_no_event_for_append() {
    let ledger = TestLedger::bundled();
    let before = ledger.export();
    // The example, and a byte-order mark, CRLF and indented comments.
    for stdin in ["# nothing yet\n", "\u{feff}# header\r\n\r\n   # more\r\n"] {
        let run = ledger.at(NOW).stdin(stdin).run(&["append", "-"]).fails();
        refused(&run, 3, "stdin: no event on standard input");
    }
    assert_eq!(ledger.export(), before);
    ledger
        .at(NOW)
        .stdin(format!("# France\n{EVENT}\n"))
        .ok(&["append", "-"]);
    assert_eq!(ledger.export().lines().count(), before.lines().count() + 1);
}

/// Found by a fresh tester: a retraction naming an event that comes later in the
/// same import said only that no such event is in the ledger. It says the event
/// comes later in this input, with the file and line of both, and nothing is written.
#[test]
fn an_event_named_before_it_comes_in_the_input_is_refused_naming_both() {
    let ledger = TestLedger::bundled();
    let before = ledger.export();
    let later = "0190aaaa-0000-7000-8000-0000000000b1";
    let retraction = format!(
        r#"{{"type":"event_retracted","target":"{later}","reason":"wrong","occurred_at":"2025-12-04"}}"#
    );
    let event = format!(
        r#"{{"id":"{later}","type":"party_registered","party":"malta","name":"Malta","occurred_at":"2025-12-03"}}"#
    );
    // The example.
    let file = ledger.write(
        "late.ndjson",
        format!("{retraction}\n# and then\n{event}\n").as_bytes(),
    );
    let run = ledger.fails(&["import", file.to_str().unwrap()]);
    let shown = file.display();
    refused(
        &run,
        3,
        &format!(
            "{shown}:1: field `target`: event {later} comes later in this input, at {shown}:3"
        ),
    );
    // Another case of the kind: a correction (`supersedes`) in one file of the event
    // it corrects in the next one.
    let correction = format!(
        r#"{{"type":"party_registered","party":"malta","name":"Republic of Malta","supersedes":"{later}","occurred_at":"2025-12-03"}}"#
    );
    let first = ledger.write("a.ndjson", format!("{correction}\n").as_bytes());
    let second = ledger.write("b.ndjson", format!("{EVENT}\n{event}\n").as_bytes());
    let run = ledger.fails(&["import", first.to_str().unwrap(), second.to_str().unwrap()]);
    refused(
        &run,
        3,
        &format!(
            "{}:1: field `supersedes`: event {later} comes later in this input, at {}:2",
            first.display(),
            second.display()
        ),
    );
    assert_eq!(ledger.export(), before, "nothing was written");
}

/// Found by a fresh tester: `cite … --url ""` was accepted. Blank texts (empty, or
/// only white space) are refused in new events, from flags and JSON alike, naming
/// the flag or field; records already stored with one (an export of an earlier
/// release) still import and verify.
#[test]
fn blank_texts_are_refused_in_new_events_and_kept_in_stored_records() {
    let ledger = TestLedger::bundled();
    let before = ledger.export();
    // The example.
    let run = ledger.run(&["cite", "seq:3", "--outlet", "BBC", "--url", ""]);
    refused(&run, 3, "--url cannot be empty");
    // Cases of the kind: only white space, an optional flag of `append`, a field of
    // JSON (a required one, and one inside a source).
    let run = ledger.run(&["cite", "seq:3", "--outlet", "BBC", "--via", "  "]);
    refused(&run, 3, "--via cannot be empty (it holds only white space)");
    let run = ledger.run(&[
        "append",
        "status_changed",
        "--provision",
        "nato-membership",
        "--status",
        "agreed",
        "--note",
        "\t",
        "--occurred-at",
        "now",
    ]);
    refused(&run, 3, "--note cannot be empty");
    for (object, says) in [
        (
            r#"{"type":"proposal_tabled","proposal":"p","title":" ","parties":["us"],"occurred_at":"2025-12-04"}"#,
            "stdin: field `title` cannot be empty",
        ),
        (
            r#"{"type":"statement_made","quote":"q","attribution":"someone","sources":[{"outlet":"AP","language":""}],"occurred_at":"2025-12-04"}"#,
            "stdin: field `sources[0].language` cannot be empty",
        ),
    ] {
        let run = ledger.at(NOW).stdin(object).run(&["append", "-"]);
        refused(&run, 3, says);
    }
    assert_eq!(ledger.export(), before, "nothing was written");
    // A stored record with a blank note, as an earlier release could write it, chained
    // after the bundled record: the export imports into a new ledger and verifies.
    let record = record_after(
        &before,
        serde_json::json!({
            "id": "0190aaaa-0000-7000-8000-0000000000c1",
            "type": "status_changed",
            "provision": "nato-membership",
            "status": "contested",
            "note": "",
            "occurred_at": "2025-12-05",
        }),
    );
    let old = format!("{before}{record}\n");
    let file = ledger.write("old.ndjson", old.as_bytes());
    let restored = TestLedger::new();
    restored.ok(&["import", file.to_str().unwrap()]);
    restored.ok(&["verify"]);
    assert_eq!(restored.export().lines().count(), 69);
    // Imported again: already there.
    let out = restored.ok(&["import", file.to_str().unwrap()]);
    assert!(
        out.starts_with("imported 0 events (69 already present)"),
        "{out}"
    );
}

/// Found by a fresh tester: `"id": null` was accepted; the event got a new id but the
/// record was stored with `null`, and every later command failed on that ledger
/// (exit 6, sled set aside and rebuilt again and again). A `null` in any field of a
/// new event is refused, naming the field: a field with nothing to say is left out.
/// A stored record with `"id": null` is refused on import, naming the line.
#[test]
fn a_null_in_a_new_event_is_refused_naming_the_field() {
    let ledger = TestLedger::bundled();
    let before = ledger.export();
    // The example, by import and by `append -`.
    let example = r#"{"id":null,"type":"status_changed","provision":"nato-membership","status":"agreed","occurred_at":"2025-12-02"}"#;
    let run = ledger.at(NOW).stdin(example).run(&["import", "-"]);
    refused(&run, 3, "stdin:1: field `id` is null");
    let run = ledger.at(NOW).stdin(example).run(&["append", "-"]);
    refused(&run, 3, "field `id` is null");
    // Cases of the kind: an optional field, a field inside a source, `source` beside
    // `sources`, `parameters`.
    for (object, says) in [
        (
            r#"{"type":"status_changed","provision":"nato-membership","status":"agreed","occurred_at":"2025-12-02","note":null}"#,
            "field `note` is null",
        ),
        (
            r#"{"type":"statement_made","quote":"q","attribution":"someone","sources":[{"outlet":"AP","grade":null}],"occurred_at":"2025-12-04"}"#,
            "field `sources[0].grade` is null",
        ),
        (
            r#"{"type":"statement_made","quote":"q","attribution":"someone","source":null,"sources":[{"outlet":"AP"}],"occurred_at":"2025-12-04"}"#,
            "field `source` is null",
        ),
        (
            r#"{"type":"provision_amended","provision":"nato-membership","proposal":"us-28-point-plan","text":"t","parameters":null,"occurred_at":"2025-12-04"}"#,
            "field `parameters` is null",
        ),
    ] {
        let run = ledger.at(NOW).stdin(object).run(&["append", "-"]);
        refused(&run, 3, says);
    }
    assert_eq!(ledger.export(), before, "nothing was written");
    ledger.ok(&["verify"]);
    // An export line whose record says `"id": null` is refused on import.
    let record = record_after(
        &before,
        serde_json::json!({
            "id": null,
            "type": "status_changed",
            "provision": "nato-membership",
            "status": "contested",
            "occurred_at": "2025-12-05",
        }),
    );
    let file = ledger.write("old.ndjson", format!("{before}{record}\n").as_bytes());
    let fresh = TestLedger::new();
    let run = fresh.run(&["import", file.to_str().unwrap()]);
    refused(&run, 3, "old.ndjson:69: ");
    assert!(run.error().contains("field `id`"), "{}", run.error());
}

/// A case of the sign kind found beside the seqs: chrono reads a day's year with a
/// sign and fewer digits (`+025-11-23` as the year 25), so such a day was taken as a
/// cut and stored in new events. It is refused in both, naming the flag or field;
/// a record stored with one still imports.
#[test]
fn a_day_written_with_a_sign_is_refused_in_cuts_and_new_events() {
    let ledger = TestLedger::bundled();
    let before = ledger.export();
    let run = ledger.fails(&["state", "nato-membership", "--at", "+025-11-23"]);
    refused(
        &run,
        2,
        "--at: `+025-11-23` is not a day as pactlog reads one: write the year in four digits, without a sign (`0025-11-23`)",
    );
    let mut append = crate::common::APPEND_VATICAN.to_vec();
    append[7] = "+025-12-03";
    refused(
        &ledger.fails(&append),
        3,
        "--occurred-at: `+025-12-03` is not a day",
    );
    let source = r#"{"type":"party_registered","party":"va","name":"Holy See","occurred_at":"2025-12-03","source":{"outlet":"AP","published_at":"+025-12-03"}}"#;
    let run = ledger.at(NOW).stdin(source).run(&["append", "-"]);
    refused(
        &run,
        3,
        "field `source.published_at`: `+025-12-03` is not a day",
    );
    assert_eq!(ledger.export(), before);
    // Stored with one by an earlier release: imported as it was.
    let last = stored(&before).pop().unwrap();
    let mut record = serde_json::json!({
        "id": "0190aaaa-0000-7000-8000-0000000000c2",
        "type": "party_registered",
        "party": "va",
        "name": "Holy See",
        "occurred_at": "+025-12-03",
        "seq": 69,
        "recorded_at": "2025-12-05T00:00:00Z",
        "prev_hash": last["hash"],
    });
    let hash = pactlog::chain::hash_hex(&pactlog::chain::canonical(record.as_object().unwrap()));
    record["hash"] = hash.into();
    let file = ledger.write("old.ndjson", format!("{before}{record}\n").as_bytes());
    let restored = TestLedger::new();
    restored.ok(&["import", file.to_str().unwrap()]);
    restored.ok(&["verify"]);
}

/// Found by a fresh tester: `timeline --html LEDGER/pactlog.head` replaced the head
/// witness (every later command failed with exit 6), and `export --out
/// LEDGER/journal` replaced the journal, both with exit 0. No output of pactlog is
/// written inside a ledger folder, its own or another's, nor is a new ledger made in
/// a folder of other files.
#[test]
fn no_output_is_written_inside_a_ledger_folder() {
    let ledger = TestLedger::bundled();
    let before = ledger.export();
    let db = ledger.db.display().to_string();
    let inside = |name: &str| format!("{db}/{name}");
    // The example, then every file pactlog writes for a user.
    for args in [
        vec![
            "timeline".to_string(),
            "--html".into(),
            inside("pactlog.head"),
        ],
        vec!["export".into(), "--out".into(), inside("journal")],
        vec!["export".into(), "--out".into(), inside("sled/new.ndjson")],
        vec![
            "export".into(),
            "--format".into(),
            "csv".into(),
            "--out".into(),
            inside("x.csv"),
        ],
        vec!["man".into(), "--out".into(), inside("man")],
        vec!["demo".into(), "--write-events".into(), inside("events")],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = ledger.run(&args);
        refused(
            &run,
            1,
            &format!(
                "is inside the ledger folder {}",
                ledger.db.canonicalize().unwrap().display()
            ),
        );
    }
    assert_eq!(ledger.export(), before, "the ledger is as it was");
    ledger.ok(&["verify"]);
    // Another ledger's folder, through a link to it.
    let other = TestLedger::bundled();
    #[cfg(unix)]
    {
        let link = ledger.path("link");
        std::os::unix::fs::symlink(&other.db, &link).unwrap();
        let run = ledger.run(&["export", "--out", &format!("{}/journal", link.display())]);
        refused(&run, 1, "is inside the ledger folder");
        other.ok(&["verify"]);
    }
    // A second tester's cases: links and `..` in paths still to be made.
    #[cfg(unix)]
    {
        let other = TestLedger::bundled();
        let journal = std::fs::read(other.db.join("journal")).unwrap();
        let pages = ledger.path("pages");
        std::fs::create_dir(&pages).unwrap();
        std::fs::hard_link(other.db.join("journal"), pages.join("pactlog.1")).unwrap();
        std::os::unix::fs::symlink(other.db.join("pactlog.head"), pages.join("pactlog-state.1"))
            .unwrap();
        let run = ledger.run(&["man", "--out", pages.to_str().unwrap()]);
        refused(&run, 1, "pactlog-state.1: is inside the ledger folder");
        let through = ledger.path("nowhere/../other/man");
        std::os::unix::fs::symlink(&other.db, ledger.path("other")).unwrap();
        let run = ledger.run(&["man", "--out", through.to_str().unwrap()]);
        refused(&run, 1, "is inside the ledger folder");
        let events = ledger.path("events");
        std::fs::create_dir(&events).unwrap();
        std::os::unix::fs::symlink(&other.db, events.join("russia-ukraine-2025")).unwrap();
        let run = ledger.run(&["demo", "--write-events", events.to_str().unwrap()]);
        refused(&run, 1, "01-talks.ndjson: is inside the ledger folder");
        assert_eq!(std::fs::read(other.db.join("journal")).unwrap(), journal);
        other.ok(&["verify"]);
    }
    // Files another folder may hold are no ledger: a `db` alone, a `journal` of text.
    for (name, text) in [("db", "my dump"), ("journal", "my diary")] {
        let folder = ledger.path(&format!("folder-with-{name}"));
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join(name), text).unwrap();
        let run = ledger.run(&[&["--db", folder.to_str().unwrap()][..], APPEND_FRANCE].concat());
        refused(
            &run,
            1,
            &format!("holds files but no ledger (such as `{name}`)"),
        );
        assert_eq!(std::fs::read_to_string(folder.join(name)).unwrap(), text);
        assert_eq!(
            std::fs::read_dir(&folder).unwrap().count(),
            1,
            "nothing was made"
        );
    }
    // What pactlog itself leaves in a ledger folder does not stop a new ledger there
    // (sled set aside after damage, the lock), and an empty journal is a ledger's.
    let leftovers = ledger.path("leftovers");
    std::fs::create_dir_all(leftovers.join("sled.damaged.1")).unwrap();
    std::fs::write(leftovers.join("lock"), "").unwrap();
    ledger.ok(&[&["--db", leftovers.to_str().unwrap()][..], APPEND_FRANCE].concat());
    let fresh = ledger.path("fresh");
    std::fs::create_dir(&fresh).unwrap();
    std::fs::write(fresh.join("journal"), "").unwrap();
    ledger.ok(&["--db", fresh.to_str().unwrap(), "log"]);
    // A folder of other files is not made a ledger.
    let folder = ledger.path("notes");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("todo.txt"), "x").unwrap();
    let run = ledger.run(&[&["--db", folder.to_str().unwrap()][..], APPEND_FRANCE].concat());
    refused(&run, 1, "holds files but no ledger (such as `todo.txt`)");
    assert_eq!(
        std::fs::read_dir(&folder).unwrap().count(),
        1,
        "nothing was made"
    );
}

/// Found by a fresh tester: `--at 2025-1-1` or `--at 10000-01-01` was "unknown
/// meeting" (exit 4). Digits and dashes that name no meeting were meant as a day: a
/// usage error (exit 2) that writes the day it meant when there is one.
#[test]
fn a_day_mistyped_as_a_cut_says_the_day_it_meant() {
    let ledger = TestLedger::bundled();
    for (when, says) in [
        ("2025-1-1", "did you mean 2025-01-01?"),
        ("20251123", "did you mean 2025-11-23?"),
        ("10000-01-01", "in the years 0000 to 9999"),
    ] {
        let run = ledger.run(&["state", "nato-membership", "--at", when]);
        refused(
            &run,
            2,
            &format!("--at: `{when}` is neither a day nor a meeting of the ledger"),
        );
        assert!(run.error().contains(says), "{}", run.error());
        let run = ledger.run(&["history", "nato-membership", "--known-at", when]);
        refused(&run, 2, says);
    }
    // A meeting asked before the ledger knew of it says so, with the cut as given.
    let run = ledger.run(&["state", "--at", "geneva-2025-11-23", "--known-at", "seq:20"]);
    refused(&run, 4, "meeting `geneva-2025-11-23` is not in the ledger yet as known at seq:20 (its first record is seq ");
}

/// Found by a fresh tester: views and refusals that left out what the user gave. A
/// backward `diff` listed every field as "removed, made by (before the cut)"; `state
/// --min-grade A1` of every provision did not name the filter; `history --at` did not
/// say its valid-time limit; a byte-order mark inside a file, or a line after a JSON
/// array, got serde's words alone.
#[test]
fn views_and_refusals_say_the_cut_filter_and_form_they_were_given() {
    let ledger = TestLedger::bundled();
    let before = ledger.export();
    // Backward on either axis: refused, saying which way round.
    let run = ledger.run(&[
        "diff",
        "nato-membership",
        "--from",
        "2030-01-01",
        "--to",
        "2020-01-02",
    ]);
    refused(
        &run,
        2,
        "--from (end of 2030-01-01) is after --to (end of 2020-01-02)",
    );
    let run = ledger.run(&[
        "diff",
        "nato-membership",
        "--from-known-at",
        "seq:60",
        "--to-known-at",
        "seq:20",
    ]);
    refused(
        &run,
        2,
        "--from-known-at (seq:60) is after --to-known-at (seq:20)",
    );
    // A side not given says the default it took.
    let run = ledger.run(&["diff", "nato-membership", "--to", "2025-11-20"]);
    refused(&run, 2, "--from (not given: now, ");
    // The filter, named when it leaves no provision.
    let none = ledger.ok(&["state", "--min-grade", "A1"]);
    assert!(
        none.contains("under --min-grade A1 (a draft with no source graded that high"),
        "{none}"
    );
    // The valid-time limit in history's header.
    let history = ledger.ok(&["history", "nato-membership", "--at", "2025-11-21"]);
    assert!(
        history.starts_with("nato-membership: 1 event up to end of 2025-11-21, as known at"),
        "{history}"
    );
    // Forms of input: a BOM inside the file, a line after an array.
    let event = |party: &str| {
        format!(
            r#"{{"type":"party_registered","party":"{party}","name":"P","occurred_at":"2025-11-20"}}"#
        )
    };
    let bom = ledger.write(
        "bom.ndjson",
        format!("{}\n\u{feff}{}\n", event("aa"), event("bb")).as_bytes(),
    );
    let run = ledger.run(&["import", bom.to_str().unwrap()]);
    refused(
        &run,
        3,
        "bom.ndjson:2: a byte-order mark (U+FEFF) starts this line",
    );
    let arrays = ledger.write(
        "arrays.ndjson",
        format!("[{}]\n{}\n", event("aa"), event("bb")).as_bytes(),
    );
    let run = ledger.run(&["import", arrays.to_str().unwrap()]);
    refused(&run, 3, "arrays.ndjson:2: invalid JSON: trailing characters: something follows the JSON array that starts on line 1");
    // A correction of an event this same input already corrected names it as such.
    let export = ledger.export();
    let target = id_where(&stored(&export), &|r| r["type"] == "statement_made");
    let twice = ledger.write(
        "twice.ndjson",
        format!(
            "{{\"type\":\"event_retracted\",\"target\":\"{target}\",\"occurred_at\":\"2025-12-02\",\"reason\":\"wrong\"}}\n{{\"type\":\"event_retracted\",\"target\":\"{target}\",\"occurred_at\":\"2025-12-02\",\"reason\":\"again\"}}\n"
        )
        .as_bytes(),
    );
    let run = ledger.run(&["import", twice.to_str().unwrap()]);
    refused(
        &run,
        3,
        "(an earlier event of this input, which would be seq 69)",
    );
    assert_eq!(ledger.export(), before, "nothing was written");
}
