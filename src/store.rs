//! The sled ledger: opening, the committed head, reading records and indexes,
//! and the durable, all-or-nothing write of a chunked batch.
//!
//! Writes go in chunks past the committed head (`Mhead`); the last chunk moves the
//! head. Until then readers see nothing of them, and if the process dies the next
//! open deletes them (the `Mpending` marker says a write was under way). Records are
//! stored in blocks and history entries in posting blocks ([`crate::block`]); a
//! handle keeps a few decoded blocks and histories.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::block::{self, RecordBlock};
use crate::chain::{Record, GENESIS_HASH};
use crate::error::{Error, Location, Result};
use crate::event::{Kind, Slug};
use crate::index::{self, Entry};
use crate::journal::Journal;
use crate::time::Instant;

/// The file beside sled's that witnesses the committed head.
pub const HEAD_FILE: &str = "pactlog.head";
/// Written when `verify` or `export` finds the journal damaged (what they found, one
/// line): the ledger then refuses writes, whose durability rests on the journal, until
/// a `verify` passes (see [`Ledger::note_journal_damage`]).
pub const JOURNAL_DAMAGED_FILE: &str = "journal.damaged";

/// sled's page cache; the default (1 GiB) lets a large import grow the process well past it.
const CACHE_BYTES: u64 = 24 << 20;

/// Stored records as (seq, canonical bytes), in seq order.
pub type StoredBytes<'a> = Box<dyn Iterator<Item = Result<(u64, Vec<u8>)>> + 'a>;

/// The records `export` writes: see [`Ledger::durable_records`].
pub struct DurableRecords<'l> {
    ledger: &'l Ledger,
    journal: Option<StoredBytes<'l>>,
    /// Reading sled: from the start (no journal), or past the journal's damage.
    sled: Option<StoredBytes<'l>>,
    /// Whether records read from sled are checked (past the journal's damage).
    checked: bool,
    next: u64,
    head: u64,
    /// The bytes of the last record given (the link the next one must name).
    last: Option<Vec<u8>>,
    fallback: Option<(u64, String)>,
}

impl DurableRecords<'_> {
    /// The record the journal could not give and why, once it failed: every record
    /// from that one on was read from sled and checked against the hash chain.
    pub fn fallback(&self) -> Option<&(u64, String)> {
        self.fallback.as_ref()
    }

    fn next_journaled(&mut self) -> Option<Result<(u64, Vec<u8>)>> {
        let journal = self.journal.as_mut()?;
        let next = self.next;
        match journal.next() {
            Some(Ok((seq, bytes))) if seq == next => Some(Ok((seq, bytes))),
            failed => {
                let why = match failed {
                    Some(Ok((seq, _))) => {
                        format!("the journal holds record {seq} where record {next} belongs")
                    }
                    Some(Err(err)) => err.to_string(),
                    None => format!("the journal ends after record {}", next - 1),
                };
                self.journal = None;
                self.fallback = Some((next, why));
                self.sled = Some(Box::new(self.ledger.raw_records(next)));
                self.checked = true;
                None
            }
        }
    }

    /// The next record from sled, checked when past the journal's damage.
    fn next_in_sled(&mut self) -> Result<(u64, Vec<u8>)> {
        let next = self.next;
        let found = self.sled.as_mut().and_then(Iterator::next).transpose();
        match &self.fallback {
            Some((_, journal)) => checked_from_sled(next, found, self.last.as_deref(), journal),
            None => found?
                .ok_or_else(|| Error::Integrity(format!("record {next}: sled does not hold it"))),
        }
    }
}

/// Record `seq` as read from sled (`found`) past a damaged journal (`journal`: what
/// it said), checked to follow `last`, the record before
/// ([`crate::chain::check_follows`]); an error names what each copy lacks.
pub(crate) fn checked_from_sled(
    seq: u64,
    found: Result<Option<(u64, Vec<u8>)>>,
    last: Option<&[u8]>,
    journal: &str,
) -> Result<(u64, Vec<u8>)> {
    let problem = match found {
        Ok(Some((at, bytes))) if at == seq => {
            match crate::chain::check_follows(seq, &bytes, last) {
                Ok(()) => return Ok((seq, bytes)),
                Err(e) => format!("sled's copy does not verify: {e}"),
            }
        }
        Ok(Some((at, _))) => {
            format!("sled's copy does not verify: sled has record {at} in its place")
        }
        Ok(None) => "sled does not hold it".to_string(),
        Err(err) => err.to_string(),
    };
    Err(in_neither_copy(seq, journal, &problem))
}

/// The error for record `seq` when neither the journal (`journal`: why) nor sled
/// (`sled`: why) gives it intact.
pub(crate) fn in_neither_copy(seq: u64, journal: &str, sled: &str) -> Error {
    Error::JournalDamaged(format!(
        "record {seq} is in neither copy: {journal}; and {sled}"
    ))
}

impl Iterator for DurableRecords<'_> {
    type Item = Result<(u64, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next > self.head {
            return None;
        }
        let item = match self.next_journaled() {
            Some(item) => item,
            None => self.next_in_sled(),
        };
        match &item {
            Ok((_, bytes)) => {
                self.next += 1;
                self.last = Some(bytes.clone());
            }
            // After an error, nothing more.
            Err(_) => self.next = u64::MAX,
        }
        Some(item)
    }
}

/// Stored bytes of one record, held in its decoded block.
#[derive(Clone)]
pub struct RecordBytes {
    block: Arc<RecordBlock>,
    seq: u64,
}

impl std::ops::Deref for RecordBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.block
            .get(self.seq)
            .expect("made only for a record the block holds")
    }
}

/// An entity's committed history, read from its posting blocks.
#[derive(Debug, Default)]
pub struct History {
    /// (valid time, seq) in seq order, as stored.
    by_seq: Vec<(Instant, u64)>,
    /// The same in (valid time, seq) order.
    by_time: Vec<(Instant, u64)>,
    /// Its late entries ([`index::late_in`]).
    late: Vec<(u64, Instant)>,
}

/// What a write stages for sled besides its records: index entries one per key, and
/// history entries gathered per entity for their posting blocks.
#[derive(Default)]
pub(crate) struct Staged {
    batch: sled::Batch,
    postings: HashMap<(Kind, Slug), Vec<(Instant, u64)>>,
    n_postings: usize,
}

/// Staged history entries are written out once this many are gathered (and at commit).
const POSTINGS_STAGED: usize = 200_000;

impl Staged {
    /// Stages one index entry of the record at `seq`. Late entries are not stored:
    /// they are read off the postings.
    pub fn entry(&mut self, seq: u64, entry: Entry) {
        match entry {
            Entry::Touch(kind, slug, time) => {
                self.postings
                    .entry((kind, slug))
                    .or_default()
                    .push((time, seq));
                self.n_postings += 1;
            }
            Entry::Late(..) => {}
            other => self.batch.insert(other.key(), other.value(seq)),
        }
    }

    /// Stages a key of its own (the latest valid times at commit).
    pub fn insert(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.batch.insert(key, value);
    }
}

/// The records of one chunk of a write, as the journal takes them.
pub(crate) struct Chunk<'a> {
    pub first_seq: u64,
    /// Canonical bytes of each record, in seq order.
    pub records: &'a [Vec<u8>],
    /// Record time of each record.
    pub recorded: &'a [Instant],
    /// Hash of the last record (of the head before, when `records` is empty).
    pub last_hash: &'a str,
}

/// Where an entity was first registered: the seq, and the registering event's id
/// when the index holds it (see [`index::Entry::value`]).
pub type Registration = (u64, Option<uuid::Uuid>);

/// The last committed record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
    pub recorded_at: Option<Instant>,
}

impl Head {
    pub(crate) fn empty() -> Head {
        Head {
            seq: 0,
            hash: GENESIS_HASH.to_string(),
            recorded_at: None,
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut bytes = self.seq.to_be_bytes().to_vec();
        bytes.extend_from_slice(self.hash.as_bytes());
        bytes
    }
}

/// Whether opening may create the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Writing commands: create the ledger when it is missing.
    Create,
    /// Read commands: a missing ledger is an error and nothing is created.
    Existing,
}

/// sled's folder inside the ledger folder.
pub const SLED_DIR: &str = "sled";

/// The file whose lock says which process holds the ledger.
pub const LOCK_FILE: &str = "lock";

/// The meta key holding the journal offset just past the head's commit frame.
pub(crate) const META_JOURNAL: &[u8] = b"Mjournal";

/// The meta key holding the head before the first write whose snapshot refresh has
/// not finished (set by the commit, removed when the refresh is done).
pub(crate) const META_REFRESH: &[u8] = b"Mrefresh";

/// The meta key holding the fold format of the stored snapshots.
pub(crate) const META_SNAPSHOTS: &[u8] = b"Msnapshots";

