//! Projection snapshots: a provision's fold stored at points of valid time, so a
//! query folds only the tail of its history.
//!
//! A snapshot `(provision, V, S)` holds the fold ([`Builder`]) of the provision's
//! events with `occurred_at <= V`, as known at record `S` (everything recorded up to
//! seq `S`). It serves a query cut `(at, known_at)` when `V <= at` and `S` is at or
//! before the record-time cut: the fold does not depend on the order events are
//! applied in ([`crate::projection::Key`]), so the records after `S` (up to the cut)
//! that joined the history at or before `V` are folded into it in seq order, and the
//! tail after `V` after them. Such an arrival is always a *late* entry
//! ([`crate::index::late_in`], read off the provision's postings): a snapshot is
//! *patched* by its late entries, never spoiled by them. The one exception is a
//! correction whose target the snapshot shows (its status, a text, a stance, one of
//! the latest statements...): only a fold without the target can say what shows in
//! its place ([`Projection::forget_for`]), so that snapshot does not serve cuts
//! after the correction and the query takes an earlier one.
//!
//! A refresh after each write keeps the patches short: a snapshot point with
//! [`PATCH_AFTER`] late entries or more since its newest generation (the snapshots
//! written at one head) gets a new generation at the head, patched from the old one
//! (or, when a correction spoiled it, folded from the point before). A point keeps
//! its first generation, which serves the earliest record-time cuts, and the newest
//! [`GENERATIONS`] ` - 1`, so storage stays proportional to the history.
//!
//! Snapshots are a cache derived from the log: they are written after the commit
//! that makes them possible, a crash before that loses nothing (the commit marks the
//! refresh as owed and the next open finishes it, [`resume`]), and `verify` checks
//! every one against a full replay.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::DateTime;

use crate::error::{Error, Result};
use crate::event::{Event, Kind, Slug};
use crate::index;
use crate::projection::{Builder, Projection, ProvisionState};
use crate::query::Cut;
use crate::store::Ledger;
use crate::time::Instant;

/// History entries between two snapshots of a provision, by default.
pub const EVERY: usize = 256;

/// Generations a snapshot point keeps: its first and the newest ones (see [`refresh`]).
pub const GENERATIONS: usize = 4;

/// Late entries since a point's newest generation that make a refresh write a new
/// one: what a query folds into a snapshot at most, as known at the head.
pub const PATCH_AFTER: usize = 8;

/// The version of the stored fold ([`Builder`]) and of how it is stored (zstd, each
/// snapshot with its point key): snapshots of another version are dropped and
/// written anew when a ledger is opened ([`rebuild_all`]).
pub const FORMAT: &[u8] = b"keyed-registers-zstd-points-2";

/// The latest instant, for "no valid-time limit".
const END_OF_TIME: Instant = DateTime::<chrono::Utc>::MAX_UTC;

/// A snapshot as stored: the fold's JSON, compressed ([`crate::block::pack`]).
fn encode(builder: &Builder) -> Vec<u8> {
    crate::block::pack(&serde_json::to_vec(builder).expect("a fold serializes"))
}

/// Decodes a stored snapshot; the error says what is damaged.
fn decode(bytes: &[u8]) -> std::result::Result<Builder, String> {
    let json = crate::block::unpack(bytes)?;
    serde_json::from_slice(&json).map_err(|e| format!("it does not decode: {e}"))
}

/// [`decode`] for a query: damage is sled's, and the journal rebuilds it.
fn decode_for(provision: &Slug, bytes: &[u8]) -> Result<Builder> {
    decode(bytes)
        .map_err(|e| Error::SledDamaged(format!("a snapshot of `{provision}` is damaged: {e}")))
}

/// The nearest snapshot at or before valid time `at` that serves a cut as known at
/// record `known_seq`, patched up to it: (valid time, fold).
fn usable_snapshot(
    ledger: &Ledger,
    provision: &Slug,
    at: &Instant,
    known_seq: u64,
) -> Result<Option<(Instant, Builder)>> {
    let event = |seq| Ok(ledger.event_at(seq)?.1);
    for item in ledger.snapshots_upto(provision, at) {
        let (time, seq) = item?;
        if seq > known_seq {
            continue;
        }
        let builder = decode_for(provision, &ledger.snapshot_at(provision, &time, seq)?)?;
        if let Some(builder) = patch(ledger, provision, (time, seq), builder, known_seq, &event)? {
            return Ok(Some((time, builder)));
        }
    }
    Ok(None)
}

