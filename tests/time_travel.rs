//! Both time axes and corrections (docs/format.md §3): late reports, `--known-at`, retraction,
//! `supersedes`, meeting cuts, and the audit views `diff`, `compare` and `blame`.

use serde_json::{json, Value};

use crate::common::{json, TestLedger};
use crate::snapshots::check;

/// Record times of the scenario's appends.
const T1: &str = "2025-11-02T10:00:00Z";
const T2: &str = "2025-11-11T10:00:00Z";
const T3: &str = "2025-11-20T10:00:00Z";
const T4: &str = "2025-11-25T10:00:00Z";

fn import_at(ledger: &TestLedger, now: &str, events: &[Value]) -> String {
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    ledger.at(now).stdin(lines.join("\n")).ok(&["import", "-"])
}

fn id(n: u32) -> String {
    format!("00000000-0000-7000-8000-{n:012}")
}

/// A provision `x` drafted on 1 Nov, contested on 10 Nov (recorded 11 Nov); on 20 Nov
/// a late report arrives that it was agreed on 5 Nov and rejected on 12 Nov.
fn scenario() -> TestLedger {
    let ledger = TestLedger::new();
    import_at(
        &ledger,
        T1,
        &[
            json!({"type": "party_registered", "occurred_at": "2025-11-01", "party": "us", "name": "US", "id": id(1)}),
            json!({"type": "proposal_tabled", "occurred_at": "2025-11-01", "proposal": "p", "title": "P", "parties": ["us"], "id": id(2)}),
            json!({"type": "provision_drafted", "occurred_at": "2025-11-01", "provision": "x", "proposal": "p", "title": "X", "text": "first", "id": id(3)}),
        ],
    );
    import_at(
        &ledger,
        T2,
        &[
            json!({"type": "status_changed", "occurred_at": "2025-11-10", "provision": "x", "status": "contested", "id": id(4)}),
        ],
    );
    import_at(
        &ledger,
        T3,
        &[
            json!({"type": "status_changed", "occurred_at": "2025-11-05", "provision": "x", "status": "agreed", "id": id(5)}),
            json!({"type": "status_changed", "occurred_at": "2025-11-12", "provision": "x", "status": "rejected", "id": id(6)}),
        ],
    );
    ledger
}

fn status(ledger: &TestLedger, at: &str, known_at: &str) -> String {
    let state = json(
        ledger,
        &["state", "x", "--at", at, "--known-at", known_at, "--json"],
    );
    state["status"].as_str().unwrap().to_string()
}

#[test]
fn a_late_report_changes_the_past_as_known_now_but_not_as_known_before() {
    let ledger = scenario();
    // As known now, 7 November was agreed (the late report) and 11 November contested.
    assert_eq!(status(&ledger, "2025-11-07", T4), "agreed");
    assert_eq!(status(&ledger, "2025-11-11", T4), "contested");
    assert_eq!(status(&ledger, "2025-11-15", T4), "rejected");
    // As known on 15 November, before the report arrived, 7 November was still `proposed`.
    assert_eq!(status(&ledger, "2025-11-07", "2025-11-15"), "proposed");
    assert_eq!(status(&ledger, "2025-11-15", "2025-11-15"), "contested");
    // Before anything about `x` was recorded, it does not exist.
    let run = ledger.fails(&["state", "x", "--known-at", "2025-11-01"]);
    assert!(
        run.error().contains("has no counted draft"),
        "{}",
        run.error()
    );
    let state = json(&ledger, &["state", "x", "--at", "2025-11-07", "--json"]);
    assert_eq!(state["status_since"], "2025-11-05T00:00:00Z");
    assert_eq!(state["status_event"], id(5));
}

