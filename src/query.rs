//! Queries: cuts → the events that count → the fold.
//!
//! docs/format.md §3: an event counts at a cut (valid time `at`, record time `known_at`) when
//! `occurred_at <= at`, `recorded_at <= known_at`, and no retraction or superseding
//! event recorded at or before `known_at` removed it. Counted events apply in
//! `occurred_at` order, ties in record (`seq`) order. [`counted`] is that rule over
//! a set of records; [`crate::snapshot`] applies the same rule streaming through the
//! indexes, and a property test holds the two to a brute-force fold.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::chain::Record;
use crate::error::{suggest, Error, Result};
use crate::event::{Body, Kind, Slug};
use crate::projection::{Projection, ProvisionState};
use crate::provenance::{citations, Citations, Filter};
use crate::store::Ledger;
use crate::time::{self, serde_instant, Instant, When};

/// A point on both axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cut {
    pub at: Instant,
    /// The record-time cut: everything recorded at or before it...
    pub known_at: Instant,
    /// ...and, for a `seq:N` cut, nothing after record N (records may share a
    /// record time: one import stamps all its records with one).
    pub known_seq: Option<u64>,
    /// Which events may count at all (`--min-grade`, `--reported-only`).
    pub filter: Filter,
}

impl Cut {
    /// A cut at valid time `at` as known at record time `known_at`.
    pub fn new(at: Instant, known_at: Instant) -> Cut {
        Cut {
            at,
            known_at,
            known_seq: None,
            filter: Filter::default(),
        }
    }

    /// The record-time side of the cut as people read it: `seq:N` as the user gave it
    /// (records may share a record time, so the time alone would not say which), else
    /// as [`time::cut_label`].
    pub fn known_label(&self) -> String {
        self.known().label()
    }

    /// The record-time side of the cut.
    pub fn known(&self) -> Known {
        Known {
            at: self.known_at,
            seq: self.known_seq,
        }
    }
}

/// The record-time side of a cut (see [`Cut`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Known {
    pub at: Instant,
    pub seq: Option<u64>,
}

impl Known {
    /// Everything recorded up to `at`.
    pub fn at(at: Instant) -> Known {
        Known { at, seq: None }
    }

    /// Whether the record is known at this cut.
    pub fn knows(&self, record: &Record) -> bool {
        record.recorded_at <= self.at && self.seq.is_none_or(|n| record.seq <= n)
    }

    /// The cut as the user gave it: `seq:N`, else the instant (a day's end as the day).
    pub fn label(&self) -> String {
        match self.seq {
            Some(seq) => format!("seq:{seq}"),
            None => time::cut_label(&self.at),
        }
    }

    /// The last seq known at this cut (0 when none).
    pub fn last_seq(&self, ledger: &Ledger) -> Result<u64> {
        let by_time = ledger.seq_known_at(&self.at)?;
        Ok(self.seq.map_or(by_time, |n| n.min(by_time)))
    }
}

/// For each event removed as known at `known`, the record that removed it.
/// Removers are looked for among `records` and `outside` (see [`outside_removers`]:
/// the touch index puts a remover in the histories of its target's entities, but a
/// correction of a correction may be about other entities than the history it is in).
pub fn removals<'r>(
    records: &'r [Record],
    outside: &'r [Record],
    known: Known,
) -> HashMap<Uuid, &'r Record> {
    records
        .iter()
        .chain(outside)
        .filter(|r| known.knows(r))
        .filter_map(|r| r.event.removes().map(|target| (target, r)))
        .collect()
}

/// The records that removed one of `records` and are not among them (committed,
/// at any record time), read through the removal index.
pub fn outside_removers(ledger: &Ledger, records: &[Record]) -> Result<Vec<Record>> {
    let inside: std::collections::HashSet<u64> = records.iter().map(|r| r.seq).collect();
    let mut seqs = Vec::new();
    for record in records {
        if let Some(seq) = ledger.removed_by(&record.event.id)? {
            if !inside.contains(&seq) {
                seqs.push(seq);
            }
        }
    }
    seqs.sort_unstable();
    seqs.dedup();
    ledger.records_at(&seqs)
}