/// Brings `builder`, the snapshot of `provision` at `point` (valid time, seq), up to
/// record `known_seq`: each record after the point's seq, up to `known_seq`, that
/// joined the history at or before its valid time is folded in if it counts, and the
/// event it removes, if the snapshot counted one, is forgotten. Returns the patched
/// fold, or `None` when a removal took out an event the snapshot shows.
fn patch(
    ledger: &Ledger,
    provision: &Slug,
    point: (Instant, u64),
    builder: Builder,
    known_seq: u64,
    event: &dyn Fn(u64) -> Result<Arc<Event>>,
) -> Result<Option<Builder>> {
    let (time, seq) = point;
    let late = late_for(ledger, provision, point, known_seq)?;
    if late.is_empty() {
        return Ok(Some(builder));
    }
    let mut projection = Projection::from_snapshot(provision.clone(), builder);
    for &late_seq in &late {
        let late_event = event(late_seq)?;
        if late_event.occurred_at <= time
            && ledger
                .removed_by(&late_event.id)?
                .is_none_or(|by| by > known_seq)
        {
            projection.apply_for(provision, late_seq, &late_event);
        }
        if let Some(target) = late_event.removes() {
            let Some(target_seq) = ledger.seq_of(&target)? else {
                continue;
            };
            if target_seq > seq {
                // Not in the snapshot: its own entry, if late, is skipped above.
                continue;
            }
            let target_event = event(target_seq)?;
            if target_event.occurred_at <= time && !projection.forget_for(provision, &target_event)
            {
                return Ok(None);
            }
        }
    }
    Ok(Some(projection.into_builder(provision)))
}

/// The records after the point's seq, up to `known_seq`, that joined `provision`'s
/// history at or before the point's valid time, in seq order.
fn late_for(
    ledger: &Ledger,
    provision: &Slug,
    (time, seq): (Instant, u64),
    known_seq: u64,
) -> Result<Vec<u64>> {
    Ok(ledger
        .late_between(provision, seq, known_seq)?
        .into_iter()
        .filter(|(_, earliest)| *earliest <= time)
        .map(|(seq, _)| seq)
        .collect())
}

/// Folds a provision's history after `base` (valid times after the base's) up to
/// `at`, as known at record `known_seq`, streaming one record at a time: an entry
/// counts when its record is at or before `known_seq` and no correction at or before
/// `known_seq` removed it (the `R` index says which). A correction's entry at its
/// target's valid time is only a marker of where its effect begins and is skipped
/// here: the target's own entry finds the removal. `visit` sees the projection
/// before each applied event, with that event's valid time.
fn fold_history(
    ledger: &Ledger,
    provision: &Slug,
    base: Option<(Instant, Builder)>,
    at: &Instant,
    known_seq: u64,
    visit: impl FnMut(&Projection, &Instant),
) -> Result<Projection> {
    let after = base.as_ref().map(|(time, _)| *time);
    let entries = ledger.history_between(Kind::Provision, provision, after.as_ref(), at)?;
    let event = |seq| Ok(ledger.event_at(seq)?.1);
    fold_entries(ledger, provision, base, &entries, known_seq, event, visit)
}

/// [`fold_history`] over given history entries, reading each event with `event`.
fn fold_entries(
    ledger: &Ledger,
    provision: &Slug,
    base: Option<(Instant, Builder)>,
    entries: &[(Instant, u64)],
    known_seq: u64,
    event: impl Fn(u64) -> Result<Arc<Event>>,
    mut visit: impl FnMut(&Projection, &Instant),
) -> Result<Projection> {
    let mut projection = match base {
        Some((_, builder)) => Projection::from_snapshot(provision.clone(), builder),
        None => Projection::default(),
    };
    for &(time, seq) in entries {
        if seq > known_seq {
            continue;
        }
        let event = event(seq)?;
        if event.occurred_at != time {
            continue;
        }
        if ledger
            .removed_by(&event.id)?
            .is_some_and(|by| by <= known_seq)
        {
            continue;
        }
        visit(&projection, &time);
        projection.apply_for(provision, seq, &event);
    }
    Ok(projection)
}