#[test]
fn a_retraction_stops_counting_from_its_record_time() {
    let ledger = scenario();
    ledger.at(T4).ok(&[
        "retract",
        &id(6),
        "--reason",
        "the report was wrong",
        "--occurred-at",
        "2025-11-24",
    ]);
    // Now: the rejection no longer counts, even at valid times before the retraction happened.
    assert_eq!(status(&ledger, "2025-11-15", "2025-11-26"), "contested");
    // As known before the retraction was recorded, it still counts.
    assert_eq!(status(&ledger, "2025-11-15", "2025-11-21"), "rejected");
    let history = json(&ledger, &["history", "x", "--json"]);
    let retracted = history
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id(6))
        .unwrap();
    assert_eq!(retracted["retracted"], true);
    let retraction = history
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "event_retracted")
        .unwrap();
    assert_eq!(retracted["retracted_by"], retraction["id"]);
    assert_eq!(retraction["target"], id(6));
    let before = json(
        &ledger,
        &["history", "x", "--known-at", "2025-11-21", "--json"],
    );
    assert!(before
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["retracted"] == false));
}

#[test]
fn supersedes_replaces_an_event_from_its_record_time() {
    let ledger = scenario();
    import_at(
        &ledger,
        T4,
        &[
            json!({"type": "status_changed", "occurred_at": "2025-11-12", "provision": "x",
        "status": "withdrawn", "supersedes": id(6), "id": id(7)}),
        ],
    );
    assert_eq!(status(&ledger, "2025-11-15", "2025-11-26"), "withdrawn");
    assert_eq!(status(&ledger, "2025-11-15", "2025-11-21"), "rejected");
    let history = json(&ledger, &["history", "x", "--json"]);
    let old = history
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id(6))
        .unwrap();
    assert_eq!(
        (old["retracted"].clone(), old["retracted_by"].clone()),
        (json!(true), json!(id(7)))
    );
    // A chain of corrections: superseding the correction brings neither back.
    import_at(
        &ledger,
        "2025-11-27T10:00:00Z",
        &[
            json!({"type": "status_changed", "occurred_at": "2025-11-12",
        "provision": "x", "status": "under_negotiation", "supersedes": id(7), "id": id(8)}),
        ],
    );
    assert_eq!(
        status(&ledger, "2025-11-15", "2025-11-28"),
        "under_negotiation"
    );
    assert_eq!(status(&ledger, "2025-11-15", "2025-11-26"), "withdrawn");
}

#[test]
fn corrections_that_make_no_sense_are_refused_and_change_nothing() {
    let ledger = scenario();
    ledger.at(T4).ok(&[
        "retract",
        &id(6),
        "--reason",
        "wrong",
        "--occurred-at",
        "2025-11-24",
    ]);
    let before = ledger.export();
    let run = ledger.fails(&[
        "retract",
        &id(99),
        "--reason",
        "no such event",
        "--occurred-at",
        "now",
    ]);
    assert!(
        run.error()
            .contains(&format!("ID: no event with id {}", id(99))),
        "{}",
        run.error()
    );
    let run = ledger.fails(&[
        "retract",
        &id(6),
        "--reason",
        "again",
        "--occurred-at",
        "now",
    ]);
    assert!(
        run.error()
            .contains("was already retracted or superseded by"),
        "{}",
        run.error()
    );
    let log = json(&ledger, &["log", "--json"]);
    let retraction = log.as_array().unwrap().last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let run = ledger.fails(&[
        "retract",
        &retraction,
        "--reason",
        "undo",
        "--occurred-at",
        "now",
    ]);
    assert!(
        run.error()
            .contains("is a retraction; a retraction cannot be retracted or superseded"),
        "{}",
        run.error()
    );
    let superseding = json!({"type": "status_changed", "occurred_at": "2025-11-12", "provision": "x",
        "status": "agreed", "supersedes": retraction});
    let run = ledger
        .at(T4)
        .stdin(superseding.to_string())
        .run(&["append", "-"])
        .fails();
    assert!(
        run.error().contains("field `supersedes`"),
        "{}",
        run.error()
    );
    let run = ledger.fails(&[
        "retract",
        "not-a-uuid",
        "--reason",
        "x",
        "--occurred-at",
        "now",
    ]);
    assert!(run.error().starts_with("ID: "), "{}", run.error());
    for run in [
        ledger.fails(&["retract", &id(99), "--reason", "x", "--occurred-at", "now"]),
        ledger.fails(&["retract", &id(6), "--reason", "x", "--occurred-at", "now"]),
    ] {
        assert_eq!(run.code, 3);
    }
    assert_eq!(ledger.export(), before);
}

