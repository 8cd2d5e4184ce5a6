//! The publishing formats of `pactlog export`: TimelineJS JSON, and CSV and Markdown
//! tables (every provision at a cut, or one provision's history), each stamped with
//! the cut it was taken at.
//!
//! What people read (TimelineJS slides, Markdown) names parties and actors by their
//! registered names ([`Names`]); CSV, which programs and spreadsheets read, keeps the
//! slugs. TimelineJS shows its texts as HTML: they are made by maud, which escapes
//! every text; Markdown cells are escaped for Markdown ([`markdown_cell`]).

use std::collections::BTreeSet;
use std::io::Write;

use maud::html;
use serde_json::{json, Value};

use super::{render, CliError};
use crate::event::Slug;
use crate::names::Names;
use crate::query::{self, Cut, HistoryEntry, StateAt};
use crate::store::Ledger;
use crate::time::{self, Instant};
use crate::timeline::{self as tl, Marker};

/// A table: a caption, column names, rows of cells.
pub struct Table {
    pub caption: String,
    /// The cut the table was taken at, as (column, value): CSV repeats them on every
    /// row, where data tools keep them.
    pub cut: Vec<(&'static str, String)>,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Every provision drafted at the cut: status, its text in each proposal, each
/// party's stance (the column named by the party's name from `names`).
pub fn provisions_table(states: &[StateAt], cut: &Cut, names: &Names) -> Table {
    let proposals: BTreeSet<&Slug> = states
        .iter()
        .flat_map(|s| s.state.texts.iter().map(|t| &t.proposal))
        .collect();
    let parties: BTreeSet<&Slug> = states
        .iter()
        .flat_map(|s| s.state.positions.iter().map(|p| &p.party))
        .collect();
    let mut header: Vec<String> = ["provision", "title", "status", "status_since"]
        .map(String::from)
        .to_vec();
    header.extend(proposals.iter().map(|p| format!("text: {p}")));
    header.extend(
        parties
            .iter()
            .map(|p| format!("stance: {}", names.party(p))),
    );
    let rows = states
        .iter()
        .map(|s| {
            let s = &s.state;
            let mut row = vec![
                s.provision.to_string(),
                s.title.clone(),
                s.status.to_string(),
                time::format(&s.status_since),
            ];
            row.extend(proposals.iter().map(|proposal| {
                match s.texts.iter().find(|t| &t.proposal == *proposal) {
                    Some(t) if t.dropped => format!("(dropped) {}", t.text),
                    Some(t) => t.text.clone(),
                    None => String::new(),
                }
            }));
            row.extend(parties.iter().map(|party| {
                s.positions
                    .iter()
                    .find(|p| &p.party == *party)
                    .map(|p| p.stance.to_string())
                    .unwrap_or_default()
            }));
            row
        })
        .collect();
    Table {
        caption: format!(
            "Provisions at {}, as known at {} (pactlog)",
            time::format(&cut.at),
            render::known(cut)
        ),
        cut: cut_columns(Some(cut.at), cut),
        header,
        rows,
    }
}

/// One provision's history: every event that touched it, with both times and
/// removals; `who` and `what` name actors and parties by `names`.
pub fn history_table(
    provision: &Slug,
    entries: &[HistoryEntry],
    at: Option<Instant>,
    cut: &Cut,
    names: &Names,
) -> Table {
    let header = [
        "seq",
        "occurred_at",
        "recorded_at",
        "type",
        "who",
        "what",
        "text",
        "source",
        "source_url",
        "basis",
        "note",
        "id",
        "removed_by",
    ]
    .map(String::from)
    .to_vec();
    let rows = entries
        .iter()
        .map(|entry| {
            let r = &entry.record;
            let (headline, detail) = tl::describe(&r.event, names);
            vec![
                r.seq.to_string(),
                time::format(&r.event.occurred_at),
                time::format(&r.recorded_at),
                r.event.type_name().to_string(),
                names.who(&r.event).unwrap_or_default().to_string(),
                headline,
                detail.unwrap_or_default(),
                render::sources_cell(&r.event.sources),
                r.event
                    .sources
                    .iter()
                    .filter_map(|s| s.url.as_deref())
                    .collect::<Vec<_>>()
                    .join(" "),
                r.event.basis.to_string(),
                r.event.note().unwrap_or_default().to_string(),
                r.event.id.to_string(),
                entry
                    .removed_by
                    .map(|(id, _)| id.to_string())
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let upto = at
        .map(|at| format!(" up to {}", time::format(&at)))
        .unwrap_or_default();
    Table {
        caption: format!(
            "History of {provision}{upto}, as known at {} (pactlog)",
            render::known(cut)
        ),
        cut: cut_columns(at, cut),
        header,
        rows,
    }
}

/// The columns naming a table's cut: `at` (when the table is taken at a valid time),
/// `known_at`, and `known_seq` for a `seq:N` cut.
fn cut_columns(at: Option<Instant>, cut: &Cut) -> Vec<(&'static str, String)> {
    let mut columns = Vec::new();
    if let Some(at) = at {
        columns.push(("at", time::format(&at)));
    }
    columns.push(("known_at", time::format(&cut.known_at)));
    if let Some(seq) = cut.known_seq {
        columns.push(("known_seq", seq.to_string()));
    }
    columns
}

/// CSV whose first row is the header, with the cut in its own columns on every row
/// (`at`, `known_at`), UTF-8 with a byte-order mark so that spreadsheets read
/// non-ASCII text as such.
pub fn write_csv(table: &Table, out: &mut dyn Write) -> Result<(), CliError> {
    out.write_all("\u{feff}".as_bytes())?;
    let mut writer = csv::Writer::from_writer(out);
    let failed = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(io) => CliError::from(io),
        other => CliError::Failed {
            code: 1,
            message: format!("output: {other:?}"),
        },
    };
    let cut_names = table.cut.iter().map(|(name, _)| *name);
    writer
        .write_record(cut_names.chain(table.header.iter().map(String::as_str)))
        .map_err(failed)?;
    for row in &table.rows {
        let cut_values = table.cut.iter().map(|(_, value)| value.clone());
        writer
            .write_record(cut_values.chain(row.iter().map(|cell| csv_cell(cell).into_owned())))
            .map_err(failed)?;
    }
    writer.flush()?;
    Ok(())
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage
/// return first) gets a leading apostrophe, which spreadsheets show as text: quotes
/// come from untrusted sources (the usual guard against CSV injection).
fn csv_cell(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// A Markdown table cell that reads as the text it holds: every character Markdown
/// (GitHub's, CommonMark's) gives a meaning inline is backslash-escaped (emphasis
/// `*` `_` `~`, code `` ` ``, links and images `[` `]` `!`, raw HTML and autolinks
/// `<` `>`, entities `&`, the cell separator `|`, the backslash itself), and a line
/// break, which would end the table row, is written `<br>`, the one tag GitHub
/// renders in a cell.
fn markdown_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '`' | '*' | '_' | '~' | '[' | ']' | '!' | '<' | '>' | '&' | '|' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
    out
}

/// A GitHub-flavoured Markdown table under an italic caption naming the cut.
pub fn write_markdown(table: &Table, out: &mut dyn Write) -> Result<(), CliError> {
    writeln!(out, "*{}*", markdown_cell(&table.caption))?;
    writeln!(out)?;
    let line = |cells: &[String]| {
        let cells: Vec<String> = cells.iter().map(|c| markdown_cell(c)).collect();
        format!("| {} |", cells.join(" | "))
    };
    writeln!(out, "{}", line(&table.header))?;
    writeln!(out, "|{}", " --- |".repeat(table.header.len()))?;
    for row in &table.rows {
        writeln!(out, "{}", line(row))?;
    }
    Ok(())
}

/// A TimelineJS date: the calendar day (TimelineJS reads no offset).
fn date(day: chrono::NaiveDate) -> Value {
    use chrono::Datelike;
    json!({ "year": day.year(), "month": day.month(), "day": day.day() })
}

/// TimelineJS JSON: one slide per counted event per provision (grouped by provision,
/// on the event's own calendar day, see [`tl::written_day`]), each crediting and
/// linking its source; an era per negotiation round (up to and including each held
/// meeting's day). TimelineJS shows headlines and texts as HTML, so every text goes
/// through maud's escaping.
pub fn timelinejs(ledger: &Ledger, provisions: &[Slug], cut: &Cut) -> Result<Value, CliError> {
    let timeline = tl::timeline(ledger, provisions, cut)?;
    let mut events = Vec::new();
    for line in &timeline.provisions {
        for marker in line.markers.iter().filter(|m| m.removed_by.is_none()) {
            events.push(json!({
                "start_date": date(marker.day),
                "text": {
                    "headline": html! { (marker.headline) }.into_string(),
                    "text": slide_text(marker),
                },
                "group": html! { (line.title) }.into_string(),
                "unique_id": format!("{}-{}", line.provision, marker.event.seq),
            }));
        }
    }
    let eras: Vec<Value> = match timeline.span() {
        Some((start, _)) => tl::rounds(&timeline, start)
            .into_iter()
            .map(|(from, to, meeting)| {
                json!({
                    "start_date": date(from.date_naive()),
                    "end_date": date(to.date_naive()),
                    "text": {
                        "headline": html! { (meeting.title) }.into_string(),
                        "text": html! { p { (meeting.place) ", " (render::when(&meeting.day)) } }.into_string(),
                    },
                })
            })
            .collect(),
        None => Vec::new(),
    };
    Ok(json!({
        "title": {
            "text": {
                "headline": "Negotiation timeline",
                "text": html! {
                    p { "At " (time::format(&cut.at)) ", as known at " (render::known(cut)) " (pactlog)" }
                }.into_string(),
            }
        },
        "events": events,
        "eras": eras,
    }))
}

/// A slide's text: the quote or text, who, every source (each outlet credited, linked
/// to the source's URL when it is an http(s) one, with its grade and publication
/// date, cited ones with their record time), an inference's mark and note, and the
/// event's type, id and record time ([`render::provenance_html`]).
fn slide_text(marker: &Marker) -> String {
    let event = &marker.event;
    html! {
        @if let Some(detail) = &marker.detail {
            blockquote { (detail) }
        }
        @if let Some(who) = &marker.speaker {
            p { "— " (who) }
        }
        (render::provenance_html(event))
        p { small { (event.type_name) " · event " (event.id) " · recorded " (time::format(&event.recorded_at)) } }
    }
    .into_string()
}

/// Every provision's state at the cut, or one provision's history, as a table.
/// `for_people` (Markdown) names parties and actors by their registered names; CSV
/// keeps their slugs.
pub fn table(
    ledger: &Ledger,
    provision: Option<&Slug>,
    cut: &Cut,
    at_given: bool,
    for_people: bool,
) -> Result<Table, CliError> {
    Ok(match provision {
        None => {
            let states = query::all_states(ledger, cut)?;
            let names = if for_people {
                let ids: Vec<uuid::Uuid> = states
                    .iter()
                    .flat_map(|s| s.state.positions.iter().map(|p| p.event))
                    .collect();
                let events = ids
                    .iter()
                    .filter_map(|id| render::Sources::new(ledger).record(id))
                    .collect::<Vec<_>>();
                Names::of(ledger, events.iter().map(|r| &*r.event), cut)?
            } else {
                Names::none()
            };
            provisions_table(&states, cut, &names)
        }
        Some(provision) => {
            let at = at_given.then_some(cut.at);
            let entries = super::history::entries(ledger, provision, at, cut)?;
            let names = if for_people {
                Names::of(ledger, entries.iter().map(|e| &*e.record.event), cut)?
            } else {
                Names::none()
            };
            history_table(provision, &entries, at, cut, &names)
        }
    })
}
