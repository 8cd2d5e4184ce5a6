//! Indexes derived from the log, and the key layout of the one sled tree.
//!
//! Everything lives in ONE sled tree so that a chunk of log records and their index
//! entries go in with one atomic `apply_batch` (sled batches are per tree; a
//! multi-tree transaction is 5–10× slower). Keys start with a one-byte table tag:
//!
//! | key | value | what |
//! |---|---|---|
//! | `L` seq(u64 BE) | canonical record | the log |
//! | `M` name | … | meta: `Mhead` = seq + hash of the committed head, `Mpending` = a write in progress |
//! | `I` uuid(16) | seq | event id → seq |
//! | `E` kind slug | seq | first registration of an entity |
//! | `D` provision 0 proposal | seq | a provision has a text in a proposal |
//! | `H` meeting | seq | the meeting was held |
//! | `R` uuid(16) | seq | the event was retracted or superseded by the record at seq |
//! | `T` kind slug 0 seq | – | the record at seq belongs to the entity's history |
//!
//! Every index entry is a pure function of a record and (for a retraction or a
//! superseding event) the entities its target touches. An entry whose seq is past
//! the committed head is not part of the ledger: readers never see it and the next
//! open deletes it. `verify` rebuilds the entries from the log and compares.

use uuid::Uuid;

use crate::event::{Body, Event, Kind, Slug};

pub const LOG: u8 = b'L';
pub const META_HEAD: &[u8] = b"Mhead";
pub const META_PENDING: &[u8] = b"Mpending";
pub const INDEX_TAGS: &[u8] = b"IEDHRT";

/// The key of a log record.
pub fn log_key(seq: u64) -> [u8; 9] {
    let mut key = [LOG; 9];
    key[1..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// The seq of a log key.
pub fn log_seq(key: &[u8]) -> Option<u64> {
    (key.len() == 9 && key[0] == LOG).then(|| u64::from_be_bytes(key[1..].try_into().unwrap()))
}

fn kind_byte(kind: Kind) -> u8 {
    b'0' + Kind::ALL.iter().position(|k| *k == kind).unwrap() as u8
}

/// One index entry of a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Id(Uuid),
    Registered(Kind, Slug),
    Draft(Slug, Slug),
    Held(Slug),
    Removed(Uuid),
    Touch(Kind, Slug),
}

impl Entry {
    /// The key of this entry for the record at `seq`.
    pub fn key(&self, seq: u64) -> Vec<u8> {
        let mut key = Vec::with_capacity(48);
        match self {
            Entry::Id(id) => {
                key.push(b'I');
                key.extend_from_slice(id.as_bytes());
            }
            Entry::Registered(kind, slug) => return registered_key(*kind, slug),
            Entry::Draft(provision, proposal) => return draft_key(provision, proposal),
            Entry::Held(meeting) => {
                key.push(b'H');
                key.extend_from_slice(meeting.as_str().as_bytes());
            }
            Entry::Removed(id) => {
                key.push(b'R');
                key.extend_from_slice(id.as_bytes());
            }
            Entry::Touch(kind, slug) => {
                key.extend_from_slice(&touch_prefix(*kind, slug));
                key.extend_from_slice(&seq.to_be_bytes());
            }
        }
        key
    }

    /// The value of this entry for the record at `seq`.
    pub fn value(&self, seq: u64) -> Vec<u8> {
        match self {
            Entry::Touch(..) => Vec::new(),
            _ => seq.to_be_bytes().to_vec(),
        }
    }
}

pub fn id_key(id: &Uuid) -> Vec<u8> {
    Entry::Id(*id).key(0)
}

pub fn removed_key(id: &Uuid) -> Vec<u8> {
    Entry::Removed(*id).key(0)
}

pub fn held_key(meeting: &Slug) -> Vec<u8> {
    Entry::Held(meeting.clone()).key(0)
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

pub fn touch_prefix(kind: Kind, slug: &Slug) -> Vec<u8> {
    let mut key = vec![b'T', kind_byte(kind)];
    key.extend_from_slice(slug.as_str().as_bytes());
    key.push(0);
    key
}

/// Reads a seq stored as an index value or at the end of a touch key.
pub fn seq_from(bytes: &[u8]) -> Option<u64> {
    let tail: [u8; 8] = bytes.get(bytes.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(u64::from_be_bytes(tail))
}

/// The seq an index entry stands for: in the key for touches, in the value for the rest.
pub fn entry_seq(key: &[u8], value: &[u8]) -> Option<u64> {
    if key.first() == Some(&b'T') {
        seq_from(key)
    } else {
        seq_from(value)
    }
}

/// The index entries of an event. `first_registration` says whether the entity the
/// event registers is new to the ledger (a meeting may be scheduled many times, a
/// provision drafted in many proposals: only the first writes `E`). `target_touches`
/// are the entities of the event this one retracts or supersedes: it joins their
/// histories, so a query of them sees the correction.
pub fn entries(
    event: &Event,
    first_registration: bool,
    target_touches: &[(Kind, Slug)],
) -> Vec<Entry> {
    let mut out = vec![Entry::Id(event.id)];
    if let (Some((kind, slug)), true) = (event.registers(), first_registration) {
        out.push(Entry::Registered(kind, slug.clone()));
    }
    match &event.body {
        Body::ProvisionDrafted {
            provision,
            proposal,
            ..
        } => out.push(Entry::Draft(provision.clone(), proposal.clone())),
        Body::MeetingHeld { meeting, .. } => out.push(Entry::Held(meeting.clone())),
        _ => {}
    }
    if let Some(target) = event.removes() {
        out.push(Entry::Removed(target));
    }
    let mut touches: Vec<(Kind, Slug)> = event
        .touches()
        .into_iter()
        .map(|(k, s)| (k, s.clone()))
        .collect();
    for touch in target_touches {
        if !touches.contains(touch) {
            touches.push(touch.clone());
        }
    }
    out.extend(
        touches
            .into_iter()
            .map(|(kind, slug)| Entry::Touch(kind, slug)),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_their_seq() {
        assert_eq!(log_seq(&log_key(42)), Some(42));
        let slug = Slug::parse("nato-membership").unwrap();
        let touch = Entry::Touch(Kind::Provision, slug.clone());
        let key = touch.key(7);
        assert!(key.starts_with(&touch_prefix(Kind::Provision, &slug)));
        assert_eq!(entry_seq(&key, &touch.value(7)), Some(7));
        let id = Entry::Id(Uuid::from_u128(3));
        assert_eq!(entry_seq(&id.key(9), &id.value(9)), Some(9));
    }

    #[test]
    fn touch_prefixes_do_not_collide_between_slugs() {
        let a = touch_prefix(Kind::Provision, &Slug::parse("nato").unwrap());
        let b = touch_prefix(Kind::Provision, &Slug::parse("nato-membership").unwrap());
        assert!(!b.starts_with(&a));
    }
}
