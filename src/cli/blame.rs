//! `pactlog blame`: the event behind every field of a provision's state.

use std::io::Write;

use super::state::{slug_arg, CutArgs};
use super::{render, CliError, Ctx};
use crate::audit;
use crate::store::Access;

/// For every field of a provision's state (title, status, each text, each stance,
/// each meeting and statement), the event that set it: when it happened, when it was
/// recorded, who, and the source. The audit view before publishing.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The provision's slug
    pub provision: String,

    #[command(flatten)]
    pub cut: CutArgs,

    /// Machine output
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    let ledger = ctx.open(Access::Existing)?;
    let provision = slug_arg(&args.provision, "PROVISION")?;
    let cut = ctx.cut_of(&ledger, &args.cut)?;
    let blame = audit::blame(&ledger, &provision, &cut)?;
    if args.json {
        return super::write_json(out, &blame);
    }
    writeln!(
        out,
        "{provision} at {}, as known at {}",
        render::cut(&blame.at),
        render::known(&cut)
    )?;
    let names = render::audit_names(
        &ledger,
        &cut,
        blame.fields.iter().map(|line| &line.event),
        blame.fields.iter().map(|line| &line.value),
    )?;
    let mut t = render::table(&["field", "value", "set by"]);
    for line in &blame.fields {
        let mut value = render::value(&line.value, &names);
        if let Some(conflict) = &line.conflict {
            let sources = render::Sources::new(&ledger);
            value.push_str("\n⚠ conflicting reports that day:");
            for side in &conflict.sides {
                value.push_str(&format!(
                    "\n• {} ({})",
                    render::value(&side.value, &names),
                    sources.cite(&side.event).replace('\n', " ")
                ));
            }
        }
        t.add_row(vec![
            line.field.clone(),
            value,
            render::cited(&ledger, &line.event, &names),
        ]);
    }
    writeln!(out, "{t}")?;
    Ok(())
}
