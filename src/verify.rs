//! Verification: re-hash the chain and check every index entry against a replay.
//!
//! The first problem found is reported as [`Error::Integrity`] naming the record:
//! a hash that does not match, a gap or reordering in `seq`, a broken `prev_hash`
//! link, a record not in canonical form, record time going back, a journal that
//! disagrees with sled. What sled derives from the log (an index entry missing,
//! wrong or left over; a snapshot that disagrees with a replay) is
//! [`Error::SledDamaged`]: the journal rebuilds it, and a command that only reads
//! runs again on the rebuilt sled.

use std::collections::{HashMap, HashSet};

use crate::chain::{Record, GENESIS_HASH};
use crate::error::{Error, Result};
use crate::event::{Body, Kind, Slug};
use crate::index::{self, Entry};
use crate::store::{Head, Ledger};

/// A stored record read back, decoded and checked on its own: what the checks along
/// the log need of it (its stored bytes, for the journal's copy).
struct Decoded {
    seq: u64,
    bytes: Vec<u8>,
    recorded_at: crate::time::Instant,
    prev_hash: String,
    hash: String,
    event: std::sync::Arc<crate::event::Event>,
}

/// Decodes the record stored at `seq` and checks it on its own: it says it is `seq`,
/// it is in canonical form and matches its hash. The decoded object is dropped here,
/// on the reading thread (freeing it was a seventh of the checking thread's time).
fn decode_checked(seq: u64, bytes: Vec<u8>) -> Result<Decoded> {
    let record = Record::decode(&bytes)
        .map_err(|e| Error::Integrity(format!("record {seq} is damaged: {e}")))?;
    if record.seq != seq {
        return Err(Error::Integrity(format!(
            "record stored at seq {seq} says it is seq {}: records were reordered",
            record.seq
        )));
    }
    record.check_stored(&bytes).map_err(Error::Integrity)?;
    let Record {
        recorded_at,
        prev_hash,
        hash,
        event,
        ..
    } = record;
    Ok(Decoded {
        seq,
        bytes,
        recorded_at,
        prev_hash,
        hash,
        event,
    })
}

/// What a successful verification checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub records: u64,
    pub index_entries: u64,
    pub snapshots: usize,
    pub head: Head,
}

/// Checks the whole ledger; with `claimed_head`, also that it still holds that record.
pub fn verify(ledger: &Ledger, claimed_head: Option<(u64, &str)>) -> Result<Report> {
    verify_with_progress(ledger, claimed_head, &mut |_| {})
}

/// [`verify`], calling `on_record` with each record's seq as it is checked.
pub fn verify_with_progress(
    ledger: &Ledger,
    claimed_head: Option<(u64, &str)>,
    on_record: &mut dyn FnMut(u64),
) -> Result<Report> {
    // The snapshots are checked on their own thread beside the log; a problem in the
    // log is reported first (a damaged record also spoils the snapshots folded from it).
    std::thread::scope(|scope| {
        let snapshots = scope.spawn(|| crate::snapshot::verify(ledger));
        let checked = verify_log(ledger, claimed_head, on_record);
        let snapshots = snapshots
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let index_entries = checked?;
        let head = ledger.head().clone();
        Ok(Report {
            records: head.seq,
            index_entries,
            snapshots: snapshots?,
            head,
        })
    })
}

