//! Projection snapshots: a provision's fold stored at points of valid time, so a
//! query folds only the tail of its history.
//!
//! A snapshot `(provision, V, S)` holds the fold of the provision's events with
//! `occurred_at <= V`, as known at record `S` (everything recorded up to seq `S`).
//! It answers a query cut `(at, known_at)` when `V <= at`, `S` is at or before the
//! record-time cut, and nothing recorded after `S` (up to the cut) joined the
//! provision's history at or before `V`. Such an arrival is always a *late* entry
//! ([`crate::index::late_in`], read off the provision's postings). A late arrival
//! therefore invalidates exactly the snapshots at or after its valid time, for
//! record-time cuts after it. The next refresh of that provision writes snapshots
//! valid at the head beside them and keeps the spoiled ones of the last
//! [`GENERATIONS`] refreshes for record-time cuts before the late arrival (older ones
//! are replaced), so storage stays proportional to the history.
//!
//! Snapshots are a cache derived from the log: they are written after the commit
//! that makes them possible, a crash before that loses nothing, and `verify` checks
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

/// Generations of spoiled snapshots kept for past record-time cuts, with the one a
/// refresh writes (see [`refresh`]).
pub const GENERATIONS: usize = 4;

/// The latest instant, for "no valid-time limit".
const END_OF_TIME: Instant = DateTime::<chrono::Utc>::MAX_UTC;

