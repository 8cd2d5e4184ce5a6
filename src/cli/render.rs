//! Human output: tables and the one way dates and ids are shown.
//!
//! Dates are shown as `YYYY-MM-DD` when they are a whole UTC day and as
//! `YYYY-MM-DD HH:MM:SSZ` otherwise; ids by their first 8 hex digits (the JSON
//! output always has them whole).

use std::collections::BTreeMap;
use std::io::Write;

use comfy_table::{presets, ContentArrangement, Table};
use uuid::Uuid;

use super::CliError;
use crate::chain::Record;
use crate::event::{Kind, Slug};
use crate::names::Names;
use crate::provenance::EventRef;
use crate::query::{Cut, StateAt};
use crate::store::Ledger;

/// Width used when stdout is not a terminal, or is one that reports no width (0
/// columns, as under `script`), so such output wraps the same way every time.
const PIPE_WIDTH: u16 = 110;

/// A text table of `header`, as wide as the terminal (or [`PIPE_WIDTH`] columns).
pub fn table(header: &[&str]) -> TextTable {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    // `Table::width` is the terminal's width on a terminal, `None` elsewhere.
    if table.width().is_none_or(|columns| columns == 0) {
        table.set_width(PIPE_WIDTH);
    }
    TextTable(table)
}

/// Characters a text table shows of one cell. Wrapping a long unbroken string takes
/// the table time that grows faster than its length (a 200,000-character quote took
/// over 30 s); a reader of a terminal table wants its start, and `--json` has it all.
const CELL_CHARS: usize = 4_000;

/// A text table whose cells are cut at [`CELL_CHARS`] characters, saying how many
/// more there are and where to read them.
pub struct TextTable(Table);

impl TextTable {
    pub fn add_row<T: Into<comfy_table::Cell>>(
        &mut self,
        cells: impl IntoIterator<Item = T>,
    ) -> &mut Self {
        let cells: Vec<comfy_table::Cell> = cells.into_iter().map(|c| fit(c.into())).collect();
        self.0.add_row(cells);
        self
    }
}

impl std::fmt::Display for TextTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Rows of one table of a [`Paged`] listing.
pub const PAGE_ROWS: usize = 1_000;

/// A long listing (`log`, `search`, `history`) written as tables of [`PAGE_ROWS`]
/// rows, each with the header: a table is laid out once all its rows are known, and
/// one table of 300,000 rows took gigabytes.
pub struct Paged<'h> {
    header: &'h [&'h str],
    table: TextTable,
    rows: usize,
}

impl<'h> Paged<'h> {
    pub fn new(header: &'h [&'h str]) -> Paged<'h> {
        Paged {
            header,
            table: table(header),
            rows: 0,
        }
    }

    /// Adds a row, first writing the table so far to `out` when it is full.
    pub fn add_row<T: Into<comfy_table::Cell>>(
        &mut self,
        out: &mut dyn std::io::Write,
        cells: impl IntoIterator<Item = T>,
    ) -> std::io::Result<()> {
        if self.rows == PAGE_ROWS {
            let full = std::mem::replace(&mut self.table, table(self.header));
            writeln!(out, "{full}")?;
            self.rows = 0;
        }
        self.table.add_row(cells);
        self.rows += 1;
        Ok(())
    }

    /// Writes the last table.
    pub fn finish(self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        writeln!(out, "{}", self.table)
    }
}

/// `cell` as it is, or its first [`CELL_CHARS`] characters and how many more.
fn fit(cell: comfy_table::Cell) -> comfy_table::Cell {
    let content = cell.content();
    let Some((cut, _)) = content.char_indices().nth(CELL_CHARS) else {
        return cell;
    };
    let more = content[cut..].chars().count();
    comfy_table::Cell::new(format!(
        "{}… ({more} more characters; --json shows them all)",
        &content[..cut]
    ))
}

/// Colour only on a terminal, and never when `NO_COLOR` is set (no-color.org).
pub fn colour() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stdout()) && std::env::var_os("NO_COLOR").is_none()
}

