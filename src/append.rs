//! The write path: validation against the ledger, then one all-or-nothing write.
//!
//! [`append_all`] takes a stream of JSON objects (from files, stdin or flags),
//! checks each against the ledger as it stands plus everything earlier in the same
//! stream, seals it into the hash chain, and writes it in chunks past the committed
//! head. Only when the whole stream has been accepted does the head move; on any
//! error the chunks are deleted and the ledger is exactly as it was. Memory stays
//! bounded by the chunk size plus a few bytes per new id and entity.
//!
//! An object that carries the stored-record fields (`seq`, `recorded_at`,
//! `prev_hash`, `hash`) is a restored record from an export: it must continue the
//! chain exactly, and keeps its record time and hash.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::{mpsc, Arc};

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::chain::{Members, Record};
use crate::error::{suggest, Error, Location, Result};
use crate::event::{
    check_blanks, check_controls, check_time_forms, parse_event, Body, Event, Kind, Slug,
    RECORD_FIELDS,
};
use crate::index::{self, Firsts};
use crate::store::{Chunk, Head, Ledger, Registration, Staged};
use crate::time::Instant;

/// Records per sled batch. Large enough to amortise a batch, small enough to bound memory.
const CHUNK: usize = 1_000;

/// Appends at least this large settle the store afterwards (see `Ledger::settle`).
const SETTLE_AFTER: u64 = 10_000;

/// One JSON object to append, and where it came from.
pub struct Item {
    pub at: Location,
    pub object: Map<String, Value>,
}

/// The clock and the id generator, passed in so the library never reads the wall clock.
pub struct Clock<'a> {
    pub now: Instant,
    pub new_id: &'a mut dyn FnMut() -> Uuid,
}

/// What an append did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Records written.
    pub appended: u64,
    /// Objects already in the ledger with the same content (no-ops).
    pub unchanged: u64,
    /// The head after the append.
    pub head: Head,
    /// The id and seq of the last object of the input (appended or already present).
    pub last: Option<(Uuid, u64)>,
}

/// Appends every item or none. `expect_seq` fails the append ([`Error::Conflict`])
/// unless the head is at that seq when its first new record is staged: items already
/// in the ledger (same id, same content) are no-ops before that check, so a retry of
/// an append that succeeded succeeds again without writing.
pub fn append_all(
    ledger: &mut Ledger,
    items: impl IntoIterator<Item = Result<Item>>,
    clock: Clock<'_>,
    expect_seq: Option<u64>,
) -> Result<Summary> {
    append_recorded_by(ledger, items, clock, expect_seq, None)
}

