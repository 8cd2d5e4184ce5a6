//! Indexes derived from the log, and the key layout of the one sled tree.
//!
//! Everything lives in ONE sled tree so that a chunk of log records and their index
//! entries go in with one atomic `apply_batch` (sled batches are per tree; a
//! multi-tree transaction is 5–10× slower). Keys start with a one-byte table tag:
//!
//! | key | value | what |
//! |---|---|---|
//! | `B` seq(u64 BE) | record block | the log: the records from seq on, packed (see [`crate::block`]) |
//! | `M` name | … | meta: `Mhead` = seq + hash of the committed head, `Mpending` = a write in progress, `Mlayout` = this layout's version |
//! | `I` uuid(16) | seq | event id → seq |
//! | `E` kind slug | seq | first registration of an entity |
//! | `D` provision 0 proposal | seq | a provision has a text in a proposal |
//! | `H` meeting | seq | the meeting was held |
//! | `R` uuid(16) | seq | the event was retracted or superseded by the record at seq |
//! | `P` kind slug 0 seq | postings | the entity's history: (valid time, seq) entries from seq on, in seq order (see [`crate::block`]) |
//! | `X` provision | time seq | the latest valid time in the provision's history (written at commit) |
//! | `S` provision 0 time seq | state | a projection snapshot (see `snapshot.rs`) |
//!
//! A history entry ([`Entry::Touch`]) says the record belongs to the entity's history
//! from that valid time on. A record joins a history at its own
//! `occurred_at` and, when it retracts or supersedes an event of that history, also at
//! the target's `occurred_at` (where its effect begins).
//!
//! A history entry is *late* ([`Entry::Late`]) when it joins a provision's history at
//! or before the latest valid time the provision had: late entries are not stored,
//! they are read off the postings in seq order ([`late_in`]).
//!
//! Every index entry is a pure function of the log read in seq order: of a record,
//! (for a correction) its target, and (for `X`) the records before it. An entry
//! whose seq is past the committed head is not part of the ledger: readers never see
//! it and the next open deletes it. `verify` rebuilds the entries from the log and
//! compares.

use uuid::Uuid;

use crate::event::{Body, Event, Kind, Slug};
use crate::time::Instant;

/// The tag of record blocks (`B` first seq → block).
pub const BLOCK: u8 = b'B';
/// The tag of the id index (`I` uuid → seq).
pub const ID: u8 = b'I';
/// The tag of history posting blocks.
pub const POSTINGS: u8 = b'P';
pub const META_HEAD: &[u8] = b"Mhead";
pub const META_PENDING: &[u8] = b"Mpending";
/// The version of the key layout (this one: [`LAYOUT`]); absent in the layout of one key per record.
pub const META_LAYOUT: &[u8] = b"Mlayout";
/// The key layout written today: packed record blocks and posting blocks, the
/// registrations of parties and actors in their history (so that a lost `E` entry is
/// found beside it, see `Ledger::registration`).
pub const LAYOUT: &[u8] = b"3";
/// The layout before: parties and actors had no history. Opening rebuilds it.
pub const LAYOUT_2: &[u8] = b"2";
/// Tags of the index entries stored one per key (history entries are in posting blocks).
pub const INDEX_TAGS: &[u8] = b"IEDHRX";
/// The tag of projection snapshots (`S` provision 0 valid time seq → the fold, packed).
pub const SNAPSHOT: u8 = b'S';
/// The tag of snapshot points (`s` and the rest of an `S` key → nothing): the keys of
/// the stored snapshots alone, written and removed with them, so that a query finds
/// the snapshot it may use without reading the values (tens of KiB each) of those it
/// may not.
pub const SNAPSHOT_POINT: u8 = b's';

/// The key of the record block that starts at `first_seq`.
pub fn block_key(first_seq: u64) -> [u8; 9] {
    let mut key = [BLOCK; 9];
    key[1..].copy_from_slice(&first_seq.to_be_bytes());
    key
}

/// The first seq of a record block's key.
pub fn block_seq(key: &[u8]) -> Option<u64> {
    (key.len() == 9 && key[0] == BLOCK).then(|| u64::from_be_bytes(key[1..].try_into().unwrap()))
}