/// A provision's state at `cut`: the nearest usable snapshot plus a fold of the tail.
/// `None` when the provision has no counted draft at the cut.
pub fn provision_state(
    ledger: &Ledger,
    provision: &Slug,
    cut: &Cut,
) -> Result<Option<ProvisionState>> {
    if !cut.filter.is_open() {
        // Snapshots fold every event: a filtered state folds the whole history.
        let records = ledger.records_at(&ledger.touching(Kind::Provision, provision)?)?;
        let outside = crate::query::outside_removers(ledger, &records)?;
        let mut projection = Projection::default();
        for record in crate::query::counted(&records, &outside, cut) {
            projection.apply_for(provision, record.seq, &record.event);
        }
        return Ok(projection.state(provision));
    }
    let known_seq = cut.known().last_seq(ledger)?;
    let base = usable_snapshot(ledger, provision, &cut.at, known_seq)?;
    let projection = fold_history(ledger, provision, base, &cut.at, known_seq, |_, _| {})?;
    Ok(projection.state(provision))
}

/// The states of these provisions at `cut`, in the order given (those with a counted
/// draft): [`provision_state`] for many provisions at once, their tails' events read
/// in seq order a group at a time.
pub fn provision_states(
    ledger: &Ledger,
    provisions: impl IntoIterator<Item = Slug>,
    cut: &Cut,
) -> Result<Vec<ProvisionState>> {
    if !cut.filter.is_open() {
        let mut out = Vec::new();
        for provision in provisions {
            out.extend(provision_state(ledger, &provision, cut)?);
        }
        return Ok(out);
    }
    let known_seq = cut.known().last_seq(ledger)?;
    let plans = provisions.into_iter().map(|provision| {
        let base = usable_snapshot(ledger, &provision, &cut.at, known_seq)?;
        let after = base.as_ref().map(|(time, _)| *time);
        let mut tail =
            ledger.history_between(Kind::Provision, &provision, after.as_ref(), &cut.at)?;
        tail.retain(|&(_, seq)| seq <= known_seq);
        Ok((provision, base, tail))
    });
    let mut out = Vec::new();
    in_seq_order(
        ledger,
        PREFETCH_EVENTS,
        plans,
        |(provision, base, tail), event| {
            let projection =
                fold_entries(ledger, &provision, base, &tail, known_seq, event, |_, _| {})?;
            out.extend(projection.state(&provision));
            Ok(())
        },
    )?;
    Ok(out)
}

/// Brings the snapshots of the provisions a write touched up to the head, reading
/// only index keys and one snapshot for those with nothing to do (`since_seq`: the
/// head before the write):
/// - each point with [`PATCH_AFTER`] late entries or more since its newest generation
///   gets a new generation at the head, patched from that one, or folded from the
///   point before when a correction spoiled it (see the module docs);
/// - from the last point, one every `snapshot_every` events of the tail, each at a
///   valid time where the next event is later.
///
/// A point is only read when it has something to do: enough late entries, or a
/// correction recorded after `since_seq` that may have spoiled it. `corrected` names
/// the provisions whose history such a correction reaches (those of its target):
/// the snapshots of any other provision are unspoiled, since a refresh rewrites every
/// point a correction spoils.
///
/// Returns how many snapshots it wrote.
pub fn refresh(
    ledger: &Ledger,
    provisions: &BTreeSet<Slug>,
    corrected: &BTreeSet<Slug>,
    since_seq: u64,
) -> Result<usize> {
    let mut plans = Vec::new();
    for provision in provisions {
        let may_be_spoiled = corrected.contains(provision);
        plans.extend(Plan::new(ledger, provision, since_seq, may_be_spoiled)?);
    }
    let mut written = Vec::new();
    let mut stale = Vec::new();
    let mut n = 0;
    let mut held = 0; // bytes of `written` from earlier provisions
    in_seq_order(
        ledger,
        PREFETCH_EVENTS,
        plans.into_iter().map(Ok),
        |plan, event| {
            let before = written.len();
            plan.carry_out(ledger, event, &mut written, &mut stale)?;
            held += written[before..]
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>();
            // Written a provision at a time once they add up: a large write touches
            // thousands of provisions, and their snapshots are tens of KiB each.
            if held >= WRITE_BYTES {
                held = 0;
                n += written.len();
                ledger.put_snapshots(std::mem::take(&mut written), std::mem::take(&mut stale))?;
            }
            Ok(())
        },
    )?;
    n += written.len();
    ledger.put_snapshots(written, stale)?;
    Ok(n)
}

