//! Projection snapshots: a provision's fold stored at points of valid time, so a
//! query folds only the tail of its history.
//!
//! A snapshot `(provision, V, S)` holds the fold of the provision's events with
//! `occurred_at <= V`, as known at record `S` (everything recorded up to seq `S`).
//! It answers a query cut `(at, known_at)` when `V <= at`, `S` is at or before the
//! record-time cut, and nothing recorded after `S` (up to the cut) joined the
//! provision's history at or before `V`. Such an arrival is always a *late* entry
//! (`Z` in [`crate::index`]), so that check is a short range scan. A late arrival
//! therefore invalidates exactly the snapshots at or after its valid time, for
//! record-time cuts after it; earlier record-time cuts still use them.
//!
//! Snapshots are a cache derived from the log: they are written after the commit
//! that makes them possible, a crash before that loses nothing, and `verify` checks
//! every one against a full replay.

use std::collections::{BTreeMap, BTreeSet};

use chrono::DateTime;

use crate::chain::Record;
use crate::error::{Error, Result};
use crate::event::{Kind, Slug};
use crate::index;
use crate::projection::{Builder, Projection, ProvisionState};
use crate::query::{counted, Cut};
use crate::store::Ledger;
use crate::time::Instant;

/// History entries between two snapshots of a provision, by default.
pub const EVERY: usize = 256;

/// The latest instant, for "no valid-time limit".
const END_OF_TIME: Instant = DateTime::<chrono::Utc>::MAX_UTC;

/// The nearest snapshot usable at `cut`: (valid time, fold).
fn usable_snapshot(
    ledger: &Ledger,
    provision: &Slug,
    at: &Instant,
    known_seq: u64,
) -> Result<Option<(Instant, Builder)>> {
    for item in ledger.snapshots_upto(provision, at) {
        let (time, seq, bytes) = item?;
        if seq > known_seq {
            continue;
        }
        let invalidated = ledger
            .late_after(provision, seq)?
            .into_iter()
            .any(|(late_seq, late_time)| late_seq <= known_seq && late_time <= time);
        if invalidated {
            continue;
        }
        let builder: Builder = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Integrity(format!("a snapshot of `{provision}` is damaged: {e}"))
        })?;
        return Ok(Some((time, builder)));
    }
    Ok(None)
}

/// A provision's state at `cut`: the nearest usable snapshot plus a fold of the tail.
/// `None` when the provision has no counted draft at the cut.
pub fn provision_state(
    ledger: &Ledger,
    provision: &Slug,
    cut: &Cut,
) -> Result<Option<ProvisionState>> {
    let known_seq = ledger.seq_known_at(&cut.known_at)?;
    let base = usable_snapshot(ledger, provision, &cut.at, known_seq)?;
    let after = base.as_ref().map(|(time, _)| *time);
    let tail = ledger.records_at(&ledger.touching_between(
        Kind::Provision,
        provision,
        after.as_ref(),
        &cut.at,
    )?)?;
    let mut projection = match base {
        Some((_, builder)) => Projection::from_snapshot(provision.clone(), builder),
        None => Projection::default(),
    };
    // A correction joins the tail at its target's time; if its own time is at or
    // before the snapshot, the snapshot already holds its own effect.
    for record in counted(&tail, cut) {
        if after.is_none_or(|after| record.event.occurred_at > after) {
            projection.apply(&record.event);
        }
    }
    Ok(projection.state(provision))
}

/// Folds `records` (a provision's history) as known at `cut.known_at` and returns the
/// fold at each point where [`EVERY`] more events have applied and the next event is
/// later: the snapshots `(valid time, fold)` to store.
fn fold_points(
    provision: &Slug,
    base: Option<(Instant, Builder)>,
    records: &[Record],
    known_at: Instant,
    every: usize,
) -> Vec<(Instant, Builder)> {
    let after = base.as_ref().map(|(time, _)| *time);
    let mut projection = match base {
        Some((_, builder)) => Projection::from_snapshot(provision.clone(), builder),
        None => Projection::default(),
    };
    let mut events = counted(
        records,
        &Cut {
            at: END_OF_TIME,
            known_at,
        },
    );
    events.retain(|r| after.is_none_or(|after| r.event.occurred_at > after));
    let mut points = Vec::new();
    let mut since = 0;
    for (i, record) in events.iter().enumerate() {
        projection.apply(&record.event);
        since += 1;
        let next_is_later = events
            .get(i + 1)
            .is_some_and(|n| n.event.occurred_at > record.event.occurred_at);
        if since >= every && next_is_later {
            if let Some(builder) = projection.builder(provision) {
                points.push((record.event.occurred_at, builder.clone()));
            }
            since = 0;
        }
    }
    points
}

/// Adds snapshots for the provisions an append touched, as known at the head: from
/// the latest snapshot still valid at the head, one every [`EVERY`] events of the
/// tail. Provisions with a short tail are left alone, reading only index keys.
pub fn refresh(ledger: &Ledger, provisions: &BTreeSet<Slug>) -> Result<usize> {
    let head = ledger.head().clone();
    let Some(known_at) = head.recorded_at else {
        return Ok(0);
    };
    let mut written = Vec::new();
    for provision in provisions {
        let base = usable_snapshot(ledger, provision, &END_OF_TIME, head.seq)?;
        let after = base.as_ref().map(|(time, _)| *time);
        let tail =
            ledger.touching_between(Kind::Provision, provision, after.as_ref(), &END_OF_TIME)?;
        if tail.len() < ledger.snapshot_every() {
            continue;
        }
        let records = ledger.records_at(&tail)?;
        for (time, builder) in
            fold_points(provision, base, &records, known_at, ledger.snapshot_every())
        {
            let bytes = serde_json::to_vec(&builder).expect("a fold serializes");
            written.push((index::snapshot_key(provision, &time, head.seq), bytes));
        }
    }
    let n = written.len();
    ledger.put_snapshots(written)?;
    Ok(n)
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
    for (provision, by_seq) in stored {
        let records = ledger.records_at(&ledger.touching(Kind::Provision, &provision)?)?;
        for (seq, snapshots) in by_seq {
            let known_at = ledger
                .record(seq)?
                .ok_or_else(|| Error::Integrity(format!("record {seq} is missing")))?
                .recorded_at;
            let known: Vec<Record> = records.iter().filter(|r| r.seq <= seq).cloned().collect();
            let events = counted(
                &known,
                &Cut {
                    at: END_OF_TIME,
                    known_at,
                },
            );
            let mut projection = Projection::default();
            let mut next = 0;
            for (time, builder) in &snapshots {
                while next < events.len() && events[next].event.occurred_at <= *time {
                    projection.apply(&events[next].event);
                    next += 1;
                }
                if projection.builder(&provision) != Some(builder) {
                    return Err(Error::Integrity(format!(
                        "the snapshot of `{provision}` at {} (record {seq}) disagrees with a replay of the log",
                        crate::time::format(time)
                    )));
                }
                checked += 1;
            }
        }
    }
    Ok(checked)
}