/// One ledger: the journal that makes writes durable, and the sled database every
/// query reads. [`Ledger::open`] (in `crate::recover`) opens one whole, repairing
/// sled from the journal when it has to.
pub struct Ledger {
    db: sled::Db,
    path: PathBuf,
    head: Head,
    snapshot_every: usize,
    /// Staged history entries written out with a chunk once this many are gathered.
    postings_staged: usize,
    /// Entries in a posting block ([`block::POSTINGS_PER_BLOCK`]).
    postings_per_block: usize,
    /// Set when [`Ledger::settle`] could not reopen sled: the handle must not write.
    lost: bool,
    /// Where commits are made durable; `None` for a read-only look at an old layout.
    journal: Option<Journal>,
    /// While sled is caught up from the journal: the journal offset the replay ends
    /// at, and no frames are written.
    pub(crate) replay_end: Option<u64>,
    /// The held lock on the ledger folder (released when the handle drops).
    _lock: Option<fs::File>,
    /// What opening had to do (a trimmed journal, a rebuilt sled), for the CLI to say.
    pub(crate) notes: Vec<String>,
    /// Decoded large records, by seq (see [`Ledger::event_at`]).
    large_events: Mutex<HashMap<u64, (Instant, Arc<crate::event::Event>)>>,
    /// Decoded large records, by seq (see [`Ledger::record`]).
    large_records: Mutex<HashMap<u64, Arc<Record>>>,
    /// Event ids of committed records asked for by seq (see [`Ledger::event_id`]).
    ids_by_seq: Mutex<HashMap<u64, uuid::Uuid>>,
    /// Decoded groups of record blocks, most recently used last.
    blocks: Mutex<Vec<Arc<RecordBlock>>>,
    /// Histories read from posting blocks: (kind, slug, the head they were read at).
    histories: Mutex<Vec<CachedHistory>>,
    /// The layout sled holds when it is an older one that opening rebuilds (see
    /// `crate::recover`): [`OlderLayout::PerRecord`] (one key per record, before
    /// record blocks: only its head is read) or [`OlderLayout::Packed`] (`Mlayout` 2).
    pub(crate) older_layout: Option<OlderLayout>,
    /// The sled batch of the last chunk written, being applied on its own thread while
    /// the write checks its next events (see [`Ledger::write_chunk`]).
    applying: Mutex<Option<std::thread::JoinHandle<sled::Result<()>>>>,
}

/// "the registration of provision `x` is missing from sled's index, yet `why`".
fn missing_registration(kind: Kind, slug: &dyn std::fmt::Display, why: &str) -> Error {
    Error::SledDamaged(format!(
        "the registration of {kind} `{slug}` is missing from sled's index, yet {why}"
    ))
}

/// An older sled layout, which opening rebuilds from the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OlderLayout {
    /// One key per record (before record blocks).
    PerRecord,
    /// Layout 2: packed, without the registrations of parties and actors in the
    /// history index.
    Packed,
}

/// A history read at a head: (kind, slug, head seq, history).
type CachedHistory = (Kind, Slug, u64, Arc<History>);

/// An entity's postings: (its key prefix, (valid time, seq) in seq order).
type EntityPostings = (Vec<u8>, Vec<(Instant, u64)>);

/// Decoded groups of record blocks a handle keeps (up to 16 KiB of records each).
const BLOCKS_CACHED: usize = 128;
/// Histories a handle keeps.
const HISTORIES_CACHED: usize = 8;

/// Records of at least this many bytes are kept decoded (see [`Ledger::event_at`]).
const LARGE_RECORD: usize = 8 << 10;
/// At most this many large records are kept decoded.
const LARGE_RECORDS_CACHED: usize = 256;

/// Event ids a handle keeps by seq.
const IDS_CACHED: usize = 1 << 16;

/// Keeps a value by seq (all are dropped when the cache holds `most`).
fn keep<T>(cache: &Mutex<HashMap<u64, T>>, seq: u64, value: T, most: usize) {
    let mut cache = cache.lock().expect("not poisoned");
    if cache.len() >= most {
        cache.clear();
    }
    cache.insert(seq, value);
}

impl Ledger {
    /// Whether `path` holds a ledger (without creating anything).
    pub fn exists(path: &Path) -> bool {
        Ledger::probe(path).unwrap_or(true)
    }

    /// Like [`Ledger::exists`], but a ledger that cannot be looked at is an error,
    /// not a missing ledger. A ledger is a journal, a sled folder, or sled's files of
    /// the layout before the journal.
    ///
    /// Names another folder could hold as well are taken only as a ledger's: a
    /// `journal` that is empty or starts as a journal does, and sled's `conf` and `db`
    /// of the layout before the journal together (a folder with a `db` file of its own
    /// is no ledger).
    pub(crate) fn probe(path: &Path) -> Result<bool> {
        let file = |name: &str| match fs::metadata(path.join(name)) {
            Ok(meta) => Ok(meta.is_file()),
            Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => {
                Err(Error::io(path.display(), err))
            }
            Err(_) => Ok(false),
        };
        if file(HEAD_FILE)? || file("sled/conf")? || file("sled/db")? {
            return Ok(true);
        }
        if file(crate::journal::FILE)?
            && crate::journal::looks_like_one(&path.join(crate::journal::FILE))
        {
            return Ok(true);
        }
        Ok(file("conf")? && file("db")?)
    }

    /// Opens the sled database in `sled_dir` as it is (no journal yet): its head,
    /// and any unfinished write past the head deleted.
    pub(crate) fn open_sled(path: &Path, sled_dir: &Path) -> Result<Ledger> {
        let db = open_sled(sled_dir)?;
        let mut ledger = Ledger {
            db,
            path: path.to_path_buf(),
            head: Head::empty(),
            snapshot_every: crate::snapshot::EVERY,
            postings_staged: POSTINGS_STAGED,
            postings_per_block: block::POSTINGS_PER_BLOCK,
            lost: false,
            journal: None,
            replay_end: None,
            _lock: None,
            notes: Vec::new(),
            large_events: Mutex::default(),
            large_records: Mutex::default(),
            ids_by_seq: Mutex::default(),
            blocks: Mutex::default(),
            histories: Mutex::default(),
            older_layout: None,
            applying: Mutex::new(None),
        };
        match ledger.db.get(index::META_LAYOUT)? {
            Some(layout) if layout == index::LAYOUT => {}
            Some(layout) if layout == index::LAYOUT_2 => {
                ledger.older_layout = Some(OlderLayout::Packed);
                return Ok(ledger);
            }
            Some(layout) => {
                return Err(Error::Storage(format!(
                    "sled's files have key layout `{}`, which this version does not know",
                    String::from_utf8_lossy(&layout).escape_debug()
                )))
            }
            None if ledger.db.is_empty() => {
                ledger.db.insert(index::META_LAYOUT, index::LAYOUT)?;
            }
            None => {
                ledger.older_layout = Some(OlderLayout::PerRecord);
                return Ok(ledger);
            }
        }
        ledger.head = ledger.read_head()?;
        if ledger.db.contains_key(index::META_PENDING)? {
            ledger.discard_uncommitted()?;
        }
        Ok(ledger)
    }

    /// Gives the handle its journal and the lock it holds.
    pub(crate) fn attach(&mut self, journal: Journal, lock: fs::File) {
        self.journal = Some(journal);
        self._lock = Some(lock);
    }

    pub(crate) fn journal(&self) -> Option<&Journal> {
        self.journal.as_ref()
    }

    /// Where sled says it stands in the journal: its head and the offset after it.
    pub(crate) fn journal_position(&self) -> Result<crate::journal::Position> {
        let offset = match self.db.get(META_JOURNAL)? {
            Some(bytes) => index::seq_from(&bytes)
                .ok_or_else(|| Error::Integrity("the journal offset marker is damaged".into()))?,
            None => 0,
        };
        Ok(crate::journal::Position {
            seq: self.head.seq,
            hash: self.head.hash.clone(),
            offset,
        })
    }

    /// What opening had to do, one sentence each (empty when nothing).
    pub fn recovery_notes(&self) -> &[String] {
        &self.notes
    }

    fn read_head(&self) -> Result<Head> {
        let Some(bytes) = self.db.get(index::META_HEAD)? else {
            return Ok(Head::empty());
        };
        let seq = index::seq_from(&bytes[..8.min(bytes.len())])
            .ok_or_else(|| Error::Integrity("the ledger's head marker is damaged".into()))?;
        let hash = String::from_utf8(bytes[8..].to_vec())
            .map_err(|_| Error::Integrity("the ledger's head marker is damaged".into()))?;
        let recorded_at = match self.raw(seq)? {
            Some(bytes) => Some(decode(seq, &bytes)?.recorded_at),
            None => {
                return Err(Error::Integrity(format!(
                    "the head marker names record {seq}, which is missing"
                )))
            }
        };
        Ok(Head {
            seq,
            hash,
            recorded_at,
        })
    }

    /// History entries between two snapshots of a provision (tests set it low).
    pub fn snapshot_every(&self) -> usize {
        self.snapshot_every
    }

    pub fn set_snapshot_every(&mut self, every: usize) {
        self.snapshot_every = every.max(1);
    }

    /// Writes staged history entries out with every chunk once `n` are gathered
    /// (tests set it low, so that a write refused after its first chunk has postings
    /// to take back).
    #[doc(hidden)]
    pub fn set_postings_staged(&mut self, n: usize) {
        self.postings_staged = n.max(1);
    }

    /// Stores history entries in posting blocks of at most `n` entries (tests set it
    /// low, so that every history is in several blocks; any size reads the same).
    #[doc(hidden)]
    pub fn set_postings_per_block(&mut self, n: usize) {
        self.postings_per_block = n.max(1);
    }

