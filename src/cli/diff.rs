//! `pactlog diff`: what changed about a provision between two cuts.

use std::io::Write;

use super::state::slug_arg;
use super::{render, CliError, Ctx};
use crate::audit;
use crate::store::Access;

/// What changed about a provision between two cuts: status, texts per proposal,
/// stances, meetings and statements, each change with the event, date and source
/// that made it.
///
/// The cuts may differ on either axis: `--from 2025-11-23 --to 2025-11-30` moves valid
/// time; `--from 2025-12-01 --to 2025-12-01 --from-known-at seq:70` shows what the
/// ledger learned after record 70 about 1 December; `--from-known-at seq:70` alone
/// shows what it learned after record 70 about now.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The provision's slug
    pub provision: String,

    /// Valid time of the earlier picture [default: now]
    #[arg(long, value_name = "WHEN")]
    pub from: Option<String>,

    /// Valid time of the later picture [default: now]
    #[arg(long, value_name = "WHEN")]
    pub to: Option<String>,

    /// Record time of both pictures, unless set one by one [default: now]
    #[arg(long, value_name = "WHEN")]
    pub known_at: Option<String>,

    /// Record time of the earlier picture [default: --known-at]
    #[arg(long, value_name = "WHEN")]
    pub from_known_at: Option<String>,

    /// Record time of the later picture [default: --known-at]
    #[arg(long, value_name = "WHEN")]
    pub to_known_at: Option<String>,

    #[command(flatten)]
    pub filter: super::state::FilterArgs,

    /// Machine output
    #[arg(long)]
    pub json: bool,
}

pub fn run<'a>(ctx: &Ctx, args: &'a Args, out: &mut dyn Write) -> Result<(), CliError> {
    let ledger = ctx.open(Access::Existing)?;
    let provision = slug_arg(&args.provision, "PROVISION")?;
    // Each record-time cut with the flag it came from, so that errors name it.
    let known = |own: &'a Option<String>, flag: &'static str| match own {
        Some(text) => (flag, Some(text.as_str())),
        None => ("--known-at", args.known_at.as_deref()),
    };
    let filter = args.filter.filter()?;
    let mut from = ctx.cut_as(
        &ledger,
        ("--from", args.from.as_deref()),
        known(&args.from_known_at, "--from-known-at"),
    )?;
    let mut to = ctx.cut_as(
        &ledger,
        ("--to", args.to.as_deref()),
        known(&args.to_known_at, "--to-known-at"),
    )?;
    (from.filter, to.filter) = (filter, filter);
    // The earlier picture first on both axes: read backwards, every field would be
    // "removed", made by nothing.
    // Each side as the user gave it, or the default it took.
    // Each side as the user gave it, or the default it took (`default`); one refusal
    // for either axis.
    let side = |flag: &str, given: bool, default: &str, shown: String| match given {
        true => format!("{flag} ({shown})"),
        false => format!("{flag} (not given: {default}, {shown})"),
    };
    let backward = |earlier: String, later: String, both: bool| {
        CliError::usage(format!(
            "{earlier} is after {later}: the earlier picture comes first; {}",
            if both {
                "swap them"
            } else {
                "give both, earlier first"
            }
        ))
    };
    if from.at > to.at {
        return Err(backward(
            side("--from", args.from.is_some(), "now", render::cut(&from.at)),
            side("--to", args.to.is_some(), "now", render::cut(&to.at)),
            args.from.is_some() && args.to.is_some(),
        ));
    }
    if from.known().last_seq(&ledger)? > to.known().last_seq(&ledger)? {
        // A side's record time: its own flag, else --known-at, else now.
        let default = if args.known_at.is_some() {
            "--known-at"
        } else {
            "now"
        };
        return Err(backward(
            side(
                "--from-known-at",
                args.from_known_at.is_some(),
                default,
                render::known(&from),
            ),
            side(
                "--to-known-at",
                args.to_known_at.is_some(),
                default,
                render::known(&to),
            ),
            args.from_known_at.is_some() && args.to_known_at.is_some(),
        ));
    }
    let diff = audit::diff(&ledger, &provision, &from, &to)?;
    if args.json {
        return super::write_json(out, &diff);
    }
    writeln!(
        out,
        "{provision}: from {} (known at {}) to {} (known at {})",
        render::cut(&from.at),
        render::known(&from),
        render::cut(&to.at),
        render::known(&to)
    )?;
    if diff.changes.is_empty() {
        writeln!(out, "no change")?;
        return Ok(());
    }
    let names = render::audit_names(
        &ledger,
        &to,
        diff.changes.iter().filter_map(|c| c.event.as_ref()),
        diff.changes.iter().flat_map(|c| c.from.iter().chain(&c.to)),
    )?;
    let mut t = render::table(&["field", "change", "from", "to", "made by"]);
    for c in &diff.changes {
        let show = |v: &Option<serde_json::Value>| {
            v.as_ref()
                .map(|v| render::value(v, &names))
                .unwrap_or_else(|| "—".into())
        };
        let by = c
            .event
            .as_ref()
            .map(|c| render::cited(&ledger, c, &names))
            .unwrap_or_else(|| "(before the cut)".into());
        // A correction shows what it changed, member by member.
        let (from, to) = if c.fields.is_empty() {
            (show(&c.from), show(&c.to))
        } else {
            let side = |pick: fn(&crate::audit::MemberChange) -> &serde_json::Value| {
                c.fields
                    .iter()
                    .map(|m| {
                        let value = match pick(m) {
                            serde_json::Value::Null => "—".to_string(),
                            serde_json::Value::String(actor) if m.member == "actor" => {
                                match crate::event::Slug::parse(actor) {
                                    Ok(slug) => names.actor(&slug).to_string(),
                                    Err(_) => actor.clone(),
                                }
                            }
                            v => render::value(v, &names),
                        };
                        if m.member.is_empty() {
                            value
                        } else {
                            format!("{}: {value}", m.member)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            (side(|m| &m.from), side(|m| &m.to))
        };
        t.add_row(vec![c.field.clone(), c.change.to_string(), from, to, by]);
    }
    writeln!(out, "{t}")?;
    Ok(())
}
