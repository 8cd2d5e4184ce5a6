//! `pactlog log`: all records in record order.

use std::io::Write;

use super::{render, CliError, Ctx};
use crate::query;
use crate::store::Access;

/// All records in record order (seq), as known at `--known-at`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Record-time cut: only what the ledger knew then [default: now]
    #[arg(long, value_name = "WHEN")]
    pub known_at: Option<String>,

    #[command(flatten)]
    pub filter: super::state::FilterArgs,

    /// Machine output: an array of stored records
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    let ledger = ctx.open(Access::Existing)?;
    let cut = ctx.cut(&ledger, None, args.known_at.as_deref())?;
    let filter = args.filter.filter()?;
    // A filter needs the removals and citations first (a pass of its own); the log
    // then streams, never held in memory.
    let sieve = match filter.is_open() {
        true => None,
        false => Some(query::Sieve::new(&ledger, filter, cut.known())?),
    };
    let records = query::log(&ledger, cut.known()).filter(|r| match (&sieve, r) {
        (Some(sieve), Ok(r)) => sieve.admits(&r.event),
        _ => true,
    });
    if args.json {
        // Streamed: a large ledger is never held in memory.
        write!(out, "[")?;
        for (i, record) in records.enumerate() {
            let record = record?;
            write!(out, "{}\n  ", if i == 0 { "" } else { "," })?;
            serde_json::to_writer(&mut *out, &*record.object)?;
        }
        writeln!(out, "\n]")?;
        return Ok(());
    }
    let mut t = render::Paged::new(&["seq", "recorded", "occurred", "type", "what", "id"]);
    for record in records {
        let r = record?;
        let what = render::subject(&ledger, &r, &crate::names::Names::none());
        t.add_row(
            out,
            vec![
                r.seq.to_string(),
                render::recorded(&r.recorded_at),
                render::when(&r.event.occurred_at),
                r.event.type_name().to_string(),
                match r.recorded_by() {
                    Some(by) => format!("{what}\nrecorded by {by}"),
                    None => what,
                },
                render::short(&ledger, &r.event.id),
            ],
        )?;
    }
    t.finish(out)?;
    Ok(())
}