/// Drops every stored snapshot and writes them anew for every provision: what
/// opening a ledger does when its snapshots are of another [`FORMAT`]. Returns how
/// many it wrote.
pub fn rebuild_all(ledger: &Ledger) -> Result<usize> {
    ledger.drop_snapshots(FORMAT)?;
    let provisions = ledger
        .slugs(Kind::Provision)?
        .into_iter()
        .filter_map(|slug| Slug::parse(&slug).ok())
        .collect();
    let n = refresh(ledger, &provisions, &BTreeSet::new(), 0)?;
    ledger.refresh_done()?;
    Ok(n)
}

/// Finishes the snapshot refresh that a crash (or an error) cut short after a commit:
/// the provisions the records after the pending mark touched (their own, and those of
/// the events they correct or cite) are refreshed. Returns how many snapshots it
/// wrote, or `None` when no refresh was owed.
pub fn resume(ledger: &Ledger) -> Result<Option<usize>> {
    let Some(since) = ledger.refresh_pending()? else {
        return Ok(None);
    };
    let (mut touched, mut corrected) = (BTreeSet::new(), BTreeSet::new());
    for seq in since + 1..=ledger.head().seq {
        let event = ledger.event_at(seq)?.1;
        touched.extend(event.provisions().cloned());
        if let Some(target) = event.refers_to() {
            if let Some(target_seq) = ledger.seq_of(&target)? {
                let target = ledger.event_at(target_seq)?.1;
                touched.extend(target.provisions().cloned());
                if event.removes().is_some() {
                    corrected.extend(target.provisions().cloned());
                }
            }
        }
    }
    let n = refresh(ledger, &touched, &corrected, since)?;
    ledger.refresh_done()?;
    Ok(Some(n))
}

/// What a refresh does for one provision.
struct Plan {
    provision: Slug,
    /// The newest generation of each snapshot point the write's late entries reach,
    /// in valid-time order, with the late entries it lacks at the head.
    points: Vec<Point>,
    /// Every generation's seq, by point.
    generations: BTreeMap<Instant, Vec<u64>>,
    /// The newest point, and the history after it.
    last: Option<Instant>,
    tail: Vec<(Instant, u64)>,
    /// The records the refresh reads: the tail and the points' late entries.
    reads: Vec<(Instant, u64)>,
}

/// A snapshot point's newest generation, and the late records it lacks at the head.
struct Point {
    time: Instant,
    seq: u64,
    bytes: sled::IVec,
    late: Vec<u64>,
}

impl Entries for Plan {
    fn entries(&self) -> &[(Instant, u64)] {
        &self.reads
    }
}

impl Plan {
    /// `None` when the provision's snapshots need nothing. The points listed are those
    /// the late entries recorded after `since_seq` reach (at or after the earliest
    /// valid time they joined the history at) and that now lack [`PATCH_AFTER`] late
    /// entries or more; with `may_be_spoiled` (a correction recorded after `since_seq`
    /// reaches the history), every point they reach.
    fn new(
        ledger: &Ledger,
        provision: &Slug,
        since_seq: u64,
        may_be_spoiled: bool,
    ) -> Result<Option<Plan>> {
        let head = ledger.head().seq;
        let reach = ledger
            .late_between(provision, since_seq, head)?
            .into_iter()
            .map(|(_, time)| time)
            .min();
        let mut generations: BTreeMap<Instant, Vec<u64>> = BTreeMap::new();
        let mut points: Vec<Point> = Vec::new();
        // In (valid time, seq) order: a point's newest generation comes last.
        for (time, seq, bytes) in match reach {
            Some(reach) => ledger.snapshots_from(provision, &reach)?,
            None => Vec::new(),
        } {
            generations.entry(time).or_default().push(seq);
            match points.last_mut() {
                Some(point) if point.time == time => {
                    point.seq = seq;
                    point.bytes = bytes;
                }
                _ => points.push(Point {
                    time,
                    seq,
                    bytes,
                    late: Vec::new(),
                }),
            }
        }
        for point in &mut points {
            point.late = late_for(ledger, provision, (point.time, point.seq), head)?;
        }
        let last = match points.last() {
            Some(point) => Some(point.time),
            None => match ledger.snapshots_upto(provision, &END_OF_TIME).next() {
                Some(item) => Some(item?.0),
                None => None,
            },
        };
        if !may_be_spoiled {
            points.retain(|point| point.late.len() >= PATCH_AFTER);
        }
        let tail =
            ledger.history_between(Kind::Provision, provision, last.as_ref(), &END_OF_TIME)?;
        if points.is_empty() && tail.len() < ledger.snapshot_every() {
            return Ok(None);
        }
        let mut reads = tail.clone();
        for point in &points {
            reads.extend(point.late.iter().map(|&seq| (point.time, seq)));
        }
        Ok(Some(Plan {
            provision: provision.clone(),
            points,
            generations,
            last,
            tail,
            reads,
        }))
    }