/// A status cell, coloured when [`colour`] allows.
pub fn status_cell(status: crate::event::Status) -> comfy_table::Cell {
    use crate::event::Status::*;
    use comfy_table::Color;
    let cell = comfy_table::Cell::new(status.as_str());
    if !colour() {
        return cell;
    }
    cell.fg(match status {
        Proposed => Color::Grey,
        Contested | Rejected => Color::Red,
        UnderNegotiation => Color::Yellow,
        AgreedInPrinciple | Agreed => Color::Green,
        Withdrawn | Superseded => Color::DarkGrey,
    })
}

/// A link target only for http(s) URLs; anything else (`javascript:`, `data:`…)
/// is no link and stays text.
pub fn web_url(url: &str) -> Option<&str> {
    let lower = url.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(url)
}

pub use crate::time::{cut_label as cut, instant_label as recorded, readable as when};

/// The record-time side of a cut as the user gave it (see [`crate::query::Cut::known_label`]).
pub fn known(cut: &crate::query::Cut) -> String {
    cut.known_label()
}

/// An event id as people read it: the shortest prefix unique in the ledger, at
/// least 8 hex digits (any unique prefix is taken back wherever an id is).
pub fn short(ledger: &Ledger, id: &Uuid) -> String {
    ledger.short_id(id)
}

/// Looks up the records that state fields name, for their sources: the events a
/// state names come cited (with later citations as known at its cut, see
/// [`audit::events_of`](crate::audit::events_of)); any other id is read from the ledger.
pub struct Sources<'a> {
    pub ledger: &'a Ledger,
    pub events: BTreeMap<Uuid, EventRef>,
}

impl<'a> Sources<'a> {
    /// Sources read from the ledger alone (an event's own sources).
    pub fn new(ledger: &'a Ledger) -> Sources<'a> {
        Sources {
            ledger,
            events: BTreeMap::new(),
        }
    }

    /// Sources of the events a state names, citations included when asked for (see
    /// [`audit::events_of`](crate::audit::events_of)).
    pub fn of_state(
        ledger: &'a Ledger,
        state: &StateAt,
        with_citations: bool,
    ) -> crate::error::Result<Sources<'a>> {
        Ok(Sources {
            ledger,
            events: crate::audit::events_of(ledger, state, with_citations)?,
        })
    }

    pub fn record(&self, id: &Uuid) -> Option<Record> {
        let seq = self.ledger.seq_of(id).ok()??;
        self.ledger.record(seq).ok()?
    }

    /// "EA WorldView (B2); cited: Reuters (A1); event 1a2b3c4d" for the event that set
    /// a field, marked when it is the recorder's inference.
    pub fn cite(&self, id: &Uuid) -> String {
        let cited = self.events.get(id).cloned().or_else(|| {
            self.record(id)
                .map(|r| EventRef::new(&r, &crate::provenance::Citations::default()))
        });
        let own = cited.iter().flat_map(|c| &c.sources);
        let later = cited
            .iter()
            .flat_map(|c| &c.cited)
            .flat_map(|c| &c.sources)
            .map(|s| format!("cited: {}", crate::provenance::describe_source(s)));
        let sources: Vec<String> = own
            .map(crate::provenance::describe_source)
            .chain(later)
            .collect();
        let mut line = if sources.is_empty() {
            "no source".to_string()
        } else {
            sources.join("; ")
        };
        line.push_str(&format!("; event {}", short(self.ledger, id)));
        if let Some(mark) = cited.and_then(|c| inference_mark(c.basis, c.note.as_deref())) {
            line.push_str(&format!("\n{mark}"));
        }
        line
    }
}

/// The cut a state was taken at.
fn cut_of(state: &StateAt) -> Cut {
    Cut {
        at: state.at,
        known_at: state.known_at,
        known_seq: state.known_seq,
        filter: Default::default(),
    }
}

/// The names of the parties whose stances and the actors whose statements states show.
fn state_names(ledger: &Ledger, states: &[StateAt]) -> Result<Names, CliError> {
    let Some(first) = states.first() else {
        return Ok(Names::none());
    };
    let slugs = states.iter().flat_map(|state| {
        let s = &state.state;
        let parties = s.positions.iter().map(|p| (Kind::Party, p.party.clone()));
        let actors = s
            .statements
            .iter()
            .filter_map(|st| st.actor.clone().map(|a| (Kind::Actor, a)));
        parties.chain(actors)
    });
    Ok(Names::of_slugs(ledger, slugs, &cut_of(first))?)
}