/// The records that count at `cut`, in the order they apply; `outside` as in [`removals`].
pub fn counted<'r>(records: &'r [Record], outside: &'r [Record], cut: &Cut) -> Vec<&'r Record> {
    let removed = removals(records, outside, cut.known());
    let cited = match cut.filter.min_grade {
        Some(_) => citations(records, &removed, cut.known()),
        None => Citations::new(),
    };
    let mut out: Vec<&Record> = records
        .iter()
        .filter(|r| r.event.occurred_at <= cut.at && cut.known().knows(r))
        .filter(|r| !removed.contains_key(&r.event.id))
        .filter(|r| cut.filter.admits(&r.event, cited.get(&r.event.id)))
        .collect();
    out.sort_by_key(|r| (r.event.occurred_at, r.seq));
    out
}

/// Folds the records that count at `cut`.
pub fn project(records: &[Record], outside: &[Record], cut: &Cut) -> Projection {
    let mut projection = Projection::default();
    for record in counted(records, outside, cut) {
        projection.apply(record.seq, &record.event);
    }
    projection
}

/// Turns a `WHEN` into an instant; a meeting is the end of the UTC day on which it
/// was held, per its `meeting_held` counted at `known`.
pub fn resolve(ledger: &Ledger, when: &When, known: Known) -> Result<Instant> {
    let meeting = match when {
        When::Instant(t) => return Ok(*t),
        When::Record(seq) => {
            return match ledger.record(*seq)? {
                Some(record) => Ok(record.recorded_at),
                None => Err(Error::NotFound(format!(
                    "`seq:{seq}`: the ledger has records 1 to {}",
                    ledger.head().seq
                ))),
            }
        }
        When::Meeting(slug) => slug,
    };
    let records = ledger.records_at(&ledger.touching(Kind::Meeting, meeting)?)?;
    let outside = outside_removers(ledger, &records)?;
    let removed = removals(&records, &outside, known);
    let held = records.iter().find(|r| {
        matches!(&r.event.body, Body::MeetingHeld { meeting: m, .. } if m == meeting)
            && known.knows(r)
            && !removed.contains_key(&r.event.id)
    });
    if let Some(held) = held {
        return Ok(time::end_of_day(held.event.occurred_at.date_naive()));
    }
    if ledger.registered(Kind::Meeting, meeting)?.is_none() {
        return Err(unknown(ledger, Kind::Meeting, meeting)?);
    }
    let registers = |r: &&Record| r.event.registers() == Some((Kind::Meeting, meeting));
    let counted = records
        .iter()
        .filter(|r| known.knows(r) && !removed.contains_key(&r.event.id))
        .filter(registers);
    let planned = counted
        .filter_map(|r| match &r.event.body {
            Body::MeetingScheduled { planned_for, .. } => Some(planned_for.clone()),
            _ => None,
        })
        .next_back();
    let cut = known.label();
    let message = match (
        planned,
        records.iter().filter(registers).find(|r| known.knows(r)),
    ) {
        (Some(planned), _) => {
            format!("is only scheduled (planned for {planned}), not held, as known at {cut}")
        }
        (None, Some(_)) => {
            format!("has no schedule or holding that counts as known at {cut} (retracted)")
        }
        (None, None) => {
            let first = records.iter().find(registers).map_or(0, |r| r.seq);
            format!("is not in the ledger yet as known at {cut} (its first record is seq {first})")
        }
    };
    Err(Error::NotFound(format!(
        "meeting `{meeting}` {message}; use a date instead"
    )))
}