/// The key of a log record in the layout of one key per record (before record blocks).
pub fn legacy_log_key(seq: u64) -> [u8; 9] {
    let mut key = [b'L'; 9];
    key[1..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn kind_byte(kind: Kind) -> u8 {
    b'0' + Kind::ALL.iter().position(|k| *k == kind).unwrap() as u8
}

/// One index entry of a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Id(Uuid),
    /// The entity's first registration, by the event with this id.
    Registered(Kind, Slug, Uuid),
    Draft(Slug, Slug),
    Held(Slug),
    Removed(Uuid),
    /// The record belongs to the entity's history from this valid time on.
    Touch(Kind, Slug, Instant),
    /// The record joined a provision's history at or before the latest valid time it had.
    Late(Slug, Instant),
}

impl Entry {
    /// The key of this entry (empty for history entries: they are in posting blocks).
    pub fn key(&self) -> Vec<u8> {
        let mut key = Vec::with_capacity(48);
        match self {
            Entry::Id(id) => {
                key.push(b'I');
                key.extend_from_slice(id.as_bytes());
            }
            Entry::Registered(kind, slug, _) => return registered_key(*kind, slug),
            Entry::Draft(provision, proposal) => return draft_key(provision, proposal),
            Entry::Held(meeting) => {
                key.push(b'H');
                key.extend_from_slice(meeting.as_str().as_bytes());
            }
            Entry::Removed(id) => {
                key.push(b'R');
                key.extend_from_slice(id.as_bytes());
            }
            // In posting blocks and read off them: no key of their own.
            Entry::Touch(..) | Entry::Late(..) => return Vec::new(),
        }
        key
    }

    /// The value of this entry for the record at `seq`: the seq (8 bytes, big-endian),
    /// after the registering event's id (16 bytes) for `Registered`, so that a write
    /// checking whether a registration was retracted reads no record. The seq always
    /// ends the value ([`entry_seq`]); a registration written before the id was
    /// stored holds the seq alone ([`Entry::legacy_value`]).
    pub fn value(&self, seq: u64) -> Vec<u8> {
        match self {
            Entry::Registered(_, _, id) => {
                let mut value = Vec::with_capacity(24);
                value.extend_from_slice(id.as_bytes());
                value.extend_from_slice(&seq.to_be_bytes());
                value
            }
            _ => seq.to_be_bytes().to_vec(),
        }
    }

    /// The value an entry had in ledgers written before [`Entry::value`] stored a
    /// registration's id, if it differs: still read, and still valid.
    pub fn legacy_value(&self, seq: u64) -> Option<Vec<u8>> {
        matches!(self, Entry::Registered(..)).then(|| seq.to_be_bytes().to_vec())
    }
}

/// An instant as 12 bytes that sort as the instants do.
pub fn time_bytes(t: &Instant) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..8].copy_from_slice(&((t.timestamp() as u64) ^ (1 << 63)).to_be_bytes());
    out[8..].copy_from_slice(&t.timestamp_subsec_nanos().to_be_bytes());
    out
}

/// The instant of [`time_bytes`].
pub fn time_from(bytes: &[u8]) -> Option<Instant> {
    let secs = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?) ^ (1 << 63);
    let nanos = u32::from_be_bytes(bytes.get(8..12)?.try_into().ok()?);
    chrono::DateTime::from_timestamp(secs as i64, nanos)
}

/// The tag of the latest valid times (`X` provision → time seq).
pub const LATEST: u8 = b'X';

pub fn max_key(provision: &Slug) -> Vec<u8> {
    let mut key = vec![LATEST];
    key.extend_from_slice(provision.as_str().as_bytes());
    key
}

/// The value of an `X` entry: the latest valid time and the seq that set it.
pub fn max_value(time: &Instant, seq: u64) -> Vec<u8> {
    let mut value = time_bytes(time).to_vec();
    value.extend_from_slice(&seq.to_be_bytes());
    value
}

pub fn snapshot_prefix(provision: &Slug) -> Vec<u8> {
    let mut key = vec![SNAPSHOT];
    key.extend_from_slice(provision.as_str().as_bytes());
    key.push(0);
    key
}

