//! `pactlog state`: one provision's state, or every provision's, at a cut.

use std::io::Write;

use super::{render, CliError, Ctx};
use crate::event::Slug;
use crate::query;
use crate::store::Access;

/// Show a provision's state at a cut: status, its text in each proposal, each
/// party's stance, the meetings and statements about it. Without PROVISION, every
/// provision drafted at the cut.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The provision's slug; all provisions when absent
    pub provision: Option<String>,

    #[command(flatten)]
    pub cut: CutArgs,

    /// Machine output
    #[arg(long)]
    pub json: bool,
}

/// The two axes every read command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct CutArgs {
    /// Valid-time cut: what had happened by then [default: now]
    #[arg(long, value_name = "WHEN")]
    pub at: Option<String>,

    /// Record-time cut: as the ledger knew it then [default: now]
    #[arg(long, value_name = "WHEN")]
    pub known_at: Option<String>,

    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Which events may count, on every read command.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Only events with a source graded at least this (Admiralty: reliability A-F and
    /// credibility 1-6, such as `B2`; cited sources count); registrations always count
    #[arg(long, value_name = "XN")]
    pub min_grade: Option<String>,

    /// Leave out events whose basis is `inference` (the recorder's reading)
    #[arg(long)]
    pub reported_only: bool,
}

impl FilterArgs {
    /// The filter these flags ask for.
    pub fn filter(&self) -> Result<crate::provenance::Filter, CliError> {
        let min_grade = self
            .min_grade
            .as_deref()
            .map(crate::event::Grade::parse)
            .transpose()
            .map_err(|m| CliError::usage(format!("--min-grade: {m}")))?;
        Ok(crate::provenance::Filter {
            min_grade,
            reported_only: self.reported_only,
        })
    }
}

/// Parses a slug argument, naming the argument in the error.
pub fn slug_arg(text: &str, what: &str) -> Result<Slug, CliError> {
    Slug::parse(text).map_err(|m| CliError::usage(format!("{what}: {m}")))
}

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    let ledger = ctx.open(Access::Existing)?;
    let cut = ctx.cut_of(&ledger, &args.cut)?;
    match &args.provision {
        Some(provision) => {
            let provision = slug_arg(provision, "PROVISION")?;
            let state = query::provision_state(&ledger, &provision, &cut)?;
            if args.json {
                return super::write_json(out, &with_events(&ledger, &state, &cut)?);
            }
            let with_citations = !cut.filter.is_open();
            render::provision(
                out,
                &state,
                &render::Sources::of_state(&ledger, &state, with_citations)?,
            )
        }
        None => {
            let states = query::all_states(&ledger, &cut)?;
            if args.json {
                let states = states
                    .iter()
                    .map(|state| with_events(&ledger, state, &cut))
                    .collect::<Result<Vec<_>, _>>()?;
                return super::write_json(out, &states);
            }
            if states.is_empty() {
                let filter = query::under_filter(&cut);
                writeln!(
                    out,
                    "no provision is drafted at {}, as known at {}{filter}",
                    render::cut(&cut.at),
                    render::known(&cut)
                )?;
                return Ok(());
            }
            render::provisions(out, &states, &ledger)
        }
    }
}

/// A state as `--json` gives it: the state, plus `provenance`, every event it names by id
/// with its sources, basis and note, and under a filtered cut the citations of it
/// (docs/format.md §2, Sources).
#[derive(serde::Serialize)]
struct StateJson<'a> {
    #[serde(flatten)]
    state: &'a query::StateAt,
    provenance: std::collections::BTreeMap<uuid::Uuid, crate::provenance::EventRef>,
}

fn with_events<'a>(
    ledger: &crate::store::Ledger,
    state: &'a query::StateAt,
    cut: &query::Cut,
) -> Result<StateJson<'a>, CliError> {
    Ok(StateJson {
        state,
        provenance: crate::audit::events_of(ledger, state, !cut.filter.is_open())?,
    })
}
