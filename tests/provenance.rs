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

/// The scenario with an inference, a same-day conflict on the army cap's status and a
/// later citation of the Telegraph-sourced NATO draft (at T3).
pub fn timeline_scenario() -> TestLedger {
    let ledger = scenario();
    import_at(
        &ledger,
        T2,
        &[
            json!({"type": "position_stated", "occurred_at": "2025-11-24", "provision": "army", "party": "ukraine", "stance": "opposes", "basis": "inference", "note": "read from the counter-proposal's higher cap", "id": id(20)}),
            json!({"type": "status_changed", "occurred_at": "2025-11-25", "provision": "army", "status": "agreed_in_principle", "source": {"outlet": "ABC", "grade": "C3"}, "id": id(30)}),
            json!({"type": "status_changed", "occurred_at": "2025-11-25T18:00:00Z", "provision": "army", "status": "contested", "source": {"outlet": "Kyiv Independent", "grade": "B2"}, "id": id(31)}),
        ],
    );
    ledger
        .at(T3)
        .ok(&["cite", &id(7), "--outlet", "Reuters", "--grade", "B2"]);
    ledger
}

/// The ids of a timeline row's markers.
fn marker_ids(timeline: &Value, provision: &str) -> Vec<String> {
    timeline["provisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provision"] == provision)
        .map(|p| {
            p["markers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn timeline_markers_honour_min_grade_and_reported_only_like_its_bands() {
    let ledger = timeline_scenario();
    let all = json(&ledger, &["timeline", "--json"]);
    let army = marker_ids(&all, "army");
    assert!(army.contains(&id(20)) && army.contains(&id(5)), "{all}");
    // --reported-only: the inference's marker goes, the rest stays.
    let reported = json(&ledger, &["timeline", "--reported-only", "--json"]);
    let kept = marker_ids(&reported, "army");
    assert!(!kept.contains(&id(20)), "{reported}");
    assert_eq!(kept.len(), army.len() - 1);
    // --min-grade B2: the C3 status is out of the markers as it is out of the bands.
    let graded = json(
        &ledger,
        &["timeline", "army", "--min-grade", "B2", "--json"],
    );
    let kept = marker_ids(&graded, "army");
    assert!(
        !kept.contains(&id(30)) && !kept.contains(&id(20)),
        "{graded}"
    );
    assert!(kept.contains(&id(31)) && kept.contains(&id(6)), "{graded}");
    let bands = &graded["provisions"][0]["bands"];
    assert!(
        bands
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["event"] != id(30)),
        "{bands}"
    );
    // The cited Reuters B2 lets the NATO draft in, from the cite's record time only.
    let nato = marker_ids(
        &json(&ledger, &["timeline", "--min-grade", "B2", "--json"]),
        "nato",
    );
    assert_eq!(nato[0], id(7), "the draft, then the citation's own marker");
    assert_eq!(nato.len(), 2);
    let before = json(
        &ledger,
        &["timeline", "--min-grade", "B2", "--known-at", T2, "--json"],
    );
    assert!(marker_ids(&before, "nato").is_empty(), "{before}");
}

#[test]
fn timeline_json_carries_every_source_the_basis_and_conflicts() {
    let ledger = timeline_scenario();
    let timeline = json(&ledger, &["timeline", "--json"]);
    let row = |slug: &str| {
        timeline["provisions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["provision"] == slug)
            .unwrap()
            .clone()
    };
    let army = row("army");
    let marker = |id: &str| {
        army["markers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()
            .clone()
    };
    let plan = marker(&id(5));
    assert_eq!(plan["sources"][0]["outlet"], "Axios");
    assert_eq!(plan["sources"][1]["grade"], "C3", "{plan}");
    assert!(plan.get("source").is_none(), "{plan}");
    let inferred = marker(&id(20));
    assert_eq!(inferred["basis"], "inference");
    assert_eq!(
        inferred["note"],
        "read from the counter-proposal's higher cap"
    );
    let conflicts = army["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{army}");
    assert_eq!(conflicts[0]["field"], "status");
    assert_eq!(conflicts[0]["sides"][1]["sources"][0]["grade"], "B2");
    // The cited source shows from the cite's record time.
    let nato = row("nato");
    assert_eq!(
        nato["markers"][0]["cited"][0]["sources"][0]["outlet"],
        "Reuters"
    );
    let before = json(&ledger, &["timeline", "nato", "--known-at", T2, "--json"]);
    assert!(
        before["provisions"][0]["markers"][0].get("cited").is_none(),
        "{before}"
    );
    assert!(row("nato").get("conflicts").is_none());
    // The conflict is resolved on the timeline as in `state`: by the day after.
    let at = json(
        &ledger,
        &["timeline", "army", "--at", "2025-11-24", "--json"],
    );
    assert!(at["provisions"][0].get("conflicts").is_none(), "{at}");
}

#[test]
fn timeline_page_shows_grades_inferences_and_conflicts() {
    let ledger = timeline_scenario();
    let html = crate::workbench::timeline_html(&ledger, &[]);
    // Every source with its grade, the cited one with its record time.
    assert!(html.contains(r#"Source: <a href="https://example.org/axios" target="_blank" rel="noopener noreferrer">Axios</a> <span class="grade""#), "{html}");
    assert!(
        html.contains("Ukrainian deputy <span"),
        "the second source too"
    );
    assert!(html.contains("(C3)"));
    assert!(
        html.contains("Cited 2025-11-28 10:00:00Z: Reuters"),
        "{html}"
    );
    // The inference: a mark on its marker, its note in the panel's entry.
    assert_eq!(
        html.matches(r#"<circle class="inf""#).count(),
        2,
        "the marker and the legend's"
    );
    assert!(html.contains(r#"class="m k-position inferred""#));
    assert!(html.contains(
        r#"<p class="inference">⚠ inference: read from the counter-proposal&apos;s higher cap</p>"#
    ) || html.contains(
        r#"<p class="inference">⚠ inference: read from the counter-proposal's higher cap</p>"#
    ), "{html}");
    // The conflict: a mark on its day that opens its sides.
    assert!(
        html.contains(r#"<g class="cf" data-ref="cf-army-1""#),
        "{html}"
    );
    let entry = &html[html.find(r#"id="cf-army-1""#).unwrap()..];
    let entry = &entry[..entry.find("</li></ol></li>").unwrap()];
    assert!(entry.contains("⚠ Conflicting reports: status"), "{entry}");
    assert!(
        entry.contains("agreed_in_principle") && entry.contains("contested"),
        "{entry}"
    );
    assert!(
        entry.contains("ABC (C3)") && entry.contains("Kyiv Independent (B2)"),
        "{entry}"
    );
    // With --reported-only the inference's mark is gone.
    let reported = crate::workbench::timeline_html(&ledger, &["--reported-only"]);
    assert_eq!(reported.matches(r#"<circle class="inf""#).count(), 1);
}

#[test]
fn history_and_exports_show_every_source_with_its_grade_and_mark_inferences() {
    let ledger = timeline_scenario();
    let history = ledger.ok(&["history", "army"]);
    assert!(history.contains("Axios (B2)"), "{history}");
    assert!(history.contains("Ukrainian deputy (C3)"), "{history}");
    // (The table wraps its cells.)
    assert!(history.contains("Reuters (B2, via"), "{history}");
    assert!(history.contains("⚠ inference: read from"), "{history}");
    assert!(history.contains("no source"), "{history}");
    // --json stays the stored records.
    let stored = json(&ledger, &["history", "army", "--json"]);
    assert!(stored[0]["sources"][0].get("outlet").is_some());
    assert!(stored
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r.get("headline").is_none()));

    let csv = ledger.ok(&["export", "--format", "csv", "--provision", "army"]);
    let mut reader =
        csv::ReaderBuilder::new().from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let row = |id: &str| rows.iter().find(|r| &r[column("id")] == id).unwrap();
    assert_eq!(
        &row(&id(5))[column("source")],
        "Axios (B2)\nUkrainian deputy (C3)"
    );
    assert_eq!(&row(&id(20))[column("basis")], "inference");
    assert_eq!(
        &row(&id(20))[column("note")],
        "read from the counter-proposal's higher cap"
    );
    let md = ledger.ok(&["export", "--format", "markdown", "--provision", "army"]);
    assert!(md.contains("Axios (B2)<br>Ukrainian deputy (C3)"), "{md}");
    assert!(md.contains("| inference |"), "{md}");
    // The history exports honour the filters as `history` does (they did not).
    let reported = ledger.ok(&[
        "export",
        "--format",
        "csv",
        "--provision",
        "army",
        "--reported-only",
    ]);
    assert!(
        !reported.contains(&id(20)) && reported.contains(&id(5)),
        "{reported}"
    );
    let graded = ledger.ok(&[
        "export",
        "--format",
        "markdown",
        "--provision",
        "army",
        "--min-grade",
        "B2",
    ]);
    assert!(
        !graded.contains("ABC") && graded.contains("Kyiv Independent"),
        "{graded}"
    );

    // TimelineJS: every source with its grade, the citation, the inference.
    let tjs = json(&ledger, &["export", "--format", "timelinejs"]);
    let texts: Vec<&str> = tjs["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"]["text"].as_str().unwrap())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("Ukrainian deputy <span class=\"grade\"")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("Cited 2025-11-28 10:00:00Z: Reuters")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("⚠ inference: read from the counter-proposal")),
        "{texts:?}"
    );
    let reported = ledger.ok(&["export", "--format", "timelinejs", "--reported-only"]);
    assert!(
        !reported.contains("⚠ inference") && reported.contains("Axios"),
        "{reported}"
    );
}

#[test]
fn state_names_the_provenance_of_every_event_it_rests_on() {
    let ledger = scenario();
    // An inferred status on the NATO clause, then a later citation of its draft.
    import_at(
        &ledger,
        T2,
        &[
            json!({"type": "status_changed", "occurred_at": "2025-11-24", "provision": "nato", "status": "contested", "basis": "inference", "note": "read from the counter-proposal", "source": {"outlet": "Telegraph", "grade": "C3"}, "id": id(20)}),
        ],
    );
    ledger
        .at(T3)
        .ok(&["cite", &id(7), "--outlet", "Reuters", "--grade", "A1"]);
    let state = json(&ledger, &["state", "nato", "--json"]);
    let provenance = &state["provenance"];
    assert_eq!(provenance[id(20)]["basis"], "inference", "{state}");
    assert_eq!(provenance[id(20)]["note"], "read from the counter-proposal");
    assert_eq!(provenance[id(7)]["sources"][0]["outlet"], "Telegraph");
    // `events` keeps its meaning (how many count); the map is beside it.
    assert!(state["events"].is_u64(), "{state}");
    // Citations come with a filtered cut, where they decide what counts (blame
    // always lists them; without a filter finding them would read the whole history).
    assert!(provenance[id(7)].get("cited").is_none(), "{state}");
    let filtered = json(&ledger, &["state", "nato", "--min-grade", "C3", "--json"]);
    assert_eq!(
        filtered["provenance"][id(7)]["cited"][0]["sources"][0]["outlet"],
        "Reuters",
        "{filtered}"
    );
    // As known before the citation, the draft has only its own source.
    let before = json(
        &ledger,
        &[
            "state",
            "nato",
            "--min-grade",
            "C3",
            "--known-at",
            T2,
            "--json",
        ],
    );
    assert!(
        before["provenance"][id(7)].get("cited").is_none(),
        "{before}"
    );
    // The table shows the citation under the filter, and marks the inference.
    let table = ledger.ok(&["state", "nato", "--min-grade", "C3"]);
    assert!(table.contains("cited: Reuters (A1"), "{table}");
    let table = ledger.ok(&["state", "nato"]);
    assert!(
        table.contains("⚠ inference: read from the counter-proposal"),
        "{table}"
    );
    // Every state in the all-provisions JSON carries its map.
    let all = json(&ledger, &["state", "--json"]);
    assert!(all
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["provenance"].is_object()));
}

#[test]
fn a_filter_that_leaves_a_provision_without_a_draft_is_named_in_the_error() {
    let ledger = scenario();
    // The sanctions draft has no source: a grade filter leaves it out.
    let err = ledger.fails(&["state", "sanctions", "--min-grade", "E5"]);
    assert_eq!(err.code, 4);
    assert!(
        err.error().contains("under --min-grade E5"),
        "{}",
        err.error()
    );
    let err = ledger.fails(&["timeline", "sanctions", "--min-grade", "F6", "--html", "-"]);
    assert!(
        err.error().contains("under --min-grade F6"),
        "{}",
        err.error()
    );
    // Without a filter the message stays as it was.
    let err = ledger.fails(&["state", "sanctions", "--at", "2025-11-01"]);
    assert!(!err.error().contains("under"), "{}", err.error());
}

/// `list`, `search` and `log` stream the log in two passes, the removals and
/// citations first, then each event on its own (holding every record took 1.4 GB at
/// 300,000 records). A removal or citation counts wherever it is in the log; text
/// that only looks like one, in a quote or in parameters, is none.
#[test]
fn whole_log_views_find_every_removal_and_citation_and_nothing_else() {
    let ledger = scenario();
    import_at(
        &ledger,
        T2,
        &[
            // Looks like a retraction, a supersede and a citation, in its text and its
            // parameters: none of them.
            json!({"type": "provision_amended", "occurred_at": "2025-11-24", "provision": "army", "proposal": "plan", "text": "\"type\":\"event_retracted\" \"supersedes\": \"type\":\"source_cited\"", "parameters": {"type": "source_cited", "supersedes": "x"}, "source": {"outlet": "Axios", "grade": "B2"}, "id": id(20)}),
            // Supersedes the Reuters draft of the counter-proposal.
            json!({"type": "provision_drafted", "occurred_at": "2025-11-25", "provision": "army", "proposal": "counter", "title": "Army cap", "text": "850,000", "supersedes": id(6), "id": id(21)}),
        ],
    );
    // Retracts the sanctions draft, and cites the NATO draft (C3 alone) with a B2 source.
    ledger.at(T3).ok(&[
        "retract",
        &id(8),
        "--reason",
        "misread",
        "--occurred-at",
        "2025-11-26",
    ]);
    ledger
        .at(T3)
        .ok(&["cite", &id(7), "--outlet", "Reuters", "--grade", "B2"]);
    let list = |args: &[&str]| -> Vec<(String, u64)> {
        let mut all = vec!["list", "provisions", "--json"];
        all.extend(args);
        json(&ledger, &all)
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["slug"].as_str().unwrap().into(),
                    e["events"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    // army: the two drafts left and the amendment; nato: its draft (a cite touches nothing); the
    // sanctions draft is retracted.
    let counted = vec![("army".to_string(), 3), ("nato".to_string(), 1)];
    assert_eq!(list(&[]), counted);
    // B2: the C3-only NATO draft is in by the cite; the unsourced 850,000 draft is out.
    let graded = vec![("army".to_string(), 2), ("nato".to_string(), 1)];
    assert_eq!(list(&["--min-grade", "B2"]), graded);
    // Search marks what was removed, and by which event, whatever its position.
    let found = json(&ledger, &["search", "800,000", "--json"]);
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["removed_by"], id(21));
    let found = json(&ledger, &["search", "event_retracted", "--json"]);
    assert_eq!(found[0]["id"], id(20), "{found}");
    assert_eq!(found[0]["removed_by"], Value::Null);
    let found = json(
        &ledger,
        &["search", "no membership", "--min-grade", "B2", "--json"],
    );
    assert_eq!(
        found[0]["cited"][0]["sources"][0]["outlet"], "Reuters",
        "{found}"
    );
    // The log under a filter keeps what the filter admits, cited sources included.
    let log = json(&ledger, &["log", "--min-grade", "B2", "--json"]);
    let ids: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&id(7).as_str()) && ids.contains(&id(20).as_str()),
        "{ids:?}"
    );
    assert!(
        !ids.contains(&id(21).as_str()) && !ids.contains(&id(8).as_str()),
        "{ids:?}"
    );
}