/// [`append_all`], stamping every new record with who recorded it (`recorded_by`,
/// inside the hash chain; restored records keep their own). An identical retry by
/// someone else is still a no-op: `recorded_by` is not part of the event's content.
pub fn append_recorded_by(
    ledger: &mut Ledger,
    items: impl IntoIterator<Item = Result<Item>>,
    clock: Clock<'_>,
    expect_seq: Option<u64>,
    recorded_by: Option<&str>,
) -> Result<Summary> {
    let Clock { now, new_id } = clock;
    let mut stage = Stage::new(ledger, now);
    stage.expect_seq = expect_seq;
    stage.recorded_by = recorded_by.map(|name| Value::String(name.to_string()));
    // Two threads: this one reads and parses the items and writes their canonical
    // members (all of it per item, needing no ledger); the staging thread checks them
    // against the ledger, seals and writes them, in input order.
    std::thread::scope(|scope| {
        // `None` says the input ended: a channel closed without it (this thread
        // panicked in the items' iterator) discards the append rather than committing
        // what came before.
        let (sender, receiver) =
            mpsc::sync_channel::<Option<Vec<Result<Prepared>>>>(PIPELINE_DEPTH);
        let staging = scope.spawn(move || {
            let mut staged = || {
                let mut batches = receiver.iter();
                while let Some(batch) = batches.next() {
                    let Some(batch) = batch else {
                        return Ok(());
                    };
                    let mut items = batch.into_iter();
                    while let Some(prepared) = items.next() {
                        if let Err(err) = prepared.and_then(|p| stage.push(p)) {
                            // An event that names one not yet seen: if the input holds
                            // it further on, the refusal says so.
                            let later = match stage.missing.take() {
                                Some(missing) => later_in_input(missing, items, &mut batches),
                                None => None,
                            };
                            return Err(later.unwrap_or(err));
                        }
                    }
                }
                Err(Error::Storage(
                    "the input stopped before its end; nothing was written".into(),
                ))
            };
            let result = staged();
            stage.finish(result)
        });
        let mut batch = Vec::with_capacity(PIPELINE_BATCH);
        let mut failed = false;
        for item in items {
            let prepared = item.and_then(|item| prepare(item, new_id));
            failed = prepared.is_err();
            batch.push(prepared);
            if failed || batch.len() == PIPELINE_BATCH {
                // A closed channel means the stage stopped at an error: its answer.
                if sender.send(Some(std::mem::take(&mut batch))).is_err() || failed {
                    break;
                }
            }
        }
        if !failed {
            if !batch.is_empty() {
                let _ = sender.send(Some(batch));
            }
            let _ = sender.send(None);
        }
        drop(sender);
        staging
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// An event that another names (`missing`: where that one is, the field, the id it
/// names) found further on in the input (the rest of the current message, `items`,
/// then the messages still to come): the refusal of the reference saying where
/// both are. `None` when the input does not hold it, or stops at an error first.
fn later_in_input(
    missing: (Location, &'static str, Uuid),
    items: impl Iterator<Item = Result<Prepared>>,
    batches: &mut mpsc::Iter<'_, Option<Vec<Result<Prepared>>>>,
) -> Option<Error> {
    let (at, field, target) = missing;
    let rest = batches.map_while(|batch| batch).flatten();
    for prepared in items.chain(rest) {
        let (later, id) = match prepared.ok()? {
            Prepared::New { at, event, .. } => (at, event.id),
            Prepared::Restored(at, record) => (at, record.event.id),
        };
        if id == target {
            return Some(Error::invalid(
                &at,
                format!(
                    "field `{field}`: event {target} comes later in this input, at {later}: an event can name only an event before it (in the ledger, or earlier in the input): move that one before this one"
                ),
            ));
        }
    }
    None
}

/// Items parsed ahead of the staging thread, per message, and messages in flight:
/// bounds the memory of an append by a few thousand parsed items.
const PIPELINE_BATCH: usize = 128;
const PIPELINE_DEPTH: usize = 8;

/// An item made ready for the stage by work that needs no ledger.
enum Prepared {
    /// A stored record from an export, decoded and its hash checked.
    Restored(Location, Record),
    /// A new event: its object (with its id), the event read from it and the
    /// object's canonical members.
    New {
        at: Location,
        object: Map<String, Value>,
        event: Box<Event>,
        members: Members,
    },
}

/// Checks an item on its own (control characters, fields, a restored record's
/// hash) and writes what sealing it needs.
fn prepare(item: Item, new_id: &mut dyn FnMut() -> Uuid) -> Result<Prepared> {
    let Item { at, mut object } = item;
    if RECORD_FIELDS.iter().any(|f| object.contains_key(*f)) {
        let missing: Vec<&str> = RECORD_FIELDS
            .iter()
            .copied()
            .filter(|f| !object.contains_key(*f))
            .collect();
        if !missing.is_empty() {
            return Err(Error::invalid(
                &at,
                format!(
                    "a restored record needs all of `seq`, `recorded_at`, `prev_hash`, `hash` (missing `{}`); new events carry none of them",
                    missing.join("`, `")
                ),
            ));
        }
        let record = Record::from_object(object).map_err(|m| Error::invalid(&at, m))?;
        record.check().map_err(|m| Error::invalid(&at, m))?;
        return Ok(Prepared::Restored(at, record));
    }
    for (key, value) in object.iter() {
        check_controls(value, key).map_err(|m| Error::invalid(&at, m))?;
    }
    let event = parse_event(&mut object, new_id).map_err(|m| Error::invalid(&at, m))?;
    let members = Members::of(&object);
    Ok(Prepared::New {
        at,
        object,
        event: Box::new(event),
        members,
    })
}

/// An append in progress: the records staged past the head and what they register.
struct Stage<'l> {
    ledger: &'l mut Ledger,
    /// The record time of this append (before [`next_recorded_at`]).
    now: Instant,
    next_seq: u64,
    prev_hash: String,
    last_recorded: Option<Instant>,
    chunk_start: u64,
    /// The chunk written last, whose sled batch may still be being applied (see
    /// [`Ledger::write_chunk`]): its first seq and its ids, looked up here until the
    /// next chunk is written (its records are read from sled once it is applied).
    written_start: u64,
    written_ids: HashMap<Uuid, u64>,
    /// The head before the write: the snapshot refresh looks at what came after it.
    since: u64,
    chunk: Vec<Record>,
    /// The canonical bytes of the chunk's records, for its journal frame.
    frame: Vec<Vec<u8>>,
    /// The record time of each record of the chunk.
    recorded: Vec<Instant>,
    batch: Staged,
    wrote_chunks: bool,
    /// Ids of the chunk not yet written.
    ids: HashMap<Uuid, u64>,
    /// Registrations of this write: seq and event id.
    registered: HashMap<(Kind, Slug), (u64, Uuid)>,
    /// Every record of this write that registers an entity (its first registration
    /// or a later one: a meeting held after it was scheduled, a provision drafted in
    /// another proposal, a correction restating one): (seq, event id), in seq order.
    registrations: HashMap<(Kind, Slug), Vec<(u64, Uuid)>>,
    drafts: HashMap<(Slug, Slug), u64>,
    held: HashMap<Slug, u64>,
    removed: HashMap<Uuid, u64>,
    maxima: index::RunningMaxima,
    /// Provisions whose history this append extends, for their snapshots.
    touched: BTreeSet<Slug>,
    /// Provisions whose history a correction of this append reaches (its target's):
    /// their snapshots may be spoiled ([`crate::snapshot::refresh`]).
    corrected: BTreeSet<Slug>,
    appended: u64,
    unchanged: u64,
    last: Option<(Uuid, u64)>,
    /// `--expect-seq`: checked when the first new record is staged.
    expect_seq: Option<u64>,
    /// `recorded_by` of every new record.
    recorded_by: Option<Value>,
    /// An event named by the event being checked that neither the ledger nor the
    /// input so far holds: where it is named, by which field, its id (see
    /// [`later_in_input`]).
    missing: Option<(Location, &'static str, Uuid)>,
    /// The committed ledger's answers to [`Stage::registered`] and [`Stage::removed`],
    /// memoised: the committed ledger does not change while an append stages, and every
    /// event asks them of each entity it names.
    committed: RefCell<Committed>,
}

/// Records that register an entity: (seq, event id), in seq order.
type Registrations = Arc<[(u64, Uuid)]>;

/// Lookups in the committed ledger made by one append (see [`Stage::committed`]).
#[derive(Default)]
struct Committed {
    registered: HashMap<(Kind, Slug), Option<Registration>>,
    /// See [`Stage::committed_registrations`].
    registrations: HashMap<(Kind, Slug), Registrations>,
    removed: HashMap<Uuid, Option<u64>>,
}

impl<'l> Stage<'l> {
    fn new(ledger: &'l mut Ledger, now: Instant) -> Self {
        let head = ledger.head().clone();
        Stage {
            ledger,
            now,
            next_seq: head.seq + 1,
            prev_hash: head.hash,
            last_recorded: head.recorded_at,
            chunk_start: head.seq + 1,
            written_start: head.seq + 1,
            written_ids: HashMap::new(),
            since: head.seq,
            chunk: Vec::new(),
            frame: Vec::new(),
            recorded: Vec::new(),
            batch: Staged::default(),
            wrote_chunks: false,
            ids: HashMap::new(),
            registered: HashMap::new(),
            registrations: HashMap::new(),
            drafts: HashMap::new(),
            held: HashMap::new(),
            removed: HashMap::new(),
            maxima: index::RunningMaxima::default(),
            touched: BTreeSet::new(),
            corrected: BTreeSet::new(),
            appended: 0,
            unchanged: 0,
            last: None,
            expect_seq: None,
            recorded_by: None,
            missing: None,
            committed: RefCell::default(),
        }
    }

    /// Commits what was staged when `result` is Ok, refreshes the snapshots of the
    /// provisions it touched; else discards it.
    fn finish(mut self, result: Result<()>) -> Result<Summary> {
        match result.and_then(|()| self.commit()) {
            Ok(summary) => {
                // Snapshots are a cache: the append is committed whether or not they are written.
                let touched = std::mem::take(&mut self.touched);
                let corrected = std::mem::take(&mut self.corrected);
                if crate::snapshot::refresh(self.ledger, &touched, &corrected, self.since).is_ok() {
                    let _ = self.ledger.refresh_done();
                }
                if summary.appended >= SETTLE_AFTER {
                    // Committed already: a failure here only costs the next open its replay.
                    let _ = self.ledger.settle();
                }
                Ok(summary)
            }
            Err(err) => {
                self.abort()?;
                Err(err)
            }
        }
    }

    fn push(&mut self, prepared: Prepared) -> Result<()> {
        let (at, mut object, event, mut members) = match prepared {
            Prepared::Restored(at, record) => return self.push_restored(at, record),
            Prepared::New {
                at,
                object,
                event,
                members,
            } => (at, object, *event, members),
        };
        if let Some(seq) = self.seq_of(&event.id)? {
            let existing = self.record_any(seq)?;
            if existing.input() != object {
                return Err(Error::invalid(
                    &at,
                    format!(
                        "id {} is already {} with other content",
                        event.id,
                        self.where_is(seq)
                    ),
                ));
            }
            self.unchanged += 1;
            self.last = Some((event.id, seq));
            return Ok(());
        }
        // New events only (a stored record, or a retry of one, is never refused by a
        // rule made after it): no blank texts, days written as days.
        check_blanks(&object).map_err(|m| Error::invalid(&at, m))?;
        check_time_forms(&object).map_err(|m| Error::invalid(&at, m))?;
        // New meetings only: a stored record is never refused by a rule made after it.
        if let Some((Kind::Meeting, slug)) = event.registers() {
            if self.registered(Kind::Meeting, slug)?.is_none() {
                crate::time::check_meeting_slug(slug)
                    .map_err(|m| Error::invalid(&at, format!("field `meeting`: {m}")))?;
            }
        }
        let firsts = self.check(&event, &at)?;
        self.check_registrations_live(&event, &at)?;
        let recorded_at = next_recorded_at(self.last_recorded, self.now);
        if let Some(by) = &self.recorded_by {
            members.insert(crate::event::RECORDED_BY, by);
            object.insert(crate::event::RECORDED_BY.into(), by.clone());
        }
        let (record, bytes) = Record::seal_members(
            object,
            members,
            event,
            self.next_seq,
            recorded_at,
            &self.prev_hash,
        );
        self.stage(record, bytes, firsts)
    }

    fn push_restored(&mut self, at: Location, record: Record) -> Result<()> {
        if record.seq < self.next_seq {
            let existing = self.record_any(record.seq)?;
            if existing.hash != record.hash {
                return Err(Error::invalid(
                    &at,
                    format!(
                        "record seq {} differs from {}",
                        record.seq,
                        match record.seq > self.ledger.head().seq {
                            true => format!("record {} earlier in this input", record.seq),
                            false => format!("the ledger's record {}", record.seq),
                        }
                    ),
                ));
            }
            self.unchanged += 1;
            self.last = Some((record.event.id, record.seq));
            return Ok(());
        }
        if record.seq > self.next_seq {
            return Err(Error::invalid(
                &at,
                format!(
                    "record seq {} does not follow the ledger's head (the next seq is {})",
                    record.seq, self.next_seq
                ),
            ));
        }
        if record.prev_hash != self.prev_hash {
            return Err(Error::invalid(
                &at,
                format!("record {}: `prev_hash` is not the hash of the record before it: the chain is broken here", record.seq),
            ));
        }
        if self
            .last_recorded
            .is_some_and(|last| record.recorded_at < last)
        {
            return Err(Error::invalid(
                &at,
                format!("record {}: `recorded_at` goes back in time", record.seq),
            ));
        }
        if let Some(seq) = self.seq_of(&record.event.id)? {
            return Err(Error::invalid(
                &at,
                format!("id {} is already {}", record.event.id, self.where_is(seq)),
            ));
        }
        let firsts = self.check(&record.event, &at)?;
        let bytes = record.bytes();
        self.stage(record, bytes, firsts)
    }

    /// Rules for new events only (a stored record is never refused by a rule made
    /// after it): a party, actor or proposal whose registration was retracted takes no
    /// new events; a registration that counted events still refer to cannot be
    /// retracted (they are named).
    fn check_registrations_live(&self, event: &Event, at: &Location) -> Result<()> {
        for (kind, slug, field) in event.references() {
            let Some((seq, id)) = self.registration(kind, slug)? else {
                continue;
            };
            let registration = match id {
                Some(id) => id,
                // A registration indexed before its id was: read off its record.
                None => self.ledger.event_id(seq)?,
            };
            let Some(by) = self.removed(&registration)? else {
                continue;
            };
            // A meeting or a provision may be registered again (scheduled or held
            // anew, drafted in another proposal): it is gone only when none is live.
            if !self.live_registration(kind, slug, None)? {
                return Err(Error::invalid(
                    at,
                    format!(
                        "field `{field}`: {kind} `{slug}` was retracted (its registration, {}, by {}) and takes no new events",
                        self.which(seq),
                        self.which(by)
                    ),
                ));
            }
        }
        let Some(target) = event.removes() else {
            return Ok(());
        };
        let Some(target_seq) = self.seq_of(&target)? else {
            return Ok(());
        };
        let target_event = self.record_any(target_seq)?.event;
        let Some((kind, slug)) = target_event.registers() else {
            return Ok(());
        };
        if event.supersedes.is_some() {
            // A correction restates the registration (checked above): it stays.
            return Ok(());
        }
        if self.live_registration(kind, slug, Some(target_seq))? {
            // Another registration of the meeting or provision stays live.
            return Ok(());
        }
        // Who still refers to it: every counted record that names it (a rare write:
        // one pass over the log).
        let mut referrers = Vec::new();
        for seq in 1..self.next_seq {
            if seq == target_seq {
                continue;
            }
            let record = self.record_any(seq)?;
            // A retraction names who made it, and cannot itself be retracted: it
            // never pins a registration.
            if matches!(record.event.body, Body::EventRetracted { .. }) {
                continue;
            }
            let names_it = record
                .event
                .references()
                .iter()
                .any(|(k, s, _)| *k == kind && *s == slug);
            if names_it && self.removed(&record.event.id)?.is_none() {
                referrers.push(format!("seq {seq} ({})", record.event.type_name()));
            }
        }
        if referrers.is_empty() {
            return Ok(());
        }
        let shown = referrers.len().min(5);
        Err(Error::invalid(
            at,
            format!(
                "field `target`: {kind} `{slug}` is still named by {} counted event{}: {}{}; retract those first",
                referrers.len(),
                if referrers.len() == 1 { "" } else { "s" },
                referrers[..shown].join(", "),
                if referrers.len() > shown { ", …" } else { "" }
            ),
        ))
    }

    /// Whether an entity has a registering event (other than the record at `except`)
    /// that no retraction or correction removed: for parties, actors and proposals
    /// their one registration; for meetings and provisions any schedule, holding or
    /// draft, read from the entity's history and from this append's records.
    fn live_registration(&self, kind: Kind, slug: &Slug, except: Option<u64>) -> Result<bool> {
        let key = (kind, slug.clone());
        let committed = match kind {
            Kind::Party | Kind::Actor | Kind::Proposal => {
                // The one registration, and each correction that superseded it in turn
                // (a correction restates the registration: the entity stays).
                let mut chain = Vec::new();
                let mut next = self.registered(kind, slug)?;
                while let Some(seq) = next {
                    let event = self.record_any(seq)?.event;
                    if seq <= self.ledger.head().seq && event.registers() == Some((kind, slug)) {
                        chain.push((seq, event.id));
                    }
                    next = match self.removed(&event.id)? {
                        Some(by) if self.record_any(by)?.event.supersedes == Some(event.id) => {
                            Some(by)
                        }
                        _ => None,
                    };
                }
                Arc::from(chain)
            }
            Kind::Meeting | Kind::Provision => self.committed_registrations(&key)?,
        };
        let staged = self.registrations.get(&key).map_or(&[][..], Vec::as_slice);
        for &(seq, id) in committed.iter().chain(staged) {
            if Some(seq) != except && self.removed(&id)?.is_none() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The committed records that register a meeting or provision (schedule, holding,
    /// draft): (seq, event id), read once per append from the entity's history (a
    /// write may name the entity thousands of times).
    fn committed_registrations(&self, key: &(Kind, Slug)) -> Result<Registrations> {
        if let Some(found) = self.committed.borrow().registrations.get(key) {
            return Ok(found.clone());
        }
        let mut found = Vec::new();
        for seq in self.ledger.touching(key.0, &key.1)? {
            let event = self.ledger.event_at(seq)?.1;
            if event.registers() == Some((key.0, &key.1)) {
                found.push((seq, event.id));
            }
        }
        let found: Registrations = Arc::from(found);
        self.committed
            .borrow_mut()
            .registrations
            .insert(key.clone(), found.clone());
        Ok(found)
    }

    /// Checks the ledger's rules: references exist, registrations are new, a text
    /// exists before it is amended, a correction's target exists and is not already
    /// removed. Returns whether the event registers a new entity.
    fn check(&mut self, event: &Event, at: &Location) -> Result<Firsts> {
        for (kind, slug, field) in event.references() {
            if self.registered(kind, slug)?.is_none() {
                let mut known = self.ledger.slugs(kind)?;
                known.extend(
                    self.registered
                        .keys()
                        .filter(|(k, _)| *k == kind)
                        .map(|(_, s)| s.to_string()),
                );
                return Err(Error::invalid(
                    at,
                    format!(
                        "field `{field}`: unknown {kind} `{slug}`{}",
                        suggest(slug.as_str(), known.iter().map(String::as_str))
                    ),
                ));
            }
        }
        // A correction may restate what it supersedes: the same registration, the same
        // text in the same proposal, the same meeting held (with another date, say).
        let restated = match event.supersedes {
            Some(target) => match self.seq_of(&target)? {
                Some(seq) => Some(self.record_any(seq)?.event),
                None => None,
            },
            None => None,
        };
        let restates = |key: &dyn Fn(&Event) -> bool| restated.as_deref().is_some_and(key);
        let mut firsts = Firsts::default();
        if let Some((kind, slug)) = event.registers() {
            let existing = self.registered(kind, slug)?;
            firsts.registration = existing.is_none();

            let same = |e: &Event| e.registers() == Some((kind, slug));
            if let (Some(seq), Kind::Party | Kind::Actor | Kind::Proposal, false) =
                (existing, kind, restates(&same))
            {
                let retracted = match self.removed(&self.record_any(seq)?.event.id)? {
                    Some(by) => format!(
                        ", and retracted by {}: a slug is registered once, so register it under another slug",
                        self.which(by)
                    ),
                    None => String::new(),
                };
                return Err(Error::invalid(
                    at,
                    format!(
                        "{kind} `{slug}` is already registered ({}){retracted}",
                        self.which(seq)
                    ),
                ));
            }
        }
        match &event.body {
            Body::ProvisionDrafted {
                provision,
                proposal,
                ..
            } => {
                let existing = self.draft(provision, proposal)?;
                firsts.text_or_held = existing.is_none();
                let same = |e: &Event| matches!(&e.body, Body::ProvisionDrafted { provision: p, proposal: q, .. } if p == provision && q == proposal);
                if let (Some(seq), false) = (existing, restates(&same)) {
                    return Err(Error::invalid(
                        at,
                        format!(
                            "provision `{provision}` already has a text in proposal `{proposal}` {}; change it with provision_amended, or correct that draft with `supersedes`",
                            self.seq_shown(seq)
                        ),
                    ));
                }
            }
            Body::ProvisionAmended {
                provision,
                proposal,
                ..
            }
            | Body::ProvisionDropped {
                provision,
                proposal,
                ..
            } if self.draft(provision, proposal)?.is_none() => {
                return Err(Error::invalid(
                    at,
                    format!(
                        "provision `{provision}` has no text in proposal `{proposal}`; draft it there first with provision_drafted"
                    ),
                ));
            }
            Body::MeetingHeld { meeting, .. } => {
                let existing = self.held(meeting)?;
                firsts.text_or_held = existing.is_none();
                let same = |e: &Event| matches!(&e.body, Body::MeetingHeld { meeting: m, .. } if m == meeting);
                if let (Some(seq), false) = (existing, restates(&same)) {
                    return Err(Error::invalid(
                        at,
                        format!("meeting `{meeting}` was already held {}; correct that event with `supersedes`", self.seq_shown(seq)),
                    ));
                }
            }
            _ => {}
        }
        if let Some(target) = event.removes() {
            let field = if event.supersedes.is_some() {
                "supersedes"
            } else {
                "target"
            };
            let Some(seq) = self.seq_of(&target)? else {
                self.missing = Some((at.clone(), field, target));
                return Err(Error::invalid(
                    at,
                    format!("field `{field}`: no event with id {target} in the ledger"),
                ));
            };
            let target_record = self.record_any(seq)?;
            let (target_type, target_subject) = target_record.event.fact();
            let (own_type, own_subject) = event.fact();
            let restates = target_type == own_type && target_subject == own_subject;
            if event.supersedes.is_some()
                && !matches!(target_record.event.body, Body::EventRetracted { .. })
                && !restates
            {
                let about = |subject: &[&Slug]| match subject {
                    [] => String::new(),
                    slugs => format!(
                        " about {}",
                        slugs
                            .iter()
                            .map(|s| format!("`{s}`"))
                            .collect::<Vec<_>>()
                            .join(" in ")
                    ),
                };
                return Err(Error::invalid(
                    at,
                    format!(
                        "field `supersedes`: event {target} is of type `{target_type}`{}; a correction restates the same kind of fact about the same entity (this one is of type `{own_type}`{}); to withdraw it, retract it with event_retracted",
                        about(&target_subject),
                        about(&own_subject)
                    ),
                ));
            }
            if matches!(target_record.event.body, Body::EventRetracted { .. }) {
                return Err(Error::invalid(
                    at,
                    format!("field `{field}`: event {target} is a retraction; a retraction cannot be retracted or superseded"),
                ));
            }
            if let Some(by) = self.removed(&target)? {
                let by_id = self.record_any(by)?.event.id;
                return Err(Error::invalid(
                    at,
                    format!("field `{field}`: event {target} was already retracted or superseded by {by_id} {}", self.seq_shown(by)),
                ));
            }
        }
        if let Body::SourceCited { target } = &event.body {
            let Some(seq) = self.seq_of(target)? else {
                self.missing = Some((at.clone(), "target", *target));
                return Err(Error::invalid(
                    at,
                    format!("field `target`: no event with id {target} in the ledger"),
                ));
            };
            let cited = self.record_any(seq)?.event;
            if matches!(
                cited.body,
                Body::EventRetracted { .. } | Body::SourceCited { .. }
            ) {
                return Err(Error::invalid(
                    at,
                    format!(
                        "field `target`: event {target} is of type `{}`; cite the event it is about",
                        cited.type_name()
                    ),
                ));
            }
            if let Some(by) = self.removed(target)? {
                let by_id = self.record_any(by)?.event.id;
                return Err(Error::invalid(
                    at,
                    format!("field `target`: event {target} was retracted or superseded by {by_id} {}; cite the event that counts", self.seq_shown(by)),
                ));
            }
        }
        Ok(firsts)
    }

    fn stage(&mut self, record: Record, bytes: Vec<u8>, firsts: Firsts) -> Result<()> {
        if self.appended == 0 {
            self.check_expected_head()?;
        }
        let seq = record.seq;
        let target = match record.event.refers_to() {
            Some(target) => {
                let target_seq = self.seq_of(&target)?.expect("checked");
                Some(self.record_any(target_seq)?)
            }
            None => None,
        };
        if let (Some(target), Some(_)) = (&target, record.event.removes()) {
            self.corrected.extend(target.event.provisions().cloned());
        }
        let mut entries = index::entries(&record.event, firsts, target.as_ref().map(|t| &*t.event));
        let late = self
            .maxima
            .late_entries(&entries, seq, Some(&*self.ledger))?;
        entries.extend(late);
        for entry in entries {
            if let index::Entry::Touch(Kind::Provision, slug, _) = &entry {
                if !self.touched.contains(slug) {
                    self.touched.insert(slug.clone());
                }
            }
            self.batch.entry(seq, entry);
        }
        self.frame.push(bytes);
        self.recorded.push(record.recorded_at);
        let event = &record.event;
        self.ids.insert(event.id, seq);
        if let Some((kind, slug)) = event.registers() {
            if firsts.registration {
                self.registered
                    .insert((kind, slug.clone()), (seq, event.id));
            }
            self.registrations
                .entry((kind, slug.clone()))
                .or_default()
                .push((seq, event.id));
        }
        match &event.body {
            Body::ProvisionDrafted {
                provision,
                proposal,
                ..
            } => {
                self.drafts
                    .entry((provision.clone(), proposal.clone()))
                    .or_insert(seq);
            }
            Body::MeetingHeld { meeting, .. } => {
                self.held.entry(meeting.clone()).or_insert(seq);
            }
            _ => {}
        }
        if let Some(target) = event.removes() {
            self.removed.insert(target, seq);
        }
        self.last = Some((event.id, seq));
        self.last_recorded = Some(record.recorded_at);
        self.prev_hash = record.hash.clone();
        self.next_seq += 1;
        self.appended += 1;
        self.chunk.push(record);
        if self.chunk.len() >= CHUNK {
            let chunk = Chunk {
                first_seq: self.chunk_start,
                records: &self.frame,
                recorded: &self.recorded,
                last_hash: &self.prev_hash,
            };
            self.ledger.write_chunk(&mut self.batch, chunk)?;
            self.wrote_chunks = true;
            // The chunk's ids are looked up in memory until its batch is surely applied
            // (the next chunk waits for it); those before it in the store: memory
            // stays bounded.
            self.chunk.clear();
            self.written_ids = std::mem::take(&mut self.ids);
            self.written_start = self.chunk_start;
            self.frame.clear();
            self.recorded.clear();
            self.chunk_start = self.next_seq;
        }
        Ok(())
    }

    /// `--expect-seq`: the head the write expects is the ledger's, else a conflict.
    fn check_expected_head(&self) -> Result<()> {
        if let Some(expected) = self.expect_seq {
            let actual = self.ledger.head().seq;
            if actual != expected {
                return Err(Error::Conflict(format!(
                    "the ledger head is at seq {actual}, not {expected} (--expect-seq): another write came first"
                )));
            }
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<Summary> {
        // An input with no event at all is held to `--expect-seq` too (an identical
        // retry, whose events are all there already, is not).
        if self.appended == 0 && self.unchanged == 0 {
            self.check_expected_head()?;
        }
        if self.appended > 0 {
            let head = Head {
                seq: self.next_seq - 1,
                hash: self.prev_hash.clone(),
                recorded_at: self.last_recorded,
            };
            for (key, value) in self.maxima.changed_after(self.ledger.head().seq) {
                self.batch.insert(key, value);
            }
            let chunk = Chunk {
                first_seq: self.chunk_start,
                records: &self.frame,
                recorded: &self.recorded,
                last_hash: &self.prev_hash,
            };
            self.ledger.commit(&mut self.batch, head, chunk)?;
        }
        Ok(Summary {
            appended: self.appended,
            unchanged: self.unchanged,
            head: self.ledger.head().clone(),
            last: self.last,
        })
    }

    fn abort(&mut self) -> Result<()> {
        if self.wrote_chunks {
            self.ledger.discard_uncommitted()?;
        }
        self.ledger.abandon_journal()
    }

    /// A record by seq, in a message: `seq N` once committed, else as the earlier
    /// event of this input it is (a seq is not given until the commit).
    fn which(&self, seq: u64) -> String {
        match seq > self.ledger.head().seq {
            true => "an earlier event of this input".to_string(),
            false => format!("seq {seq}"),
        }
    }

    /// [`Stage::which`] in parentheses after an event named otherwise: `(seq N)`, or
    /// `(an earlier event of this input, which would be seq N)`.
    fn seq_shown(&self, seq: u64) -> String {
        match seq > self.ledger.head().seq {
            true => format!("(an earlier event of this input, which would be seq {seq})"),
            false => format!("(seq {seq})"),
        }
    }

    /// Where the record at `seq` is, for a message: in the ledger, or earlier in this
    /// append's input (staged, not committed).
    fn where_is(&self, seq: u64) -> String {
        match seq > self.ledger.head().seq {
            true => format!("given to an earlier event of this input (it would be seq {seq})"),
            false => format!("in the ledger (seq {seq})"),
        }
    }

    /// A record staged by this append or committed before it.
    fn record_any(&self, seq: u64) -> Result<Record> {
        if seq >= self.chunk_start {
            return Ok(self.chunk[(seq - self.chunk_start) as usize].clone());
        }
        if seq >= self.written_start {
            // A record of the chunk written last: once its batch is in sled.
            self.ledger.applied()?;
        }
        let bytes = self
            .ledger
            .raw(seq)?
            .ok_or_else(|| Error::SledDamaged(format!("its record {seq} is missing")))?;
        Record::decode(&bytes)
            .map_err(|e| Error::SledDamaged(format!("its record {seq} does not decode: {e}")))
    }

    fn seq_of(&self, id: &Uuid) -> Result<Option<u64>> {
        if let Some(&seq) = self.ids.get(id).or_else(|| self.written_ids.get(id)) {
            return Ok(Some(seq));
        }
        if self.wrote_chunks {
            // Ids of the chunks already written are in the store, past the head.
            return Ok(self
                .ledger
                .raw_get(&index::id_key(id))?
                .and_then(|v| index::seq_from(&v)));
        }
        self.ledger.seq_of(id)
    }

    fn registered(&self, kind: Kind, slug: &Slug) -> Result<Option<u64>> {
        Ok(self.registration(kind, slug)?.map(|(seq, _)| seq))
    }

    /// Where an entity was first registered, and by which event when known without
    /// reading its record (see [`Ledger::registration`]).
    fn registration(&self, kind: Kind, slug: &Slug) -> Result<Option<Registration>> {
        let key = (kind, slug.clone());
        if let Some(&(seq, id)) = self.registered.get(&key) {
            return Ok(Some((seq, Some(id))));
        }
        if let Some(&found) = self.committed.borrow().registered.get(&key) {
            return Ok(found);
        }
        let found = self.ledger.registration(kind, slug)?;
        self.committed.borrow_mut().registered.insert(key, found);
        Ok(found)
    }

    fn draft(&self, provision: &Slug, proposal: &Slug) -> Result<Option<u64>> {
        match self.drafts.get(&(provision.clone(), proposal.clone())) {
            Some(&seq) => Ok(Some(seq)),
            None => self
                .ledger
                .indexed_seq(&index::draft_key(provision, proposal)),
        }
    }

    fn held(&self, meeting: &Slug) -> Result<Option<u64>> {
        match self.held.get(meeting) {
            Some(&seq) => Ok(Some(seq)),
            None => self.ledger.indexed_seq(&index::held_key(meeting)),
        }
    }

    fn removed(&self, id: &Uuid) -> Result<Option<u64>> {
        if let Some(&seq) = self.removed.get(id) {
            return Ok(Some(seq));
        }
        if let Some(&seq) = self.committed.borrow().removed.get(id) {
            return Ok(seq);
        }
        let seq = self.ledger.removed_by(id)?;
        self.committed.borrow_mut().removed.insert(*id, seq);
        Ok(seq)
    }
}

/// The record time of a record appended at `now` after `last`: never before `last`,
/// so record time never decreases even when the system clock steps back.
pub fn next_recorded_at(last: Option<Instant>, now: Instant) -> Instant {
    last.filter(|last| *last > now).unwrap_or(now)
}
