//! The analyst's workbench through the real binary: the HTML timeline (golden file,
//! escaping of hostile text, a headless-Chromium load), the publishing exports
//! (TimelineJS, CSV, Markdown), `list`, `search`, completions and the man page.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::TestLedger;
use crate::snapshots::check;

pub(crate) const HOSTILE: &str = r#"</script><img src=x onerror=alert(1)>"'&"#;

/// A ledger with one provision whose quote, text, source and attribution are hostile.
pub(crate) fn hostile_ledger() -> TestLedger {
    let ledger = TestLedger::new();
    let events = [
        serde_json::json!({"type": "party_registered", "occurred_at": "2025-11-20", "party": "us", "name": HOSTILE}),
        serde_json::json!({"type": "proposal_tabled", "occurred_at": "2025-11-20", "proposal": "plan", "title": HOSTILE, "parties": ["us"]}),
        serde_json::json!({"type": "provision_drafted", "occurred_at": "2025-11-20", "provision": "nato", "proposal": "plan", "title": HOSTILE, "text": HOSTILE}),
        serde_json::json!({"type": "meeting_held", "occurred_at": "2025-11-22", "meeting": "talks", "title": HOSTILE, "place": HOSTILE, "provisions": ["nato"]}),
        serde_json::json!({"type": "statement_made", "occurred_at": "2025-11-23", "quote": HOSTILE, "attribution": HOSTILE, "provisions": ["nato"],
            "source": {"outlet": HOSTILE, "url": "javascript:alert(1)"}}),
        serde_json::json!({"type": "status_changed", "occurred_at": "2025-11-24", "provision": "nato", "status": "contested", "note": HOSTILE}),
    ];
    let input: String = events.iter().map(|e| format!("{e}\n")).collect();
    let path = ledger.write("hostile.ndjson", input.as_bytes());
    ledger.ok(&["import", path.to_str().unwrap()]);
    ledger
}

fn timeline_html(ledger: &TestLedger, args: &[&str]) -> String {
    let path = ledger.path("timeline.html");
    let path_text = path.to_str().unwrap().to_string();
    let mut all = vec!["timeline", "--html", &path_text];
    all.extend_from_slice(args);
    let said = ledger.ok(&all);
    assert!(said.starts_with("wrote "), "{said}");
    std::fs::read_to_string(&path).unwrap()
}

