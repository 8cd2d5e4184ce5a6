//! Opening a ledger whole: [`Ledger::open`] locks the folder, upgrades a ledger of
//! the layout before the journal, and makes sled agree with the journal.
//!
//! The journal (`crate::journal`) is what makes a write durable; sled is rebuildable
//! from it. On open:
//! - an unfinished write at the end of the journal (a crash mid-append, never
//!   acknowledged) is trimmed;
//! - if sled is behind the journal (a crash after the journal's fsync, before sled
//!   wrote its batches), the missing records are applied to sled;
//! - if sled cannot be opened, reports damage, disagrees with the journal, or its
//!   files are missing, its folder is moved aside (kept, and named in a note) and
//!   sled is rebuilt from the whole journal;
//! - if sled holds committed records the journal lacks (the journal lost its end),
//!   they are written back to the journal;
//! - the head witness (`pactlog.head`) must not name more than the ledger holds.
//!
//! Each repair leaves a sentence in [`Ledger::recovery_notes`]; every record replayed
//! is checked against the hash chain on the way in, so a journal that fails its own
//! chain is an integrity error, never silently trimmed.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::append::{append_all, Clock, Item};
use crate::chain::{Record, GENESIS_HASH};
use crate::error::{Error, Location, Result};
use crate::journal::{self, Journal, Position};
use crate::store::{self, Access, Head, Ledger, OlderLayout, HEAD_FILE, SLED_DIR};

/// The folder an upgrade keeps the files of the layout before the journal in, until
/// the upgraded ledger has verified.
pub const PRE_JOURNAL_DIR: &str = "pre-journal-layout";

/// The folder sled's files of the layout of one key per record are kept in while
/// sled is rebuilt from the journal in the packed layout.
pub const PER_RECORD_DIR: &str = "sled.per-record-layout";

/// Where sled's files of layout 2 wait while sled is rebuilt from the journal.
pub const LAYOUT_2_DIR: &str = "sled.layout-2";

/// The journal an upgrade writes before it is complete.
const MIGRATING: &str = "journal.upgrading";

/// Progress of a long repair: records done and records in all.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

impl Ledger {
    /// Opens the ledger in folder `path` (see the module docs for what opening
    /// repairs). Errors: [`Error::NotFound`] for a missing ledger with
    /// [`Access::Existing`], [`Error::Locked`] while another process holds it,
    /// [`Error::JournalDamaged`] when the journal is damaged or holds less than was
    /// committed, [`Error::Io`] for the folder.
    pub fn open(path: &Path, access: Access) -> Result<Ledger> {
        Ledger::open_with(path, access, &mut |_, _| {})
    }

