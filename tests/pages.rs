//! What people read: names instead of slugs (history, state, blame, the exports, the
//! timeline) with slugs kept in `--json`; TimelineJS slides that link and credit
//! their source on the event's own calendar day; Markdown that reads as the text it
//! holds, whatever the text (checked with a CommonMark parser).

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use serde_json::{json, Value};

use crate::common::TestLedger;

/// Text a Markdown or HTML renderer would take for markup.
const HOSTILE_MD: &str = "*bold* _em_ `code` [link](http://x.test) ![img](x.png) <b>tag</b> &amp; a|b ~~gone~~ \\ # 1. <https://auto.test>\nsecond line";

/// A small negotiation: two parties, a registered actor, an unnamed speaker, a
/// statement made just after midnight in Moscow (the 22nd in UTC), and a hostile quote.
fn ledger() -> TestLedger {
    let ledger = TestLedger::new();
    let events = [
        json!({"type": "party_registered", "occurred_at": "2025-11-20", "party": "us", "name": "United States"}),
        json!({"type": "party_registered", "occurred_at": "2025-11-20", "party": "russia", "name": "Russia"}),
        json!({"type": "actor_registered", "occurred_at": "2025-11-20", "actor": "dmitry-peskov", "name": "Dmitry Peskov", "party": "russia", "role": "Kremlin spokesman"}),
        json!({"type": "proposal_tabled", "occurred_at": "2025-11-20", "proposal": "plan", "title": "The plan", "parties": ["us"]}),
        json!({"type": "provision_drafted", "occurred_at": "2025-11-20", "provision": "nato", "proposal": "plan", "title": "NATO membership", "text": "No NATO."}),
        json!({"type": "position_stated", "occurred_at": "2025-11-21", "provision": "nato", "party": "russia", "stance": "supports"}),
        json!({"type": "statement_made", "occurred_at": "2025-11-23T01:00:00+03:00", "actor": "dmitry-peskov", "quote": "We welcome it.", "provisions": ["nato"],
            "source": {"outlet": "TASS", "url": "https://tass.example/1", "published_at": "2025-11-23"}}),
        json!({"type": "statement_made", "occurred_at": "2025-11-24", "attribution": "a senior official", "quote": HOSTILE_MD, "provisions": ["nato"],
            "source": {"outlet": "Wire", "url": "javascript:alert(1)"}}),
    ];
    let input: String = events.iter().map(|e| format!("{e}\n")).collect();
    let path = ledger.write("talks.ndjson", input.as_bytes());
    ledger.ok(&["import", path.to_str().unwrap()]);
    ledger
}

#[test]
fn people_read_names_and_programs_read_slugs() {
    let ledger = ledger();
    let history = ledger.ok(&["history", "nato"]);
    assert!(history.contains("— Dmitry Peskov"), "{history}");
    assert!(history.contains("Russia supports"), "{history}");
    assert!(!history.contains("dmitry-peskov"), "{history}");
    // An unnamed speaker keeps the text it was recorded with.
    assert!(history.contains("— a senior official"), "{history}");
    let state = ledger.ok(&["state", "nato"]);
    assert!(
        state.contains("Dmitry Peskov") && state.contains("Russia"),
        "{state}"
    );
    assert!(!state.contains("dmitry-peskov"), "{state}");
    let blame = ledger.ok(&["blame", "nato"]);
    assert!(blame.contains("by Dmitry Peskov"), "{blame}");
    assert!(!blame.contains("by dmitry-peskov"), "{blame}");

    let json = ledger.run(&["history", "nato", "--json"]).json();
    assert!(json
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["actor"] == "dmitry-peskov"));
    let timeline = ledger.run(&["timeline", "--json"]).json();
    let markers = &timeline["provisions"][0]["markers"];
    let peskov = markers
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["who"] == "dmitry-peskov")
        .expect("the slug in --json");
    assert_eq!(peskov["speaker"], "Dmitry Peskov");
    assert_eq!(peskov["headline"], "Statement by Dmitry Peskov");
    assert_eq!(peskov["day"], "2025-11-23", "the day in its own offset");

    let md = ledger.ok(&["export", "--format", "markdown", "--provision", "nato"]);
    assert!(
        md.contains("| Dmitry Peskov | Statement by Dmitry Peskov |"),
        "{md}"
    );
    assert!(md.contains("| Russia supports |"), "{md}");
    let md = ledger.ok(&["export", "--format", "markdown"]);
    assert!(md.contains("stance: Russia"), "{md}");
    // CSV is read by programs: slugs.
    let csv = ledger.ok(&["export", "--format", "csv", "--provision", "nato"]);
    assert!(
        csv.contains("dmitry-peskov") && !csv.contains("Dmitry Peskov"),
        "{csv}"
    );

    let html = crate::workbench::timeline_html(&ledger, &[]);
    assert!(html.contains("Statement by Dmitry Peskov"));
    assert!(html.contains("— Dmitry Peskov"));
    assert!(!html.contains("Statement by dmitry-peskov"));
}

