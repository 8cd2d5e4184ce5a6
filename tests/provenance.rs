//! Provenance (issue 13): several graded sources per event, `basis`, `cite` on both
//! time axes, `--min-grade` and `--reported-only`, conflicts and their resolution,
//! parameters in `diff`/`compare`, and v1 input unchanged.

use serde_json::{json, Value};

use crate::common::{json, TestLedger};

const T1: &str = "2025-11-24T10:00:00Z";
const T2: &str = "2025-11-26T10:00:00Z";
const T3: &str = "2025-11-28T10:00:00Z";

fn id(n: u32) -> String {
    format!("00000000-0000-7000-8000-{n:012}")
}

fn import_at(ledger: &TestLedger, now: &str, events: &[Value]) -> String {
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    ledger.at(now).stdin(lines.join("\n")).ok(&["import", "-"])
}

/// Two proposals with a troop cap; a Reuters-sourced draft graded B2, a Telegraph
/// one graded C3, and an unsourced draft.
fn scenario() -> TestLedger {
    let ledger = TestLedger::new();
    import_at(
        &ledger,
        T1,
        &[
            json!({"type": "party_registered", "occurred_at": "2025-11-20", "party": "us", "name": "US", "id": id(1)}),
            json!({"type": "party_registered", "occurred_at": "2025-11-20", "party": "ukraine", "name": "Ukraine", "id": id(2)}),
            json!({"type": "proposal_tabled", "occurred_at": "2025-11-20", "proposal": "plan", "title": "Plan", "parties": ["us"], "id": id(3)}),
            json!({"type": "proposal_tabled", "occurred_at": "2025-11-23", "proposal": "counter", "title": "Counter", "parties": ["ukraine"], "id": id(4)}),
            json!({"type": "provision_drafted", "occurred_at": "2025-11-20", "provision": "army", "proposal": "plan", "title": "Army cap", "text": "a cap on the army", "parameters": {"troop_cap": 600000}, "sources": [{"outlet": "Axios", "grade": "B2", "url": "https://example.org/axios"}, {"outlet": "Ukrainian deputy", "grade": "C3", "language": "uk"}], "id": id(5)}),
            json!({"type": "provision_drafted", "occurred_at": "2025-11-23", "provision": "army", "proposal": "counter", "title": "Army cap", "text": "800,000 in peacetime", "parameters": {"troop_cap": 800000, "scope": "peacetime"}, "source": {"outlet": "Reuters", "via": "Reuters saw the document", "grade": "B2"}, "basis": "document", "id": id(6)}),
            json!({"type": "provision_drafted", "occurred_at": "2025-11-23", "provision": "nato", "proposal": "plan", "title": "NATO", "text": "no membership", "source": {"outlet": "Telegraph", "grade": "C3"}, "id": id(7)}),
            json!({"type": "provision_drafted", "occurred_at": "2025-11-23", "provision": "sanctions", "proposal": "plan", "title": "Sanctions", "text": "lifted in stages", "id": id(8)}),
        ],
    );
    ledger
}