    /// The fold of a point as known at the head, patched from its newest
    /// generation; `None` when a correction spoiled it.
    fn patched(
        &self,
        ledger: &Ledger,
        point: &Point,
        event: &dyn Fn(u64) -> Result<Arc<Event>>,
    ) -> Result<Option<Builder>> {
        let provision = &self.provision;
        let builder = decode_for(provision, &point.bytes)?;
        let head = ledger.head().seq;
        patch(
            ledger,
            provision,
            (point.time, point.seq),
            builder,
            head,
            event,
        )
    }

    /// Writes the plan's snapshots into `written`, and the generations they replace
    /// into `stale`.
    fn carry_out(
        self,
        ledger: &Ledger,
        event: &dyn Fn(u64) -> Result<Arc<Event>>,
        written: &mut Vec<(Vec<u8>, Vec<u8>)>,
        stale: &mut Vec<Vec<u8>>,
    ) -> Result<()> {
        let head = ledger.head().seq;
        let provision = &self.provision;
        let mut write = |time: &Instant, builder: &Builder| {
            let bytes = encode(builder);
            written.push((index::snapshot_key(provision, time, head), bytes));
            // A point keeps its first generation and the newest ones.
            let seqs = self.generations.get(time).map_or(&[][..], Vec::as_slice);
            let keep_newest = seqs.len().saturating_sub(GENERATIONS - 2).max(1);
            for &seq in seqs.get(1..keep_newest).unwrap_or_default() {
                if seq != head {
                    stale.push(index::snapshot_key(provision, time, seq));
                }
            }
        };
        // Each listed point: patched, and written when it lacked enough late entries;
        // when a correction spoiled it, folded from the fold at the head before it (the
        // listed point before, or the newest snapshot before it that serves) and
        // written. `current` is the latest fold at the head so far.
        let mut current: Option<(Instant, Builder)> = None;
        for point in &self.points {
            current = match self.patched(ledger, point, event)? {
                Some(builder) => {
                    if point.late.len() >= PATCH_AFTER {
                        write(&point.time, &builder);
                    }
                    Some((point.time, builder))
                }
                None => {
                    let base = match current.take() {
                        Some(base) => Some(base),
                        None => {
                            let before = point.time - chrono::TimeDelta::nanoseconds(1);
                            usable_snapshot(ledger, provision, &before, head)?
                        }
                    };
                    let after = base.as_ref().map(|(time, _)| *time);
                    let entries = ledger.history_between(
                        Kind::Provision,
                        provision,
                        after.as_ref(),
                        &point.time,
                    )?;
                    let fold =
                        fold_entries(ledger, provision, base, &entries, head, event, |_, _| {})?;
                    // Nothing left to fold (a retracted first draft): no snapshot.
                    let builder = fold.builder(provision).cloned();
                    if let Some(builder) = &builder {
                        write(&point.time, builder);
                    }
                    builder.map(|builder| (point.time, builder))
                }
            };
        }
        // New points along the tail after the newest point, folded from it.
        if self.tail.len() < ledger.snapshot_every() {
            return Ok(());
        }
        if current.as_ref().map(|(time, _)| *time) != self.last {
            current = usable_snapshot(ledger, provision, &END_OF_TIME, head)?;
        }
        let after = current.as_ref().map(|(time, _)| *time);
        let tail = if after == self.last {
            self.tail
        } else {
            // The newest point does not serve (a correction spoiled it): the tail
            // starts before it.
            ledger.history_between(Kind::Provision, provision, after.as_ref(), &END_OF_TIME)?
        };
        let every = ledger.snapshot_every();
        let (mut since, mut last) = (0usize, None::<Instant>);
        fold_entries(
            ledger,
            provision,
            current,
            &tail,
            head,
            event,
            |projection, time| {
                if let (Some(last), true) = (last, since >= every) {
                    if *time > last {
                        if let Some(builder) = projection.builder(provision) {
                            write(&last, builder);
                        }
                        since = 0;
                    }
                }
                since += 1;
                last = Some(*time);
            },
        )?;
        Ok(())
    }
}