/// Checks the log, the journal and the indexes; the number of index entries stored.
fn verify_log(
    ledger: &Ledger,
    claimed_head: Option<(u64, &str)>,
    on_record: &mut dyn FnMut(u64),
) -> Result<u64> {
    let head = ledger.head().clone();
    let mut prev_hash = GENESIS_HASH.to_string();
    let mut prev_recorded = None;
    let mut expected_seq = 1;
    let mut ids: HashMap<uuid::Uuid, u64> = HashMap::new();
    let mut registered: HashSet<(Kind, Slug)> = HashSet::new();
    // Drafts (provision, proposal) and held meetings (meeting, ""): only the first writes its key.
    let mut unique: HashSet<(Slug, String)> = HashSet::new();
    let mut expected_entries = 0u64;
    let mut maxima = index::RunningMaxima::default();
    // Each history as the log says it should be: entity prefix → (name, digest).
    let mut histories: HashMap<Vec<u8>, (String, Digest)> = HashMap::new();
    // The journal is read beside sled's log, record by record (one pass over each).
    let mut journaled = match ledger.journal() {
        Some(journal) => Some(journal.records_from(0)?),
        None => None,
    };
    // Two threads: one reads the records and checks each on its own (decoded, in
    // canonical form, its hash), this one checks what runs along the log (seq, the
    // chain, record time, index entries, the journal).
    std::thread::scope(|scope| -> Result<()> {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<Result<Decoded>>>(8);
        scope.spawn(move || {
            let mut batch = Vec::with_capacity(256);
            for item in ledger.raw_records(1) {
                let decoded = item.and_then(|(seq, bytes)| decode_checked(seq, bytes));
                let failed = decoded.is_err();
                batch.push(decoded);
                // A closed channel: the checks along the log stopped at an error.
                let full = failed || batch.len() == 256;
                if full && (sender.send(std::mem::take(&mut batch)).is_err() || failed) {
                    return;
                }
            }
            let _ = sender.send(batch);
        });
        for decoded in receiver.into_iter().flatten() {
            let record = decoded?;
            let (seq, bytes) = (record.seq, &record.bytes);
            if seq != expected_seq {
                return Err(Error::Integrity(format!(
                    "record {expected_seq} is missing: the log jumps from {} to {seq}",
                    expected_seq - 1
                )));
            }
            if record.prev_hash != prev_hash {
                return Err(Error::Integrity(format!(
                "record {seq}: `prev_hash` is not the hash of record {}: a record before it was changed, removed or reordered",
                seq - 1
            )));
            }
            if prev_recorded.is_some_and(|prev| record.recorded_at < prev) {
                return Err(Error::Integrity(format!(
                    "record {seq}: `recorded_at` goes back in time"
                )));
            }
            // The index entries this record must have.
            let event = &record.event;
            let firsts = index::Firsts {
                registration: event
                    .registers()
                    .is_some_and(|(k, s)| registered.insert((k, s.clone()))),
                text_or_held: match &event.body {
                    Body::ProvisionDrafted {
                        provision,
                        proposal,
                        ..
                    } => unique.insert((provision.clone(), proposal.as_str().to_string())),
                    Body::MeetingHeld { meeting, .. } => {
                        unique.insert((meeting.clone(), String::new()))
                    }
                    _ => false,
                },
            };
            let target =
                match event.refers_to().and_then(|t| ids.get(&t)) {
                    Some(&target_seq) => Some(ledger.record(target_seq)?.ok_or_else(|| {
                        Error::Integrity(format!("record {target_seq} is missing"))
                    })?),
                    None => None,
                };
            let entries = index::entries(event, firsts, target.as_ref().map(|t| &*t.event));
            // Late entries are not stored (they are read off the postings); the running
            // maxima give the latest valid times (`X`) checked below.
            maxima.late_entries(&entries, seq, None)?;
            for entry in entries {
                expected_entries += 1;
                if let Entry::Touch(kind, slug, time) = &entry {
                    histories
                        .entry(index::postings_prefix(*kind, slug))
                        .or_insert_with(|| (format!("{kind} `{slug}`"), Digest::default()))
                        .1
                        .add(time, seq);
                    continue;
                }
                let key = entry.key();
                let stored = ledger.raw_get(&key)?;
                let matches = |value: Vec<u8>| stored.as_deref() == Some(value.as_slice());
                if !matches(entry.value(seq)) && !entry.legacy_value(seq).is_some_and(matches) {
                    return Err(Error::SledDamaged(format!(
                        "index entry {} of record {seq} is {}",
                        describe(&entry),
                        if stored.is_some() { "wrong" } else { "missing" }
                    )));
                }
            }
            if let Some(journaled) = journaled.as_mut() {
                // sled's record was checked (its hash, its link): a journal that
                // disagrees is damaged, and noted so, so that writes stop.
                let found = match journaled.next().transpose() {
                    Ok(Some((journal_seq, journal_bytes))) if journal_seq == seq && journal_bytes == *bytes => None,
                    Ok(Some((journal_seq, _))) if journal_seq != seq => Some(Error::JournalDamaged(format!(
                        "the journal holds record {journal_seq} where the ledger holds record {seq}"
                    ))),
                    Ok(Some(_)) => Some(Error::JournalDamaged(format!(
                        "the journal's record {seq} differs from sled's, which verifies: the journal's copy was changed"
                    ))),
                    Ok(None) => Some(Error::JournalDamaged(format!(
                        "the journal ends before record {seq}, which the ledger holds"
                    ))),
                    Err(err) => Some(err),
                };
                if let Some(err) = found {
                    // In a folder that takes no files, writes fail anyway.
                    let _ = ledger.note_journal_damage(Some(&err.to_string()));
                    return Err(match err {
                        // What follows, as the refused writes and reads say it.
                        Error::JournalDamaged(found) => Error::JournalDamaged(format!(
                            "{found}; the ledger takes no writes until a `verify` passes"
                        )),
                        other => other,
                    });
                }
            }
            ids.insert(event.id, seq);
            on_record(seq);
            prev_hash = record.hash.clone();
            prev_recorded = Some(record.recorded_at);
            expected_seq += 1;
        }
        Ok(())
    })?;
    if expected_seq - 1 != head.seq {
        return Err(Error::Integrity(format!(
            "the head marker says seq {} but the log ends at {}: records were removed",
            head.seq,
            expected_seq - 1
        )));
    }
    if prev_hash != head.hash {
        return Err(Error::Integrity(format!(
            "the head marker's hash does not match record {}",
            head.seq
        )));
    }
    if ledger.raw(head.seq + 1)?.is_some() {
        return Err(Error::Integrity(format!(
            "the log holds records past the committed head {}",
            head.seq
        )));
    }
    for (key, value) in maxima.changed_after(0) {
        expected_entries += 1;
        if ledger.raw_get(&key)?.as_deref() != Some(value.as_slice()) {
            return Err(Error::SledDamaged(format!(
                "index entry `{}` (latest valid time of a provision) is missing or wrong",
                String::from_utf8_lossy(&key[1..])
            )));
        }
    }
    let mut stored_entries = 0u64;
    for item in ledger.index_entries() {
        let (key, value) = item?;
        stored_entries += 1;
        if index::entry_seq(&value).is_none_or(|seq| seq > head.seq) {
            return Err(Error::SledDamaged(format!(
                "an index entry (table `{}`, key {}) names no committed record",
                char::from(key[0]),
                key[1..]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            )));
        }
    }
    let mut stored_histories: HashMap<Vec<u8>, Digest> = HashMap::new();
    for item in ledger.all_postings() {
        let (prefix, postings) = item?;
        let digest = stored_histories.entry(prefix.clone()).or_default();
        for (time, seq) in postings {
            if seq > head.seq {
                return Err(Error::SledDamaged(format!(
                    "the history of {} names record {seq}, past the committed head",
                    index::postings_entity(&prefix)
                )));
            }
            stored_entries += 1;
            digest.add(&time, seq);
        }
    }
    for (prefix, (name, digest)) in &histories {
        if stored_histories.remove(prefix).as_ref() != Some(digest) {
            return Err(Error::SledDamaged(format!(
                "the history of {name} in the index disagrees with the log"
            )));
        }
    }
    if let Some(prefix) = stored_histories.keys().next() {
        return Err(Error::SledDamaged(format!(
            "the index holds a history of {} that no record accounts for",
            index::postings_entity(prefix)
        )));
    }
    if stored_entries != expected_entries {
        return Err(Error::SledDamaged(format!(
            "the indexes hold {} but the log accounts for {expected_entries}",
            crate::error::count(stored_entries, "entry", "entries")
        )));
    }
    if let Some((seq, hash)) = claimed_head {
        match ledger.record(seq)? {
            Some(record) if record.hash == hash => {}
            Some(record) => {
                return Err(Error::Integrity(format!(
                    "record {seq} has hash {}, not {hash}: the published history was rewritten",
                    record.hash
                )))
            }
            None => {
                return Err(Error::Integrity(format!(
                    "the ledger ends at seq {} and no longer holds record {seq}: the published history was truncated",
                    head.seq
                )))
            }
        }
    }
    if let Some((seq, _)) = journaled.and_then(|mut j| j.next()).transpose()? {
        return Err(Error::Integrity(format!(
            "the journal holds record {seq}, past the ledger's head {}",
            head.seq
        )));
    }
    // The journal holds the log whole: writes may go on (a folder that takes no
    // changes takes no writes either).
    let _ = ledger.note_journal_damage(None);
    Ok(stored_entries)
}

/// The count and an order-sensitive hash of a history's entries (valid time, seq).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Digest {
    count: u64,
    hash: u64,
}

impl Digest {
    fn add(&mut self, time: &crate::time::Instant, seq: u64) {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (self.hash, index::time_bytes(time), seq).hash(&mut hasher);
        self.hash = hasher.finish();
        self.count += 1;
    }
}

fn describe(entry: &Entry) -> String {
    match entry {
        Entry::Id(id) => format!("id {id}"),
        Entry::Registered(kind, slug, _) => format!("registration of {kind} `{slug}`"),
        Entry::Draft(provision, proposal) => format!("text of `{provision}` in `{proposal}`"),
        Entry::Held(meeting) => format!("meeting `{meeting}` held"),
        Entry::Removed(id) => format!("removal of {id}"),
        Entry::Touch(kind, slug, _) => format!("history of {kind} `{slug}`"),
        Entry::Late(slug, _) => format!("late arrival in the history of `{slug}`"),
    }
}