/// The nearest snapshot at or before valid time `at` usable as known at record
/// `known_seq`: (valid time, fold).
fn usable_snapshot(
    ledger: &Ledger,
    provision: &Slug,
    at: &Instant,
    known_seq: u64,
) -> Result<Option<(Instant, Builder)>> {
    // Late arrivals after a candidate's record, up to the cut, spoil it when one of
    // them reaches back to its valid time. They are read once, from the earliest
    // candidate record needed so far: usually only what came after the newest one.
    let mut late: Vec<(u64, Instant)> = Vec::new();
    let mut scanned_after = known_seq;
    for item in ledger.snapshots_upto(provision, at) {
        let (time, seq, bytes) = item?;
        if seq > known_seq {
            continue;
        }
        if seq < scanned_after {
            let mut earlier = ledger.late_between(provision, seq, scanned_after)?;
            earlier.append(&mut late);
            late = earlier;
            scanned_after = seq;
        }
        let spoiled = late
            .iter()
            .any(|(late_seq, late_time)| *late_seq > seq && *late_time <= time);
        if spoiled {
            continue;
        }
        let builder: Builder = serde_json::from_slice(&bytes).map_err(|e| {
            Error::SledDamaged(format!("a snapshot of `{provision}` does not decode: {e}"))
        })?;
        return Ok(Some((time, builder)));
    }
    Ok(None)
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
        projection.apply_for(provision, &event);
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
            projection.apply_for(provision, &record.event);
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

/// Adds snapshots for the provisions an append touched, as known at the head: from
/// the latest snapshot still valid at the head, one every `snapshot_every` events of
/// the tail, each at a valid time where the next event is later. Provisions with a
/// short tail are left alone, reading only index keys.
pub fn refresh(ledger: &Ledger, provisions: &BTreeSet<Slug>) -> Result<usize> {
    let head = ledger.head().seq;
    let every = ledger.snapshot_every();
    let mut plans = Vec::new();
    for provision in provisions {
        let base = usable_snapshot(ledger, provision, &END_OF_TIME, head)?;
        let after = base.as_ref().map(|(time, _)| *time);
        let tail =
            ledger.history_between(Kind::Provision, provision, after.as_ref(), &END_OF_TIME)?;
        if tail.len() >= every {
            plans.push((provision, base, tail));
        }
    }
    let mut written = Vec::new();
    let mut stale = Vec::new();
    let mut n = 0;
    let mut held = 0; // bytes of `written` from earlier provisions
    in_seq_order(
        ledger,
        PREFETCH_EVENTS,
        plans.into_iter().map(Ok),
        |(provision, base, tail), event| {
            let before = written.len();
            refresh_one(
                ledger,
                provision,
                base,
                &tail,
                event,
                &mut written,
                &mut stale,
            )?;
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
        let events = seqs
            .into_iter()
            .map(|seq| Ok((seq, ledger.event_at(seq)?.1)))
            .collect::<Result<HashMap<u64, Arc<Event>>>>()?;
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

/// Snapshots for one provision from its newest usable one (`base`) along its tail.
fn refresh_one(
    ledger: &Ledger,
    provision: &Slug,
    base: Option<(Instant, Builder)>,
    tail: &[(Instant, u64)],
    event: &dyn Fn(u64) -> Result<Arc<Event>>,
    written: &mut Vec<(Vec<u8>, Vec<u8>)>,
    stale: &mut Vec<sled::IVec>,
) -> Result<()> {
    let head = ledger.head().seq;
    let every = ledger.snapshot_every();
    let after = base.as_ref().map(|(time, _)| *time);
    // The snapshots after the base are spoiled as known at the head (the base is the
    // newest one that is not); they still serve record-time cuts before the late
    // arrivals that spoiled them. The newest generations (a generation: the snapshots
    // written at one head) are kept for those cuts and older ones replaced, so a
    // ledger fed late news every day holds at most `GENERATIONS` snapshots per point
    // of its history, not a generation a day.
    let spoiled = ledger.snapshot_keys_after(provision, after.as_ref())?;
    let mut generations: Vec<u64> = spoiled.iter().filter_map(|k| index::seq_from(k)).collect();
    generations.sort_unstable();
    generations.dedup();
    let kept = &generations[generations.len().saturating_sub(GENERATIONS - 1)..];
    stale.extend(
        spoiled
            .into_iter()
            .filter(|k| index::seq_from(k).is_none_or(|seq| !kept.contains(&seq))),
    );
    let (mut since, mut last) = (0usize, None::<Instant>);
    fold_entries(
        ledger,
        provision,
        base,
        tail,
        head,
        event,
        |projection, time| {
            if let (Some(last), true) = (last, since >= every) {
                if *time > last {
                    if let Some(builder) = projection.builder(provision) {
                        let bytes = serde_json::to_vec(builder).expect("a fold serializes");
                        written.push((index::snapshot_key(provision, &last, head), bytes));
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

/// Checks every stored snapshot against a full replay of its provision as known at
/// its record; returns how many were checked.
pub fn verify(ledger: &Ledger) -> Result<usize> {
    // provision → record seq → valid times of its snapshots
    let mut stored: BTreeMap<Slug, BTreeMap<u64, BTreeMap<Instant, Builder>>> = BTreeMap::new();
    for item in ledger.all_snapshots() {
        let (key, bytes) = item?;
        let damaged = || {
            Error::Integrity(format!(
                "snapshot key `{}` is damaged",
                String::from_utf8_lossy(&key).escape_debug()
            ))
        };
        let zero = key.iter().position(|&b| b == 0).ok_or_else(damaged)?;
        let provision = std::str::from_utf8(&key[1..zero])
            .ok()
            .and_then(|s| Slug::parse(s).ok())
            .ok_or_else(damaged)?;
        let time = index::time_from(&key[zero + 1..]).ok_or_else(damaged)?;
        let seq = index::seq_from(&key).ok_or_else(damaged)?;
        if seq > ledger.head().seq {
            return Err(Error::Integrity(format!(
                "a snapshot of `{provision}` names record {seq}, past the head"
            )));
        }
        let builder: Builder = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Integrity(format!("a snapshot of `{provision}` is damaged: {e}"))
        })?;
        stored
            .entry(provision)
            .or_default()
            .entry(seq)
            .or_default()
            .insert(time, builder);
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
            for (known_seq, snapshots) in by_seq {
                let mut projection = Projection::default();
                let mut pending = snapshots.into_iter().peekable();
                let mut check = |projection: &Projection,
                                 upto: Option<&Instant>|
                 -> Result<usize> {
                    let mut n = 0;
                    while let Some((time, builder)) =
                        pending.next_if(|(time, _)| upto.is_none_or(|t| time < t))
                    {
                        if projection.builder(&provision) != Some(&builder) {
                            return Err(Error::Integrity(format!(
                            "the snapshot of `{provision}` at {} (record {known_seq}) disagrees with a replay of the log",
                            crate::time::format(&time)
                        )));
                        }
                        n += 1;
                    }
                    Ok(n)
                };
                for (seq, removed_by, event) in &history {
                    let counts = *seq <= known_seq && removed_by.is_none_or(|by| by > known_seq);
                    if counts {
                        checked += check(&projection, Some(&event.occurred_at))?;
                        projection.apply_for(&provision, event);
                    }
                }
                checked += check(&projection, None)?;
            }
            Ok(())
        },
    )?;
    Ok(checked)
}