    /// [`Ledger::open`], reporting the progress of a rebuild or upgrade.
    pub fn open_with(path: &Path, access: Access, progress: Progress<'_>) -> Result<Ledger> {
        let shown = path.display().to_string();
        if path.exists() && !path.is_dir() {
            return Err(Error::Io {
                path: shown,
                message: "is a file, not a ledger directory".into(),
            });
        }
        if !Ledger::probe(path)? {
            if access == Access::Existing {
                return Err(Error::NotFound(format!(
                    "no ledger at {shown} (a writing command such as `pactlog import` creates one; --db or PACTLOG_DB names another)"
                )));
            }
            if let Some(other) = not_pactlogs(path)? {
                return Err(Error::Io {
                    path: shown,
                    message: format!(
                        "holds files but no ledger (such as `{other}`): a new ledger is made only in a new or empty folder; name another with --db or PACTLOG_DB"
                    ),
                });
            }
            store::create_private_dir(path).map_err(|e| Error::io(&shown, e))?;
            // The new folder's name is in its parent: without this fsync a crash can
            // lose the whole ledger after its first write was reported.
            store::sync_parent(path).map_err(|e| Error::io(&shown, e))?;
        }
        let lock = store::lock_folder(path)?;
        let damaged = store::journal_damage(path)?;
        if let (Access::Create, Some(found)) = (access, &damaged) {
            return Err(Error::JournalDamaged(format!(
                "the journal, which makes writes durable, was found damaged ({found}): this ledger takes no writes until a `verify` passes (a journal restored whole)"
            )));
        }
        let mut notes = Vec::new();
        if let Some(found) = damaged {
            // Reads go on from sled; whoever reads should know what they stand on.
            notes.push(format!(
                "an earlier `verify` or `export` found the journal damaged ({found}): reads come from sled alone, and the ledger takes no writes until a `verify` passes (README: \"Recovering a damaged journal\")"
            ));
        }
        if !Journal::exists(path) && path.join("conf").is_file() {
            upgrade(path, progress, &mut notes)?;
        }
        let witness = store::read_head_file(path)?;
        let mut ledger = open_caught_up(path, lock, progress, &mut notes)?;
        ledger.check_witnessed(witness.as_ref())?;
        if !ledger.snapshots_are(crate::snapshot::FORMAT)? {
            let n = crate::snapshot::rebuild_all(&ledger)?;
            notes.push(format!(
                "rewrote the projection snapshots in this version's fold format ({})",
                crate::error::count(n as u64, "snapshot", "snapshots")
            ));
        }
        // Snapshots are a cache: a refresh that fails leaves the queries slower, never wrong.
        match crate::snapshot::resume(&ledger) {
            Ok(Some(n)) => notes.push(format!(
                "finished the projection snapshots of the last write, cut short before ({})",
                crate::error::count(n as u64, "snapshot", "snapshots")
            )),
            Ok(None) => {}
            Err(err) => notes.push(format!(
                "could not finish the projection snapshots of the last write ({err}); queries fold more of the history until a write refreshes them"
            )),
        }
        if let Some(note) = ledger.renew_head_file()? {
            notes.push(note);
        }
        for old in [PRE_JOURNAL_DIR, PER_RECORD_DIR, LAYOUT_2_DIR] {
            let upgraded = path.join(old);
            if upgraded.is_dir() {
                // The upgrade's replay has reached the journal's head: the old files go.
                fs::remove_dir_all(&upgraded).map_err(|e| Error::io(upgraded.display(), e))?;
            }
        }
        ledger.notes = notes;
        Ok(ledger)
    }
}

/// The first entry of a folder that is not one pactlog keeps in a ledger folder (its
/// lock, tokens, runtime file, set-aside or trimmed copies) nor hidden (a name
/// starting with `.`): where a new ledger must not be made, lest it mix with a
/// folder of other files. `None` for a missing or empty folder.
fn not_pactlogs(path: &Path) -> Result<Option<String>> {
    let entries = match fs::read_dir(path) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(Error::io(path.display(), err)),
    };
    // A name followed by digits alone (`sled.damaged.2`).
    let numbered = |name: &str, prefix: &str| {
        name.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    let ours = |name: &str| {
        name.starts_with('.')
            || [
                "lock",
                "tokens.json",
                "serve.json",
                "pactlog.head.tmp",
                "journal.damaged",
                "journal.upgrading",
                PRE_JOURNAL_DIR,
                PER_RECORD_DIR,
                LAYOUT_2_DIR,
            ]
            .contains(&name)
            || numbered(name, "journal.trimmed.")
            || numbered(name, "sled.damaged.")
            || (name == SLED_DIR && empty_dir(&path.join(name)))
    };
    for entry in entries {
        let name = entry
            .map_err(|e| Error::io(path.display(), e))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if !ours(&name) {
            return Ok(Some(name));
        }
    }
    Ok(None)
}

/// Whether `path` is a folder with nothing in it.
fn empty_dir(path: &Path) -> bool {
    fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_none())
}

