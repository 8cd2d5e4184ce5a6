//! `pactlog search`: events whose quotes, texts, summaries, notes or titles contain a text.

use std::io::Write;

use serde::Serialize;
use uuid::Uuid;

use super::{render, CliError, Ctx};
use crate::event::Body;
use crate::query;
use crate::store::Access;
use crate::time::{serde_instant, Instant};

/// Find events whose quote, text, summary, note, reason, outcome, title or name
/// contains TEXT (case-insensitive), in valid-time order. Retracted and superseded
/// events are listed too, marked with the event that removed them.
///
/// Example: pactlog search "legal sense"
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The text to look for
    pub text: String,

    /// Machine output
    #[arg(long)]
    pub json: bool,
}

/// One event that matched, and in which field.
#[derive(Clone, Debug, Serialize)]
pub struct Match {
    pub id: Uuid,
    pub seq: u64,
    #[serde(rename = "type")]
    pub type_name: &'static str,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub occurred_at: Instant,
    pub provisions: Vec<String>,
    pub field: &'static str,
    pub value: String,
    pub removed_by: Option<Uuid>,
}

/// The searchable text fields of an event, by name.
fn fields(body: &Body) -> Vec<(&'static str, &str)> {
    let mut out: Vec<(&'static str, Option<&str>)> = Vec::new();
    match body {
        Body::PartyRegistered { name, .. } => out.push(("name", Some(name))),
        Body::ActorRegistered { name, role, .. } => {
            out.extend([("name", Some(name.as_str())), ("role", role.as_deref())])
        }
        Body::ProposalTabled { title, .. } => out.push(("title", Some(title))),
        Body::ProvisionDrafted { title, text, .. } => out.extend([
            ("title", Some(title.as_str())),
            ("text", Some(text.as_str())),
        ]),
        Body::ProvisionAmended { text, summary, .. } => out.extend([
            ("text", Some(text.as_str())),
            ("summary", summary.as_deref()),
        ]),
        Body::ProvisionDropped { reason, .. } => out.push(("reason", reason.as_deref())),
        Body::StatusChanged { note, .. } => out.push(("note", note.as_deref())),
        Body::PositionStated { summary, .. } => out.push(("summary", summary.as_deref())),
        Body::MeetingScheduled { title, place, .. } => out.extend([
            ("title", Some(title.as_str())),
            ("place", Some(place.as_str())),
        ]),
        Body::MeetingHeld {
            title,
            place,
            outcome,
            ..
        } => out.extend([
            ("title", title.as_deref()),
            ("place", Some(place.as_str())),
            ("outcome", outcome.as_deref()),
        ]),
        Body::StatementMade { quote, .. } => out.push(("quote", Some(quote))),
        Body::EventRetracted { reason, .. } => out.push(("reason", Some(reason))),
    }
    out.into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    if args.text.trim().is_empty() {
        return Err(CliError::usage("TEXT: give something to look for"));
    }
    let ledger = ctx.open(Access::Existing)?;
    let needle = args.text.to_lowercase();
    let records = ledger.records(1).collect::<Result<Vec<_>, _>>()?;
    let removed = query::removals(&records, &[], query::Known::at(ctx.latest(&ledger)));
    let mut matches = Vec::new();
    for record in &records {
        let event = &record.event;
        let attribution = event.attribution.as_deref().map(|a| ("attribution", a));
        for (field, value) in fields(&event.body).into_iter().chain(attribution) {
            if value.to_lowercase().contains(&needle) {
                matches.push(Match {
                    id: event.id,
                    seq: record.seq,
                    type_name: event.type_name(),
                    occurred_at: event.occurred_at,
                    provisions: event.provisions().map(|p| p.to_string()).collect(),
                    field,
                    value: value.to_string(),
                    removed_by: removed.get(&event.id).map(|by| by.event.id),
                });
            }
        }
    }
    matches.sort_by_key(|m| (m.occurred_at, m.seq));
    if args.json {
        return super::write_json(out, &matches);
    }
    writeln!(
        out,
        "{} for “{}”",
        super::count(matches.len() as u64, "match", "matches"),
        args.text.escape_debug()
    )?;
    if matches.is_empty() {
        return Ok(());
    }
    let mut t = render::table(&["date", "event", "provisions", "match", "id"]);
    for m in &matches {
        let mut event = m.type_name.to_string();
        if let Some(by) = m.removed_by {
            event.push_str(&format!("\n✗ removed by {}", render::short(&ledger, &by)));
        }
        t.add_row(vec![
            render::when(&m.occurred_at),
            event,
            m.provisions.join("\n"),
            format!("{}: {}", m.field, m.value),
            render::short(&ledger, &m.id),
        ]);
    }
    writeln!(out, "{t}")?;
    Ok(())
}