    /// Records that the journal was found damaged (`what`: the finding), so that
    /// later writes are refused (see [`journal_damage`]); `None` clears it, after a
    /// `verify` found the journal whole. Written with a temp file, fsync and rename.
    pub fn note_journal_damage(&self, what: Option<&str>) -> Result<()> {
        let file = self.path.join(JOURNAL_DAMAGED_FILE);
        let Some(what) = what else {
            return match fs::remove_file(&file) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                    Err(Error::io(file.display(), err))
                }
                _ => Ok(()),
            };
        };
        let shown = file.display().to_string();
        let mut temp =
            tempfile::NamedTempFile::new_in(&self.path).map_err(|e| Error::io(&shown, e))?;
        std::io::Write::write_all(
            &mut temp,
            format!("{}\n", what.replace('\n', " ")).as_bytes(),
        )
        .map_err(|e| Error::io(&shown, e))?;
        temp.as_file()
            .sync_all()
            .map_err(|e| Error::io(&shown, e))?;
        temp.persist(&file)
            .map_err(|e| Error::io(&shown, e.error))?;
        sync_parent(&file).map_err(|e| Error::io(&shown, e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The committed head: what every reader sees.
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// The record block that holds `seq` or would: (first seq, value), committed or not.
    fn block_value(&self, seq: u64) -> Result<Option<(u64, sled::IVec)>> {
        let found = self
            .db
            .range(index::block_key(0)..=index::block_key(seq))
            .next_back()
            .transpose()?;
        Ok(found.and_then(|(key, value)| Some((index::block_seq(&key)?, value))))
    }

    /// The decoded group of the record block that holds `seq` (see [`block`]'s
    /// layout), committed or not.
    fn block(&self, seq: u64) -> Result<Option<Arc<RecordBlock>>> {
        {
            let mut cache = self.blocks.lock().expect("not poisoned");
            let hit = cache.iter().position(|b| {
                b.span()
                    .is_some_and(|(first, last)| first <= seq && seq <= last)
            });
            if let Some(i) = hit {
                let block = cache.remove(i);
                cache.push(block.clone());
                return Ok(Some(block));
            }
        }
        let Some((first, value)) = self.block_value(seq)? else {
            return Ok(None);
        };
        let block = Arc::new(block::decode_group(&value, seq).map_err(|e| {
            Error::SledDamaged(format!(
                "its record block at seq {first} does not decode: {e}"
            ))
        })?);
        let mut cache = self.blocks.lock().expect("not poisoned");
        if cache.len() >= BLOCKS_CACHED {
            cache.remove(0);
        }
        cache.push(block.clone());
        Ok(Some(block))
    }

    /// Forgets decoded blocks and histories (after blocks were deleted or rewritten).
    fn forget_decoded(&self) {
        self.ids_by_seq.lock().expect("not poisoned").clear();
        self.blocks.lock().expect("not poisoned").clear();
        self.histories.lock().expect("not poisoned").clear();
    }

    /// The raw stored bytes at `seq`, committed or not.
    pub(crate) fn raw(&self, seq: u64) -> Result<Option<RecordBytes>> {
        Ok(self
            .block(seq)?
            .filter(|block| block.get(seq).is_some())
            .map(|block| RecordBytes { block, seq }))
    }

    /// The stored bytes of the committed record at `seq`.
    pub fn record_bytes(&self, seq: u64) -> Result<Option<RecordBytes>> {
        if seq == 0 || seq > self.head.seq {
            return Ok(None);
        }
        self.raw(seq)
    }

    /// The committed record at `seq`. Large records are decoded once per handle (see
    /// [`Ledger::event_at`]).
    pub fn record(&self, seq: u64) -> Result<Option<Record>> {
        if seq == 0 || seq > self.head.seq {
            return Ok(None);
        }
        if let Some(hit) = self.large_records.lock().expect("not poisoned").get(&seq) {
            return Ok(Some(Record::clone(hit)));
        }
        let Some(bytes) = self.raw(seq)? else {
            return Ok(None);
        };
        let record = decode(seq, &bytes)?;
        if bytes.len() >= LARGE_RECORD {
            keep(
                &self.large_records,
                seq,
                Arc::new(record.clone()),
                LARGE_RECORDS_CACHED,
            );
        }
        Ok(Some(record))
    }

    /// The record time and event of the committed record at `seq`, read the fast way
    /// (see [`Record::decode_event`]). Large records (a meeting listing thousands of
    /// provisions is in each of their histories) are decoded once per handle.
    pub fn event_at(&self, seq: u64) -> Result<(Instant, Arc<crate::event::Event>)> {
        if let Some(hit) = self.large_events.lock().expect("not poisoned").get(&seq) {
            return Ok(hit.clone());
        }
        let bytes = (seq != 0 && seq <= self.head.seq)
            .then(|| self.raw(seq))
            .transpose()?
            .flatten()
            .ok_or_else(|| Error::SledDamaged(format!("its record {seq} is missing")))?;
        let (recorded_at, event) = decode_event(seq, &bytes)?;
        let decoded = (recorded_at, Arc::new(event));
        if bytes.len() >= LARGE_RECORD {
            keep(
                &self.large_events,
                seq,
                decoded.clone(),
                LARGE_RECORDS_CACHED,
            );
        }
        Ok(decoded)
    }

    /// The event id of the record at `seq`, committed or written by the write in
    /// progress, kept once read (the write path asks for the registration of every
    /// entity an event names).
    pub(crate) fn event_id(&self, seq: u64) -> Result<uuid::Uuid> {
        if let Some(id) = self.ids_by_seq.lock().expect("not poisoned").get(&seq) {
            return Ok(*id);
        }
        let bytes = self
            .raw(seq)?
            .ok_or_else(|| Error::SledDamaged(format!("its record {seq} is missing")))?;
        let id = Record::decode_event(&bytes)
            .map_err(|e| Error::SledDamaged(format!("its record {seq} does not decode: {e}")))?
            .2
            .id;
        keep(&self.ids_by_seq, seq, id, IDS_CACHED);
        Ok(id)
    }

    /// Committed records from `from` on, in seq order.
    pub fn records(&self, from: u64) -> impl Iterator<Item = Result<Record>> + '_ {
        self.raw_records(from)
            .map(|item| item.and_then(|(seq, bytes)| decode(seq, &bytes)))
    }

    /// Committed records from `from` on, in seq order, read the fast way (see
    /// [`Record::decode_event`]): each record's seq, record time and event, never its
    /// whole stored object. What a view that streams the whole log reads.
    ///
    /// The records are decoded [`EVENTS_BATCH`] at a time, each batch's two halves on
    /// two threads, and come out in seq order.
    pub fn events(
        &self,
        from: u64,
    ) -> impl Iterator<Item = Result<(u64, Instant, crate::event::Event)>> + '_ {
        type Raw = Result<(u64, Vec<u8>)>;
        let decode = |raw: Vec<Raw>| -> Vec<Result<(u64, Instant, crate::event::Event)>> {
            raw.into_iter()
                .map(|item| {
                    let (seq, bytes) = item?;
                    let (recorded_at, event) = decode_event(seq, &bytes)?;
                    Ok((seq, recorded_at, event))
                })
                .collect()
        };
        let mut raw = self.raw_records(from).peekable();
        std::iter::from_fn(move || {
            raw.peek()?;
            let mut second: Vec<Raw> = raw.by_ref().take(EVENTS_BATCH).collect();
            let first: Vec<Raw> = second.drain(..second.len() / 2).collect();
            Some(std::thread::scope(|scope| {
                let second = scope.spawn(|| decode(second));
                let mut events = decode(first);
                events.extend(
                    second
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p)),
                );
                events
            }))
        })
        .flatten()
    }

    /// Committed stored bytes from `from` on, in seq order (a block decoded at a time).
    pub fn raw_records(&self, from: u64) -> impl Iterator<Item = Result<(u64, Vec<u8>)>> + '_ {
        let end = self.head.seq;
        let from = from.max(1);
        let start = match self.block_value(from) {
            Ok(Some((first, _))) => first,
            _ => from,
        };
        self.db
            .range(index::block_key(start)..=index::block_key(end))
            .take_while(move |_| end > 0)
            .flat_map(move |item| {
                let records = item.map_err(Error::from).and_then(|(key, value)| {
                    let first = index::block_seq(&key).unwrap_or_default();
                    let block = block::decode_records(&value).map_err(|e| {
                        Error::SledDamaged(format!(
                            "its record block at seq {first} does not decode: {e}"
                        ))
                    })?;
                    Ok(block
                        .iter()
                        .filter(|(seq, _)| (from..=end).contains(seq))
                        .map(|(seq, bytes)| Ok((seq, bytes.to_vec())))
                        .collect::<Vec<_>>())
                });
                match records {
                    Ok(records) => records,
                    Err(err) => vec![Err(err)],
                }
            })
    }

    /// The committed records' stored bytes in seq order, for `export`: read from the
    /// journal (the durable copy, checked by zstd's checksum frame by frame), or from
    /// sled when the handle has no journal. From the first record the journal cannot
    /// give (damage), they are read from sled, each checked as `verify` checks it (its
    /// canonical form, its hash, its link to the record before): see
    /// [`DurableRecords::fallback`]. A record neither gives is an error, and the
    /// iterator ends there: nothing is ever written out short or unchecked.
    pub fn durable_records(&self) -> Result<DurableRecords<'_>> {
        let journal: Option<StoredBytes<'_>> = match &self.journal {
            Some(journal) => Some(Box::new(journal.records_from(0)?)),
            None => None,
        };
        let sled: Option<StoredBytes<'_>> = match journal {
            Some(_) => None,
            None => Some(Box::new(self.raw_records(1))),
        };
        Ok(DurableRecords {
            ledger: self,
            journal,
            sled,
            checked: false,
            next: 1,
            head: self.head.seq,
            last: None,
            fallback: None,
        })
    }

    /// Committed records at these seqs, in the order given.
    pub fn records_at(&self, seqs: &[u64]) -> Result<Vec<Record>> {
        seqs.iter()
            .map(|&seq| {
                self.record(seq)?.ok_or_else(|| {
                    Error::SledDamaged(format!("an index names record {seq}, which is missing"))
                })
            })
            .collect()
    }

    /// The last seq recorded at or before `known_at` (0 when none): record time never
    /// decreases along the log, so a binary search finds it.
    pub fn seq_known_at(&self, known_at: &Instant) -> Result<u64> {
        if self.head.recorded_at.is_some_and(|t| t <= *known_at) {
            return Ok(self.head.seq);
        }
        let (mut lo, mut hi) = (0u64, self.head.seq);
        // First by the record times in the clear in block headers, then inside one block.
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            let Some((first, value)) = self.block_value(mid)? else {
                break;
            };
            let header = block::header(&value).map_err(|e| {
                Error::SledDamaged(format!(
                    "its record block at seq {first} does not decode: {e}"
                ))
            })?;
            let last = first + u64::from(header.count.max(1)) - 1;
            if header.last_recorded <= *known_at {
                lo = last.clamp(mid, hi);
            } else if header.first_recorded > *known_at {
                hi = first.saturating_sub(1).max(lo);
            } else {
                lo = lo.max(first);
                hi = hi.min(last.saturating_sub(1)).max(lo);
                break;
            }
        }
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            let (recorded_at, _) = self.event_at(mid)?;
            if recorded_at <= *known_at {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Ok(lo)
    }

    /// The seq of a committed index entry (id, registration, draft, held meeting, removal).
    pub(crate) fn indexed_seq(&self, key: &[u8]) -> Result<Option<u64>> {
        Ok(self
            .db
            .get(key)?
            .and_then(|v| index::seq_from(&v))
            .filter(|&seq| seq <= self.head.seq))
    }

    /// The seq of the event with this id.
    pub fn seq_of(&self, id: &uuid::Uuid) -> Result<Option<u64>> {
        self.indexed_seq(&index::id_key(id))
    }

    /// The shortest prefix of the id's 32 hex digits that no other event id in the
    /// ledger starts with, and never fewer than 8 digits (as git and jj show ids).
    pub fn short_id(&self, id: &uuid::Uuid) -> String {
        let hex = id.simple().to_string();
        let key = index::id_key(id);
        let shared = |other: Option<sled::IVec>| -> usize {
            other
                .filter(|k| k.len() == key.len() && k[0] == key[0])
                .map(|k| {
                    let other = uuid::Uuid::from_slice(&k[1..])
                        .unwrap_or_default()
                        .simple()
                        .to_string();
                    hex.chars()
                        .zip(other.chars())
                        .take_while(|(a, b)| a == b)
                        .count()
                })
                .unwrap_or(0)
        };
        let before = self
            .db
            .range(..key.clone())
            .next_back()
            .and_then(|r| r.ok())
            .map(|(k, _)| k);
        let after = self
            .db
            .range((
                std::ops::Bound::Excluded(key.clone()),
                std::ops::Bound::Unbounded,
            ))
            .next()
            .and_then(|r| r.ok())
            .map(|(k, _)| k);
        let len = (shared(before).max(shared(after)) + 1).clamp(8, 32);
        hex[..len].to_string()
    }

    /// The event an argument names: a whole id, `seq:N`, or a unique prefix (4 hex
    /// digits at least) of an id. Errors: [`Error::NotFound`] when none matches;
    /// [`Error::Invalid`] (naming the candidates) when a prefix is ambiguous or the
    /// text is none of these.
    pub fn find_id(&self, text: &str) -> Result<uuid::Uuid> {
        let at = Location::default();
        if let Some(seq) = crate::chain::parse_seq_form(text) {
            let seq = seq.map_err(|message| Error::invalid(&at, message))?;
            return match self.record(seq)? {
                Some(record) => Ok(record.event.id),
                None => Err(Error::NotFound(format!(
                    "`{text}`: the ledger has records 1 to {}",
                    self.head.seq
                ))),
            };
        }
        if let Ok(id) = uuid::Uuid::parse_str(text) {
            return match self.seq_of(&id)? {
                Some(_) => Ok(id),
                None => Err(Error::NotFound(format!(
                    "no event with id {id} in the ledger"
                ))),
            };
        }
        let digits: String = text
            .chars()
            .filter(|c| *c != '-')
            .collect::<String>()
            .to_lowercase();
        if digits.len() < 4 || digits.len() > 32 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::invalid(
                &at,
                format!(
                    "`{}` is not an event id: give an id, `seq:N`, or the first 4 or more hex digits of an id",
                    text.escape_debug()
                ),
            ));
        }
        let whole_bytes: Vec<u8> = (0..digits.len() / 2)
            .map(|i| u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).expect("hex digits"))
            .collect();
        let mut prefix = vec![index::ID];
        prefix.extend_from_slice(&whole_bytes);
        let mut found = Vec::new();
        for item in self.db.scan_prefix(&prefix) {
            let (key, value) = item?;
            let Ok(id) = uuid::Uuid::from_slice(&key[1..]) else {
                continue;
            };
            let committed = index::seq_from(&value).filter(|&seq| seq <= self.head.seq);
            if let (Some(seq), true) = (committed, id.simple().to_string().starts_with(&digits)) {
                found.push((id, seq));
                if found.len() > 8 {
                    break;
                }
            }
        }
        match found.as_slice() {
            [] => Err(Error::NotFound(format!(
                "no event id starts with `{digits}`"
            ))),
            [(id, _)] => Ok(*id),
            many => {
                let listed: Vec<String> = many
                    .iter()
                    .take(8)
                    .map(|(id, seq)| format!("{} (seq {seq})", self.short_id(id)))
                    .collect();
                Err(Error::invalid(
                    &at,
                    format!(
                        "`{digits}` starts {} event ids: {}{}; give more digits",
                        if many.len() > 8 {
                            "more than 8".to_string()
                        } else {
                            many.len().to_string()
                        },
                        listed.join(", "),
                        if many.len() > 8 { ", …" } else { "" }
                    ),
                ))
            }
        }
    }

    /// The seq of the event that retracted or superseded this one.
    pub fn removed_by(&self, id: &uuid::Uuid) -> Result<Option<u64>> {
        self.indexed_seq(&index::removed_key(id))
    }

    /// Where an entity was first registered.
    pub fn registered(&self, kind: Kind, slug: &Slug) -> Result<Option<u64>> {
        Ok(self.registration(kind, slug)?.map(|(seq, _)| seq))
    }

    /// Where an entity was first registered, and the registering event's id when the
    /// index holds it (see [`index::Entry::value`]).
    ///
    /// Errors: [`Error::SledDamaged`] when the registration does not decode, or is
    /// missing while committed records are in the entity's history (every entity has
    /// one from its registration on, layout 3): only its registration lets a record
    /// name it, so the entry was lost, and a query would otherwise call a drafted
    /// provision unknown, or a write take a second registration.
    pub fn registration(&self, kind: Kind, slug: &Slug) -> Result<Option<Registration>> {
        let stored = self.db.get(index::registered_key(kind, slug))?;
        // A seq alone (a ledger written before ids were kept) or the id and the seq.
        let found = stored
            .as_ref()
            .filter(|v| v.len() == 8 || v.len() == 24)
            .and_then(|v| Some((index::entry_seq(v)?, index::registration_id(v))));
        match found {
            Some((seq, _)) if seq > self.head.seq => Ok(None),
            Some(found) => Ok(Some(found)),
            None if stored.is_some() => Err(Error::SledDamaged(format!(
                "the registration of {kind} `{slug}` in sled's index does not decode"
            ))),
            None => {
                // The first posting block's key names the first record touching it.
                let prefix = index::postings_prefix(kind, slug);
                let first = self.db.scan_prefix(&prefix).keys().next().transpose()?;
                match first.and_then(|key| index::seq_from(&key)) {
                    Some(seq) if seq <= self.head.seq => Err(missing_registration(
                        kind,
                        slug,
                        &format!("record {seq} touches it"),
                    )),
                    _ => Ok(None),
                }
            }
        }
    }

    /// Every registered slug of a kind, sorted.
    ///
    /// Errors: [`Error::SledDamaged`] when a provision has a history (its latest valid
    /// time, `X`) but no registration: `state` of every provision would leave it out.
    pub fn slugs(&self, kind: Kind) -> Result<Vec<String>> {
        let prefix = index::registered_prefix(kind);
        let mut out = Vec::new();
        for item in self.db.scan_prefix(&prefix) {
            let (key, value) = item?;
            if index::seq_from(&value).is_some_and(|seq| seq <= self.head.seq) {
                out.push(String::from_utf8_lossy(&key[prefix.len()..]).into_owned());
            }
        }
        if kind == Kind::Provision {
            for key in self.db.scan_prefix([index::LATEST]).keys() {
                let key = key?;
                let slug = String::from_utf8_lossy(&key[1..]);
                if out.binary_search_by(|s| s.as_str().cmp(&slug)).is_err() {
                    return Err(missing_registration(kind, &slug, "its history is stored"));
                }
            }
        }
        Ok(out)
    }

    /// The seqs of the committed records in an entity's history, in seq order.
    pub fn touching(&self, kind: Kind, slug: &Slug) -> Result<Vec<u64>> {
        let mut out: Vec<u64> = self
            .history(kind, slug)?
            .by_seq
            .iter()
            .map(|(_, seq)| *seq)
            .collect();
        out.dedup();
        Ok(out)
    }

    /// An entity's committed history, read from its posting blocks (kept per handle
    /// until the head moves).
    pub fn history(&self, kind: Kind, slug: &Slug) -> Result<Arc<History>> {
        let head = self.head.seq;
        {
            let cache = self.histories.lock().expect("not poisoned");
            let hit = cache
                .iter()
                .find(|(k, s, at, _)| *k == kind && s == slug && *at == head);
            if let Some((_, _, _, history)) = hit {
                return Ok(history.clone());
            }
        }
        let mut by_seq: Vec<(Instant, u64)> = Vec::new();
        for item in self.db.scan_prefix(index::postings_prefix(kind, slug)) {
            let (key, value) = item?;
            let damaged =
                |what: &str| Error::SledDamaged(format!("the history of {kind} `{slug}`: {what}"));
            let postings = block::postings(&value).map_err(|e| damaged(&e))?;
            // A block is keyed by its first entry's seq, and entries run in seq order
            // within and across blocks (a correction's two entries share one seq).
            let first = postings.first().map(|&(_, seq)| seq);
            let in_order = postings.windows(2).all(|w| w[0].1 <= w[1].1)
                && by_seq
                    .last()
                    .zip(first)
                    .is_none_or(|(last, first)| last.1 <= first);
            if first.is_none() || first != index::seq_from(&key) || !in_order {
                return Err(damaged("a history block is damaged"));
            }
            by_seq.extend(postings.into_iter().filter(|&(_, seq)| seq <= head));
        }
        let mut by_time = by_seq.clone();
        by_time.sort_unstable();
        by_time.dedup();
        let late = index::late_in(&by_seq);
        let history = Arc::new(History {
            by_seq,
            by_time,
            late,
        });
        let mut cache = self.histories.lock().expect("not poisoned");
        cache.retain(|(_, _, at, _)| *at == head);
        if cache.len() >= HISTORIES_CACHED {
            cache.remove(0);
        }
        cache.push((kind, slug.clone(), head, history.clone()));
        Ok(history)
    }

    /// The committed entries of an entity's history with a valid time after `after`
    /// (all when `None`) and at or before `upto`, in (valid time, seq) order. A
    /// correction has an entry at its own valid time and one at its target's.
    pub fn history_between(
        &self,
        kind: Kind,
        slug: &Slug,
        after: Option<&Instant>,
        upto: &Instant,
    ) -> Result<Vec<(Instant, u64)>> {
        let history = self.history(kind, slug)?;
        let entries = &history.by_time;
        let start = after.map_or(0, |after| entries.partition_point(|(t, _)| t <= after));
        let end = entries.partition_point(|(t, _)| t <= upto);
        Ok(entries[start..end.max(start)].to_vec())
    }

    /// The late entries of a provision's history recorded after `after_seq` and at or
    /// before `upto_seq`: (seq, valid time), in seq order.
    pub fn late_between(
        &self,
        provision: &Slug,
        after_seq: u64,
        upto_seq: u64,
    ) -> Result<Vec<(u64, Instant)>> {
        let history = self.history(Kind::Provision, provision)?;
        let late = &history.late;
        let start = late.partition_point(|(seq, _)| *seq <= after_seq);
        let end = late.partition_point(|(seq, _)| *seq <= upto_seq);
        Ok(late[start..end.max(start)].to_vec())
    }

    /// The latest valid time in a provision's committed history.
    pub fn latest(&self, provision: &Slug) -> Result<Option<Instant>> {
        Ok(self
            .db
            .get(index::max_key(provision))?
            .and_then(|v| index::time_from(&v)))
    }

    /// The points of a provision's stored projection snapshots at or before valid
    /// time `upto`, newest valid time first, and for one valid time newest record
    /// first: (valid time, seq). Read from the point keys, never the snapshots
    /// ([`Ledger::snapshot_at`] reads one).
    pub(crate) fn snapshots_upto(
        &self,
        provision: &Slug,
        upto: &Instant,
    ) -> impl Iterator<Item = Result<(Instant, u64)>> + '_ {
        let mut prefix = index::snapshot_prefix(provision);
        prefix[0] = index::SNAPSHOT_POINT;
        let mut end = prefix.clone();
        end.extend_from_slice(&index::time_bytes(upto));
        end.extend_from_slice(&[0xff; 8]);
        let len = prefix.len();
        self.db.range(prefix..=end).keys().rev().map(move |key| {
            let key = key?;
            let time = index::time_from(&key[len..])
                .ok_or_else(|| Error::SledDamaged("a snapshot key is damaged".into()))?;
            let seq = index::seq_from(&key)
                .ok_or_else(|| Error::SledDamaged("a snapshot key is damaged".into()))?;
            Ok((time, seq))
        })
    }

    /// The stored snapshot of a provision at a point [`Ledger::snapshots_upto`] listed.
    pub(crate) fn snapshot_at(
        &self,
        provision: &Slug,
        time: &Instant,
        seq: u64,
    ) -> Result<sled::IVec> {
        self.db
            .get(index::snapshot_key(provision, time, seq))?
            .ok_or_else(|| {
                Error::SledDamaged(format!(
                    "the snapshot of `{provision}` at {} (record {seq}) is missing; its point is stored",
                    crate::time::format(time)
                ))
            })
    }

    /// A provision's stored snapshots at valid time `from` or later: (valid time,
    /// seq, bytes), in that order.
    pub(crate) fn snapshots_from(
        &self,
        provision: &Slug,
        from: &Instant,
    ) -> Result<Vec<(Instant, u64, sled::IVec)>> {
        let prefix = index::snapshot_prefix(provision);
        let len = prefix.len();
        let mut start = prefix.clone();
        start.extend_from_slice(&index::time_bytes(from));
        let mut end = prefix;
        end.extend_from_slice(&[0xff; 20]);
        self.db
            .range(start..=end)
            .map(|item| {
                let (key, value) = item?;
                let time = index::time_from(&key[len..]);
                let seq = index::seq_from(&key);
                let (time, seq) = time
                    .zip(seq)
                    .ok_or_else(|| Error::SledDamaged("a snapshot key is damaged".into()))?;
                Ok((time, seq, value))
            })
            .collect()
    }

    /// Every stored snapshot: (key, bytes), for `verify`.
    pub(crate) fn all_snapshots(
        &self,
    ) -> impl Iterator<Item = Result<(sled::IVec, sled::IVec)>> + '_ {
        self.db
            .scan_prefix([index::SNAPSHOT])
            .map(|item| item.map_err(Error::from))
    }

    /// Every stored snapshot point's key, for `verify`.
    pub(crate) fn all_snapshot_points(&self) -> impl Iterator<Item = Result<sled::IVec>> + '_ {
        self.db
            .scan_prefix([index::SNAPSHOT_POINT])
            .keys()
            .map(|item| item.map_err(Error::from))
    }

    /// The head before the first write whose snapshot refresh a crash or an error
    /// cut short, if any (see [`crate::snapshot::resume`]).
    pub(crate) fn refresh_pending(&self) -> Result<Option<u64>> {
        Ok(self.db.get(META_REFRESH)?.and_then(|v| index::seq_from(&v)))
    }

    /// Marks the snapshot refresh of every write so far as done.
    pub(crate) fn refresh_done(&self) -> Result<()> {
        self.db.remove(META_REFRESH)?;
        Ok(())
    }

    /// Whether the stored snapshots are of fold format `format` (see
    /// [`crate::snapshot::FORMAT`]); a ledger without any is marked as holding that
    /// format.
    pub(crate) fn snapshots_are(&self, format: &[u8]) -> Result<bool> {
        if self.db.get(META_SNAPSHOTS)?.is_some_and(|v| v == format) {
            return Ok(true);
        }
        if self.db.scan_prefix([index::SNAPSHOT]).next().is_some() {
            return Ok(false);
        }
        self.db.insert(META_SNAPSHOTS, format)?;
        Ok(true)
    }

    /// Removes every stored snapshot and marks the ledger as holding fold format `format`.
    pub(crate) fn drop_snapshots(&self, format: &[u8]) -> Result<()> {
        let mut batch = sled::Batch::default();
        for tag in [index::SNAPSHOT, index::SNAPSHOT_POINT] {
            for key in self.db.scan_prefix([tag]).keys() {
                batch.remove(key?);
            }
        }
        batch.insert(META_SNAPSHOTS, format);
        self.db.apply_batch(batch)?;
        Ok(())
    }

    /// Stores snapshots (keys from [`index::snapshot_key`]) and removes stale ones,
    /// each with its point, in one batch (a derived cache: losing them in a crash
    /// loses nothing).
    pub(crate) fn put_snapshots(
        &self,
        snapshots: Vec<(Vec<u8>, Vec<u8>)>,
        stale: Vec<Vec<u8>>,
    ) -> Result<()> {
        if snapshots.is_empty() && stale.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for key in stale {
            batch.remove(index::snapshot_twin(&key));
            batch.remove(key);
        }
        for (key, value) in snapshots {
            batch.insert(index::snapshot_twin(&key), &[]);
            batch.insert(key, value);
        }
        self.db.apply_batch(batch)?;
        Ok(())
    }

    /// Every index entry stored (committed or not), for `verify`.
    pub(crate) fn index_entries(
        &self,
    ) -> impl Iterator<Item = Result<(sled::IVec, sled::IVec)>> + '_ {
        INDEX_TAG_RANGES
            .iter()
            .flat_map(move |tag| self.db.scan_prefix([*tag]))
            .map(|item| item.map_err(Error::from))
    }

    /// Every posting block stored (committed or not), for `verify`: (entity prefix, postings).
    pub(crate) fn all_postings(&self) -> impl Iterator<Item = Result<EntityPostings>> + '_ {
        self.db.scan_prefix([index::POSTINGS]).map(|item| {
            let (key, value) = item?;
            let prefix = key[..key.len().saturating_sub(8)].to_vec();
            let postings = block::postings(&value).map_err(|e| {
                Error::SledDamaged(format!(
                    "the history of {}: {e}",
                    index::postings_entity(&prefix)
                ))
            })?;
            Ok((prefix, postings))
        })
    }

    /// Whether a key exists, committed or not (for writers checking staged entries).
    pub(crate) fn raw_get(&self, key: &[u8]) -> Result<Option<sled::IVec>> {
        Ok(self.db.get(key)?)
    }

    /// Closes and reopens sled. The first open after many writes replays everything
    /// written since sled's last snapshot, then writes one; settling after a bulk
    /// write pays that now instead of in the next command. The folder stays locked
    /// by this handle throughout; if sled cannot reopen, the handle refuses to write
    /// (its data on disk is untouched, and the journal holds every commit).
    pub fn settle(&mut self) -> Result<()> {
        self.applied()?;
        let placeholder = sled::Config::new().temporary(true).open()?;
        drop(std::mem::replace(&mut self.db, placeholder));
        match open_sled(&self.path.join(SLED_DIR)) {
            Ok(db) => {
                self.db = db;
                Ok(())
            }
            Err(err) => {
                self.lost = true;
                Err(err)
            }
        }
    }

    /// Closes sled and releases the folder's lock before the handle is dropped, so
    /// that another process may open the ledger at once (a server stopping while a
    /// slow client still reads an answer). The handle then refuses writes, and must
    /// not be read: it stands on an empty temporary sled. Errors: sled could not flush
    /// ([`Error::Storage`]; the journal holds every commit, so nothing is lost).
    pub fn close(&mut self) -> Result<()> {
        let applied = self.applied();
        let flushed = self.db.flush().map(|_| ()).map_err(Error::from);
        let placeholder = sled::Config::new().temporary(true).open()?;
        drop(std::mem::replace(&mut self.db, placeholder));
        self.lost = true;
        self._lock = None;
        applied.and(flushed)
    }

    fn check_not_lost(&self) -> Result<()> {
        if self.lost {
            return Err(Error::Storage(format!(
                "the handle on {} was lost while reopening; open the ledger again",
                self.path.display()
            )));
        }
        Ok(())
    }

    /// Writes one chunk of an unfinished write past the head: its journal frame (not
    /// yet durable) and its sled batch. The first chunk also sets the pending marker,
    /// so a crash before the commit is cleaned up on open.
    ///
    /// The batch is applied on its own thread: the write checks and seals its next
    /// events meanwhile, and the next chunk, the commit or the discard waits for it
    /// first ([`Ledger::applied`]). Until then the writer must not read what the chunk
    /// wrote from sled: `append::Stage` keeps the chunk's ids in memory until the next
    /// chunk is written, waits ([`Ledger::applied`]) before it reads one of its
    /// records, and otherwise reads committed data only, which the batch does not
    /// change (it writes past the head).
    pub(crate) fn write_chunk(&mut self, staged: &mut Staged, chunk: Chunk<'_>) -> Result<()> {
        self.check_not_lost()?;
        self.applied()?;
        let (framed, batch) = self.beside_journal_frame(&chunk, false, |ledger| {
            let mut batch = std::mem::take(&mut staged.batch);
            put_blocks(&mut batch, &chunk);
            if staged.n_postings >= ledger.postings_staged {
                ledger.put_postings(&mut batch, staged)?;
            }
            Ok(batch)
        });
        framed?;
        let mut batch = batch?;
        batch.insert(index::META_PENDING, &self.head.seq.to_be_bytes());
        let db = self.db.clone();
        let applying = std::thread::Builder::new()
            .name("pactlog-apply".into())
            .spawn(move || db.apply_batch(batch))
            .map_err(|e| Error::io("a thread to write the chunk", e))?;
        *self.applying.lock().expect("not poisoned") = Some(applying);
        Ok(())
    }

    /// Waits for the last chunk's batch ([`Ledger::write_chunk`]) to be in sled. Errors: what
    /// sled said when it could not apply it ([`Error::Storage`] and kin, as from `apply_batch`).
    pub(crate) fn applied(&self) -> Result<()> {
        let applying = self.applying.lock().expect("not poisoned").take();
        match applying {
            Some(applying) => applying
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                .map_err(Error::from),
            None => Ok(()),
        }
    }

    /// Appends `chunk`'s journal frame (and, for a commit frame, makes the journal
    /// durable) on a scoped thread while `sled_part` runs on this one: the frame's
    /// compression and fsync overlap the compression of sled's blocks. Returns the
    /// journal offset past the frame (the replay's end when replaying, where nothing
    /// is appended) and what `sled_part` returned.
    fn beside_journal_frame<T>(
        &mut self,
        chunk: &Chunk<'_>,
        commit: bool,
        sled_part: impl FnOnce(&Self) -> Result<T>,
    ) -> (Result<u64>, Result<T>) {
        if let Some(end) = self.replay_end {
            return (Ok(end), sled_part(self));
        }
        let Some(mut journal) = self.journal.take() else {
            let none = Error::Storage("this handle on the ledger cannot write (no journal)".into());
            return (Err(none), sled_part(self));
        };
        let (framed, built) = std::thread::scope(|scope| {
            let journal = &mut journal;
            let framed = scope.spawn(move || -> Result<u64> {
                let end = journal.append(chunk.first_seq, chunk.records, chunk.last_hash, commit)?;
                if commit {
                    if let Err(err) = journal.sync() {
                        // The frame may or may not be on disk: sled is left behind, and
                        // the next open applies the frame if it survived.
                        return Err(Error::Storage(format!(
                            "the write may not be on disk (fsync of the journal failed): {err}; open the ledger again to see whether it was"
                        )));
                    }
                }
                Ok(end)
            });
            let built = sled_part(self);
            (
                framed.join().expect("the journal thread does not panic"),
                built,
            )
        });
        self.journal = Some(journal);
        (framed, built)
    }

    /// Moves staged history entries into the batch: each entity's fill its last
    /// posting block up to [`block::POSTINGS_PER_BLOCK`] entries, then new blocks of
    /// that size (one write of many entries for an entity no longer makes one block
    /// of them all, rewritten whole by every later write).
    fn put_postings(&self, batch: &mut sled::Batch, staged: &mut Staged) -> Result<()> {
        for ((kind, slug), postings) in staged.postings.drain() {
            let prefix = index::postings_prefix(kind, &slug);
            let mut rest = &postings[..];
            if let Some((key, value)) = self.db.scan_prefix(&prefix).next_back().transpose()? {
                let room = self
                    .postings_per_block
                    .saturating_sub(block::postings_len(&value));
                if room > 0 {
                    let (now, later) = rest.split_at(room.min(rest.len()));
                    let mut value = value.to_vec();
                    block::push_postings(&mut value, now);
                    batch.insert(key, value);
                    rest = later;
                }
            }
            for postings in rest.chunks(self.postings_per_block) {
                let mut value = Vec::new();
                block::push_postings(&mut value, postings);
                batch.insert(index::postings_key(kind, &slug, postings[0].1), value);
            }
        }
        staged.n_postings = 0;
        Ok(())
    }

    /// Commits: the last journal frame, fsynced (from here the write is durable),
    /// then the last sled batch moving the head, then the head witness. sled is not
    /// fsynced: a crash that loses its last batches is repaired from the journal on
    /// the next open.
    pub(crate) fn commit(
        &mut self,
        staged: &mut Staged,
        head: Head,
        chunk: Chunk<'_>,
    ) -> Result<()> {
        self.check_not_lost()?;
        self.applied()?;
        let (framed, batch) = self.beside_journal_frame(&chunk, true, |ledger| {
            let mut batch = std::mem::take(&mut staged.batch);
            put_blocks(&mut batch, &chunk);
            ledger.put_postings(&mut batch, staged)?;
            Ok(batch)
        });
        let offset = framed?;
        let mut batch = batch?;
        batch.insert(index::META_HEAD, head.encode());
        batch.insert(META_JOURNAL, &offset.to_be_bytes());
        batch.remove(index::META_PENDING);
        if !self.db.contains_key(META_REFRESH)? {
            // The snapshot refresh after the commit is owed from here until it is done.
            batch.insert(META_REFRESH, &self.head.seq.to_be_bytes());
        }
        // From here the write is durable: nothing may discard it, even if sled fails.
        let applied = self.db.apply_batch(batch);
        self.head = head;
        let seq = self.head.seq;
        let unconfirmed = |err: Error| {
            Error::Storage(format!(
                "the events are committed (head {seq}, in the journal) but sled could not take them: {err}; the next open rebuilds sled from the journal"
            ))
        };
        applied.map_err(Error::from).map_err(unconfirmed)?;
        self.write_head_file().map_err(unconfirmed)
    }

    /// Appends already-stored records to the journal as one commit and makes it
    /// durable, then records in sled where the journal now ends (for records sled held
    /// that the journal had lost).
    pub(crate) fn write_journal_commit(
        &mut self,
        first_seq: u64,
        records: &[Vec<u8>],
        head: &Head,
    ) -> Result<()> {
        let journal = self
            .journal
            .as_mut()
            .ok_or_else(|| Error::Storage("this handle on the ledger has no journal".into()))?;
        let end = journal.append(first_seq, records, &head.hash, true)?;
        journal.sync()?;
        self.db.insert(META_JOURNAL, &end.to_be_bytes())?;
        Ok(())
    }

    /// Drops the journal frames of a write that failed before its commit.
    pub(crate) fn abandon_journal(&mut self) -> Result<()> {
        match self.journal.as_mut() {
            Some(journal) if self.replay_end.is_none() => journal.abandon(),
            _ => Ok(()),
        }
    }

    /// The committed head, kept in a small file beside sled's own as a witness: if
    /// sled's storage is damaged and recovers less than was committed, the next open
    /// says so instead of showing a shorter ledger.
    fn head_file(&self) -> PathBuf {
        self.path.join(HEAD_FILE)
    }

    fn write_head_file(&self) -> Result<()> {
        self.write_witness(self.head.seq, &self.head.hash)
    }

    /// Writes the head witness naming record `seq` with `hash` (temp file, fsync,
    /// rename, folder fsync).
    fn write_witness(&self, seq: u64, hash: &str) -> Result<()> {
        let path = self.head_file();
        let temp = self.path.join(format!("{HEAD_FILE}.tmp"));
        let text = format!("{seq} {hash}\n");
        let write = || -> std::io::Result<()> {
            let mut file = fs::File::create(&temp)?;
            std::io::Write::write_all(&mut file, text.as_bytes())?;
            file.sync_all()?;
            fs::rename(&temp, &path)?;
            fs::File::open(&self.path)?.sync_all()
        };
        write().map_err(|e| Error::io(path.display(), e))
    }

    /// Checks the head witness against the head the ledger is about to have
    /// (`seq`, `hash`): the witness may not name more than that.
    pub(crate) fn check_head_file(&self, seq_now: u64, hash_now: &str) -> Result<()> {
        let Some((seq, hash)) = read_head_file(&self.path)? else {
            return Ok(());
        };
        let lost = seq > seq_now;
        let differs = seq == seq_now && hash != hash_now;
        if differs {
            return Err(Error::JournalDamaged(format!(
                "the ledger's storage is damaged or not this ledger's: {HEAD_FILE} says record {seq} was committed with hash {hash}, but the journal and sled's record {seq} has hash {hash_now}"
            )));
        }
        if lost {
            return Err(Error::JournalDamaged(format!(
                "the ledger's storage is damaged: {} committed (head {seq}:{hash}) but the journal and sled hold {seq_now}",
                crate::error::count(seq, "record was", "records were")
            )));
        }
        Ok(())
    }

    /// Checks that the head witness read before this open repaired anything (`witness`)
    /// names a record of this history: a journal or sled of another ledger (or a
    /// rewritten history) is refused, and the witness is put back as the evidence.
    pub(crate) fn check_witnessed(&self, witness: Option<&(u64, String)>) -> Result<()> {
        let Some((seq, hash)) = witness else {
            return Ok(());
        };
        if *seq > self.head.seq {
            return Ok(()); // Reported by check_head_file as a loss.
        }
        let held = match *seq {
            0 => Some(crate::chain::GENESIS_HASH.to_string()),
            seq => self.record(seq)?.map(|r| r.hash),
        };
        if held.as_deref() == Some(hash.as_str()) {
            return Ok(());
        }
        self.write_witness(*seq, hash)?;
        Err(Error::Integrity(format!(
            "{HEAD_FILE} says record {seq} was committed with hash {hash}, but the journal and sled hold {}: they are not this ledger's history; sled files set aside on the way are in `sled.damaged.*`",
            match held {
                Some(other) => format!("a record {seq} with hash {other}"),
                None => format!("no record {seq}"),
            }
        )))
    }

    /// Rewrites the head witness when it is missing or behind the head; says which.
    pub(crate) fn renew_head_file(&self) -> Result<Option<String>> {
        let witness = read_head_file(&self.path)?;
        let head = self.head.seq;
        let what = match witness {
            None if head > 0 => format!("{HEAD_FILE} was missing"),
            Some((seq, _)) if seq < head => format!(
                "{HEAD_FILE} named record {seq}, behind the head (a crash before it was written, or an older copy)"
            ),
            _ => return Ok(None),
        };
        self.write_head_file()?;
        Ok(Some(format!("{what}: rewritten at head {head}")))
    }

    /// Flushes sled and fsyncs its data file and directory.
    pub(crate) fn sync(&self) -> Result<()> {
        self.db.flush()?;
        let dir = self.path.join(SLED_DIR);
        for file in [dir.join("db"), dir] {
            if let Ok(handle) = fs::File::open(&file) {
                handle
                    .sync_all()
                    .map_err(|e| Error::io(file.display(), e))?;
            }
        }
        Ok(())
    }

    /// Deletes everything an unfinished write left past the head: its record blocks
    /// (no block holds records on both sides of the head), the index entries its
    /// records wrote (computed from the records themselves, newest first so that a
    /// correction's target is still readable) and its entries in posting blocks.
    pub(crate) fn discard_uncommitted(&mut self) -> Result<()> {
        // A chunk that failed to apply leaves nothing or all of itself: either is discarded.
        let _ = self.applied();
        let head = self.head.seq;
        let residue: Vec<sled::IVec> = self
            .db
            .range(index::block_key(head + 1)..=index::block_key(u64::MAX))
            .keys()
            .collect::<std::result::Result<_, _>>()?;
        let mut undecodable = false;
        let mut touched: std::collections::HashSet<(Kind, Slug)> = Default::default();
        for key in residue.iter().rev() {
            let mut batch = sled::Batch::default();
            let value = self.db.get(key)?.unwrap_or_default();
            match block::decode_records(&value) {
                Ok(records) => {
                    let records: Vec<(u64, &[u8])> = records.iter().collect();
                    for &(_, bytes) in records.iter().rev() {
                        let Ok(record) = Record::decode(bytes) else {
                            undecodable = true;
                            continue;
                        };
                        let target = self.target_raw(&record)?;
                        for entry in index::entries(
                            &record.event,
                            index::Firsts::ALL,
                            target.as_ref().map(|t| &*t.event),
                        ) {
                            if let Entry::Touch(kind, slug, _) = entry {
                                touched.insert((kind, slug));
                                continue;
                            }
                            let key = entry.key();
                            let stale = self
                                .db
                                .get(&key)?
                                .and_then(|v| index::seq_from(&v))
                                .is_some_and(|s| s > head);
                            if stale {
                                batch.remove(key);
                            }
                        }
                    }
                }
                Err(_) => undecodable = true,
            }
            batch.remove(key);
            self.db.apply_batch(batch)?;
        }
        let mut batch = sled::Batch::default();
        for (kind, slug) in touched {
            self.truncate_postings(&index::postings_prefix(kind, &slug), &mut batch)?;
        }
        if undecodable {
            // A damaged record: find its entries by scanning every index.
            for item in self.index_entries() {
                let (key, value) = item?;
                if index::entry_seq(&value).is_some_and(|s| s > head) {
                    batch.remove(key);
                }
            }
            let prefixes: std::collections::BTreeSet<Vec<u8>> = self
                .all_postings()
                .filter_map(|item| item.ok().map(|(prefix, _)| prefix))
                .collect();
            for prefix in prefixes {
                self.truncate_postings(&prefix, &mut batch)?;
            }
        }
        batch.remove(index::META_PENDING);
        self.db.apply_batch(batch)?;
        self.forget_decoded();
        self.sync()
    }

    /// Cuts an entity's posting blocks back to the committed head.
    fn truncate_postings(&self, prefix: &[u8], batch: &mut sled::Batch) -> Result<()> {
        let head = self.head.seq;
        for item in self.db.scan_prefix(prefix).rev() {
            let (key, value) = item?;
            if index::seq_from(&key).is_some_and(|first| first > head) {
                batch.remove(key);
                continue;
            }
            let postings = block::postings(&value).map_err(Error::SledDamaged)?;
            let kept: Vec<(Instant, u64)> =
                postings.iter().copied().filter(|p| p.1 <= head).collect();
            if kept.len() != postings.len() {
                let mut value = Vec::new();
                block::push_postings(&mut value, &kept);
                batch.insert(key, value);
            }
            break;
        }
        Ok(())
    }

    /// The record a correction retracts or supersedes, whether or not it is committed yet.
    pub(crate) fn target_raw(&self, record: &Record) -> Result<Option<Record>> {
        let Some(target) = record.event.refers_to() else {
            return Ok(None);
        };
        let Some(seq) = self
            .raw_get(&index::id_key(&target))?
            .and_then(|v| index::seq_from(&v))
        else {
            return Ok(None);
        };
        match self.raw(seq)? {
            Some(bytes) => decode(seq, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Direct access for tests that damage the store on purpose.
    #[doc(hidden)]
    pub fn sled_for_tests(&self) -> &sled::Db {
        &self.db
    }

    /// The stored bytes at `seq`, committed or not, for tests.
    #[doc(hidden)]
    pub fn stored_record_for_tests(&self, seq: u64) -> Option<Vec<u8>> {
        self.raw(seq)
            .expect("sled reads")
            .map(|bytes| bytes.to_vec())
    }

    /// Stores `bytes` as the record at `seq` (`None`: removes it), rewriting its block
    /// as it is (a seq past the head's block gets a block of its own), for tests that
    /// damage the store on purpose.
    #[doc(hidden)]
    pub fn put_record_for_tests(&self, seq: u64, bytes: Option<&[u8]>) {
        let found = self.block_value(seq).expect("sled reads");
        let (first, mut records, times) = match found {
            Some((first, value))
                if seq <= self.head.seq
                    || block::decode_records(&value)
                        .ok()
                        .and_then(|b| b.span())
                        .is_some_and(|(_, last)| seq <= last) =>
            {
                let header = block::header(&value).expect("a block");
                let block = block::decode_records(&value).expect("a block");
                let records: Vec<(u64, Vec<u8>)> =
                    block.iter().map(|(s, b)| (s, b.to_vec())).collect();
                (
                    first,
                    records,
                    (header.first_recorded, header.last_recorded),
                )
            }
            _ => {
                let at = self.head.recorded_at.unwrap_or_default();
                (seq, Vec::new(), (at, at))
            }
        };
        records.retain(|(s, _)| *s != seq);
        if let Some(bytes) = bytes {
            records.push((seq, bytes.to_vec()));
            records.sort_by_key(|(s, _)| *s);
        }
        let n = records.len();
        let value = block::encode_records(
            records
                .iter()
                .enumerate()
                .map(|(i, (s, b))| (*s, b.as_slice(), if i + 1 == n { times.1 } else { times.0 })),
        );
        self.db
            .insert(index::block_key(first), value)
            .expect("sled writes");
        self.forget_decoded();
    }
}

/// Puts a chunk's records into the batch, in blocks.
fn put_blocks(batch: &mut sled::Batch, chunk: &Chunk<'_>) {
    for (first, records) in block::split(chunk.first_seq, chunk.records, Vec::len) {
        let offset = (first - chunk.first_seq) as usize;
        let value = block::encode_records(records.iter().enumerate().map(|(i, bytes)| {
            (
                first + i as u64,
                bytes.as_slice(),
                chunk.recorded[offset + i],
            )
        }));
        batch.insert(&index::block_key(first), value);
    }
}

/// The log of a sled of an earlier layout (sled's files in the ledger folder before
/// the journal, one key per record): its head (seq, hash) and its committed records.
pub(crate) struct LegacyLog {
    db: sled::Db,
    pub seq: u64,
    pub hash: String,
}

impl LegacyLog {
    pub(crate) fn open(dir: &Path) -> Result<LegacyLog> {
        let db = open_sled(dir)?;
        let (seq, hash) = match db.get(index::META_HEAD)? {
            Some(bytes) if bytes.len() > 8 => (
                u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes")),
                String::from_utf8(bytes[8..].to_vec())
                    .map_err(|_| Error::Integrity("the ledger's head marker is damaged".into()))?,
            ),
            Some(_) => {
                return Err(Error::Integrity(
                    "the ledger's head marker is damaged".into(),
                ))
            }
            None => (0, GENESIS_HASH.to_string()),
        };
        Ok(LegacyLog { db, seq, hash })
    }

    /// The committed records in seq order: (seq, stored bytes).
    pub(crate) fn records(&self) -> impl Iterator<Item = Result<(u64, Vec<u8>)>> + '_ {
        let end = self.seq;
        self.db
            .range(index::legacy_log_key(1)..=index::legacy_log_key(end))
            .take_while(move |_| end > 0)
            .map(|item| {
                let (key, value) = item?;
                let seq = index::seq_from(&key)
                    .ok_or_else(|| Error::Integrity("a log key does not decode".into()))?;
                Ok((seq, value.to_vec()))
            })
    }
}

/// Opens sled's files in `path`. sled's own lock can outlive a handle this process
/// just closed by a moment (its threads finish flushing): a held lock is retried for
/// up to two seconds before it is [`Error::Locked`].
pub(crate) fn open_sled(path: &Path) -> Result<sled::Db> {
    let mut tries = 0;
    loop {
        match open_sled_once(path) {
            Err(Error::Locked { .. }) if tries < 400 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

fn open_sled_once(path: &Path) -> Result<sled::Db> {
    let shown = path.display().to_string();
    sled::Config::new()
        .path(path)
        .cache_capacity(CACHE_BYTES)
        .flush_every_ms(Some(500))
        .open()
        .map_err(|err| match err {
            // sled 0.34 reports a held lock as ErrorKind::Other "could not acquire lock".
            sled::Error::Io(io) if is_lock_error(&io) => Error::Locked { path: shown },
            sled::Error::Io(io) => Error::io(&shown, io),
            other => Error::from(other),
        })
}

/// What `verify` or `export` found damaged in the journal of the ledger in `path`,
/// if either did since the last `verify` that passed (see
/// [`Ledger::note_journal_damage`]).
pub fn journal_damage(path: &Path) -> Result<Option<String>> {
    let file = path.join(JOURNAL_DAMAGED_FILE);
    match fs::read_to_string(&file) {
        Ok(text) => Ok(Some(text.trim().to_string())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::io(file.display(), err)),
    }
}

/// The head witness of the ledger in `path`: (seq, hash), or `None` without one.
pub(crate) fn read_head_file(path: &Path) -> Result<Option<(u64, String)>> {
    let file = path.join(HEAD_FILE);
    let text = match fs::read_to_string(&file) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(Error::io(file.display(), err)),
    };
    let mut parts = text.split_whitespace();
    match (
        parts.next().and_then(|s| s.parse::<u64>().ok()),
        parts.next(),
    ) {
        (Some(seq), Some(hash)) if hash.len() == 64 => Ok(Some((seq, hash.to_string()))),
        _ => Err(Error::Integrity(format!(
            "{} is damaged (it should hold the seq and hash of the last commit); if the journal verifies, delete it and it is written again",
            file.display()
        ))),
    }
}

/// Takes the lock on a ledger folder: one process holds a ledger at a time.
///
/// A lock this process just released can still be held for a moment by a child
/// that another thread is starting (between its fork and its exec, the child shares
/// the lock's open file), so a held lock is tried again for up to 200 ms before it
/// is [`Error::Locked`].
pub(crate) fn lock_folder(path: &Path) -> Result<fs::File> {
    let lock_path = path.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| Error::io(lock_path.display(), e))?;
    let mut tries = 0;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) if tries < 40 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Error::Locked {
                    path: path.display().to_string(),
                })
            }
            Err(fs::TryLockError::Error(e)) => return Err(Error::io(lock_path.display(), e)),
        }
    }
}