/// Opens sled and the journal and makes them agree.
fn open_caught_up(
    path: &Path,
    lock: fs::File,
    progress: Progress<'_>,
    notes: &mut Vec<String>,
) -> Result<Ledger> {
    let sled_dir = path.join(SLED_DIR);
    let had_sled = sled_dir.join("conf").is_file() || sled_dir.join("db").is_file();
    let opened = if had_sled || !Journal::exists(path) {
        open_sled_caught(path, &sled_dir)
    } else {
        Err(Error::Storage("sled's files are missing".into()))
    };
    let mut upgraded_from = None;
    let (sled, damage) = match opened {
        Ok(ledger) if ledger.older_layout.is_some() => {
            let older = ledger.older_layout;
            drop(ledger);
            let aside = path.join(match older {
                Some(OlderLayout::PerRecord) => PER_RECORD_DIR,
                _ => LAYOUT_2_DIR,
            });
            if aside.exists() {
                fs::remove_dir_all(&aside).map_err(|e| Error::io(aside.display(), e))?;
            }
            fs::rename(&sled_dir, &aside).map_err(|e| Error::io(sled_dir.display(), e))?;
            upgraded_from = older;
            (None, None)
        }
        Ok(ledger) => match ledger.journal_position() {
            Ok(position) => (Some((ledger, position)), None),
            Err(err) => (None, Some(err.to_string())),
        },
        Err(err @ Error::Locked { .. }) => return Err(err),
        Err(err) => (None, Some(err.to_string())),
    };
    let hint = sled.as_ref().map(|(_, position)| position.clone());
    let (mut journal, opened) = Journal::open(path, hint.as_ref())?;
    let committed = opened.committed;
    if opened.tail > 0 {
        let sled_seq = hint.as_ref().map_or(0, |position| position.seq);
        trim_tail(path, &mut journal, &committed, opened.tail, sled_seq, notes)?;
    }
    let (mut ledger, from) = match (sled, damage) {
        (Some((ledger, position)), _) if position.seq == committed.seq => {
            if position.hash != committed.hash {
                let reason = format!(
                    "its head {} has hash {} but the journal's has {}",
                    position.seq, position.hash, committed.hash
                );
                drop(ledger);
                rebuild(path, &reason, notes)?
            } else {
                (ledger, None)
            }
        }
        (Some((ledger, position)), _) if position.seq < committed.seq => {
            if opened.from_hint {
                // The journal agrees with sled up to sled's head: apply the rest.
                let from = position.offset;
                (ledger, Some(from))
            } else {
                let reason = format!(
                    "its head {} is not where the journal says it should be",
                    position.seq
                );
                drop(ledger);
                rebuild(path, &reason, notes)?
            }
        }
        (Some((mut ledger, position)), _) => {
            // sled holds records the journal lacks. They go back into the journal only
            // when sled continues the journal's chain and the head witness says they
            // were committed; a sled that diverges, or holds more than was ever
            // acknowledged, is rebuilt from the journal instead.
            let witness = store::read_head_file(path)?.map(|(seq, _)| seq);
            let joins = match committed.seq {
                0 => committed.hash == GENESIS_HASH,
                seq => ledger
                    .record(seq)?
                    .is_some_and(|r| r.hash == committed.hash),
            };
            let acknowledged = witness.unwrap_or(position.seq);
            if joins && acknowledged >= position.seq {
                ledger.attach(journal, lock);
                rejournal(&mut ledger, &committed, notes)?;
                let head = ledger.head().clone();
                ledger.check_head_file(head.seq, &head.hash)?;
                return Ok(ledger);
            }
            if joins && acknowledged > committed.seq {
                return Err(Error::JournalDamaged(format!(
                    "the journal ends at record {} but {acknowledged} were committed ({HEAD_FILE}); sled holds them, and records past them that were never committed: move `{SLED_DIR}` aside only after exporting what it holds",
                    committed.seq
                )));
            }
            let reason = if joins {
                format!(
                    "it holds records {}–{} that {HEAD_FILE} says were never committed",
                    committed.seq + 1,
                    position.seq
                )
            } else {
                format!(
                    "its record {} differs from the journal's: it is not this ledger's",
                    committed.seq
                )
            };
            drop(ledger);
            rebuild(path, &reason, notes)?
        }
        (None, damage) => {
            let reason = damage.unwrap_or_default();
            let mut quiet = Vec::new();
            let notes = if upgraded_from.is_some() {
                &mut quiet
            } else {
                &mut *notes
            };
            rebuild(path, &reason, notes)?
        }
    };
    // Before any replay rewrites it: the witness may not name more than the journal.
    ledger.check_head_file(committed.seq, &committed.hash)?;
    let start = from.unwrap_or(0);
    ledger.attach(journal, lock);
    if committed.seq > ledger.head().seq {
        let missing = committed.seq - ledger.head().seq;
        replay(&mut ledger, start, committed.offset, missing, progress)?;
        if from.is_some() {
            notes.push(format!(
                "applied {} from the journal that sled had not stored yet",
                records(missing)
            ));
        }
    }
    let head = ledger.head();
    if (head.seq, head.hash.as_str()) != (committed.seq, committed.hash.as_str()) {
        return Err(Error::Integrity(format!(
            "the journal ends at record {} but replaying it gave head {}",
            committed.seq, head.seq
        )));
    }
    if let Some(older) = upgraded_from {
        // The old files go once the head is reached (in `open_with`).
        notes.push(format!(
            "upgraded sled to {} ({} rebuilt from the journal)",
            match older {
                OlderLayout::PerRecord => "the packed layout",
                OlderLayout::Packed => "layout 3, with parties and actors in the history index",
            },
            records(head.seq)
        ));
    }
    Ok(ledger)
}