#[test]
fn several_graded_sources_are_stored_and_shown() {
    let ledger = scenario();
    let blame = json(&ledger, &["blame", "army", "--json"]);
    let line = |field: &str| {
        blame["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == field)
            .unwrap_or_else(|| panic!("{field}: {blame}"))
            .clone()
    };
    let plan = line("text/plan");
    assert_eq!(plan["event"]["sources"][0]["outlet"], "Axios");
    assert_eq!(plan["event"]["sources"][1]["grade"], "C3");
    assert_eq!(plan["event"]["sources"][1]["language"], "uk");
    let counter = line("text/counter");
    assert_eq!(
        counter["event"]["sources"][0]["via"],
        "Reuters saw the document"
    );
    assert_eq!(counter["event"]["basis"], "document");
    // `source` is stored as given (a list of one is read, the record keeps its form).
    let history = json(&ledger, &["history", "army", "--json"]);
    assert!(history[1]["source"].is_object(), "{}", history[1]);
    assert!(history[1].get("sources").is_none());
    let table = ledger.ok(&["blame", "army"]);
    assert!(table.contains("Axios (B2)"), "{table}");
    assert!(table.contains("Ukrainian deputy (C3)"), "{table}");
}

#[test]
fn a_bad_grade_or_both_source_forms_are_refused_and_nothing_is_appended() {
    let ledger = scenario();
    let head = ledger.ok(&["log", "--json"]);
    let bad = [
        (json!({"type": "status_changed", "occurred_at": "2025-11-24", "provision": "army", "status": "contested", "source": {"outlet": "X", "grade": "G2"}}), "field `source.grade`: grade `G2` is not an Admiralty grade"),
        (json!({"type": "status_changed", "occurred_at": "2025-11-24", "provision": "army", "status": "contested", "sources": [{"outlet": "X", "grade": "b2"}]}), "field `sources[0].grade`: grade `b2`: write the reliability letter as a capital (`B2`)"),
        (json!({"type": "status_changed", "occurred_at": "2025-11-24", "provision": "army", "status": "contested", "source": {"outlet": "X"}, "sources": [{"outlet": "Y"}]}), "give `sources` (a list) or `source` (one), not both"),
        (json!({"type": "position_stated", "occurred_at": "2025-11-24", "provision": "army", "party": "ukraine", "stance": "opposes", "basis": "inference"}), "basis `inference` needs field `note`"),
        (json!({"type": "position_stated", "occurred_at": "2025-11-24", "provision": "army", "party": "ukraine", "stance": "opposes", "basis": "infered", "note": "n"}), "unknown basis `infered` (did you mean `inference`?)"),
        (json!({"type": "provision_amended", "occurred_at": "2025-11-24", "provision": "army", "proposal": "plan", "text": "t", "parameters": {"cap": {"n": 1}}}), "field `parameters`: `cap` is an object; parameters are a flat object"),
    ];
    for (event, message) in bad {
        let run = ledger.at(T2).stdin(event.to_string()).run(&["import", "-"]);
        let run = run.fails();
        assert!(
            run.error().contains(message),
            "{}\nwanted: {message}",
            run.error()
        );
        assert!(run.error().contains("stdin:1"), "{}", run.error());
    }
    assert_eq!(
        ledger.ok(&["log", "--json"]),
        head,
        "the ledger is unchanged"
    );
}

#[test]
fn min_grade_keeps_events_with_a_good_enough_source_and_registrations() {
    let ledger = scenario();
    let states = json(&ledger, &["state", "--min-grade", "B2", "--json"]);
    let slugs: Vec<&str> = states
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["provision"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["army"], "C3 and unsourced drafts are left out");
    let states = json(&ledger, &["state", "--min-grade", "C3", "--json"]);
    assert_eq!(states.as_array().unwrap().len(), 2, "{states}");
    assert_eq!(
        json(&ledger, &["state", "--json"])
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Registrations always count: the proposals are there to compare.
    let compare = json(
        &ledger,
        &["compare", "plan", "counter", "--min-grade", "A1", "--json"],
    );
    assert_eq!(compare["provisions"], json!([]));
    let log = ledger.ok(&["log", "--min-grade", "B2"]);
    assert!(
        log.contains("party_registered") && !log.contains("nato"),
        "{log}"
    );
    let err = ledger.fails(&["state", "--min-grade", "Z9"]);
    assert_eq!(err.code, 2);
    assert!(
        err.error().contains("--min-grade: grade `Z9`"),
        "{}",
        err.error()
    );
}

#[test]
fn cite_adds_a_source_from_its_own_record_time() {
    let ledger = scenario();
    // The NATO draft is graded C3 only: not in a B2 view.
    let before = json(&ledger, &["state", "--min-grade", "B2", "--json"]);
    assert_eq!(before.as_array().unwrap().len(), 1);
    let out = ledger.at(T2).ok(&[
        "cite",
        &id(7),
        "--outlet",
        "Reuters",
        "--grade",
        "B2",
        "--published-at",
        "2025-11-25",
        "--url",
        "https://example.org/r",
    ]);
    assert!(out.starts_with("appended seq 9"), "{out}");
    let after = json(&ledger, &["state", "--min-grade", "B2", "--json"]);
    assert_eq!(
        after.as_array().unwrap().len(),
        2,
        "the cite lets the NATO draft in"
    );
    // Record time: as known before the cite, it is still out.
    let known = json(
        &ledger,
        &["state", "--min-grade", "B2", "--known-at", T1, "--json"],
    );
    assert_eq!(known.as_array().unwrap().len(), 1);
    // Valid time: the cite counts wherever its target does (dated as the target).
    let at = json(
        &ledger,
        &[
            "state",
            "nato",
            "--min-grade",
            "B2",
            "--at",
            "2025-11-23",
            "--json",
        ],
    );
    assert_eq!(at["provision"], "nato");
    // Blame shows the cited source with its record time; before it, none.
    let blame = json(&ledger, &["blame", "nato", "--json"]);
    let cited = &blame["fields"][0]["event"]["cited"];
    assert_eq!(cited[0]["sources"][0]["outlet"], "Reuters", "{blame}");
    assert_eq!(cited[0]["recorded_at"], T2);
    let earlier = json(&ledger, &["blame", "nato", "--known-at", T1, "--json"]);
    assert!(
        earlier["fields"][0]["event"].get("cited").is_none(),
        "{earlier}"
    );
    // seq:N takes a record; a cite of a retraction or of nothing is refused.
    ledger.at(T2).ok(&["cite", "seq:8", "--outlet", "AFP"]);
    let err = ledger
        .at(T2)
        .run(&["cite", "seq:99", "--outlet", "AFP"])
        .fails();
    // A seq past the head is not found, as README's exit codes say.
    assert_eq!(err.code, 4, "{}", err.error());
    let err = ledger
        .at(T2)
        .run(&["cite", &id(7), "--outlet", "AFP", "--grade", "B9"])
        .fails();
    assert!(err.error().contains("grade `B9`"), "{}", err.error());
}

#[test]
fn reported_only_leaves_inferences_out_and_views_mark_them() {
    let ledger = scenario();
    import_at(
        &ledger,
        T2,
        &[
            json!({"type": "position_stated", "occurred_at": "2025-11-24", "provision": "army", "party": "ukraine", "stance": "opposes", "basis": "inference", "note": "read from the counter-proposal's higher cap", "id": id(20)}),
            json!({"type": "position_stated", "occurred_at": "2025-11-24", "provision": "army", "party": "us", "stance": "supports", "source": {"outlet": "CNN", "grade": "B3"}, "id": id(21)}),
        ],
    );
    let all = json(&ledger, &["state", "army", "--json"]);
    assert_eq!(all["positions"].as_array().unwrap().len(), 2);
    let reported = json(&ledger, &["state", "army", "--reported-only", "--json"]);
    let parties: Vec<&Value> = reported["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["party"])
        .collect();
    assert_eq!(parties, [&json!("us")]);
    let state = ledger.ok(&["state", "army"]);
    assert!(
        state.contains("⚠ inference: read from the counter-proposal's higher cap"),
        "{state}"
    );
    let blame = ledger.ok(&["blame", "army"]);
    assert!(blame.contains("⚠ inference"), "{blame}");
    let history = json(&ledger, &["history", "army", "--reported-only", "--json"]);
    assert!(history
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["id"] != id(20)));
    let search = json(&ledger, &["search", "higher cap", "--json"]);
    assert_eq!(search[0]["basis"], "inference", "{search}");
    assert_eq!(
        json(
            &ledger,
            &["search", "higher cap", "--reported-only", "--json"]
        ),
        json!([])
    );
}

#[test]
fn conflicting_reports_are_shown_and_resolved() {
    let ledger = scenario();
    import_at(
        &ledger,
        T2,
        &[
            json!({"type": "status_changed", "occurred_at": "2025-11-25", "provision": "army", "status": "agreed_in_principle", "source": {"outlet": "ABC", "grade": "C3"}, "id": id(30)}),
            json!({"type": "status_changed", "occurred_at": "2025-11-25T18:00:00Z", "provision": "army", "status": "contested", "source": {"outlet": "Kyiv Independent", "grade": "B2"}, "id": id(31)}),
            // Same day, same value: no conflict with either side beyond the first pair.
            json!({"type": "position_stated", "occurred_at": "2025-11-25", "provision": "army", "party": "us", "stance": "supports", "source": {"outlet": "CNN"}, "id": id(32)}),
        ],
    );
    let state = json(&ledger, &["state", "army", "--json"]);
    let conflicts = state["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{state}");
    assert_eq!(conflicts[0]["field"], "status");
    assert_eq!(conflicts[0]["day"], "2025-11-25T00:00:00Z");
    assert_eq!(conflicts[0]["sides"][0]["event"], id(30));
    assert_eq!(conflicts[0]["sides"][1]["sources"][0]["grade"], "B2");
    let table = ledger.ok(&["state", "army"]);
    assert!(table.contains("⚠ conflicting reports"), "{table}");
    let all = ledger.ok(&["state"]);
    assert!(all.contains("⚠ status: conflicting reports"), "{all}");
    let blame = ledger.ok(&["blame", "army"]);
    assert!(blame.contains("conflicting reports that day"), "{blame}");
    // The day before: no conflict.
    let before = json(&ledger, &["state", "army", "--at", "2025-11-24", "--json"]);
    assert!(before.get("conflicts").is_none(), "{before}");
    // A supersede of one side resolves it from its record time.
    import_at(
        &ledger,
        T3,
        &[
            json!({"type": "status_changed", "occurred_at": "2025-11-25", "provision": "army", "status": "contested", "source": {"outlet": "ABC", "grade": "C3"}, "supersedes": id(30), "id": id(33)}),
        ],
    );
    assert!(json(&ledger, &["state", "army", "--json"])
        .get("conflicts")
        .is_none());
    let known = json(&ledger, &["state", "army", "--known-at", T2, "--json"]);
    assert_eq!(known["conflicts"].as_array().unwrap().len(), 1);
    // A later-dated event resolves it too.
    let ledger2 = scenario();
    import_at(
        &ledger2,
        T2,
        &[
            json!({"type": "status_changed", "occurred_at": "2025-11-25", "provision": "army", "status": "agreed_in_principle", "source": {"outlet": "ABC"}}),
            json!({"type": "status_changed", "occurred_at": "2025-11-25", "provision": "army", "status": "contested", "source": {"outlet": "AFP"}}),
            json!({"type": "status_changed", "occurred_at": "2025-11-26", "provision": "army", "status": "contested", "source": {"outlet": "AFP"}}),
        ],
    );
    assert!(json(&ledger2, &["state", "army", "--json"])
        .get("conflicts")
        .is_none());
    let on_day = json(&ledger2, &["state", "army", "--at", "2025-11-25", "--json"]);
    assert_eq!(on_day["conflicts"][0]["field"], "status");
}

#[test]
fn conflicting_parameters_of_one_text_are_found_on_values() {
    let ledger = scenario();
    import_at(
        &ledger,
        T2,
        &[
            json!({"type": "provision_amended", "occurred_at": "2025-11-23", "provision": "army", "proposal": "counter", "text": "no cap", "parameters": {"troop_cap": "none"}, "source": {"outlet": "Telegraph"}}),
        ],
    );
    let state = json(&ledger, &["state", "army", "--json"]);
    assert_eq!(state["conflicts"][0]["field"], "text/counter", "{state}");
}

#[test]
fn diff_and_compare_say_what_the_parameters_became() {
    let ledger = scenario();
    import_at(
        &ledger,
        T2,
        &[
            json!({"type": "provision_amended", "occurred_at": "2025-11-26", "provision": "army", "proposal": "plan", "text": "a higher cap", "parameters": {"troop_cap": 800000}, "source": {"outlet": "Reuters"}}),
        ],
    );
    let diff = json(
        &ledger,
        &[
            "diff",
            "army",
            "--from",
            "2025-11-24",
            "--to",
            "2025-11-27",
            "--json",
        ],
    );
    let change = diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "text/plan")
        .unwrap();
    let member = change["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["member"] == "parameters.troop_cap")
        .unwrap_or_else(|| panic!("{change}"));
    assert_eq!(
        (&member["from"], &member["to"]),
        (&json!(600000), &json!(800000))
    );
    let table = ledger.ok(&["diff", "army", "--from", "2025-11-24", "--to", "2025-11-27"]);
    assert!(
        table.contains("parameters.troop_cap:")
            && table.contains("600,000")
            && table.contains("800,000"),
        "{table}"
    );
    let compare = ledger.ok(&["compare", "plan", "counter"]);
    assert!(
        compare.contains("troop_cap: 800,000") && compare.contains("scope: peacetime"),
        "{compare}"
    );
    let compare = json(&ledger, &["compare", "plan", "counter", "--json"]);
    assert_eq!(
        compare["provisions"][0]["right"]["parameters"]["troop_cap"],
        800000
    );
}

#[test]
fn v1_input_imports_unchanged_with_the_same_hashes() {
    // A v1 ledger (the bundled record's file) exported, re-imported: the same head.
    let ledger = TestLedger::new();
    let file = crate::common::events_dir().join("russia-ukraine-2025/01-talks.ndjson");
    ledger.ok(&["import", file.to_str().unwrap()]);
    let export = ledger.export();
    let copy = TestLedger::new();
    let path = copy.write("export.ndjson", export.as_bytes());
    copy.ok(&["import", path.to_str().unwrap()]);
    assert_eq!(copy.export(), export);
    // A v1 record's canonical form has no `sources`, `basis` or `note` it was not given.
    let v1 = json!({"type": "party_registered", "occurred_at": "2025-11-20", "party": "us", "name": "US", "id": id(1), "source": {"outlet": "Wire"}});
    let fresh = TestLedger::new();
    fresh.at(T1).stdin(v1.to_string()).ok(&["import", "-"]);
    let log = json(&fresh, &["log", "--json"]);
    let keys: Vec<&String> = log[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "hash",
            "id",
            "name",
            "occurred_at",
            "party",
            "prev_hash",
            "recorded_at",
            "seq",
            "source",
            "type"
        ]
    );
}