/// "unknown provision `x` (did you mean `y`?)".
pub fn unknown(ledger: &Ledger, kind: Kind, slug: &Slug) -> Result<Error> {
    let known = ledger.slugs(kind)?;
    Ok(Error::NotFound(format!(
        "unknown {kind} `{slug}`{}",
        suggest(slug.as_str(), known.iter().map(String::as_str))
    )))
}

/// The records in an entity's history, in seq order.
pub fn history_records(ledger: &Ledger, kind: Kind, slug: &Slug) -> Result<Vec<Record>> {
    if ledger.registered(kind, slug)?.is_none() {
        return Err(unknown(ledger, kind, slug)?);
    }
    ledger.records_at(&ledger.touching(kind, slug)?)
}

/// A provision's state at a cut, with the cut it was taken at.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StateAt {
    pub provision: Slug,
    pub title: String,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub at: Instant,
    #[serde(serialize_with = "serde_instant::serialize")]
    pub known_at: Instant,
    /// For a `seq:N` cut: N.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_seq: Option<u64>,
    #[serde(flatten)]
    pub state: ProvisionState,
}

impl StateAt {
    fn new(state: ProvisionState, cut: &Cut) -> StateAt {
        StateAt {
            provision: state.provision.clone(),
            title: state.title.clone(),
            at: cut.at,
            known_at: cut.known_at,
            known_seq: cut.known_seq,
            state,
        }
    }
}

/// One provision's state at a cut. An unknown provision, or one with no counted
/// draft at the cut, is an error.
pub fn provision_state(ledger: &Ledger, provision: &Slug, cut: &Cut) -> Result<StateAt> {
    if ledger.registered(Kind::Provision, provision)?.is_none() {
        return Err(unknown(ledger, Kind::Provision, provision)?);
    }
    match crate::snapshot::provision_state(ledger, provision, cut)? {
        Some(state) => Ok(StateAt::new(state, cut)),
        None => Err(no_counted_draft(provision, cut)),
    }
}

/// "provision `x` has no counted draft at AT (known at KNOWN)", the cut as the views
/// show it, naming the filter when one is set (an event with no source graded high
/// enough leaves it out).
pub fn no_counted_draft(provision: &Slug, cut: &Cut) -> Error {
    let filter = under_filter(cut);
    Error::NotFound(format!(
        "provision `{provision}` has no counted draft at {} (known at {}){filter}",
        time::cut_label(&cut.at),
        cut.known_label()
    ))
}

/// What a message of no counted draft adds under a filter: ` under --min-grade B2
/// (…)`, saying that a draft whose sources fall short does not count; empty without
/// a filter.
pub fn under_filter(cut: &Cut) -> String {
    match cut.filter.flags() {
        Some(flags) => format!(
            " under {flags} (a draft with no source graded that high, or an inferred one, does not count)"
        ),
        None => String::new(),
    }
}

/// Every provision drafted at the cut, by slug (each from its nearest snapshot).
pub fn all_states(ledger: &Ledger, cut: &Cut) -> Result<Vec<StateAt>> {
    let slugs = ledger
        .slugs(Kind::Provision)?
        .iter()
        .map(|slug| {
            Slug::parse(slug)
                .map_err(|e| Error::SledDamaged(format!("a stored slug does not parse: {e}")))
        })
        .collect::<Result<Vec<Slug>>>()?;
    Ok(crate::snapshot::provision_states(ledger, slugs, cut)?
        .into_iter()
        .map(|state| StateAt::new(state, cut))
        .collect())
}

/// One event of a history, and whether and by what it was removed at the cut.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryEntry {
    pub record: Record,
    pub removed_by: Option<(Uuid, u64)>,
}

impl HistoryEntry {
    /// The stored record plus `retracted` and `retracted_by` (docs/format.md §4, `history --json`).
    pub fn to_json(&self) -> Value {
        let mut object: Map<String, Value> = Map::clone(&self.record.object);
        object.insert("retracted".into(), Value::Bool(self.removed_by.is_some()));
        object.insert(
            "retracted_by".into(),
            self.removed_by
                .map_or(Value::Null, |(id, _)| Value::String(id.to_string())),
        );
        Value::Object(object)
    }
}