/// Cuts what follows the journal's last commit, after checking that nothing the
/// head witness or sled says was committed is lost with it.
fn trim_tail(
    path: &Path,
    journal: &mut Journal,
    committed: &Position,
    tail: u64,
    sled_seq: u64,
    notes: &mut Vec<String>,
) -> Result<()> {
    let witness = store::read_head_file(path)?.map(|(seq, _)| seq);
    let last = committed.seq;
    let tail = crate::error::count(tail, "byte", "bytes");
    let note = match witness {
        Some(acked) if acked > last && acked > sled_seq => {
            return Err(Error::JournalDamaged(format!(
                "the journal's last whole commit ends at record {last}, followed by {tail} that do not read as frames, \
                 but {} were committed ({HEAD_FILE}): the journal is damaged after byte {}",
                crate::error::count(acked, "record", "records"),
                committed.offset
            )));
        }
        _ if sled_seq > last && last == 0 => format!(
            "the journal was cut inside its first commit ({tail} that do not read as frames trimmed); sled holds every record"
        ),
        _ if sled_seq > last => format!(
            "the journal was cut after record {last} ({tail} that do not read as frames trimmed); sled holds the records after it"
        ),
        Some(_) => format!(
            "trimmed an unfinished write ({tail} after record {last}, never acknowledged) from the end of the journal"
        ),
        None => {
            // Whether it was acknowledged cannot be told: the bytes are kept aside.
            let kept = journal.keep_tail()?;
            notes.push(format!(
                "trimmed {tail} after the journal's last whole commit (record {last}): a write cut short ({HEAD_FILE} is missing, so whether it was acknowledged cannot be told); the bytes are kept in {}",
                kept.display()
            ));
            return journal.trim_tail();
        }
    };
    journal.trim_tail()?;
    notes.push(note);
    Ok(())
}

/// Opens sled, turning a panic inside sled (it has some for damaged files) into an error.
fn open_sled_caught(path: &Path, sled_dir: &Path) -> Result<Ledger> {
    // sled's panic is expected here and answered (its files are rebuilt): its message
    // and backtrace are not for the user, so the panic hook is silenced meanwhile.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Ledger::open_sled(path, sled_dir)
    }));
    std::panic::set_hook(hook);
    opened.unwrap_or_else(|_| {
        Err(Error::Storage(
            "sled panicked while opening its files".into(),
        ))
    })
}

/// Moves sled's folder aside (to `sled.damaged.N`, returned) after a command found it
/// damaged, so that the next open rebuilds it from the journal. Takes the folder's
/// lock (waiting is the caller's business: [`Error::Locked`] when held).
pub fn set_aside_sled(path: &Path) -> Result<PathBuf> {
    let _lock = store::lock_folder(path)?;
    let sled_dir = path.join(SLED_DIR);
    let aside = free_name(path, "sled.damaged");
    fs::rename(&sled_dir, &aside).map_err(|e| Error::io(sled_dir.display(), e))?;
    Ok(aside)
}

/// Moves sled's folder aside and opens an empty one, to be filled from the journal.
fn rebuild(path: &Path, reason: &str, notes: &mut Vec<String>) -> Result<(Ledger, Option<u64>)> {
    let sled_dir = path.join(SLED_DIR);
    let mut moved = None;
    if sled_dir.exists() {
        let aside = free_name(path, "sled.damaged");
        fs::rename(&sled_dir, &aside).map_err(|e| Error::io(sled_dir.display(), e))?;
        moved = Some(aside);
    }
    match moved {
        Some(aside) => notes.push(format!(
            "sled's files could not be used ({reason}): moved them to {} and rebuilt sled from the journal",
            aside.display()
        )),
        None if !path.join(PRE_JOURNAL_DIR).exists()
            && fs::metadata(path.join(journal::FILE)).is_ok_and(|m| m.len() > 0) =>
        {
            notes.push("rebuilt sled from the journal".into())
        }
        None => {}
    }
    let ledger = Ledger::open_sled(path, &sled_dir)?;
    // An empty sled: the snapshots the replay writes are of this version's format.
    ledger.snapshots_are(crate::snapshot::FORMAT)?;
    Ok((ledger, None))
}

