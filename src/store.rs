//! The sled ledger: opening, the committed head, reading records and indexes,
//! and the durable, all-or-nothing write of a chunked batch.
//!
//! Writes go in chunks past the committed head (`Mhead`); the last chunk moves the
//! head. Until then readers see nothing of them, and if the process dies the next
//! open deletes them (the `Mpending` marker says a write was under way). Moving the
//! head is followed by `flush` and an fsync of sled's data file: sled's `flush` is
//! `sync_file_range` on Linux, which does not persist metadata or the drive cache.

use std::fs;
use std::path::{Path, PathBuf};

use crate::chain::{Record, GENESIS_HASH};
use crate::error::{Error, Result};
use crate::event::{Kind, Slug};
use crate::index::{self, Entry};
use crate::time::Instant;

/// sled's page cache; the default (1 GiB) lets a large import grow the process well past it.
const CACHE_BYTES: u64 = 64 << 20;

/// The last committed record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
    pub recorded_at: Option<Instant>,
}

impl Head {
    fn empty() -> Head {
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

/// One ledger: one sled database.
pub struct Ledger {
    db: sled::Db,
    path: PathBuf,
    head: Head,
}

impl Ledger {
    /// Whether `path` holds a ledger (without creating anything).
    pub fn exists(path: &Path) -> bool {
        path.join("conf").is_file() || path.join("db").is_file()
    }

    pub fn open(path: &Path, access: Access) -> Result<Ledger> {
        let shown = path.display().to_string();
        if path.exists() && !path.is_dir() {
            return Err(Error::Io {
                path: shown,
                message: "is a file, not a ledger directory".into(),
            });
        }
        if !Ledger::exists(path) {
            if access == Access::Existing {
                return Err(Error::NotFound(format!(
                    "no ledger at {shown} (a writing command such as `pactlog import` creates one; --db or PACTLOG_DB names another)"
                )));
            }
            create_private_dir(path).map_err(|e| Error::io(&shown, e))?;
        }
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(CACHE_BYTES)
            .flush_every_ms(Some(500))
            .open()
            .map_err(|err| match err {
                sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                    Error::Locked {
                        path: shown.clone(),
                    }
                }
                sled::Error::Io(io) => Error::io(&shown, io),
                other => Error::Storage(format!("{shown}: {other}")),
            })?;
        let mut ledger = Ledger {
            db,
            path: path.to_path_buf(),
            head: Head::empty(),
        };
        ledger.head = ledger.read_head()?;
        if ledger.db.contains_key(index::META_PENDING)? {
            ledger.discard_uncommitted()?;
        }
        Ok(ledger)
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

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The committed head: what every reader sees.
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// The raw stored bytes at `seq`, committed or not.
    pub(crate) fn raw(&self, seq: u64) -> Result<Option<sled::IVec>> {
        Ok(self.db.get(index::log_key(seq))?)
    }

    /// The committed record at `seq`.
    pub fn record(&self, seq: u64) -> Result<Option<Record>> {
        if seq == 0 || seq > self.head.seq {
            return Ok(None);
        }
        match self.raw(seq)? {
            Some(bytes) => decode(seq, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Committed records from `from` on, in seq order.
    pub fn records(&self, from: u64) -> impl Iterator<Item = Result<Record>> + '_ {
        self.raw_records(from)
            .map(|item| item.and_then(|(seq, bytes)| decode(seq, &bytes)))
    }

    /// Committed stored bytes from `from` on, in seq order.
    pub fn raw_records(&self, from: u64) -> impl Iterator<Item = Result<(u64, sled::IVec)>> + '_ {
        let end = self.head.seq;
        self.db
            .range(index::log_key(from.max(1))..=index::log_key(end))
            .take_while(move |_| end > 0)
            .map(|item| {
                let (key, value) = item?;
                let seq = index::log_seq(&key)
                    .ok_or_else(|| Error::Integrity("a log key is damaged".into()))?;
                Ok((seq, value))
            })
    }

    /// Committed records at these seqs, in the order given.
    pub fn records_at(&self, seqs: &[u64]) -> Result<Vec<Record>> {
        seqs.iter()
            .map(|&seq| {
                self.record(seq)?.ok_or_else(|| {
                    Error::Integrity(format!("an index names record {seq}, which is missing"))
                })
            })
            .collect()
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

    /// The seq of the event that retracted or superseded this one.
    pub fn removed_by(&self, id: &uuid::Uuid) -> Result<Option<u64>> {
        self.indexed_seq(&index::removed_key(id))
    }

    /// Where an entity was first registered.
    pub fn registered(&self, kind: Kind, slug: &Slug) -> Result<Option<u64>> {
        self.indexed_seq(&index::registered_key(kind, slug))
    }

    /// Every registered slug of a kind, sorted.
    pub fn slugs(&self, kind: Kind) -> Result<Vec<String>> {
        let prefix = index::registered_prefix(kind);
        let mut out = Vec::new();
        for item in self.db.scan_prefix(&prefix) {
            let (key, value) = item?;
            if index::seq_from(&value).is_some_and(|seq| seq <= self.head.seq) {
                out.push(String::from_utf8_lossy(&key[prefix.len()..]).into_owned());
            }
        }
        Ok(out)
    }

    /// The seqs of the committed records in an entity's history, in seq order.
    pub fn touching(&self, kind: Kind, slug: &Slug) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        for item in self.db.scan_prefix(index::touch_prefix(kind, slug)) {
            let (key, _) = item?;
            match index::seq_from(&key) {
                Some(seq) if seq <= self.head.seq => out.push(seq),
                Some(_) => {}
                None => return Err(Error::Integrity("a touch index key is damaged".into())),
            }
        }
        Ok(out)
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

    /// Whether a key exists, committed or not (for writers checking staged entries).
    pub(crate) fn raw_get(&self, key: &[u8]) -> Result<Option<sled::IVec>> {
        Ok(self.db.get(key)?)
    }

    /// Writes one chunk of an unfinished write past the head. The first chunk also
    /// sets the pending marker, so a crash before the commit is cleaned up on open.
    pub(crate) fn write_chunk(&self, mut batch: sled::Batch) -> Result<()> {
        batch.insert(index::META_PENDING, &self.head.seq.to_be_bytes());
        self.db.apply_batch(batch)?;
        Ok(())
    }

    /// Applies the last chunk and moves the head in one batch, then makes it durable.
    pub(crate) fn commit(&mut self, mut batch: sled::Batch, head: Head) -> Result<()> {
        batch.insert(index::META_HEAD, head.encode());
        batch.remove(index::META_PENDING);
        self.db.apply_batch(batch)?;
        self.sync()?;
        self.head = head;
        Ok(())
    }

    /// Flushes sled and fsyncs its data file and directory.
    fn sync(&self) -> Result<()> {
        self.db.flush()?;
        for file in [self.path.join("db"), self.path.clone()] {
            if let Ok(handle) = fs::File::open(&file) {
                handle
                    .sync_all()
                    .map_err(|e| Error::io(file.display(), e))?;
            }
        }
        Ok(())
    }

    /// Deletes everything an unfinished write left past the head: its records and
    /// the index entries they wrote (computed from the records themselves, newest
    /// first so that a correction's target is still readable).
    pub(crate) fn discard_uncommitted(&mut self) -> Result<()> {
        let head = self.head.seq;
        let residue: Vec<u64> = self
            .db
            .range(index::log_key(head + 1)..=index::log_key(u64::MAX))
            .keys()
            .filter_map(|k| k.ok().and_then(|k| index::log_seq(&k)))
            .collect();
        let mut batch = sled::Batch::default();
        let mut undecodable = false;
        for &seq in residue.iter().rev() {
            match self.raw(seq)?.map(|bytes| Record::decode(&bytes)) {
                Some(Ok(record)) => {
                    let touches = self.target_touches_raw(&record)?;
                    for entry in index::entries(&record.event, true, &touches) {
                        let key = entry.key(seq);
                        let stale = match entry {
                            Entry::Touch(..) => true,
                            _ => self
                                .db
                                .get(&key)?
                                .and_then(|v| index::seq_from(&v))
                                .is_some_and(|s| s > head),
                        };
                        if stale {
                            batch.remove(key);
                        }
                    }
                }
                _ => undecodable = true,
            }
            batch.remove(&index::log_key(seq));
        }
        if undecodable {
            // A damaged record: find its entries by scanning every index.
            for item in self.index_entries() {
                let (key, value) = item?;
                if index::entry_seq(&key, &value).is_some_and(|s| s > head) {
                    batch.remove(key);
                }
            }
        }
        batch.remove(index::META_PENDING);
        self.db.apply_batch(batch)?;
        self.sync()
    }

    /// The entities touched by the event a record retracts or supersedes, read from
    /// the store whether or not that event is committed yet.
    pub(crate) fn target_touches_raw(&self, record: &Record) -> Result<Vec<(Kind, Slug)>> {
        let Some(target) = record.event.removes() else {
            return Ok(Vec::new());
        };
        let Some(seq) = self
            .raw_get(&index::id_key(&target))?
            .and_then(|v| index::seq_from(&v))
        else {
            return Ok(Vec::new());
        };
        let Some(bytes) = self.raw(seq)? else {
            return Ok(Vec::new());
        };
        let target = decode(seq, &bytes)?;
        Ok(target
            .event
            .touches()
            .into_iter()
            .map(|(k, s)| (k, s.clone()))
            .collect())
    }

    /// Direct access for tests that damage the store on purpose.
    #[doc(hidden)]
    pub fn sled_for_tests(&self) -> &sled::Db {
        &self.db
    }
}

const INDEX_TAG_RANGES: &[u8] = index::INDEX_TAGS;

fn decode(seq: u64, bytes: &[u8]) -> Result<Record> {
    let record = Record::decode(bytes)
        .map_err(|e| Error::Integrity(format!("record {seq} is damaged: {e}")))?;
    if record.seq != seq {
        return Err(Error::Integrity(format!(
            "record stored at seq {seq} says it is seq {}",
            record.seq
        )));
    }
    Ok(record)
}

#[cfg(unix)]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

#[cfg(not(unix))]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    fs::create_dir_all(path)
}