#[test]
fn timeline_html_of_the_bundled_record() {
    let ledger = TestLedger::bundled();
    let html = timeline_html(&ledger, &[]);
    check("timeline.html", &html);
    // Self-contained: nothing is fetched from anywhere.
    for needle in ["<link", "src=", "url(", "@import"] {
        assert!(
            !html.contains(needle),
            "the page loads something with `{needle}`"
        );
    }
    assert_eq!(html.matches("<script").count(), 1, "one script, a constant");
    assert!(html.contains("NATO membership"));
    assert!(html.contains(r#"class="meeting held""#));
    assert!(html.contains("as known at 2026-11-26 09:00:00Z"));
}

#[test]
fn timeline_known_at_shows_what_the_ledger_knew() {
    let ledger = TestLedger::bundled();
    let before = timeline_html(&ledger, &["nato-membership", "--known-at", "seq:70"]);
    let after = timeline_html(&ledger, &["nato-membership"]);
    assert!(before.contains("Shown as the ledger knew it at"));
    // Before the correction the Rubio quote counts; after it, it is drawn hollow.
    assert!(!before.contains(r#"removed" data-ref"#));
    assert!(after.contains(r#"k-statement removed" data-ref"#));
    assert!(after.contains("Retracted or superseded by event"));
    let json = ledger
        .run(&["timeline", "nato-membership", "--json"])
        .json();
    assert_eq!(json["provisions"][0]["provision"], "nato-membership");
    let statuses: Vec<&str> = json["provisions"][0]["bands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["proposed", "contested", "under_negotiation"]);
}

#[test]
fn timeline_errors_name_the_problem() {
    let ledger = TestLedger::bundled();
    let run = ledger.fails(&["timeline"]);
    assert_eq!(run.code, 2);
    assert!(run.error().contains("--html FILE"), "{}", run.error());
    let run = ledger.fails(&["timeline", "nato-membersip", "--html", "-"]);
    assert_eq!(run.code, 4);
    assert!(
        run.error().contains("did you mean `nato-membership`"),
        "{}",
        run.error()
    );
}

#[test]
fn timeline_escapes_hostile_text() {
    let ledger = hostile_ledger();
    let html = timeline_html(&ledger, &[]);
    assert!(!html.contains(HOSTILE), "the hostile text appears raw");
    assert!(!html.contains("<img"), "an element was injected");
    assert!(!html.contains("</script><"), "a script was closed early");
    // A `javascript:` source URL is shown as text, never as a link.
    assert!(!html.contains("href=\"javascript"), "a javascript: link");
    assert!(html.contains(r#"<span class="url">javascript:alert(1)</span>"#));
    let escaped = "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;";
    assert!(html.contains(escaped), "the hostile text appears escaped");
    // The only script is the constant one, before which no event text appears raw.
    let script = &html[html.find("<script>").unwrap()..];
    assert!(!script.contains("onerror"));
}

/// Headless Chromium, if the machine has it. With `CI` set (CI installs it and must
/// run this) a missing Chromium fails the test; otherwise the test is skipped with a
/// note that the test harness does not swallow.
pub(crate) fn chromium() -> Option<PathBuf> {
    let path = PathBuf::from("/usr/bin/chromium");
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!("/usr/bin/chromium is missing and CI is set: .ci/run installs Debian's `chromium` package");
    }
    // Straight to the process's stderr: `eprintln!` in a passing test is captured and
    // never shown, which made the skip silent.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "note: SKIPPED timeline_loads_in_headless_chromium: /usr/bin/chromium is missing \
         (set CI=1 to make this a failure; install Debian's `chromium` to run it)"
    );
    None
}

pub(crate) fn chromium_run(
    chromium: &Path,
    profile: &Path,
    args: &[&str],
    page: &str,
) -> (String, String) {
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(page)
        .output()
        .expect("chromium runs");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

pub(crate) fn console_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("SyntaxError"))
        .collect()
}

#[test]
fn timeline_loads_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        return;
    };
    for (ledger, name) in [
        (TestLedger::bundled(), "bundled"),
        (hostile_ledger(), "hostile"),
    ] {
        let html = timeline_html(&ledger, &[]);
        let page = ledger.path("timeline.html");
        let n_markers = html.matches(r#"class="m k-"#).count() - 6; // less the legend's
        let first_ref = html
            .split("data-ref=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_string();
        let (provision, seq) = first_ref
            .strip_prefix("ev-")
            .unwrap()
            .rsplit_once('-')
            .unwrap();
        let url = format!("file://{}#{provision}/{seq}", page.display());
        let profile = tempfile::tempdir().unwrap();
        let (dom, stderr) = chromium_run(&chromium, profile.path(), &["--dump-dom"], &url);
        assert!(
            dom.contains(&format!(r#"data-ready="{n_markers}""#)),
            "{name}: the page's script did not run to its end:\n{}\n{stderr}",
            &dom[..dom.len().min(400)]
        );
        assert!(
            console_errors(&stderr).is_empty(),
            "{name}: console errors:\n{stderr}"
        );
        assert!(dom.contains(r#"<svg id="timeline""#), "{name}: no drawing");
        assert!(dom.contains(r#"class="band""#), "{name}: no status band");
        assert!(
            dom.contains(r#"class="meeting held""#),
            "{name}: no meeting line"
        );
        // The fragment's event was copied into the panel.
        let panel = &dom[dom.find(r#"id="panel""#).unwrap()..];
        let panel = &panel[..panel.find("</aside>").unwrap()];
        assert!(
            panel.contains(r#"class="event"#),
            "{name}: the panel shows no event: {panel}"
        );
        assert!(!dom.contains("<img"), "{name}: an element was injected");

        let shot = ledger.path("timeline.png");
        let profile = tempfile::tempdir().unwrap();
        let shot_arg = format!("--screenshot={}", shot.display());
        let (_, stderr) = chromium_run(
            &chromium,
            profile.path(),
            &[&shot_arg, "--window-size=1400,900"],
            &url,
        );
        let png = std::fs::read(&shot)
            .unwrap_or_else(|e| panic!("{name}: no screenshot ({e}):\n{stderr}"));
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{name}: a screenshot"
        );
    }
}

#[test]
fn exports_for_publishing_of_the_bundled_record() {
    let ledger = TestLedger::bundled();
    let florida = ["--at", "florida-2025-11-30"];
    let export = |args: &[&str]| {
        let mut all = vec!["export"];
        all.extend_from_slice(args);
        ledger.ok(&all)
    };
    check(
        "export-timelinejs.json",
        &export(&["--format", "timelinejs", "--at", "2025-12-01"]),
    );
    check(
        "export-provisions-after-florida.csv",
        &export(&[&["--format", "csv"][..], &florida[..]].concat()),
    );
    check(
        "export-provisions-after-florida.md",
        &export(&[&["--format", "markdown"][..], &florida[..]].concat()),
    );
    let nato = ["--provision", "nato-membership", "--known-at", "seq:70"];
    check(
        "export-nato-membership-history-before-correction.csv",
        &export(&[&["--format", "csv"][..], &nato[..]].concat()),
    );
    check(
        "export-nato-membership-history.md",
        &export(&["--format", "markdown", "--provision", "nato-membership"]),
    );
    // The CSV parses back with its header first, one row per provision, and the
    // cut in its own columns (a data tool reads the first row as the header).
    let csv = export(&[&["--format", "csv"][..], &florida[..]].concat());
    let body = csv
        .strip_prefix('\u{feff}')
        .expect("UTF-8 with a byte-order mark");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "at");
    assert_eq!(&header[1], "known_at");
    assert_eq!(&header[2], "provision");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 10);
    assert!(rows
        .iter()
        .all(|r| &r[0] == "2025-11-30T23:59:59.999999999Z"));
    // TimelineJS: a slide per counted event, grouped by provision, eras per round.
    let tjs: serde_json::Value =
        serde_json::from_str(&export(&["--format", "timelinejs"])).unwrap();
    let events = tjs["events"].as_array().unwrap();
    assert!(events.iter().all(|e| e["start_date"]["year"] == 2025
        && e["text"]["headline"].is_string()
        && e["group"].is_string()
        && e.get("media").is_none()));
    assert_eq!(
        tjs["eras"].as_array().unwrap().len(),
        2,
        "Geneva and Florida"
    );
    // The default stays the stored records, and cut flags do not go with it.
    assert_eq!(export(&["--format", "ndjson"]), export(&[]));
    assert_eq!(ledger.fails(&["export", "--at", "2025-11-30"]).code, 2);
}

#[test]
fn exports_escape_hostile_text() {
    let ledger = hostile_ledger();
    for format in ["timelinejs", "markdown"] {
        let out = ledger.ok(&["export", "--format", format]);
        let hist = ledger.ok(&["export", "--format", format, "--provision", "nato"]);
        for text in [&out, &hist] {
            assert!(!text.contains("<img"), "{format}: {text}");
            assert!(!text.contains("</script>"), "{format}: {text}");
        }
    }
    // CSV keeps the text as it is (a spreadsheet is no browser), quoted.
    let csv = ledger.ok(&["export", "--format", "csv", "--provision", "nato"]);
    let body: String = csv.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert!(reader
        .records()
        .any(|r| r.unwrap().iter().any(|cell| cell == HOSTILE)));
}

#[test]
fn list_counts_events_and_dates() {
    let ledger = TestLedger::bundled();
    let meetings = ledger.run(&["list", "meetings", "--json"]).json();
    let geneva = meetings
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["slug"] == "geneva-2025-11-23")
        .unwrap();
    assert!(geneva["events"].as_u64().unwrap() >= 2, "{geneva}");
    assert_eq!(geneva["last"], "2025-11-23T00:00:00Z");
    let parties = ledger.run(&["list", "parties", "--json"]).json();
    let slugs: Vec<&str> = parties
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["europe", "russia", "ukraine", "us"]);
    assert_eq!(parties[3]["name"], "United States");
    // The superseded Rubio quote no longer counts for him.
    let actors = ledger.run(&["list", "actors", "--json"]).json();
    assert!(actors
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["events"].as_u64().unwrap() >= 1));
    let table = ledger.ok(&["list", "provisions"]);
    assert!(table.starts_with("10 provisions\n"), "{table}");
    assert!(table.contains("NATO membership"));
    for kind in ["parties", "actors", "proposals", "provisions", "meetings"] {
        ledger.ok(&["list", kind]);
    }
    assert_eq!(ledger.run(&["list", "people"]).code, 2);
}

#[test]
fn search_finds_quotes_case_insensitively() {
    let ledger = TestLedger::bundled();
    let found = ledger.run(&["search", "LEGAL SENSE", "--json"]).json();
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 2, "the quote and its correction: {found:?}");
    assert!(found.iter().all(
        |m| m["field"] == "quote" && m["provisions"] == serde_json::json!(["nato-membership"])
    ));
    assert!(
        found.iter().any(|m| m["removed_by"].is_string()),
        "the superseded one is marked"
    );
    let text = ledger.ok(&["search", "legal sense"]);
    assert!(text.starts_with("2 matches for “legal sense”"), "{text}");
    assert!(text.contains("removed by"));
    assert!(ledger
        .ok(&["search", "zzz-no-such-text"])
        .starts_with("0 matches"));
}

#[test]
fn completions_and_man_page() {
    let ledger = TestLedger::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = ledger.ok(&["completions", shell]);
        assert!(script.contains("timeline"), "{shell}: {script}");
    }
    let man = ledger.ok(&["man"]);
    assert!(
        man.starts_with(".ie") || man.contains(".TH pactlog"),
        "{man}"
    );
    assert!(man.contains("timeline"));
    assert!(!ledger.db.exists(), "neither touches a ledger");
}

#[test]
fn piped_output_has_no_colour() {
    let ledger = TestLedger::bundled();
    for args in [&["state"][..], &["list", "actors"], &["search", "nato"]] {
        assert!(!ledger.ok(args).contains('\u{1b}'), "{args:?}");
    }
}

#[test]
fn csv_cells_a_spreadsheet_would_run_as_formulas_are_neutralised() {
    let ledger = TestLedger::bundled();
    let event = serde_json::json!({"type": "statement_made", "occurred_at": "2025-12-02", "quote": "=HYPERLINK(\"http://x\",\"y\")",
        "attribution": "someone", "provisions": ["nato-membership"], "id": "00000000-0000-7000-8000-000000000777"});
    ledger
        .at(crate::common::NOW)
        .stdin(event.to_string())
        .ok(&["append", "-"]);
    let csv = ledger.ok(&[
        "export",
        "--format",
        "csv",
        "--provision",
        "nato-membership",
    ]);
    let body: String = csv.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let cells: Vec<String> = csv::Reader::from_reader(body.as_bytes())
        .records()
        .flat_map(|r| r.unwrap().iter().map(str::to_string).collect::<Vec<_>>())
        .collect();
    assert!(cells.iter().all(|c| !c.starts_with('=')), "{cells:?}");
    assert!(
        cells.iter().any(|c| c.starts_with("'=HYPERLINK")),
        "{cells:?}"
    );
}