/// Snapshot bytes a refresh holds before writing them (one sled batch).
const WRITE_BYTES: usize = 4 << 20;

/// Events read ahead at once by [`in_seq_order`] (about 0.5 KiB each in memory).
const PREFETCH_EVENTS: usize = 32 << 10;

/// [`PREFETCH_EVENTS`] for [`verify`], which reads every provision's whole history: a
/// group spans the whole log, so each group decompresses most record blocks, and
/// fewer, larger groups are what makes `verify` of 1M records fit its time.
const VERIFY_PREFETCH_EVENTS: usize = 128 << 10;

/// Something to fold along a provision's history entries.
trait Entries {
    fn entries(&self) -> &[(Instant, u64)];
}

impl<A, B> Entries for (A, B, Vec<(Instant, u64)>) {
    fn entries(&self) -> &[(Instant, u64)] {
        &self.2
    }
}

/// Calls `each` for every item with a reader of its entries' events: the events are
/// read in seq order, for a group of items at a time (each record block is then
/// decompressed once per group rather than once per provision).
fn in_seq_order<T: Entries>(
    ledger: &Ledger,
    prefetch: usize,
    items: impl IntoIterator<Item = Result<T>>,
    mut each: impl FnMut(T, &dyn Fn(u64) -> Result<Arc<Event>>) -> Result<()>,
) -> Result<()> {
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let mut group = Vec::new();
        let mut n_events = 0;
        while let Some(item) = items.next_if(|i| {
            i.as_ref().map_or(true, |i| {
                group.is_empty() || n_events + i.entries().len() <= prefetch
            })
        }) {
            let item = item?;
            n_events += item.entries().len();
            group.push(item);
        }
        let mut seqs: Vec<u64> = group
            .iter()
            .flat_map(|i| i.entries().iter().map(|e| e.1))
            .collect();
        seqs.sort_unstable();
        seqs.dedup();
        let events = events_of(ledger, &seqs)?;
        let event = |seq| match events.get(&seq) {
            Some(event) => Ok(event.clone()),
            None => Ok(ledger.event_at(seq)?.1),
        };
        for item in group {
            each(item, &event)?;
        }
    }
    Ok(())
}

/// Events read in one go below this many are read on one thread.
const READ_ON_TWO_THREADS: usize = 4 << 10;

/// The events at `seqs` (in seq order), by seq. Many are read on two threads, each
/// reading one half of the log's span (record blocks are decompressed and events
/// decoded on both cores; the halves share no block).
fn events_of(ledger: &Ledger, seqs: &[u64]) -> Result<HashMap<u64, Arc<Event>>> {
    let read = |seqs: &[u64]| -> Result<Vec<(u64, Arc<Event>)>> {
        seqs.iter()
            .map(|&seq| Ok((seq, ledger.event_at(seq)?.1)))
            .collect()
    };
    if seqs.len() < READ_ON_TWO_THREADS {
        return Ok(read(seqs)?.into_iter().collect());
    }
    let (first, second) = seqs.split_at(seqs.len() / 2);
    let (first, second) = std::thread::scope(|scope| {
        let second = scope.spawn(|| read(second));
        let first = read(first);
        (
            first,
            second
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        )
    });
    Ok(first?.into_iter().chain(second?).collect())
}

/// A snapshot key (`S provision 0 time seq`, or its point twin) read back: the
/// provision, the valid time and the record; `None` when it does not decode.
fn key_parts(key: &[u8]) -> Option<(Slug, Instant, u64)> {
    let zero = key.iter().position(|&b| b == 0)?;
    let provision = Slug::parse(std::str::from_utf8(key.get(1..zero)?).ok()?).ok()?;
    let time = index::time_from(&key[zero + 1..])?;
    Some((provision, time, index::seq_from(key)?))
}