/// Every event that touched a provision and the retractions of them, as known at
/// `known` (and, if given, up to valid time `at`), in valid-time order, ties by seq.
pub fn history(
    ledger: &Ledger,
    provision: &Slug,
    at: Option<Instant>,
    known: Known,
) -> Result<Vec<HistoryEntry>> {
    let records = history_records(ledger, Kind::Provision, provision)?;
    let outside = outside_removers(ledger, &records)?;
    let removed = removals(&records, &outside, known);
    let mut entries: Vec<HistoryEntry> = records
        .iter()
        .filter(|r| known.knows(r) && at.is_none_or(|at| r.event.occurred_at <= at))
        .map(|r| HistoryEntry {
            record: r.clone(),
            removed_by: removed.get(&r.event.id).map(|by| (by.event.id, by.seq)),
        })
        .collect();
    entries.sort_by_key(|e| (e.record.event.occurred_at, e.record.seq));
    Ok(entries)
}

/// What a view that streams the whole log (`list`, `search`, `log`) needs to judge
/// each record on its own: which events are removed and by which record (id, seq),
/// the citations and the [`Filter`], all as known at one record-time cut.
///
/// Built from the few records that remove or cite another event, found by one pass
/// over the log's stored bytes; the view then streams the log a second time. Memory grows with the removals and citations, never with the log
/// (holding every record took 1.4 GB at 300,000 records).
pub struct Sieve {
    removed: HashMap<Uuid, (Uuid, u64)>,
    cited: Citations,
    filter: Filter,
}

impl Sieve {
    /// Reads the removals and citations known at `known`.
    ///
    /// Errors: the log does not read or decode ([`Error::SledDamaged`]).
    pub fn new(ledger: &Ledger, filter: Filter, known: Known) -> Result<Sieve> {
        // Every record that removes or cites another holds one of these in its
        // canonical bytes (docs/format.md §4: no whitespace, quotes inside strings
        // escaped); only those records are decoded, and each is checked.
        let marks = [
            "\"type\":\"event_retracted\"",
            "\"type\":\"source_cited\"",
            "\"supersedes\":",
        ]
        .map(memchr::memmem::Finder::new);
        let mut side = Vec::new();
        for item in ledger.raw_records(1) {
            let (seq, bytes) = item?;
            if marks.iter().any(|mark| mark.find(&bytes).is_some()) {
                side.push(crate::store::decode(seq, &bytes)?);
            }
        }
        side.retain(|r| {
            r.event.removes().is_some() || matches!(r.event.body, Body::SourceCited { .. })
        });
        let removed = removals(&side, &[], known);
        let cited = citations(&side, &removed, known);
        let removed = removed
            .into_iter()
            .map(|(target, by)| (target, (by.event.id, by.seq)))
            .collect();
        Ok(Sieve {
            removed,
            cited,
            filter,
        })
    }

    /// The event (id, seq) that removed `id`, if any.
    pub fn removed_by(&self, id: &Uuid) -> Option<(Uuid, u64)> {
        self.removed.get(id).copied()
    }

    /// Whether the filter admits `event`, with the citations of it.
    pub fn admits(&self, event: &crate::event::Event) -> bool {
        self.filter.admits(event, self.cited.get(&event.id))
    }

    /// The citations known at the cut, by cited event.
    pub fn citations(&self) -> &Citations {
        &self.cited
    }
}

/// Records in seq order as known at `known`.
pub fn log(ledger: &Ledger, known: Known) -> impl Iterator<Item = Result<Record>> + '_ {
    ledger
        .records(1)
        .filter(move |r| r.as_ref().map_or(true, |r| known.knows(r)))
}