/// The records of the ledger in `path` that verify, for `export` when the ledger
/// cannot be opened: the journal's from record 1, read alone
/// ([`journal::verified_records`]), then, past the last it gives, sled's, each
/// checked against the one before ([`crate::chain::check_follows`]), up to sled's
/// head. Holds the ledger's lock; writes nothing.
pub fn salvage(path: &Path) -> Result<Salvage> {
    let lock = store::lock_folder(path)?;
    let sled_dir = path.join(SLED_DIR);
    // An absent sled is not created; one that does not open gives nothing.
    let sled = match sled_dir.join("db").is_file() {
        true => Ledger::open_sled(path, &sled_dir).ok(),
        false => None,
    };
    Ok(Salvage {
        journal: Some(Box::new(journal::verified_records(path)?)),
        journal_stop: None,
        from_journal: 0,
        sled,
        next: 1,
        last: None,
        done: false,
        _lock: lock,
    })
}

/// The records [`salvage`] gives, in seq order, then one error if it stopped on a
/// record it could not verify in either copy.
pub struct Salvage {
    journal: Option<crate::store::StoredBytes<'static>>,
    /// Why the journal stopped giving records, if not at its end.
    journal_stop: Option<String>,
    from_journal: u64,
    sled: Option<Ledger>,
    next: u64,
    last: Option<Vec<u8>>,
    done: bool,
    _lock: fs::File,
}

impl Salvage {
    /// How many records came from the journal (the rest came from sled).
    pub fn from_journal(&self) -> u64 {
        self.from_journal
    }

    fn next_in_sled(&mut self) -> Option<Result<(u64, Vec<u8>)>> {
        let next = self.next;
        let journal = self
            .journal_stop
            .as_deref()
            .unwrap_or("the journal ends before it");
        let Some(sled) = &self.sled else {
            return self.journal_stop.is_some().then(|| {
                Err(store::in_neither_copy(
                    next,
                    journal,
                    "sled's files are missing or do not open",
                ))
            });
        };
        if next > sled.head().seq {
            // sled's head: whether it is the committed one is the witness's to say.
            return None;
        }
        let found = sled.raw(next).map(|b| b.map(|b| (next, b.to_vec())));
        Some(store::checked_from_sled(
            next,
            found,
            self.last.as_deref(),
            journal,
        ))
    }
}

impl Iterator for Salvage {
    type Item = Result<(u64, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = match self.journal.as_mut().map(|j| j.next()) {
            Some(Some(Ok(item))) => {
                self.from_journal += 1;
                Some(Ok(item))
            }
            Some(Some(Err(err))) => {
                self.journal_stop = Some(err.to_string());
                self.journal = None;
                self.next_in_sled()
            }
            Some(None) | None => {
                self.journal = None;
                self.next_in_sled()
            }
        };
        match &item {
            Some(Ok((_, bytes))) => {
                self.next += 1;
                self.last = Some(bytes.clone());
            }
            _ => self.done = true,
        }
        item
    }
}

/// The first of `base.1`, `base.2`, … that does not exist in `path`.
fn free_name(path: &Path, base: &str) -> PathBuf {
    (1..)
        .map(|n| path.join(format!("{base}.{n}")))
        .find(|p| !p.exists())
        .expect("some name is free")
}

/// Applies the journal's records from byte `from` to its last commit `end` to sled,
/// through the write path for restored records (chain, hashes and ledger rules
/// checked on the way in).
fn replay(
    ledger: &mut Ledger,
    from: u64,
    end: u64,
    total: u64,
    progress: Progress<'_>,
) -> Result<()> {
    let records = ledger.journal().expect("attached").records_from(from)?;
    let at = ledger.path().join(journal::FILE).display().to_string();
    let shown = at.clone();
    let mut done = 0u64;
    let items = records.map(move |record| {
        let (seq, bytes) = record?;
        let object: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|e| {
            Error::JournalDamaged(format!("the journal's record {seq} is damaged: {e}"))
        })?;
        Ok(Item {
            at: Location::line(&at, seq as usize),
            object,
        })
    });
    let counted = items.inspect(|_| {
        done += 1;
        progress(done, total);
    });
    ledger.replay_end = Some(end);
    let mut no_ids = || uuid::Uuid::nil();
    let clock = Clock {
        now: ledger.head().recorded_at.unwrap_or_default(),
        new_id: &mut no_ids,
    };
    let result = append_all(ledger, counted, clock, None);
    ledger.replay_end = None;
    result.map(|_| ()).map_err(|err| match err {
        Error::Invalid { message, .. } => Error::JournalDamaged(format!(
            "the journal {shown} fails its own chain: {message}"
        )),
        other => other,
    })
}

