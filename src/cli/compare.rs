//! `pactlog compare`: two proposals' texts side by side, provision by provision.

use std::io::Write;

use super::state::{slug_arg, CutArgs};
use super::{render, CliError, Ctx};
use crate::audit;
use crate::store::Access;

/// Two proposals' texts side by side, provision by provision, including provisions
/// only one of them has, with the provision's status and each party's stance.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The left proposal's slug
    pub left: String,

    /// The right proposal's slug
    pub right: String,

    #[command(flatten)]
    pub cut: CutArgs,

    /// Machine output
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    let ledger = ctx.open(Access::Existing)?;
    let left = slug_arg(&args.left, "PROPOSAL")?;
    let right = slug_arg(&args.right, "PROPOSAL")?;
    let cut = ctx.cut_of(&ledger, &args.cut)?;
    let comparison = audit::compare(&ledger, &left, &right, &cut)?;
    if args.json {
        return super::write_json(out, &comparison);
    }
    writeln!(
        out,
        "{left} vs {right} at {}, as known at {}",
        render::cut(&cut.at),
        render::known(&cut)
    )?;
    let mut t = render::table(&[
        "provision",
        left.as_str(),
        right.as_str(),
        "status / stances",
    ]);
    let parties = comparison
        .provisions
        .iter()
        .flat_map(|p| p.positions.iter())
        .map(|s| (crate::event::Kind::Party, s.party.clone()));
    let names = crate::names::Names::of_slugs(&ledger, parties.collect::<Vec<_>>(), &cut)?;
    for p in &comparison.provisions {
        let text = |t: &Option<crate::projection::Text>| match t {
            Some(t) => {
                let mut shown = t.text.clone();
                if t.dropped {
                    shown.push_str(" (dropped)");
                }
                if let Some(parameters) = &t.parameters {
                    shown.push_str(&format!("\n{}", render::parameters(parameters)));
                }
                shown
            }
            None => "—".into(),
        };
        let mut stances = vec![p.status.to_string()];
        stances.extend(
            p.positions
                .iter()
                .map(|s| format!("{}: {}", names.party(&s.party), s.stance)),
        );
        t.add_row(vec![
            format!("{}\n{}", p.provision, p.title),
            text(&p.left),
            text(&p.right),
            stances.join("\n"),
        ]);
    }
    writeln!(out, "{t}")?;
    Ok(())
}