/// A snapshot key as a reader names it: "`provision` at time (record seq)", or its
/// bytes escaped when it does not decode.
fn describe_key(key: &[u8]) -> String {
    match key_parts(key) {
        Some((provision, time, seq)) => format!(
            "`{provision}` at {} (record {seq})",
            crate::time::format(&time)
        ),
        None => format!("key `{}`", String::from_utf8_lossy(key).escape_debug()),
    }
}

/// A record-time view of a provision's history: the record it is known at and its
/// snapshots there, by valid time (as stored).
type View = (u64, BTreeMap<Instant, sled::IVec>);

/// What a pass of [`check_views`] does at a valid time along its fold.
enum Request {
    /// Hand its state after the events before this time to the pass of view `.0`.
    Fork(usize),
    /// Check the snapshot of view `.0` (as stored: `.1`) against its state after the
    /// events up to this time.
    Check(usize, sled::IVec),
}

/// Checks a provision's snapshots of every record-time view (`views`, in record
/// order) against folds of its `history` (in fold order: seq, the record that removed
/// it if any, the event). Returns how many it checked; the first that differs or
/// does not decode is [`Error::SledDamaged`] (a snapshot is a cache the journal
/// rebuilds), naming its valid time and record.
///
/// Two views differ only where an event counts in one and not the other, so a view
/// is folded from the first such event after the view before it ("forks" there from
/// the state that view had), and a snapshot is checked by the fold of the earliest
/// view that agrees with its own up to its valid time. A long history known at many
/// records (one a write) is then folded about once, not once per record.
fn check_views(
    provision: &Slug,
    history: &[(u64, Option<u64>, Arc<Event>)],
    views: Vec<View>,
) -> Result<usize> {
    let known: Vec<u64> = views.iter().map(|(seq, _)| *seq).collect();
    // forks[k]: the valid time of the first event counted by exactly one of views k-1
    // and k (None: they agree on the whole history; never for view 0).
    let mut forks: Vec<Option<Instant>> = vec![None; known.len()];
    for (seq, removed_by, event) in history {
        // The views that count it are a run [from, to) of `known`, in record order.
        let from = known.partition_point(|k| k < seq);
        let to = removed_by.map_or(known.len(), |by| known.partition_point(|k| *k < by));
        for edge in [from, to] {
            if from < to && 0 < edge && edge < known.len() {
                forks[edge].get_or_insert(event.occurred_at);
            }
        }
    }
    // The earliest view at or before `view` whose state agrees with it after the
    // events that `agrees(fork)` says a fork leaves alike.
    let owner = |mut view: usize, agrees: &dyn Fn(&Instant) -> bool| {
        while view > 0 && forks[view].as_ref().is_none_or(agrees) {
            view -= 1;
        }
        view
    };
    let mut requests: Vec<Vec<(Instant, Request)>> = known.iter().map(|_| Vec::new()).collect();
    for (view, (_, snapshots)) in views.into_iter().enumerate() {
        for (time, bytes) in snapshots {
            let pass = owner(view, &|fork| *fork > time);
            requests[pass].push((time, Request::Check(view, bytes)));
        }
    }
    // A view is folded when it has a snapshot to check or a fork to hand on; its own
    // fork comes from the fold that agrees with the view before it up to there.
    for view in (1..known.len()).rev() {
        if let (Some(at), false) = (forks[view], requests[view].is_empty()) {
            let pass = owner(view - 1, &|fork| *fork >= at);
            requests[pass].push((at, Request::Fork(view)));
        }
    }
    let mut bases: HashMap<usize, Projection> = HashMap::new();
    let mut checked = 0;
    for (view, mut pending) in requests.into_iter().enumerate() {
        if pending.is_empty() {
            continue;
        }
        // A fork at a time hands on the state before its events, a check after them.
        pending.sort_by_key(|(time, request)| (*time, matches!(request, Request::Check(..))));
        let (mut projection, start) = match forks[view] {
            Some(at) => (
                bases
                    .remove(&view)
                    .expect("a fold hands on each fork it owns"),
                history.partition_point(|(_, _, event)| event.occurred_at < at),
            ),
            // View 0 (a later view that never forks has no fold of its own).
            None => (Projection::default(), 0),
        };
        let known_seq = known[view];
        let mut counted = history[start..].iter().filter(|(seq, removed_by, _)| {
            *seq <= known_seq && removed_by.is_none_or(|by| by > known_seq)
        });
        let mut pending = pending.into_iter().peekable();
        while pending.peek().is_some() {
            let next = counted.next();
            let upto = next.map(|(_, _, event)| &event.occurred_at);
            while let Some((time, request)) = pending.next_if(|(time, request)| match request {
                Request::Fork(_) => upto.is_none_or(|t| time <= t),
                Request::Check(..) => upto.is_none_or(|t| time < t),
            }) {
                match request {
                    Request::Fork(to) => {
                        bases.insert(to, projection.clone());
                    }
                    Request::Check(of, bytes) => {
                        let builder = decode(&bytes).map_err(|e| {
                            Error::SledDamaged(format!(
                                "the snapshot of `{provision}` at {} (record {}) is damaged: {e}",
                                crate::time::format(&time),
                                known[of]
                            ))
                        })?;
                        if projection.builder(provision) != Some(&builder) {
                            return Err(Error::SledDamaged(format!(
                                "the snapshot of `{provision}` at {} (record {}) disagrees with a replay of the log",
                                crate::time::format(&time),
                                known[of]
                            )));
                        }
                        checked += 1;
                    }
                }
            }
            match next {
                Some((seq, _, event)) => projection.apply_for(provision, *seq, event),
                None => break,
            }
        }
    }
    Ok(checked)
}

