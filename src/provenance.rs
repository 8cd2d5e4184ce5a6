//! Provenance: what an event rests on and how the views cite it.
//!
//! An event carries `sources` (each with an optional Admiralty grade) and a `basis`
//! (reported, document, inference); later `source_cited` events add sources to it
//! from their own record time. This module holds the pieces every view shares: the
//! [`Filter`] of `--min-grade` and `--reported-only`, the [`Citations`] known at a
//! record-time cut, and [`EventRef`], the one way an event is cited by `blame`,
//! `diff`, the timeline and `search`.

use std::collections::HashMap;

use serde::Serialize;
use uuid::Uuid;

use crate::chain::Record;
use crate::event::{Basis, Body, Event, Grade, Slug, Source};

use crate::query::Known;
use crate::time::{serde_instant, Instant};

/// Which events may count, besides the cuts: `--min-grade XN` keeps events with at
/// least one source (cited ones included, as known at the record-time cut) graded at
/// least X in reliability and N in credibility; `--reported-only` leaves out events
/// whose basis is `inference`. Registrations of parties, actors and proposals, and
/// retractions and citations, always count. The default lets everything through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub min_grade: Option<Grade>,
    pub reported_only: bool,
}

impl Filter {
    /// Whether the filter leaves anything out.
    pub fn is_open(&self) -> bool {
        self.min_grade.is_none() && !self.reported_only
    }

    /// The filter as the command line says it (`--min-grade B2 --reported-only`), or
    /// `None` when it leaves nothing out: error messages name it, since a filter can
    /// leave a provision without a counted draft.
    pub fn flags(&self) -> Option<String> {
        let mut flags = Vec::new();
        if let Some(grade) = &self.min_grade {
            flags.push(format!("--min-grade {grade}"));
        }
        if self.reported_only {
            flags.push("--reported-only".to_string());
        }
        (!flags.is_empty()).then(|| flags.join(" "))
    }

    /// Whether `event` may count, given the citations of it known at the cut.
    pub fn admits(&self, event: &Event, cited: Option<&Vec<Citation>>) -> bool {
        if matches!(
            event.body,
            Body::PartyRegistered { .. }
                | Body::ActorRegistered { .. }
                | Body::ProposalTabled { .. }
                | Body::EventRetracted { .. }
                | Body::SourceCited { .. }
        ) {
            return true;
        }
        if self.reported_only && event.basis == Basis::Inference {
            return false;
        }
        let Some(min) = &self.min_grade else {
            return true;
        };
        let cited_sources = cited.into_iter().flatten().flat_map(|c| &c.sources);
        event
            .sources
            .iter()
            .chain(cited_sources)
            .any(|s| s.grade.is_some_and(|g| g.meets(min)))
    }
}

impl Filter {
    /// Keeps the records of `records` the filter admits, with the citations of them
    /// among `records` known at `known` (every record when the filter is open).
    pub fn keep<'r>(
        &self,
        records: impl IntoIterator<Item = &'r Record>,
        all: &[Record],
        known: Known,
    ) -> Vec<&'r Record> {
        if self.is_open() {
            return records.into_iter().collect();
        }
        let removed = crate::query::removals(all, &[], known);
        let cited = citations(all, &removed, known);
        records
            .into_iter()
            .filter(|r| self.admits(&r.event, cited.get(&r.event.id)))
            .collect()
    }
}

/// Sources added to an event by a later `source_cited`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Citation {
    /// The `source_cited` event.
    pub event: Uuid,
    pub seq: u64,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub recorded_at: Instant,
    pub sources: Vec<Source>,
}

/// Citations by the event they add sources to.
pub type Citations = HashMap<Uuid, Vec<Citation>>;

/// The citations among `records` that count as known at `known` (known, not removed),
/// by their target, in record order. A citation is not gated by valid time: it adds
/// to its target wherever the target counts.
pub fn citations(records: &[Record], removed: &HashMap<Uuid, &Record>, known: Known) -> Citations {
    let mut out = Citations::new();
    let mut seen = std::collections::HashSet::new();
    for record in records {
        let Body::SourceCited { target } = &record.event.body else {
            continue;
        };
        if known.knows(record) && !removed.contains_key(&record.event.id) && seen.insert(record.seq)
        {
            out.entry(*target).or_default().push(Citation {
                event: record.event.id,
                seq: record.seq,
                recorded_at: record.recorded_at,
                sources: record.event.sources.clone(),
            });
        }
    }
    for list in out.values_mut() {
        list.sort_by_key(|c| c.seq);
    }
    out
}

/// An event as every view cites it (`blame`, `diff`, the timeline, `search`): when
/// it happened and was recorded, who, its own sources, the sources later citations
/// added (as known at the view's record-time cut), its basis and the recorder's note.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventRef {
    pub id: Uuid,
    pub seq: u64,
    #[serde(rename = "type")]
    pub type_name: &'static str,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub occurred_at: Instant,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub recorded_at: Instant,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<Slug>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<String>,
    /// The event's own sources.
    pub sources: Vec<Source>,
    /// Sources added later by `source_cited` events, in record order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cited: Vec<Citation>,
    pub basis: Basis,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Who recorded it (absent when the record does not say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_by: Option<String>,
}

impl EventRef {
    /// Cites a record, with the citations of it known at the view's cut.
    pub fn new(record: &Record, citations: &Citations) -> EventRef {
        let event = &record.event;
        EventRef {
            id: event.id,
            seq: record.seq,
            type_name: event.type_name(),
            occurred_at: event.occurred_at,
            recorded_at: record.recorded_at,
            actor: event.actor.clone(),
            attribution: event.attribution.clone(),
            sources: event.sources.clone(),
            cited: citations.get(&event.id).cloned().unwrap_or_default(),
            basis: event.basis,
            note: event.note().map(str::to_string),
            recorded_by: record.recorded_by().map(str::to_string),
        }
    }

    /// Its own sources, then the cited ones.
    pub fn all_sources(&self) -> impl Iterator<Item = &Source> {
        self.sources
            .iter()
            .chain(self.cited.iter().flat_map(|c| &c.sources))
    }
}

/// A source in one line: `Reuters (B2, via a diplomat, 2025-11-23)`.
pub fn describe_source(source: &Source) -> String {
    let details: Vec<String> = [
        source.grade.map(|g| g.to_string()),
        source.via.as_ref().map(|v| format!("via {v}")),
        source.published_at.clone(),
    ]
    .into_iter()
    .flatten()
    .collect();
    if details.is_empty() {
        source.outlet.clone()
    } else {
        format!("{} ({})", source.outlet, details.join(", "))
    }
}
