//! `pactlog list`: the parties, actors, proposals, provisions or meetings of a ledger,
//! each with how many events touch it and its first and last dates.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use super::{render, CliError, Ctx};
use crate::event::{Body, Kind, Slug};
use crate::query;
use crate::store::Access;
use crate::time::{serde_instant, Instant};

/// List the entities of one kind: slug, name or title, the number of events that
/// register, name or touch it (retracted and superseded events left out), and the
/// valid-time days (UTC) of the first and last of them (`--json`: the instants).
///
/// Example: pactlog list actors
#[derive(clap::Args, Debug)]
pub struct Args {
    /// parties, actors, proposals, provisions or meetings
    #[arg(value_enum)]
    pub kind: KindArg,

    #[command(flatten)]
    pub filter: super::state::FilterArgs,

    /// Machine output
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum KindArg {
    Parties,
    Actors,
    Proposals,
    Provisions,
    Meetings,
}

impl KindArg {
    fn kind(self) -> Kind {
        match self {
            KindArg::Parties => Kind::Party,
            KindArg::Actors => Kind::Actor,
            KindArg::Proposals => Kind::Proposal,
            KindArg::Provisions => Kind::Provision,
            KindArg::Meetings => Kind::Meeting,
        }
    }
}

/// One entity and the events about it.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    pub slug: Slug,
    pub name: String,
    pub events: u64,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub first: Instant,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub last: Instant,
}

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    let ledger = ctx.open(Access::Existing)?;
    let kind = args.kind.kind();
    let records = ledger.records(1).collect::<Result<Vec<_>, _>>()?;
    let known = query::Known::at(ctx.latest(&ledger));
    let removed = query::removals(&records, &[], known);
    let filter = args.filter.filter()?;
    let mut entries: BTreeMap<Slug, Entry> = BTreeMap::new();
    let counted = records
        .iter()
        .filter(|r| !removed.contains_key(&r.event.id));
    for record in filter.keep(counted, &records, known) {
        let event = &record.event;
        let mut slugs: Vec<&Slug> = event
            .registers()
            .into_iter()
            .chain(event.references().into_iter().map(|(k, s, _)| (k, s)))
            .chain(event.touches())
            .filter(|(k, _)| *k == kind)
            .map(|(_, s)| s)
            .collect();
        slugs.sort();
        slugs.dedup();
        for slug in slugs {
            let t = event.occurred_at;
            let entry = entries.entry(slug.clone()).or_insert_with(|| Entry {
                slug: slug.clone(),
                name: String::new(),
                events: 0,
                first: t,
                last: t,
            });
            entry.events += 1;
            entry.first = entry.first.min(t);
            entry.last = entry.last.max(t);
            if let Some(name) = name_of(&event.body, slug) {
                if entry.name.is_empty() || matches!(event.body, Body::MeetingHeld { .. }) {
                    entry.name = name;
                }
            }
        }
    }
    let entries: Vec<Entry> = entries.into_values().collect();
    if args.json {
        return super::write_json(out, &entries);
    }
    let mut t = render::table(&["slug", "name", "events", "first", "last"]);
    for e in &entries {
        t.add_row(vec![
            e.slug.to_string(),
            e.name.clone(),
            e.events.to_string(),
            day(&e.first),
            day(&e.last),
        ]);
    }
    writeln!(
        out,
        "{}",
        super::count(entries.len() as u64, kind.as_str(), kind_plural(kind))
    )?;
    writeln!(out, "{t}")?;
    Ok(())
}

/// A date in the table: the UTC day, whether the event was dated by a day or an
/// instant, so one column never mixes the two (`--json` keeps the instants).
fn day(t: &Instant) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn kind_plural(kind: Kind) -> &'static str {
    match kind {
        Kind::Party => "parties",
        Kind::Actor => "actors",
        Kind::Proposal => "proposals",
        Kind::Provision => "provisions",
        Kind::Meeting => "meetings",
    }
}

/// The name an event gives the entity it registers.
fn name_of(body: &Body, slug: &Slug) -> Option<String> {
    match body {
        Body::PartyRegistered { party, name } if party == slug => Some(name.clone()),
        Body::ActorRegistered {
            actor, name, role, ..
        } if actor == slug => Some(match role {
            Some(role) => format!("{name} ({role})"),
            None => name.clone(),
        }),
        Body::ProposalTabled {
            proposal, title, ..
        } if proposal == slug => Some(title.clone()),
        Body::ProvisionDrafted {
            provision, title, ..
        } if provision == slug => Some(title.clone()),
        Body::MeetingScheduled { meeting, title, .. } if meeting == slug => Some(title.clone()),
        Body::MeetingHeld {
            meeting,
            title: Some(title),
            ..
        } if meeting == slug => Some(title.clone()),
        _ => None,
    }
}
