//! Registered names: what people read where the ledger stores a slug.
//!
//! Parties and actors are named by slug in events (`dmitry-peskov`, `us`); a person
//! reading a history, a timeline or a published table reads the name their
//! registration gives (`Dmitry Peskov`, `United States`). [`Names`] holds those names
//! for the slugs some events use, as known at a cut's record time: the entity's
//! registration (`party_registered` / `actor_registered`, one per slug) when it is
//! known and not retracted at that record time. A name is a label, not a fact of
//! the negotiation, so the cut's valid time does not hide it. A slug without such
//! a registration is shown as itself. Machine output (`--json`, CSV) keeps slugs.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::event::{Body, Event, Kind, Slug};
use crate::query::Cut;
use crate::store::Ledger;

/// Names of parties and actors, by kind and slug.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Names {
    names: BTreeMap<(Kind, Slug), String>,
}

impl Names {
    /// No names: every slug is shown as itself (for outputs programs read).
    pub fn none() -> Names {
        Names::default()
    }

    /// The names of the parties and actors `events` refer to (the actor who speaks,
    /// the party that states a position, the party and actor a registration names),
    /// as registered at `cut`. Errors are storage errors.
    pub fn of<'e>(
        ledger: &Ledger,
        events: impl IntoIterator<Item = &'e Event>,
        cut: &Cut,
    ) -> Result<Names> {
        let mut wanted: Vec<(Kind, Slug)> = Vec::new();
        for event in events {
            let named = event
                .registers()
                .into_iter()
                .chain(event.references().into_iter().map(|(k, s, _)| (k, s)));
            wanted.extend(named.map(|(kind, slug)| (kind, slug.clone())));
        }
        Names::of_slugs(ledger, wanted, cut)
    }

    /// The names of these parties and actors (other kinds are passed over), as
    /// registered at `cut`.
    pub fn of_slugs(
        ledger: &Ledger,
        slugs: impl IntoIterator<Item = (Kind, Slug)>,
        cut: &Cut,
    ) -> Result<Names> {
        let mut wanted: Vec<(Kind, Slug)> = slugs
            .into_iter()
            .filter(|(kind, _)| matches!(kind, Kind::Party | Kind::Actor))
            .collect();
        wanted.sort();
        wanted.dedup();
        let mut names = BTreeMap::new();
        let known = cut.known();
        for (kind, slug) in wanted {
            let Some(seq) = ledger.registered(kind, &slug)? else {
                continue;
            };
            let Some(record) = ledger.record(seq)? else {
                continue;
            };
            let removed = match ledger.removed_by(&record.event.id)? {
                Some(by) => ledger.record(by)?.is_some_and(|by| known.knows(&by)),
                None => false,
            };
            if !known.knows(&record) || removed {
                continue;
            }
            if let Some(name) = registered_name(&record.event.body, kind, &slug) {
                names.insert((kind, slug), name.to_string());
            }
        }
        Ok(Names { names })
    }

    /// The registered name of a party or actor, or its slug when it has none.
    pub fn get<'a>(&'a self, kind: Kind, slug: &'a Slug) -> &'a str {
        self.names
            .get(&(kind, slug.clone()))
            .map_or(slug.as_str(), String::as_str)
    }

    pub fn party<'a>(&'a self, slug: &'a Slug) -> &'a str {
        self.get(Kind::Party, slug)
    }

    pub fn actor<'a>(&'a self, slug: &'a Slug) -> &'a str {
        self.get(Kind::Actor, slug)
    }

    /// Who an event is by, as people read it: the actor's name, or the attribution
    /// as written (an unnamed speaker keeps its text), or nothing.
    pub fn who<'a>(&'a self, event: &'a Event) -> Option<&'a str> {
        self.speaker(event.actor.as_ref(), event.attribution.as_deref())
    }

    /// [`Names::who`] from an actor's slug and an attribution.
    pub fn speaker<'a>(
        &'a self,
        actor: Option<&'a Slug>,
        attribution: Option<&'a str>,
    ) -> Option<&'a str> {
        actor.map(|a| self.actor(a)).or(attribution)
    }
}

fn registered_name<'b>(body: &'b Body, kind: Kind, slug: &Slug) -> Option<&'b str> {
    match (kind, body) {
        (Kind::Party, Body::PartyRegistered { party, name }) if party == slug => Some(name),
        (Kind::Actor, Body::ActorRegistered { actor, name, .. }) if actor == slug => Some(name),
        _ => None,
    }
}