#[test]
fn a_meeting_cut_follows_what_was_known_of_the_meeting() {
    let ledger = scenario();
    import_at(
        &ledger,
        T3,
        &[
            json!({"type": "meeting_scheduled", "occurred_at": "2025-11-03", "meeting": "talks",
        "title": "Talks", "place": "Geneva", "planned_for": "2025-11-09"}),
        ],
    );
    // The meeting was held on 11 November; the ledger learns it on 25 November.
    import_at(
        &ledger,
        T4,
        &[
            json!({"type": "meeting_held", "occurred_at": "2025-11-11T15:00:00+01:00",
        "meeting": "talks", "place": "Geneva", "provisions": ["x"]}),
        ],
    );
    let state = json(&ledger, &["state", "x", "--at", "talks", "--json"]);
    assert_eq!(state["at"], "2025-11-11T23:59:59.999999999Z");
    assert_eq!(state["status"], "contested");
    assert_eq!(state["meetings"], json!(["talks"]));
    let run = ledger.fails(&["state", "x", "--at", "talks", "--known-at", "2025-11-21"]);
    assert!(
        run.error()
            .contains("meeting `talks` is only scheduled (planned for 2025-11-09)"),
        "{}",
        run.error()
    );
    // As known on 21 November, 11 November was contested with no meeting.
    let then = json(
        &ledger,
        &[
            "state",
            "x",
            "--at",
            "2025-11-11",
            "--known-at",
            "2025-11-21",
            "--json",
        ],
    );
    assert_eq!(then["meetings"], json!([]));
}

#[test]
fn diff_moves_either_axis_and_names_the_event_behind_each_change() {
    let ledger = scenario();
    // Valid time moves: 7 → 15 November, as known now.
    let diff = json(
        &ledger,
        &[
            "diff",
            "x",
            "--from",
            "2025-11-07",
            "--to",
            "2025-11-15",
            "--json",
        ],
    );
    let changes = diff["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{diff}");
    assert_eq!(changes[0]["field"], "status");
    assert_eq!(
        (changes[0]["from"].clone(), changes[0]["to"].clone()),
        (json!("agreed"), json!("rejected"))
    );
    assert_eq!(changes[0]["event"]["id"], id(6));
    assert_eq!(changes[0]["event"]["recorded_at"], T3);
    // Record time moves: what did the late report change about our picture of 7 November?
    let diff = json(
        &ledger,
        &[
            "diff",
            "x",
            "--from",
            "2025-11-07",
            "--to",
            "2025-11-07",
            "--from-known-at",
            "2025-11-15",
            "--to-known-at",
            T4,
            "--json",
        ],
    );
    let change = &diff["changes"][0];
    assert_eq!(
        (change["from"].clone(), change["to"].clone()),
        (json!("proposed"), json!("agreed"))
    );
    assert_eq!(change["event"]["id"], id(5));
    // A retraction shows as the cause of a value that went away.
    ledger.at(T4).ok(&[
        "retract",
        &id(6),
        "--reason",
        "wrong",
        "--occurred-at",
        "2025-11-24",
    ]);
    let diff = json(
        &ledger,
        &[
            "diff",
            "x",
            "--from",
            "2025-11-15",
            "--to",
            "2025-11-15",
            "--from-known-at",
            "2025-11-21",
            "--json",
        ],
    );
    let change = &diff["changes"][0];
    assert_eq!(
        (change["from"].clone(), change["to"].clone()),
        (json!("rejected"), json!("contested"))
    );
    assert_eq!(
        change["event"]["id"],
        id(4),
        "the status now comes from the earlier event"
    );
    let same = json(
        &ledger,
        &[
            "diff",
            "x",
            "--from",
            "2025-11-15",
            "--to",
            "2025-11-15",
            "--json",
        ],
    );
    assert_eq!(same["changes"], json!([]));
}