fn is_lock_error(err: &std::io::Error) -> bool {
    err.kind() == std::io::ErrorKind::WouldBlock
        || err.to_string().contains("could not acquire lock")
}

const INDEX_TAG_RANGES: &[u8] = index::INDEX_TAGS;

/// The record in stored `bytes`, checked to say it is `seq`.
pub(crate) fn decode(seq: u64, bytes: &[u8]) -> Result<Record> {
    let record = Record::decode(bytes)
        .map_err(|e| Error::SledDamaged(format!("its record {seq} does not decode: {e}")))?;
    if record.seq != seq {
        return Err(Error::SledDamaged(format!(
            "its record at seq {seq} says it is seq {}",
            record.seq
        )));
    }
    Ok(record)
}

/// Records decoded together by [`Ledger::events`], half on each of two threads.
pub const EVENTS_BATCH: usize = 4096;

/// The record time and event of the stored record at `seq` ([`Record::decode_event`]),
/// checked to say it is `seq`.
fn decode_event(seq: u64, bytes: &[u8]) -> Result<(Instant, crate::event::Event)> {
    let (stored_seq, recorded_at, event) = Record::decode_event(bytes)
        .map_err(|e| Error::SledDamaged(format!("its record {seq} does not decode: {e}")))?;
    if stored_seq != seq {
        return Err(Error::SledDamaged(format!(
            "its record at seq {seq} says it is seq {stored_seq}"
        )));
    }
    Ok((recorded_at, event))
}

/// Fsyncs the folder that holds `path`.
pub(crate) fn sync_parent(path: &Path) -> std::io::Result<()> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    fs::File::open(parent)?.sync_all()
}

#[cfg(unix)]
pub(crate) fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

#[cfg(not(unix))]
pub(crate) fn create_private_dir(path: &Path) -> std::io::Result<()> {
    fs::create_dir_all(path)
}
