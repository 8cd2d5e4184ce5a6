//! `pactlog search`: events whose quotes, texts, summaries, notes or titles contain a text.

use std::io::Write;

use serde::Serialize;
use uuid::Uuid;

use super::{render, CliError, Ctx};
use crate::provenance::EventRef;
use crate::query;
use crate::store::Access;

/// Find events whose quote, text, summary, note, reason, outcome, title or name
/// contains TEXT (case-insensitive), in valid-time order. Retracted and superseded
/// events are listed too, marked with the event that removed them.
///
/// Example: pactlog search "legal sense"
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The text to look for
    pub text: String,

    #[command(flatten)]
    pub filter: super::state::FilterArgs,

    /// Machine output
    #[arg(long)]
    pub json: bool,
}

/// One event that matched, and in which field.
#[derive(Clone, Debug, Serialize)]
pub struct Match {
    #[serde(flatten)]
    pub event: EventRef,
    pub provisions: Vec<String>,
    pub field: &'static str,
    pub value: String,
    pub removed_by: Option<Uuid>,
}

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    if args.text.trim().is_empty() {
        return Err(CliError::usage("TEXT: give something to look for"));
    }
    let ledger = ctx.open(Access::Existing)?;
    let needle = args.text.to_lowercase();
    let known = query::Known::at(ctx.latest(&ledger));
    // Two passes over the log, neither holding it: the removals and citations first,
    // then each event on its own (a match reads its whole record).
    let sieve = query::Sieve::new(&ledger, args.filter.filter()?, known)?;
    let mut matches = Vec::new();
    for item in ledger.events(1) {
        let (seq, _, event) = item?;
        if !sieve.admits(&event) {
            continue;
        }
        let header = [
            ("attribution", event.attribution.as_deref()),
            ("note", event.note.as_deref()),
        ];
        let header = header.into_iter().filter_map(|(k, v)| v.map(|v| (k, v)));
        let mut record = None;
        for (field, value) in event.body.texts().into_iter().chain(header) {
            if value.to_lowercase().contains(&needle) {
                if record.is_none() {
                    record = ledger.records_at(&[seq])?.pop();
                }
                let record = record.as_ref().expect("read just now");
                matches.push(Match {
                    event: EventRef::new(record, sieve.citations()),
                    provisions: event.provisions().map(|p| p.to_string()).collect(),
                    field,
                    value: value.to_string(),
                    removed_by: sieve.removed_by(&event.id).map(|(id, _)| id),
                });
            }
        }
    }
    matches.sort_by_key(|m| (m.event.occurred_at, m.event.seq));
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
    let mut t = render::Paged::new(&["date", "event", "provisions", "match", "id"]);
    for m in &matches {
        let mut event = m.event.type_name.to_string();
        if let Some(by) = m.removed_by {
            event.push_str(&format!("\n✗ removed by {}", render::short(&ledger, &by)));
        }
        t.add_row(
            out,
            vec![
                render::when(&m.event.occurred_at),
                event,
                m.provisions.join("\n"),
                format!("{}: {}", m.field, m.value),
                render::short(&ledger, &m.event.id),
            ],
        )?;
    }
    t.finish(out)?;
    Ok(())
}