/// Writes back to the journal the committed records sled holds past the journal's
/// last commit, checking each one's link in the chain.
/// The caller has checked that sled continues the journal's chain at its last commit.
fn rejournal(ledger: &mut Ledger, committed: &Position, notes: &mut Vec<String>) -> Result<()> {
    let head = ledger.head().clone();
    let mut bytes = Vec::new();
    let mut prev = committed.hash.clone();
    for item in ledger.raw_records(committed.seq + 1) {
        let (seq, raw) = item?;
        let record = Record::decode(&raw)
            .map_err(|e| Error::Integrity(format!("record {seq} is damaged: {e}")))?;
        record.check_stored(&raw).map_err(Error::Integrity)?;
        if record.prev_hash != prev {
            return Err(Error::Integrity(format!(
                "record {seq}: `prev_hash` is not the hash of record {}",
                seq - 1
            )));
        }
        prev = record.hash.clone();
        bytes.push(raw.to_vec());
    }
    ledger.write_journal_commit(committed.seq + 1, &bytes, &head)?;
    notes.push(format!(
        "the journal lacked {} that sled held (records {}–{}): wrote them back to the journal",
        records(bytes.len() as u64),
        committed.seq + 1,
        head.seq
    ));
    Ok(())
}

/// Upgrades a ledger of the layout before the journal (sled's files directly in the
/// ledger folder): its records, checked against their chain, become the journal; the
/// old files move to [`PRE_JOURNAL_DIR`] until the replay into a new sled has reached
/// the same head, then go.
fn upgrade(path: &Path, progress: Progress<'_>, notes: &mut Vec<String>) -> Result<()> {
    journal::remove(path, MIGRATING)?;
    let old = store::LegacyLog::open(path)?;
    let head = Head {
        seq: old.seq,
        hash: old.hash.clone(),
        recorded_at: None,
    };
    let temp = path.join(MIGRATING);
    {
        let mut journal = Journal::create_at(&temp)?;
        let mut chunk = Vec::new();
        let mut first = 1;
        let mut prev = GENESIS_HASH.to_string();
        for item in old.records() {
            let (seq, raw) = item?;
            let record = Record::decode(&raw)
                .map_err(|e| Error::Integrity(format!("record {seq} is damaged: {e}")))?;
            record.check_stored(&raw).map_err(Error::Integrity)?;
            if record.seq != seq || record.prev_hash != prev {
                return Err(Error::Integrity(format!(
                    "record {seq}: the chain is broken here; the ledger cannot be upgraded"
                )));
            }
            prev = record.hash.clone();
            chunk.push(raw);
            progress(seq, head.seq);
            if chunk.len() == 1000 {
                journal.append(first, &chunk, &prev, seq == head.seq)?;
                first = seq + 1;
                chunk.clear();
            }
        }
        if !chunk.is_empty() {
            journal.append(first, &chunk, &prev, true)?;
        }
        if prev != head.hash {
            return Err(Error::Integrity(
                "the ledger's head marker does not match its last record; the ledger cannot be upgraded".into(),
            ));
        }
        journal.sync()?;
    }
    drop(old);
    let aside = path.join(PRE_JOURNAL_DIR);
    store::create_private_dir(&aside).map_err(|e| Error::io(aside.display(), e))?;
    for entry in fs::read_dir(path).map_err(|e| Error::io(path.display(), e))? {
        let entry = entry.map_err(|e| Error::io(path.display(), e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let sleds = name == "conf" || name == "db" || name == "blobs" || name.starts_with("snap.");
        if sleds {
            fs::rename(entry.path(), aside.join(&*name))
                .map_err(|e| Error::io(entry.path().display(), e))?;
        }
    }
    fs::rename(&temp, path.join(journal::FILE)).map_err(|e| Error::io(temp.display(), e))?;
    fs::File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| Error::io(path.display(), e))?;
    notes.push(format!(
        "upgraded the ledger to the journal layout ({}, head {})",
        records(head.seq),
        head.seq
    ));
    Ok(())
}

fn records(n: u64) -> String {
    if n == 1 {
        "1 record".into()
    } else {
        format!("{n} records")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::Record;

    /// A ledger of the layout before the journal (sled's files in the folder itself,
    /// one key per record) holding `n` parties, and its records' bytes.
    fn old_layout(dir: &Path, n: usize) -> Vec<Vec<u8>> {
        let made = tempfile::tempdir().unwrap();
        let mut new = Ledger::open(made.path(), Access::Create).unwrap();
        let items = (0..n).map(|i| {
            let object = serde_json::json!({"type": "party_registered", "occurred_at": "2025-11-20",
                "party": format!("p{i}"), "name": format!("Party {i}")});
            let serde_json::Value::Object(object) = object else {
                unreachable!()
            };
            Ok(Item {
                at: Location::default(),
                object,
            })
        });
        let mut ids = 0u128;
        let mut new_id = || {
            ids += 1;
            uuid::Uuid::from_u128(ids)
        };
        let now = crate::time::parse_occurred_at("2025-12-01").unwrap();
        let clock = Clock {
            now,
            new_id: &mut new_id,
        };
        append_all(&mut new, items, clock, None).unwrap();
        let records: Vec<Vec<u8>> = new.raw_records(1).map(|item| item.unwrap().1).collect();
        // That layout's log and head marker (its indexes are not read by an upgrade).
        let old = sled::open(dir).unwrap();
        for (i, bytes) in records.iter().enumerate() {
            old.insert(crate::index::legacy_log_key(i as u64 + 1), bytes.as_slice())
                .unwrap();
        }
        let mut head = (n as u64).to_be_bytes().to_vec();
        head.extend_from_slice(new.head().hash.as_bytes());
        old.insert(crate::index::META_HEAD, head).unwrap();
        old.flush().unwrap();
        records
    }

    #[test]
    fn an_upgrade_carries_every_record_at_any_size_in_frames_of_a_thousand() {
        for n in [1, 999, 1000, 2000, 2345] {
            let dir = tempfile::tempdir().unwrap();
            let records = old_layout(dir.path(), n);
            assert_eq!(records.len(), n);
            let mut seen = Vec::new();
            let ledger = Ledger::open_with(dir.path(), Access::Existing, &mut |done, total| {
                seen.push((done, total))
            })
            .unwrap();
            assert_eq!(ledger.head().seq, n as u64, "{n}");
            let note = format!(
                "upgraded the ledger to the journal layout ({}, head {n})",
                super::records(n as u64)
            );
            assert!(
                ledger.recovery_notes().contains(&note),
                "{n}: {:?}",
                ledger.recovery_notes()
            );
            // Every record, byte for byte, in the journal and in the new sled.
            let journal = ledger.journal().unwrap();
            let frames: Vec<(crate::journal::Frame, Vec<Vec<u8>>)> = journal
                .frames_from(0)
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let in_journal: Vec<Vec<u8>> = frames.iter().flat_map(|(_, r)| r.clone()).collect();
            assert_eq!(in_journal, records, "{n}");
            let sizes: Vec<u32> = frames.iter().map(|(f, _)| f.count).collect();
            let expected: Vec<u32> = (0..n.div_ceil(1000))
                .map(|i| (n - i * 1000).min(1000) as u32)
                .collect();
            assert_eq!(sizes, expected, "{n}");
            // One commit: the last frame.
            let commits: Vec<bool> = frames.iter().map(|(f, _)| f.commit).collect();
            assert_eq!(commits.iter().filter(|c| **c).count(), 1, "{n}");
            assert!(commits.last().unwrap(), "{n}");
            for (seq, bytes) in records.iter().enumerate() {
                let stored = ledger.record_bytes(seq as u64 + 1).unwrap().unwrap();
                assert_eq!(&stored[..], &bytes[..]);
                Record::decode(bytes).unwrap();
            }
            // Progress counted each record once, up to the total.
            assert!(
                seen.iter().any(|&(d, t)| d == n as u64 && t == n as u64),
                "{n}: {:?}",
                seen.last()
            );
            assert!(!dir.path().join(PRE_JOURNAL_DIR).exists());
            // Every file of the old layout went: only the new one is left.
            let mut names: Vec<String> = fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            assert_eq!(names, ["journal", "lock", "pactlog.head", "sled"], "{n}");
            crate::verify::verify(&ledger, None).unwrap();
        }
    }
}