#[test]
fn blame_names_the_event_behind_every_field() {
    let ledger = scenario();
    import_at(
        &ledger,
        T4,
        &[
            json!({"type": "position_stated", "occurred_at": "2025-11-13", "provision": "x", "party": "us",
            "stance": "opposes", "source": {"outlet": "Wire"}, "id": id(9)}),
            json!({"type": "provision_amended", "occurred_at": "2025-11-14", "provision": "x", "proposal": "p",
            "text": "second", "id": id(10)}),
        ],
    );
    let blame = json(&ledger, &["blame", "x", "--json"]);
    let by = |field: &str| {
        blame["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == field)
            .unwrap_or_else(|| panic!("{field}: {blame}"))["event"]
            .clone()
    };
    assert_eq!(by("title")["id"], id(3));
    assert_eq!(by("status")["id"], id(6));
    assert_eq!(by("status")["recorded_at"], T3);
    assert_eq!(by("text/p")["id"], id(10));
    assert_eq!(by("stance/us")["id"], id(9));
    assert_eq!(by("stance/us")["sources"][0]["outlet"], "Wire");
    let earlier = json(
        &ledger,
        &["blame", "x", "--known-at", "2025-11-15", "--json"],
    );
    let status = earlier["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "status")
        .unwrap();
    assert_eq!(status["event"]["id"], id(4));
}

#[test]
fn compare_sets_two_proposals_side_by_side() {
    let ledger = TestLedger::bundled();
    let cmp = json(
        &ledger,
        &[
            "compare",
            "us-28-point-plan",
            "european-counter-proposal",
            "--at",
            "florida-2025-11-30",
            "--json",
        ],
    );
    let row = |slug: &str| {
        cmp["provisions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["provision"] == slug)
            .cloned()
    };
    let nato = row("nato-membership").unwrap();
    assert!(nato["left"]["text"].is_string() && nato["right"]["text"].is_string());
    assert_eq!(
        row("ceasefire-line").unwrap()["left"],
        Value::Null,
        "only the counter-proposal has it"
    );
    assert_eq!(
        row("donetsk-territory").unwrap()["right"],
        Value::Null,
        "only the 28-point plan has it"
    );
    let run = ledger.fails(&["compare", "us-28-point-plan", "european-counter-proposl"]);
    assert!(
        run.error()
            .contains("did you mean `european-counter-proposal`"),
        "{}",
        run.error()
    );
}

#[test]
fn golden_audit_views_of_the_bundled_record() {
    let ledger = TestLedger::bundled();
    check(
        "compare-after-florida.txt",
        &ledger.ok(&[
            "compare",
            "us-28-point-plan",
            "european-counter-proposal",
            "--at",
            "florida-2025-11-30",
        ]),
    );
    check(
        "compare-after-florida.json",
        &ledger.ok(&[
            "compare",
            "us-28-point-plan",
            "european-counter-proposal",
            "--at",
            "florida-2025-11-30",
            "--json",
        ]),
    );
    check(
        "nato-membership-diff-geneva-florida.json",
        &ledger.ok(&[
            "diff",
            "nato-membership",
            "--from",
            "geneva-2025-11-23",
            "--to",
            "florida-2025-11-30",
            "--json",
        ]),
    );
    check(
        "nato-membership-diff-geneva-florida.txt",
        &ledger.ok(&[
            "diff",
            "nato-membership",
            "--from",
            "geneva-2025-11-23",
            "--to",
            "florida-2025-11-30",
        ]),
    );
    // The two-axis question: what did the correction change about the picture of 1 December?
    check(
        "nato-membership-diff-correction.json",
        &ledger.ok(&[
            "diff",
            "nato-membership",
            "--from",
            "2025-12-01",
            "--to",
            "2025-12-01",
            "--from-known-at",
            "2025-12-01T23:00:00Z",
            "--json",
        ]),
    );
    check(
        "nato-membership-blame-after-florida.txt",
        &ledger.ok(&["blame", "nato-membership", "--at", "florida-2025-11-30"]),
    );
    check(
        "nato-membership-blame-after-florida.json",
        &ledger.ok(&[
            "blame",
            "nato-membership",
            "--at",
            "florida-2025-11-30",
            "--json",
        ]),
    );
}

#[test]
fn a_record_number_is_a_record_time_cut() {
    let ledger = TestLedger::bundled();
    let before = json(
        &ledger,
        &[
            "history",
            "nato-membership",
            "--known-at",
            "seq:67",
            "--json",
        ],
    );
    let wrong = before
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "d8bf2560-580b-587c-86fd-ed819b80574a")
        .unwrap();
    assert_eq!(wrong["retracted"], false);
    let run = ledger.fails(&["state", "--known-at", "seq:500"]);
    assert_eq!(
        run.error(),
        "--known-at: `seq:500`: the ledger has records 1 to 68"
    );
    let run = ledger.fails(&["state", "--known-at", "seq:x"]);
    assert!(
        run.error().contains("`seq:` takes a record number"),
        "{}",
        run.error()
    );
}

#[test]
fn a_registration_a_draft_or_a_held_meeting_is_corrected_by_superseding_it() {
    let ledger = scenario();
    import_at(
        &ledger,
        T3,
        &[
            json!({"type": "meeting_held", "occurred_at": "2025-11-11", "meeting": "talks", "place": "Genva", "provisions": ["x"], "id": id(20)}),
        ],
    );
    import_at(
        &ledger,
        T4,
        &[
            // The meeting was on the 12th, in Geneva; the party's name and the draft's text were wrong.
            json!({"type": "meeting_held", "occurred_at": "2025-11-12", "meeting": "talks", "place": "Geneva", "provisions": ["x"],
            "supersedes": id(20), "id": id(21)}),
            json!({"type": "party_registered", "occurred_at": "2025-11-01", "party": "us", "name": "United States",
            "supersedes": id(1), "id": id(22)}),
            json!({"type": "provision_drafted", "occurred_at": "2025-11-01", "provision": "x", "proposal": "p",
            "title": "X (corrected)", "text": "first, as tabled", "supersedes": id(3), "id": id(23)}),
        ],
    );
    let now = json(&ledger, &["state", "x", "--at", "talks", "--json"]);
    assert_eq!(now["at"], "2025-11-12T23:59:59.999999999Z");
    assert_eq!(now["title"], "X (corrected)");
    assert_eq!(now["texts"][0]["text"], "first, as tabled");
    let before = json(
        &ledger,
        &[
            "state",
            "x",
            "--at",
            "talks",
            "--known-at",
            "2025-11-21",
            "--json",
        ],
    );
    assert_eq!(before["at"], "2025-11-11T23:59:59.999999999Z");
    assert_eq!(before["title"], "X");
    ledger.ok(&["verify"]);
    // Holding it again without correcting the first is refused, with the way to do it.
    let again = json!({"type": "meeting_held", "occurred_at": "2025-11-13", "meeting": "talks", "place": "Geneva"});
    let run = ledger
        .at(T4)
        .stdin(again.to_string())
        .run(&["append", "-"])
        .fails();
    assert!(
        run.error().contains("was already held") && run.error().contains("`supersedes`"),
        "{}",
        run.error()
    );
    // A correction must restate the same thing: superseding the meeting with another meeting's record is refused.
    let other = json!({"type": "meeting_held", "occurred_at": "2025-11-13", "meeting": "talks", "place": "Geneva", "supersedes": id(5)});
    ledger
        .at(T4)
        .stdin(other.to_string())
        .run(&["append", "-"])
        .fails();
}
