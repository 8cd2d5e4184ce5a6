//! `pactlog history`: every event that touched a provision.

use std::io::Write;

use super::state::{slug_arg, CutArgs};
use super::{render, CliError, Ctx};
use crate::names::Names;
use crate::query;
use crate::store::Access;

/// Every event that touched a provision, in valid-time order (ties by seq), with
/// both times, source, who (an actor by name), id, and whether it was retracted or superseded and by
/// which event; the retractions themselves are listed too.
///
/// `--known-at` shows the history as the ledger knew it then; `--at` stops at a
/// valid time (default: no limit).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The provision's slug
    pub provision: String,

    #[command(flatten)]
    pub cut: CutArgs,

    /// Machine output: stored records plus `retracted` and `retracted_by`
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    let ledger = ctx.open(Access::Existing)?;
    let provision = slug_arg(&args.provision, "PROVISION")?;
    // History has no valid-time limit unless --at gives one.
    let cut = ctx.cut_of(&ledger, &args.cut)?;
    let at = args.cut.at.is_some().then_some(cut.at);
    let entries = entries(&ledger, &provision, at, &cut)?;
    if args.json {
        let values: Vec<_> = entries.iter().map(|e| e.to_json()).collect();
        return super::write_json(out, &values);
    }
    let names = Names::of(&ledger, entries.iter().map(|e| &*e.record.event), &cut)?;
    // The cut as given: a valid-time limit when --at set one (`now` adds nothing to say).
    let until = match (at, args.cut.at.as_deref()) {
        (Some(at), Some(given)) if given != crate::time::NOW => {
            format!(" up to {}", render::cut(&at))
        }
        _ => String::new(),
    };
    writeln!(
        out,
        "{provision}: {}{until}, as known at {}",
        super::count(entries.len() as u64, "event", "events"),
        render::known(&cut)
    )?;
    let mut t = render::Paged::new(&["seq", "occurred", "recorded", "event", "source", "id"]);
    for entry in &entries {
        let r = &entry.record;
        let mut event = format!(
            "{}: {}",
            r.event.type_name(),
            render::subject(&ledger, r, &names)
        );
        if let Some(who) = names.who(&r.event) {
            event.push_str(&format!("\n— {who}"));
        }
        if let Some(mark) = render::inference(&r.event) {
            event.push_str(&format!("\n{mark}"));
        }
        if let Some(by) = r.recorded_by() {
            event.push_str(&format!("\nrecorded by {by}"));
        }
        if let Some((by, seq)) = entry.removed_by {
            event.push_str(&format!(
                "\n✗ removed by {} (seq {seq})",
                render::short(&ledger, &by)
            ));
        }
        t.add_row(
            out,
            vec![
                r.seq.to_string(),
                render::when(&r.event.occurred_at),
                render::recorded(&r.recorded_at),
                event,
                render::sources_cell(&r.event.sources),
                render::short(&ledger, &r.event.id),
            ],
        )?;
    }
    t.finish(out)?;
    Ok(())
}

/// A provision's history at `cut` (up to valid time `at` when given), less the events
/// the cut's filter leaves out (`--min-grade` judged with the citations known at the
/// cut, `--reported-only`): what `history` and the history exports list.
pub fn entries(
    ledger: &crate::store::Ledger,
    provision: &crate::event::Slug,
    at: Option<crate::time::Instant>,
    cut: &query::Cut,
) -> Result<Vec<query::HistoryEntry>, CliError> {
    let mut entries = query::history(ledger, provision, at, cut.known())?;
    if !cut.filter.is_open() {
        let all: Vec<_> = query::history(ledger, provision, None, cut.known())?
            .into_iter()
            .map(|e| e.record)
            .collect();
        let kept: std::collections::HashSet<u64> = cut
            .filter
            .keep(&all, &all, cut.known())
            .iter()
            .map(|r| r.seq)
            .collect();
        entries.retain(|e| kept.contains(&e.record.seq));
    }
    Ok(entries)
}