/// The names of the actors that audit views (blame, diff) show: who made the cited
/// events and who spoke the quotes among the values.
pub fn audit_names<'a>(
    ledger: &Ledger,
    cut: &Cut,
    cited: impl IntoIterator<Item = &'a crate::provenance::EventRef>,
    values: impl IntoIterator<Item = &'a serde_json::Value>,
) -> Result<Names, CliError> {
    let from_values = values.into_iter().filter_map(|v| {
        let actor = v.get("actor")?.as_str()?;
        Slug::parse(actor).ok()
    });
    let actors = cited
        .into_iter()
        .filter_map(|c| c.actor.clone())
        .chain(from_values)
        .map(|a| (Kind::Actor, a))
        .collect::<Vec<_>>();
    Ok(Names::of_slugs(ledger, actors, cut)?)
}

/// One provision's state, for people (parties and actors by name).
pub fn provision(out: &mut dyn Write, state: &StateAt, sources: &Sources) -> Result<(), CliError> {
    let names = state_names(sources.ledger, std::slice::from_ref(state))?;
    let s = &state.state;
    writeln!(out, "{} — {}", s.provision, s.title)?;
    writeln!(
        out,
        "  at {}, as known at {}",
        cut(&state.at),
        known(&cut_of(state))
    )?;
    // The inference mark, if any, goes on its own indented line after the sources.
    let status_cite = sources.cite(&s.status_event);
    let (status_sources, mark) = status_cite
        .split_once('\n')
        .unwrap_or((status_cite.as_str(), ""));
    writeln!(
        out,
        "  status: {} since {} ({status_sources})",
        s.status,
        when(&s.status_since),
    )?;
    if !mark.is_empty() {
        writeln!(out, "    {mark}")?;
    }
    if !s.texts.is_empty() {
        let mut t = table(&["proposal", "text", "since", "source"]);
        for text in &s.texts {
            let proposal = if text.dropped {
                format!("{} (dropped)", text.proposal)
            } else {
                text.proposal.to_string()
            };
            t.add_row(vec![
                proposal,
                text.text.clone(),
                when(&text.since),
                sources.cite(&text.event),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    if !s.positions.is_empty() {
        let mut t = table(&["party", "stance", "summary", "since", "source"]);
        for p in &s.positions {
            t.add_row(vec![
                names.party(&p.party).to_string(),
                p.stance.to_string(),
                p.summary.clone().unwrap_or_default(),
                when(&p.since),
                sources.cite(&p.event),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    if !s.meetings.is_empty() {
        let meetings: Vec<&str> = s.meetings.iter().map(|m| m.as_str()).collect();
        writeln!(out, "  meetings: {}", meetings.join(", "))?;
    }
    if !s.statements.is_empty() {
        let mut t = table(&["date", "who", "quote", "source"]);
        for st in &s.statements {
            let who = names.speaker(st.actor.as_ref(), st.attribution.as_deref());
            t.add_row(vec![
                when(&st.occurred_at),
                who.unwrap_or_default().to_string(),
                st.quote.clone(),
                sources.cite(&st.event),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    if !s.conflicts.is_empty() {
        writeln!(
            out,
            "  ⚠ conflicting reports (shown, not settled; the field holds the later record's):"
        )?;
        let mut t = table(&["field", "day", "value", "source"]);
        for c in &s.conflicts {
            for side in &c.sides {
                t.add_row(vec![
                    c.field.clone(),
                    when(&c.day),
                    value(&side.value, &names),
                    sources.cite(&side.event),
                ]);
            }
        }
        writeln!(out, "{t}")?;
    }
    writeln!(
        out,
        "  {} counted, last {}",
        super::count(s.events, "event", "events"),
        short(sources.ledger, &s.last_event)
    )?;
    Ok(())
}

/// Every provision's state, one row each (parties by name).
pub fn provisions(
    out: &mut dyn Write,
    states: &[StateAt],
    ledger: &Ledger,
) -> Result<(), CliError> {
    let names = state_names(ledger, states)?;
    let mut t = table(&[
        "provision",
        "title",
        "status",
        "since",
        "texts",
        "positions",
    ]);
    for state in states {
        let s = &state.state;
        let texts: Vec<String> = s
            .texts
            .iter()
            .map(|t| {
                if t.dropped {
                    format!("{} (dropped)", t.proposal)
                } else {
                    t.proposal.to_string()
                }
            })
            .collect();
        let positions: Vec<String> = s
            .positions
            .iter()
            .map(|p| format!("{}: {}", names.party(&p.party), p.stance))
            .chain(
                s.conflicts
                    .iter()
                    .map(|c| format!("⚠ {}: conflicting reports", c.field)),
            )
            .collect();
        t.add_row(vec![
            comfy_table::Cell::new(&s.provision),
            comfy_table::Cell::new(&s.title),
            status_cell(s.status),
            comfy_table::Cell::new(when(&s.status_since)),
            comfy_table::Cell::new(texts.join("\n")),
            comfy_table::Cell::new(positions.join("\n")),
        ]);
    }
    if let Some(first) = states.first() {
        writeln!(
            out,
            "at {}, as known at {}",
            cut(&first.at),
            known(&cut_of(first))
        )?;
    }
    writeln!(out, "{t}")?;
    Ok(())
}

/// One line for a record in logs and histories: the entity it is about (a party
/// by its name from `names`).
pub fn subject(ledger: &Ledger, record: &Record, names: &Names) -> String {
    use crate::event::Body::*;
    match &record.event.body {
        PartyRegistered { party, .. } => party.to_string(),
        ActorRegistered { actor, .. } => actor.to_string(),
        ProposalTabled { proposal, .. } => proposal.to_string(),
        ProvisionDrafted {
            provision,
            proposal,
            ..
        }
        | ProvisionAmended {
            provision,
            proposal,
            ..
        }
        | ProvisionDropped {
            provision,
            proposal,
            ..
        } => format!("{provision} in {proposal}"),
        StatusChanged {
            provision, status, ..
        } => format!("{provision} → {status}"),
        PositionStated {
            provision,
            party,
            stance,
            ..
        } => format!("{provision}: {} {stance}", names.party(party)),
        MeetingScheduled { meeting, .. } | MeetingHeld { meeting, .. } => meeting.to_string(),
        StatementMade { quote, .. } => quote.clone(),
        EventRetracted { target, reason } => format!("{} ({reason})", short(ledger, target)),
        SourceCited { target } => format!("{} ← {}", short(ledger, target), record.event.outlets()),
    }
}

/// An event as the audit views show it: when, recorded when, who (by name, see
/// [`audit_names`]), every source with its grade, citations, an inference's note, id.
pub fn cited(ledger: &Ledger, c: &crate::provenance::EventRef, names: &Names) -> String {
    let who = names.speaker(c.actor.as_ref(), c.attribution.as_deref());
    let mut line = format!(
        "{} {}, recorded {}",
        c.type_name,
        when(&c.occurred_at),
        recorded(&c.recorded_at)
    );
    if let Some(who) = who {
        line.push_str(&format!("\nby {who}"));
    }
    for source in &c.sources {
        line.push_str(&format!(
            "\nsource: {}",
            crate::provenance::describe_source(source)
        ));
        if let Some(url) = &source.url {
            line.push_str(&format!(" <{url}>"));
        }
    }
    for citation in &c.cited {
        for source in &citation.sources {
            line.push_str(&format!(
                "\ncited {}: {}",
                recorded(&citation.recorded_at),
                crate::provenance::describe_source(source)
            ));
        }
    }
    if let Some(mark) = inference_mark(c.basis, c.note.as_deref()) {
        line.push_str(&format!("\n{mark}"));
    }
    line.push_str(&format!("\nevent {} (seq {})", short(ledger, &c.id), c.seq));
    if let Some(by) = &c.recorded_by {
        line.push_str(&format!("\nrecorded by {by}"));
    }
    line
}

/// `⚠ inference: NOTE` when the event is the recorder's inference (docs/format.md §2),
/// the one way every view marks one.
pub fn inference(event: &crate::event::Event) -> Option<String> {
    inference_mark(event.basis, event.note())
}

/// [`inference`] from an event's basis and note.
pub fn inference_mark(basis: crate::event::Basis, note: Option<&str>) -> Option<String> {
    (basis == crate::event::Basis::Inference).then(|| match note {
        Some(note) => format!("⚠ inference: {note}"),
        None => "⚠ inference".to_string(),
    })
}

/// Every source of an event, one a line, each with its grade (`Reuters (B2, via a
/// diplomat, 2025-11-23)`); "no source" when it has none.
pub fn sources_cell(sources: &[crate::event::Source]) -> String {
    if sources.is_empty() {
        return "no source".to_string();
    }
    sources
        .iter()
        .map(crate::provenance::describe_source)
        .collect::<Vec<_>>()
        .join("\n")
}

/// An event's provenance as HTML (the timeline page's panel, the TimelineJS slides):
/// each source credited and linked when its URL is a web address (any other URL is
/// shown as text), with its grade, `via` and publication date; the sources later
/// citations added, with their record time; and an inference's mark and note. maud
/// escapes every text.
pub fn provenance_html(event: &crate::provenance::EventRef) -> maud::Markup {
    use crate::event::Source;
    fn source(label: &str, source: &Source) -> maud::Markup {
        maud::html! {
            p.source {
                (label) ": "
                @match source.url.as_deref() {
                    Some(url) => @match web_url(url) {
                        Some(url) => a href=(url) target="_blank" rel="noopener noreferrer" { (source.outlet) },
                        None => { (source.outlet) " " span.url { (url) } },
                    },
                    None => (source.outlet),
                }
                @if let Some(grade) = source.grade {
                    " " span.grade title="Admiralty grade: reliability A-F, credibility 1-6" { "(" (grade) ")" }
                }
                @if let Some(via) = &source.via {
                    ", via " (via)
                }
                @if let Some(published) = &source.published_at {
                    ", published " (published)
                }
            }
        }
    }
    maud::html! {
        @for s in &event.sources {
            (source("Source", s))
        }
        @for citation in &event.cited {
            @for s in &citation.sources {
                (source(&format!("Cited {}", recorded(&citation.recorded_at)), s))
            }
        }
        @if let Some(mark) = inference_mark(event.basis, event.note.as_deref()) {
            p.inference { (mark) }
        }
    }
}

/// A field value from the audit views, for people (a quote's actor by name).
pub fn value(v: &serde_json::Value, names: &Names) -> String {
    use serde_json::Value;
    match v {
        Value::String(s) => s.clone(),
        Value::Object(map) => {
            if let Some(Value::String(text)) = map.get("text") {
                let dropped = map.get("dropped") == Some(&Value::Bool(true));
                return if dropped {
                    format!("{text} (dropped)")
                } else {
                    text.clone()
                };
            }
            if let Some(Value::String(stance)) = map.get("stance") {
                return match map.get("summary") {
                    Some(Value::String(summary)) => format!("{stance}: {summary}"),
                    _ => stance.clone(),
                };
            }
            if let Some(Value::String(quote)) = map.get("quote") {
                let actor = map
                    .get("actor")
                    .and_then(Value::as_str)
                    .and_then(|a| Slug::parse(a).ok());
                let attribution = map.get("attribution").and_then(Value::as_str);
                let who = names.speaker(actor.as_ref(), attribution);
                return match who {
                    Some(who) => format!("“{quote}” — {who}"),
                    None => format!("“{quote}”"),
                };
            }
            v.to_string()
        }
        Value::Null => "—".into(),
        Value::Number(n) => match n.as_i64() {
            Some(whole) => grouped(whole),
            None => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// A whole number with its thousands grouped: `800,000`.
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// A text's parameters, one per line: `troop_cap: 800,000`.
pub fn parameters(parameters: &crate::event::Parameters) -> String {
    parameters
        .0
        .iter()
        .map(|(name, v)| format!("{name}: {}", value(v, &Names::none())))
        .collect::<Vec<_>>()
        .join("\n")
}