#[test]
fn timelinejs_slides_link_and_credit_their_source_on_their_own_day() {
    let ledger = ledger();
    let tjs: Value =
        serde_json::from_str(&ledger.ok(&["export", "--format", "timelinejs"])).unwrap();
    let slides = tjs["events"].as_array().unwrap();
    let peskov = slides
        .iter()
        .find(|s| s["text"]["headline"] == "Statement by Dmitry Peskov")
        .expect("a slide naming the actor by name");
    // 2025-11-23T01:00:00+03:00 is 22 November in UTC, but the 23rd where it was said.
    assert_eq!(
        peskov["start_date"],
        json!({"year": 2025, "month": 11, "day": 23})
    );
    let text = peskov["text"]["text"].as_str().unwrap();
    assert!(
        text.contains(r#"Source: <a href="https://tass.example/1" target="_blank" rel="noopener noreferrer">TASS</a>, published 2025-11-23"#),
        "{text}"
    );
    assert!(text.contains("<p>— Dmitry Peskov</p>"), "{text}");
    // A source URL that is no web address is credited, never linked.
    let hostile = slides
        .iter()
        .find(|s| s["text"]["text"].as_str().unwrap().contains("Wire"))
        .unwrap();
    let text = hostile["text"]["text"].as_str().unwrap();
    assert!(!text.contains("href=\"javascript"), "{text}");
    assert!(
        !text.contains("<b>") && text.contains("&lt;b&gt;"),
        "{text}"
    );
    assert!(text.contains("<p>— a senior official</p>"), "{text}");
}

/// The text of every table cell, and whatever the parser took for markup.
fn markdown_cells(markdown: &str) -> (Vec<String>, Vec<String>) {
    let mut cells = Vec::new();
    let mut markup = Vec::new();
    let mut cell: Option<String> = None;
    for event in Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    ) {
        match event {
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => cells.extend(cell.take()),
            Event::Text(text) => {
                if let Some(cell) = cell.as_mut() {
                    cell.push_str(&text);
                }
            }
            // The one tag a cell may hold: a line break.
            Event::InlineHtml(tag) if &*tag == "<br>" => {
                if let Some(cell) = cell.as_mut() {
                    cell.push('\n');
                }
            }
            Event::Start(
                Tag::Table(_) | Tag::TableHead | Tag::TableRow | Tag::Paragraph | Tag::Emphasis,
            )
            | Event::End(
                TagEnd::Table
                | TagEnd::TableHead
                | TagEnd::TableRow
                | TagEnd::Paragraph
                | TagEnd::Emphasis,
            ) if cell.is_none() => {} // the table and the italic caption
            other => markup.push(format!("{other:?}")),
        }
    }
    (cells, markup)
}

#[test]
fn markdown_cells_read_as_their_text_whatever_it_holds() {
    let ledger = ledger();
    let md = ledger.ok(&["export", "--format", "markdown", "--provision", "nato"]);
    assert!(!md.contains("&#"), "no HTML entities: {md}");
    let (cells, markup) = markdown_cells(&md);
    assert!(markup.is_empty(), "taken for markup: {markup:?}\n{md}");
    assert!(
        cells.iter().any(|c| c == HOSTILE_MD),
        "the hostile quote reads back whole: {cells:?}"
    );
    assert!(
        cells.iter().any(|c| c == "javascript:alert(1)"),
        "{cells:?}"
    );
    // The bundled record's apostrophes stay apostrophes.
    let bundled = TestLedger::bundled();
    let md = bundled.ok(&[
        "export",
        "--format",
        "markdown",
        "--provision",
        "nato-membership",
    ]);
    assert!(md.contains("Ukraine's") && !md.contains("&#39;"), "{md}");
    let (cells, markup) = markdown_cells(&md);
    assert!(markup.is_empty(), "{markup:?}");
    assert!(cells.iter().any(|c| c.contains("Ukraine's membership")));
}