pub fn snapshot_key(provision: &Slug, time: &Instant, seq: u64) -> Vec<u8> {
    let mut key = snapshot_prefix(provision);
    key.extend_from_slice(&time_bytes(time));
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The snapshot point key of a snapshot key, or the snapshot key of a point key
/// (they differ in their tag only).
pub fn snapshot_twin(key: &[u8]) -> Vec<u8> {
    let mut twin = key.to_vec();
    if let Some(tag) = twin.first_mut() {
        *tag = match *tag {
            SNAPSHOT => SNAPSHOT_POINT,
            _ => SNAPSHOT,
        };
    }
    twin
}

/// The running latest valid time of each provision's history, in seq order; it
/// decides which history entries are late. Provisions not seen yet are looked up in
/// the ledger (`X`), when there is one.
#[derive(Default)]
pub struct RunningMaxima {
    /// Provision → latest valid time and the seq that set it (0: as loaded, unchanged).
    latest: std::collections::HashMap<Slug, Option<(Instant, u64)>>,
}

impl RunningMaxima {
    fn latest(
        &mut self,
        provision: &Slug,
        ledger: Option<&crate::store::Ledger>,
    ) -> crate::error::Result<Option<Instant>> {
        if let Some(known) = self.latest.get(provision) {
            return Ok(known.map(|(t, _)| t));
        }
        let loaded = match ledger {
            Some(ledger) => ledger.latest(provision)?,
            None => None,
        };
        self.latest
            .insert(provision.clone(), loaded.map(|t| (t, 0)));
        Ok(loaded)
    }

    /// The `Late` entries of a record's touches, updating the maxima.
    pub fn late_entries(
        &mut self,
        entries: &[Entry],
        seq: u64,
        ledger: Option<&crate::store::Ledger>,
    ) -> crate::error::Result<Vec<Entry>> {
        let mut late = Vec::new();
        for entry in entries {
            if let Entry::Touch(Kind::Provision, slug, time) = entry {
                match self.latest(slug, ledger)? {
                    // One late entry per provision and record (its key), at the earliest time.
                    Some(latest) if *time <= latest => match late
                        .iter_mut()
                        .find(|e| matches!(e, Entry::Late(s, _) if s == slug))
                    {
                        Some(Entry::Late(_, earliest)) => *earliest = (*earliest).min(*time),
                        _ => late.push(Entry::Late(slug.clone(), *time)),
                    },
                    _ => {
                        self.latest.insert(slug.clone(), Some((*time, seq)));
                    }
                }
            }
        }
        Ok(late)
    }

    /// The `X` entries (key, value) that changed after `after_seq`.
    pub fn changed_after(&self, after_seq: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.latest
            .iter()
            .filter_map(|(slug, v)| match v {
                Some((time, seq)) if *seq > after_seq => {
                    Some((max_key(slug), max_value(time, *seq)))
                }
                _ => None,
            })
            .collect()
    }
}

pub fn id_key(id: &Uuid) -> Vec<u8> {
    Entry::Id(*id).key()
}

pub fn removed_key(id: &Uuid) -> Vec<u8> {
    Entry::Removed(*id).key()
}

pub fn held_key(meeting: &Slug) -> Vec<u8> {
    Entry::Held(meeting.clone()).key()
}

pub fn registered_key(kind: Kind, slug: &Slug) -> Vec<u8> {
    let mut key = registered_prefix(kind);
    key.extend_from_slice(slug.as_str().as_bytes());
    key
}

pub fn registered_prefix(kind: Kind) -> Vec<u8> {
    vec![b'E', kind_byte(kind)]
}

pub fn draft_key(provision: &Slug, proposal: &Slug) -> Vec<u8> {
    let mut key = vec![b'D'];
    key.extend_from_slice(provision.as_str().as_bytes());
    key.push(0);
    key.extend_from_slice(proposal.as_str().as_bytes());
    key
}

/// The prefix of an entity's posting blocks.
pub fn postings_prefix(kind: Kind, slug: &Slug) -> Vec<u8> {
    let mut key = vec![POSTINGS, kind_byte(kind)];
    key.extend_from_slice(slug.as_str().as_bytes());
    key.push(0);
    key
}

/// The entity a posting-block key (or its prefix) names, as a message names it:
/// "provision `x`"; its bytes escaped when they do not decode.
pub fn postings_entity(key: &[u8]) -> String {
    let decoded = key.get(2..).and_then(|rest| {
        let kind = Kind::ALL.get(usize::from(key[1].checked_sub(b'0')?))?;
        let end = rest.iter().position(|&b| b == 0)?;
        let slug = Slug::parse(std::str::from_utf8(&rest[..end]).ok()?).ok()?;
        Some(format!("{kind} `{slug}`"))
    });
    decoded.unwrap_or_else(|| format!("key `{}`", String::from_utf8_lossy(key).escape_debug()))
}

/// The key of an entity's posting block whose first entry is the record at `first_seq`.
pub fn postings_key(kind: Kind, slug: &Slug, first_seq: u64) -> Vec<u8> {
    let mut key = postings_prefix(kind, slug);
    key.extend_from_slice(&first_seq.to_be_bytes());
    key
}

/// The late entries of a history read in seq order (as its postings hold it, each
/// record's entries in the order [`entries`] gives them): (seq, the earliest valid
/// time at which the record joined the history at or before the latest valid time
/// it had). The same rule as [`RunningMaxima::late_entries`].
pub fn late_in(postings: &[(Instant, u64)]) -> Vec<(u64, Instant)> {
    let mut latest: Option<Instant> = None;
    let mut late: Vec<(u64, Instant)> = Vec::new();
    for &(time, seq) in postings {
        match latest {
            Some(max) if time <= max => match late.last_mut() {
                Some((s, earliest)) if *s == seq => *earliest = (*earliest).min(time),
                _ => late.push((seq, time)),
            },
            _ => latest = Some(time),
        }
    }
    late
}

/// Reads a seq stored as an index value or at the end of a touch key.
pub fn seq_from(bytes: &[u8]) -> Option<u64> {
    let tail: [u8; 8] = bytes.get(bytes.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(u64::from_be_bytes(tail))
}

/// The seq an index entry stored under its own key stands for (at the end of its value).
pub fn entry_seq(value: &[u8]) -> Option<u64> {
    seq_from(value)
}

/// The registering event's id in a registration's value, when it holds one (see
/// [`Entry::value`]).
pub fn registration_id(value: &[u8]) -> Option<Uuid> {
    match value.len() {
        24 => Uuid::from_slice(&value[..16]).ok(),
        _ => None,
    }
}

/// Which of an event's unique keys it is the first to write: `E` (the entity it
/// registers) and `D`/`H` (a provision's text in a proposal, a meeting held). A
/// correction that supersedes a registration, draft or held meeting restates it and
/// is not first: the keys keep naming the original record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Firsts {
    pub registration: bool,
    pub text_or_held: bool,
}

impl Firsts {
    /// Every unique key: for computing every key a record could have written.
    pub const ALL: Firsts = Firsts {
        registration: true,
        text_or_held: true,
    };
}

/// The index entries of an event (all but `Late`, see [`late_entries`]).
/// `first_registration` says whether the entity the event registers is new to the
/// ledger (a meeting may be scheduled many times, a provision drafted in many
/// proposals: only the first writes `E`). `target` is the event this one retracts or
/// supersedes: this one joins the target's histories at the target's valid time, so a
/// query of them sees the correction where its effect begins.
pub fn entries(event: &Event, firsts: Firsts, target: Option<&Event>) -> Vec<Entry> {
    let mut out = vec![Entry::Id(event.id)];
    if let (Some((kind, slug)), true) = (event.registers(), firsts.registration) {
        out.push(Entry::Registered(kind, slug.clone(), event.id));
    }
    // Parties and actors are touched by no event: their registrations are their
    // history, so that an `E` entry lost beside it is found as damage.
    if let Some((kind @ (Kind::Party | Kind::Actor), slug)) = event.registers() {
        out.push(Entry::Touch(kind, slug.clone(), event.occurred_at));
    }
    match &event.body {
        Body::ProvisionDrafted {
            provision,
            proposal,
            ..
        } if firsts.text_or_held => out.push(Entry::Draft(provision.clone(), proposal.clone())),
        Body::MeetingHeld { meeting, .. } if firsts.text_or_held => {
            out.push(Entry::Held(meeting.clone()))
        }
        _ => {}
    }
    if let Some(target) = event.removes() {
        out.push(Entry::Removed(target));
    }
    let own = event
        .touches()
        .into_iter()
        .map(|(k, s)| (k, s, event.occurred_at));
    let corrected: Vec<(Kind, &Slug, Instant)> = target
        .map(|t| {
            t.touches()
                .into_iter()
                .map(|(k, s)| (k, s, t.occurred_at))
                .collect()
        })
        .unwrap_or_default();
    // Each (entity, valid time) once; a meeting may list thousands: linear time.
    let mut seen = std::collections::HashSet::new();
    for (kind, slug, time) in own.chain(corrected) {
        if seen.insert((kind, slug, time)) {
            out.push(Entry::Touch(kind, slug.clone(), time));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_their_seq() {
        assert_eq!(block_seq(&block_key(42)), Some(42));
        assert_eq!(block_seq(&legacy_log_key(42)), None);
        let slug = Slug::parse("nato-membership").unwrap();
        let key = postings_key(Kind::Provision, &slug, 7);
        assert!(key.starts_with(&postings_prefix(Kind::Provision, &slug)));
        assert_eq!(seq_from(&key), Some(7));
        // A posting key names its entity; a damaged one is shown escaped, never a panic.
        assert_eq!(postings_entity(&key), "provision `nato-membership`");
        assert_eq!(
            postings_entity(&postings_prefix(Kind::Party, &slug)),
            "party `nato-membership`"
        );
        for junk in [&b""[..], b"P", b"P9x\0", b"P3no-end", b"P3\xff\0"] {
            assert!(postings_entity(junk).starts_with("key `"), "{junk:?}");
        }
        let id = Entry::Id(Uuid::from_u128(3));
        assert_eq!(entry_seq(&id.value(9)), Some(9));
        assert_eq!(id.legacy_value(9), None);
        let registered = Entry::Registered(Kind::Party, slug, Uuid::from_u128(5));
        assert_eq!(entry_seq(&registered.value(9)), Some(9));
        assert_eq!(
            registration_id(&registered.value(9)),
            Some(Uuid::from_u128(5))
        );
        let legacy = registered.legacy_value(9).unwrap();
        assert_eq!(
            (entry_seq(&legacy), registration_id(&legacy)),
            (Some(9), None)
        );
    }

    #[test]
    fn late_entries_read_off_postings_follow_the_running_maxima() {
        let t = |d: &str| crate::time::parse_occurred_at(d).unwrap();
        let slug = Slug::parse("x").unwrap();
        // Records 1..=5: days 3, 5, 4 (late), 5 (late: not after the latest), a
        // correction at day 6 and at its target's day 2 (late at day 2).
        let records: Vec<(u64, Vec<Instant>)> = vec![
            (1, vec![t("2025-01-03")]),
            (2, vec![t("2025-01-05")]),
            (3, vec![t("2025-01-04")]),
            (4, vec![t("2025-01-05")]),
            (5, vec![t("2025-01-06"), t("2025-01-02")]),
        ];
        let mut maxima = RunningMaxima::default();
        let mut expected = Vec::new();
        let mut postings = Vec::new();
        for (seq, times) in &records {
            let entries: Vec<Entry> = times
                .iter()
                .map(|time| Entry::Touch(Kind::Provision, slug.clone(), *time))
                .collect();
            for entry in maxima.late_entries(&entries, *seq, None).unwrap() {
                let Entry::Late(_, time) = entry else {
                    unreachable!()
                };
                expected.push((*seq, time));
            }
            postings.extend(times.iter().map(|time| (*time, *seq)));
        }
        assert_eq!(late_in(&postings), expected);
        assert_eq!(
            expected,
            [
                (3, t("2025-01-04")),
                (4, t("2025-01-05")),
                (5, t("2025-01-02"))
            ]
        );
    }

    #[test]
    fn time_bytes_sort_as_instants_and_round_trip() {
        let times = [
            "1900-01-01",
            "1969-12-31T23:59:59.5Z",
            "1970-01-01",
            "2025-11-23",
            "2025-11-23T00:00:00.000000001Z",
        ];
        let times: Vec<Instant> = times
            .iter()
            .map(|t| crate::time::parse_occurred_at(t).unwrap())
            .collect();
        for pair in times.windows(2) {
            assert!(time_bytes(&pair[0]) < time_bytes(&pair[1]));
        }
        for t in &times {
            assert_eq!(time_from(&time_bytes(t)), Some(*t));
        }
    }

    #[test]
    fn posting_prefixes_do_not_collide_between_slugs() {
        let a = postings_prefix(Kind::Provision, &Slug::parse("nato").unwrap());
        let b = postings_prefix(Kind::Provision, &Slug::parse("nato-membership").unwrap());
        assert!(!b.starts_with(&a));
    }
}
