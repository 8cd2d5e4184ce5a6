//! `pactlog list`: the parties, actors, proposals, provisions or meetings of a ledger,
//! each with how many events touch it and its first and last dates (a registration of a
//! party or actor is dated by the recorder's convention, so its date is not one of them).

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
/// valid-time days (UTC) of the first and last of them (`--json`: the instants);
/// for meetings, whether each was held or is only scheduled.
/// The date of a party's or actor's registration is not counted as a first or last
/// date: it records when the ledger needed the entity, not when it appeared (`-` in
/// the table, `null` in `--json`, when nothing else names it).
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

/// A kind, in the plural; the singular is taken too (`list provision`).
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum KindArg {
    #[value(alias = "party")]
    Parties,
    #[value(alias = "actor")]
    Actors,
    #[value(alias = "proposal")]
    Proposals,
    #[value(alias = "provision")]
    Provisions,
    #[value(alias = "meeting")]
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
    #[serde(serialize_with = "serde_instant::option")]
    pub first: Option<Instant>,
    #[serde(serialize_with = "serde_instant::option")]
    pub last: Option<Instant>,
    /// Meetings only: `held` once a `meeting_held` counts, else `scheduled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
}

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    let ledger = ctx.open(Access::Existing)?;
    let kind = args.kind.kind();
    let known = query::Known::at(ctx.latest(&ledger));
    // Two passes over the log, neither holding it: the removals and citations first,
    // then each event on its own.
    let sieve = query::Sieve::new(&ledger, args.filter.filter()?, known)?;
    let mut entries: BTreeMap<Slug, Entry> = BTreeMap::new();
    for item in ledger.events(1) {
        let (_, _, event) = item?;
        if sieve.removed_by(&event.id).is_some() || !sieve.admits(&event) {
            continue;
        }
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
            let entry = entries.entry(slug.clone()).or_insert_with(|| Entry {
                slug: slug.clone(),
                name: String::new(),
                events: 0,
                first: None,
                last: None,
                status: (kind == Kind::Meeting).then_some("scheduled"),
            });
            if matches!(&event.body, Body::MeetingHeld { meeting, .. } if meeting == slug) {
                entry.status = Some("held");
            }
            entry.events += 1;
            let registration = matches!(
                event.body,
                Body::PartyRegistered { .. } | Body::ActorRegistered { .. }
            );
            if !registration {
                let t = event.occurred_at;
                entry.first = Some(entry.first.map_or(t, |f| f.min(t)));
                entry.last = Some(entry.last.map_or(t, |l| l.max(t)));
            }
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
    let meetings = kind == Kind::Meeting;
    let mut header = vec!["slug", "name", "events", "first", "last"];
    if meetings {
        header.push("status");
    }
    let mut t = render::table(&header);
    for e in &entries {
        let mut row = vec![
            e.slug.to_string(),
            e.name.clone(),
            e.events.to_string(),
            e.first.as_ref().map_or("-".into(), day),
            e.last.as_ref().map_or("-".into(), day),
        ];
        row.extend(e.status.map(str::to_string));
        t.add_row(row);
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