/// Checks every stored snapshot against a replay of its provision as known at its
/// record ([`check_views`]) and that snapshots and their point keys agree; returns
/// how many snapshots were checked.
pub fn verify(ledger: &Ledger) -> Result<usize> {
    // provision → record seq → valid times of its snapshots, as stored (decoded when
    // checked: a busy provision's snapshots are many times larger decoded)
    let mut stored: BTreeMap<Slug, BTreeMap<u64, BTreeMap<Instant, sled::IVec>>> = BTreeMap::new();
    let mut keys = Vec::new();
    for item in ledger.all_snapshots() {
        let (key, bytes) = item?;
        keys.push(key.clone());
        let (provision, time, seq) = key_parts(&key).ok_or_else(|| {
            Error::SledDamaged(format!(
                "snapshot key `{}` is damaged",
                String::from_utf8_lossy(&key).escape_debug()
            ))
        })?;
        if seq > ledger.head().seq {
            return Err(Error::SledDamaged(format!(
                "a snapshot of `{provision}` names record {seq}, past the head"
            )));
        }
        stored
            .entry(provision)
            .or_default()
            .entry(seq)
            .or_default()
            .insert(time, bytes);
    }
    // Each snapshot has its point key and each point its snapshot: a query that
    // finds a point reads its snapshot, and one without a point is never used.
    let mut points = ledger.all_snapshot_points();
    let mut keys = keys.iter().peekable();
    loop {
        let point = points.next().transpose()?.map(|p| index::snapshot_twin(&p));
        let key = keys.next_if(|k| point.as_deref().is_none_or(|p| k[..] <= *p));
        let (lone, what) = match (key, point) {
            (None, None) => break,
            (Some(key), Some(point)) if key[..] == point[..] => continue,
            (Some(key), _) => (key.to_vec(), "has no point key"),
            (None, Some(point)) => (point, "has a point key but no snapshot"),
        };
        return Err(Error::SledDamaged(format!(
            "the snapshot points and the snapshots differ: the snapshot of {} {what}",
            describe_key(&lone)
        )));
    }
    let mut checked = 0;
    let items = stored.into_iter().map(|(provision, by_seq)| {
        let entries = ledger.history_between(Kind::Provision, &provision, None, &END_OF_TIME)?;
        Ok((provision, by_seq, entries))
    });
    in_seq_order(
        ledger,
        VERIFY_PREFETCH_EVENTS,
        items,
        |(provision, by_seq, entries), event| {
            // The provision's history is read once (own entries, in fold order, with the
            // record that removed each, if any); each record-time view is folded from it.
            let mut history = Vec::new();
            for (time, seq) in entries {
                let event = event(seq)?;
                if event.occurred_at == time {
                    let removed_by = ledger.removed_by(&event.id)?;
                    history.push((seq, removed_by, event));
                }
            }
            checked += check_views(&provision, &history, by_seq.into_iter().collect())?;
            Ok(())
        },
    )?;
    Ok(checked)
}
