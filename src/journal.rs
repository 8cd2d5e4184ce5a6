//! The write-ahead journal: the file that makes a write durable.
//!
//! Every commit appends the canonical bytes of its stored records (the contract's
//! stored-record form, `docs/format.md`, one record per line) to `journal` in the
//! ledger folder, in zstd-compressed frames, and fsyncs it before the command reports
//! success. sled holds the same records and the indexes every query reads, but its
//! files can be rebuilt from the journal at any time (see `crate::recover`).
//!
//! # Frame layout (all integers little-endian)
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `PJFR` |
//! | 1 | flags: bit 0 set on the last frame of a commit |
//! | 8 | seq of the first record in the frame |
//! | 4 | number of records (0 only for an empty commit frame) |
//! | 4 | payload length in bytes |
//! | 32 | SHA-256 of the last record in the frame (for an empty frame: of the record before it) |
//! | n | payload: one zstd frame, with its content checksum, of the records' canonical bytes, each followed by `\n` |
//! | 4 | the frame's total length (header + payload + trailer) |
//! | 4 | magic `PJEN` |
//!
//! A write in chunks appends one frame per chunk; only its last frame carries the
//! commit flag. Whatever follows the last commit frame is an unfinished write that
//! was never acknowledged (a crash mid-append): [`Journal::open`] trims it. A frame
//! before that point that is damaged is an integrity error, never trimmed.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The journal's file name in the ledger folder.
pub const FILE: &str = "journal";

const MAGIC: &[u8; 4] = b"PJFR";
const END_MAGIC: &[u8; 4] = b"PJEN";
const HEADER: usize = 4 + 1 + 8 + 4 + 4 + 32;
const TRAILER: usize = 8;
const COMMIT: u8 = 1;
/// zstd level: 3 is zstd's default, a good ratio at several hundred MB/s.
const LEVEL: i32 = 3;

/// Where the journal stands after its last commit: the last record's seq and hash,
/// and the byte offset just past that commit's last frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    pub seq: u64,
    pub hash: String,
    pub offset: u64,
}

/// One frame's header, as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Byte offset of the frame in the file.
    pub offset: u64,
    pub commit: bool,
    pub first_seq: u64,
    pub count: u32,
    payload_len: u32,
    /// Hex SHA-256 of the frame's last record (of the record before, when empty).
    pub last_hash: String,
}

impl Frame {
    /// Seq of the last record in the frame (of the record before it, when empty).
    pub fn last_seq(&self) -> u64 {
        self.first_seq + u64::from(self.count) - 1
    }

    /// Byte offset just past the frame.
    pub fn end(&self) -> u64 {
        self.offset + (HEADER + TRAILER) as u64 + u64::from(self.payload_len)
    }
}

/// Whether the file at `path` reads as a journal's start: empty (a ledger created,
/// nothing committed yet) or opening with a frame's magic. A file of another kind
/// that happens to be named `journal` is not one.
pub fn looks_like_one(path: &Path) -> bool {
    let mut start = [0u8; 4];
    match File::open(path).and_then(|mut file| file.read(&mut start)) {
        Ok(0) => true,
        Ok(n) => MAGIC.starts_with(&start[..n]),
        Err(_) => false,
    }
}

/// What opening the journal found and did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The last commit in the file.
    pub committed: Position,
    /// Bytes after the last commit: an unfinished write (or garbage a crash left at the
    /// end of the file). Nothing may be written before [`Journal::trim_tail`] cuts them.
    pub tail: u64,
    /// Whether the journal agreed with the hint (frames before it were not read).
    pub from_hint: bool,
}

/// The journal file of one ledger, open for appending after its last commit.
pub struct Journal {
    path: PathBuf,
    file: File,
    /// Offset past the last commit frame: where the next frame goes.
    end: u64,
    /// Offset past the last frame written (committed or not).
    written: u64,
    /// Whether the file was created by this handle and its folder entry not yet fsynced.
    new_file: bool,
}

impl Journal {
    /// Whether a ledger folder holds a journal.
    pub fn exists(folder: &Path) -> bool {
        folder.join(FILE).is_file()
    }

    /// Opens (creating when missing) the journal of a ledger folder. `hint` is the
    /// position sled last recorded (its head and the journal offset after it), if any:
    /// frames before it are not read again. Everything after the last commit frame is
    /// trimmed; a damaged frame before it is [`Error::JournalDamaged`].
    pub fn open(folder: &Path, hint: Option<&Position>) -> Result<(Journal, Opened)> {
        let path = folder.join(FILE);
        let shown = path.display().to_string();
        let new_file = !path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&shown, e))?;
        let len = file.metadata().map_err(|e| Error::io(&shown, e))?.len();
        let empty = Position {
            seq: 0,
            hash: crate::chain::GENESIS_HASH.to_string(),
            offset: 0,
        };
        // Start from the hint when the frame ending there (if the file still has
        // one) says what the hint says; otherwise read every frame from the start.
        let start = match hint.map(|hint| (hint, frame_ending_at(&mut file, hint.offset))) {
            Some((hint, Ok(Some(frame))))
                if frame.commit && frame.last_seq() == hint.seq && frame.last_hash == hint.hash =>
            {
                hint.clone()
            }
            _ => empty,
        };
        let from_hint = hint.is_some_and(|h| *h == start);
        let committed = if start.offset == len {
            start
        } else {
            scan(&mut file, &shown, start, len)?
        };
        let tail = len - committed.offset;
        let journal = Journal {
            path,
            file,
            end: committed.offset,
            written: committed.offset,
            new_file,
        };
        Ok((
            journal,
            Opened {
                committed,
                tail,
                from_hint,
            },
        ))
    }

    /// A new, empty journal at `path` (an existing file there is emptied), for an
    /// upgrade that writes the journal under another name first.
    pub fn create_at(path: &Path) -> Result<Journal> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| Error::io(path.display(), e))?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            end: 0,
            written: 0,
            new_file: true,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies what follows the last commit into `journal.trimmed.N` beside the journal
    /// (the first N free), durably, before [`Journal::trim_tail`] cuts it; the copy's path.
    pub fn keep_tail(&mut self) -> Result<PathBuf> {
        let shown = |p: &Path| p.display().to_string();
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let name = self
            .path
            .file_name()
            .map_or("journal".into(), |n| n.to_string_lossy().into_owned());
        let kept = (1..)
            .map(|n| dir.join(format!("{name}.trimmed.{n}")))
            .find(|p| !p.exists())
            .expect("a free name");
        let mut tail = Vec::new();
        self.file
            .seek(SeekFrom::Start(self.end))
            .and_then(|_| self.file.read_to_end(&mut tail))
            .map_err(|e| Error::io(shown(&self.path), e))?;
        let write = || -> std::io::Result<()> {
            let mut file = File::create_new(&kept)?;
            file.write_all(&tail)?;
            file.sync_all()?;
            File::open(dir)?.sync_all()
        };
        write().map_err(|e| Error::io(shown(&kept), e))?;
        Ok(kept)
    }

    /// Cuts what follows the last commit (see [`Opened::tail`]) and makes that durable.
    pub fn trim_tail(&mut self) -> Result<()> {
        self.file
            .set_len(self.end)
            .and_then(|()| self.file.sync_all())
            .map_err(|e| Error::io(self.path.display(), e))
    }

    /// Appends one frame holding `records` (canonical bytes, in seq order from
    /// `first_seq`), not yet durable. `last_hash` is the hash of the last record (of
    /// the head before, when `records` is empty). Returns the offset past the frame.
    pub fn append(
        &mut self,
        first_seq: u64,
        records: &[Vec<u8>],
        last_hash: &str,
        commit: bool,
    ) -> Result<u64> {
        let mut plain = Vec::with_capacity(records.iter().map(|r| r.len() + 1).sum());
        for record in records {
            plain.extend_from_slice(record);
            plain.push(b'\n');
        }
        let payload = compress(&plain).map_err(|e| Error::io(self.path.display(), e))?;
        let hash = decode_hex(last_hash).ok_or_else(|| {
            Error::Storage(format!("a record hash is not 64 hex digits: {last_hash}"))
        })?;
        let total = HEADER + payload.len() + TRAILER;
        let mut frame = Vec::with_capacity(total);
        frame.extend_from_slice(MAGIC);
        frame.push(if commit { COMMIT } else { 0 });
        frame.extend_from_slice(&first_seq.to_le_bytes());
        frame.extend_from_slice(&(records.len() as u32).to_le_bytes());
        frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        frame.extend_from_slice(&hash);
        frame.extend_from_slice(&payload);
        frame.extend_from_slice(&(total as u32).to_le_bytes());
        frame.extend_from_slice(END_MAGIC);
        let at = self.written;
        let write = |file: &mut File| -> std::io::Result<()> {
            file.seek(SeekFrom::Start(at))?;
            file.write_all(&frame)
        };
        write(&mut self.file).map_err(|e| Error::io(self.path.display(), e))?;
        self.written = at + total as u64;
        if commit {
            self.end = self.written;
        }
        Ok(self.written)
    }

    /// Makes everything appended durable: fsync of the file, and of the folder the
    /// first time (when this handle created the file).
    pub fn sync(&mut self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| Error::io(self.path.display(), e))?;
        if self.new_file {
            if let Some(folder) = self.path.parent() {
                File::open(folder)
                    .and_then(|dir| dir.sync_all())
                    .map_err(|e| Error::io(folder.display(), e))?;
            }
            self.new_file = false;
        }
        Ok(())
    }

    /// Drops the frames of an unfinished write (an append that failed): back to the
    /// last commit.
    pub fn abandon(&mut self) -> Result<()> {
        if self.written != self.end {
            self.file
                .set_len(self.end)
                .map_err(|e| Error::io(self.path.display(), e))?;
            self.written = self.end;
        }
        Ok(())
    }

    /// The committed records from byte `offset` (a frame boundary) on, one by one:
    /// (seq, canonical bytes), or the error of the frame that holds them.
    pub fn records_from(
        &self,
        offset: u64,
    ) -> Result<impl Iterator<Item = Result<(u64, Vec<u8>)>> + use<>> {
        Ok(self.frames_from(offset)?.flat_map(frame_records))
    }

    /// The committed frames from byte `offset` on, each with its records.
    pub fn frames_from(&self, offset: u64) -> Result<Frames> {
        let file = File::open(&self.path).map_err(|e| Error::io(self.path.display(), e))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        reader
            .seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io(self.path.display(), e))?;
        Ok(Frames {
            reader,
            shown: self.path.display().to_string(),
            at: offset,
            end: self.end,
        })
    }
}

/// The frames of a journal in order, each with its records' canonical bytes.
pub struct Frames {
    reader: BufReader<File>,
    shown: String,
    at: u64,
    end: u64,
}

impl Iterator for Frames {
    type Item = Result<(Frame, Vec<Vec<u8>>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.end {
            return None;
        }
        let item =
            read_frame(&mut self.reader, self.at, &self.shown).and_then(|(frame, payload)| {
                let records = unpack(&frame, &payload, &self.shown)?;
                Ok((frame, records))
            });
        match &item {
            Ok((frame, _)) => self.at = frame.end(),
            Err(_) => self.at = self.end,
        }
        Some(item)
    }
}

fn damaged(shown: &str, offset: u64, what: impl std::fmt::Display) -> Error {
    Error::JournalDamaged(format!(
        "the journal {shown} is damaged at byte {offset}: {what}"
    ))
}

/// Reads one whole frame at `offset`; the reader is positioned there.
fn read_frame(reader: &mut impl Read, offset: u64, shown: &str) -> Result<(Frame, Vec<u8>)> {
    // A file that ends inside a frame says so, not "failed to fill whole buffer".
    let read_error = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => damaged(
            shown,
            offset,
            "the file ends inside the frame that starts here (its length was changed)",
        ),
        _ => damaged(shown, offset, e),
    };
    let mut header = [0u8; HEADER];
    reader.read_exact(&mut header).map_err(read_error)?;
    let frame = parse_header(&header, offset)
        .ok_or_else(|| damaged(shown, offset, "no frame starts here"))?;
    let mut payload = vec![0u8; frame.payload_len as usize];
    reader.read_exact(&mut payload).map_err(read_error)?;
    let mut trailer = [0u8; TRAILER];
    reader.read_exact(&mut trailer).map_err(read_error)?;
    if !trailer_matches(&trailer, &frame) {
        return Err(damaged(
            shown,
            offset,
            "the frame's trailer does not match its header",
        ));
    }
    Ok((frame, payload))
}

/// The records of a frame, checked against its header.
fn unpack(frame: &Frame, payload: &[u8], shown: &str) -> Result<Vec<Vec<u8>>> {
    let what = || match frame.count {
        0 => format!(
            "no record (a commit of nothing, after record {})",
            frame.first_seq.saturating_sub(1)
        ),
        1 => format!("record {}", frame.first_seq),
        _ => format!("records {}–{}", frame.first_seq, frame.last_seq()),
    };
    let plain = zstd::stream::decode_all(payload).map_err(|e| {
        damaged(
            shown,
            frame.offset,
            format!("the frame of {} does not decompress ({e})", what()),
        )
    })?;
    let mut records: Vec<Vec<u8>> = plain.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    // Every record ends with a newline: the split leaves one empty piece at the end.
    if records.pop().is_some_and(|last| !last.is_empty()) || records.len() != frame.count as usize {
        return Err(damaged(
            shown,
            frame.offset,
            format!(
                "the frame of {} does not hold {}",
                what(),
                crate::error::count(frame.count, "record", "records")
            ),
        ));
    }
    // The header's first seq and last hash are what readers go by (replay, export):
    // they must be the records' own.
    #[derive(serde::Deserialize)]
    struct Ends {
        seq: u64,
        hash: String,
    }
    let ends = |bytes: &[u8]| serde_json::from_slice::<Ends>(bytes).ok();
    let first = records.first().and_then(|r| ends(r));
    let last = records.last().and_then(|r| ends(r));
    // Which of the two is damaged cannot be told: the message gives both.
    let problem = match (first, last) {
        (Some(first), Some(last)) if (first.seq, last.seq) != (frame.first_seq, frame.last_seq()) => {
            Some(format!(
                "a frame's header says it holds {}, but its records are {}–{}",
                what(),
                first.seq,
                last.seq
            ))
        }
        (Some(_), Some(last)) if last.hash != frame.last_hash => Some(format!(
            "the header of the frame of {} gives another hash for its last record than the record's own",
            what()
        )),
        (Some(_), Some(_)) => None,
        _ if frame.count == 0 => None,
        _ => Some(format!(
            "the records of the frame of {} do not say their seq and hash",
            what()
        )),
    };
    if let Some(problem) = problem {
        return Err(damaged(shown, frame.offset, problem));
    }
    Ok(records)
}

fn parse_header(header: &[u8; HEADER], offset: u64) -> Option<Frame> {
    if &header[..4] != MAGIC || header[4] & !COMMIT != 0 {
        return None;
    }
    let first_seq = u64::from_le_bytes(header[5..13].try_into().ok()?);
    let count = u32::from_le_bytes(header[13..17].try_into().ok()?);
    let payload_len = u32::from_le_bytes(header[17..21].try_into().ok()?);
    let last_hash = header[21..53].iter().map(|b| format!("{b:02x}")).collect();
    if first_seq == 0 {
        return None;
    }
    Some(Frame {
        offset,
        commit: header[4] & COMMIT != 0,
        first_seq,
        count,
        payload_len,
        last_hash,
    })
}

fn trailer_matches(trailer: &[u8; TRAILER], frame: &Frame) -> bool {
    let total = u32::from_le_bytes(trailer[..4].try_into().unwrap());
    &trailer[4..] == END_MAGIC && u64::from(total) == frame.end() - frame.offset
}

/// The frame that ends exactly at `end`, read through its trailer.
fn frame_ending_at(file: &mut File, end: u64) -> std::io::Result<Option<Frame>> {
    // No frame is that short (this also keeps `end - TRAILER` from wrapping).
    if end < (HEADER + TRAILER) as u64 {
        return Ok(None);
    }
    let mut trailer = [0u8; TRAILER];
    file.seek(SeekFrom::Start(end - TRAILER as u64))?;
    file.read_exact(&mut trailer)?;
    let total = u64::from(u32::from_le_bytes(trailer[..4].try_into().unwrap()));
    if &trailer[4..] != END_MAGIC || total > end {
        return Ok(None);
    }
    let offset = end - total;
    let mut header = [0u8; HEADER];
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(&mut header)?;
    Ok(parse_header(&header, offset).filter(|f| f.end() == end && trailer_matches(&trailer, f)))
}

/// Walks the frames after `start` (a commit boundary) to the end of the file and
/// returns the last commit. What follows it may only be an unfinished write: whole
/// frames without the commit flag, then at most one frame cut short (or zeros a crash
/// left at the end of the file). Anything else is damage.
fn scan(file: &mut File, shown: &str, start: Position, len: u64) -> Result<Position> {
    let mut reader = BufReader::with_capacity(1 << 16, &mut *file);
    reader
        .seek(SeekFrom::Start(start.offset))
        .map_err(|e| Error::io(shown, e))?;
    let mut committed = start;
    let mut at = committed.offset;
    let mut expected_seq = committed.seq + 1;
    while at < len {
        let mut header = [0u8; HEADER];
        let left = len - at;
        if left < HEADER as u64 {
            break; // a header cut short
        }
        reader
            .read_exact(&mut header)
            .map_err(|e| Error::io(shown, e))?;
        let Some(frame) = parse_header(&header, at) else {
            // Garbage at the end of the file (space a crash left unwritten, or a frame
            // header cut short) is a tail; a frame further on means damage in between.
            if frame_further_on(&header, &mut reader)? {
                return Err(damaged(shown, at, "no frame starts here"));
            }
            break;
        };
        if frame.end() > len {
            break; // a frame cut short
        }
        if frame.first_seq != expected_seq {
            return Err(damaged(
                shown,
                at,
                format!(
                    "the frame starts at record {} where {expected_seq} was expected",
                    frame.first_seq
                ),
            ));
        }
        reader
            .seek_relative(i64::from(frame.payload_len))
            .map_err(|e| Error::io(shown, e))?;
        let mut trailer = [0u8; TRAILER];
        reader
            .read_exact(&mut trailer)
            .map_err(|e| Error::io(shown, e))?;
        if !trailer_matches(&trailer, &frame) {
            return Err(damaged(
                shown,
                at,
                "the frame's trailer does not match its header",
            ));
        }
        expected_seq = frame.first_seq + u64::from(frame.count);
        at = frame.end();
        if frame.commit {
            committed = Position {
                seq: expected_seq - 1,
                hash: frame.last_hash.clone(),
                offset: at,
            };
        }
    }
    Ok(committed)
}

/// Whether a frame header starts anywhere after the first byte of `first` (read
/// already) in what the reader holds.
fn frame_further_on(first: &[u8; HEADER], reader: &mut impl Read) -> Result<bool> {
    let mut rest = first[1..].to_vec();
    reader
        .read_to_end(&mut rest)
        .map_err(|e| Error::Storage(format!("reading the journal: {e}")))?;
    Ok(rest
        .windows(HEADER)
        .any(|window| parse_header(window.try_into().expect("HEADER bytes"), 0).is_some()))
}

fn compress(plain: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = zstd::stream::Encoder::new(Vec::with_capacity(plain.len() / 3 + 64), LEVEL)?;
    encoder.include_checksum(true)?;
    encoder.write_all(plain)?;
    encoder.finish()
}

fn decode_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Removes a journal file (for a migration that has to start over).
/// A frame read (or the error reading it) as its records: (seq, bytes) each.
fn frame_records(frame: Result<(Frame, Vec<Vec<u8>>)>) -> Vec<Result<(u64, Vec<u8>)>> {
    match frame {
        Ok((frame, records)) => records
            .into_iter()
            .enumerate()
            .map(|(i, bytes)| Ok((frame.first_seq + i as u64, bytes)))
            .collect(),
        Err(err) => vec![Err(err)],
    }
}

/// The records of the journal of the ledger in `folder` that verify, read without
/// opening the ledger (nothing is written or trimmed): from record 1, each record
/// checked as `verify` checks it and against the one before
/// ([`crate::chain::check_follows`]), until the first that is missing or does not
/// verify. Yields the records, then, unless the journal ended cleanly after one,
/// one error naming where and why it stopped. For `export` of a ledger that cannot
/// be opened (its journal and sled both damaged).
pub fn verified_records(folder: &Path) -> Result<impl Iterator<Item = Result<(u64, Vec<u8>)>>> {
    let path = folder.join(FILE);
    let shown = path.display().to_string();
    let file = File::open(&path).map_err(|e| Error::io(&shown, e))?;
    let end = file.metadata().map_err(|e| Error::io(&shown, e))?.len();
    let frames = Frames {
        reader: BufReader::with_capacity(1 << 20, file),
        shown,
        at: 0,
        end,
    };
    let mut records = frames.flat_map(frame_records);
    let mut last: Option<Vec<u8>> = None;
    let mut next = 1u64;
    Ok(std::iter::from_fn(move || {
        if next == u64::MAX {
            return None;
        }
        let item = match records.next()? {
            Ok((seq, bytes)) => crate::chain::check_follows(next, &bytes, last.as_deref())
                .map(|()| (seq, bytes))
                .map_err(|e| {
                    Error::JournalDamaged(format!(
                        "the journal's record {next} does not verify: {e}"
                    ))
                }),
            Err(err) => Err(err),
        };
        match &item {
            Ok((_, bytes)) => {
                last = Some(bytes.clone());
                next += 1;
            }
            Err(_) => next = u64::MAX,
        }
        Some(item)
    }))
}

pub fn remove(folder: &Path, name: &str) -> Result<()> {
    match fs::remove_file(folder.join(name)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(folder.join(name).display(), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::GENESIS_HASH as GENESIS;

    fn hash(n: u8) -> String {
        format!("{n:02x}").repeat(32)
    }

    /// Records `from`.. with their seq and the hash [`hash`] gives each.
    fn records(from: u64, n: u64) -> Vec<Vec<u8>> {
        (from..from + n)
            .map(|seq| format!("{{\"hash\":\"{}\",\"seq\":{seq}}}", hash(seq as u8)).into_bytes())
            .collect()
    }

    /// Every record the journal's frames hold, in order.
    fn every_record(journal: &Journal) -> Vec<Vec<u8>> {
        journal
            .frames_from(0)
            .unwrap()
            .flat_map(|f| f.unwrap().1)
            .collect()
    }

    /// An empty commit frame (a write whose records all went in earlier frames) reads
    /// as nothing; a frame whose records do not carry their seq and hash is damage.
    #[test]
    fn an_empty_commit_frame_reads_and_records_without_seq_and_hash_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(dir.path(), None).unwrap();
        journal.append(1, &records(1, 2), &hash(2), false).unwrap();
        journal.append(3, &[], &hash(2), true).unwrap();
        let all = every_record(&journal);
        assert_eq!(all, records(1, 2));
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(dir.path(), None).unwrap();
        journal
            .append(1, &[b"not a record".to_vec()], &hash(1), true)
            .unwrap();
        let err = journal.frames_from(0).unwrap().next().unwrap().unwrap_err();
        assert!(matches!(err, Error::JournalDamaged(_)), "{err}");
    }

    #[test]
    fn frames_round_trip_and_reopen_at_the_last_commit() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, opened) = Journal::open(dir.path(), None).unwrap();
        assert_eq!(opened.committed.seq, 0);
        journal.append(1, &records(1, 3), &hash(3), false).unwrap();
        let end = journal.append(4, &records(4, 2), &hash(5), true).unwrap();
        journal.sync().unwrap();
        drop(journal);
        let (journal, opened) = Journal::open(dir.path(), None).unwrap();
        assert_eq!(
            opened.committed,
            Position {
                seq: 5,
                hash: hash(5),
                offset: end
            }
        );
        let all = every_record(&journal);
        assert_eq!(all, records(1, 5));
        // From the hint, nothing is read again.
        let hint = opened.committed.clone();
        let (_, again) = Journal::open(dir.path(), Some(&hint)).unwrap();
        assert_eq!(again.committed, hint);
    }

    #[test]
    fn an_unfinished_write_is_trimmed_and_damage_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(dir.path(), None).unwrap();
        let end = journal.append(1, &records(1, 2), &hash(2), true).unwrap();
        journal.append(3, &records(3, 2), &hash(4), false).unwrap();
        drop(journal);
        let path = dir.path().join(FILE);
        // A frame without its commit, then half a frame.
        let mut bytes = fs::read(&path).unwrap();
        let half = bytes[end as usize..].to_vec();
        bytes.extend_from_slice(&half[..half.len() / 2]);
        fs::write(&path, &bytes).unwrap();
        let (mut journal, opened) = Journal::open(dir.path(), None).unwrap();
        assert_eq!(opened.committed.seq, 2);
        assert!(opened.tail > 0);
        journal.trim_tail().unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), end);
        // A changed byte inside a committed frame: found when its records are read.
        let mut bytes = fs::read(&path).unwrap();
        bytes[HEADER + 6] ^= 0x55;
        fs::write(&path, &bytes).unwrap();
        let (journal, _) = Journal::open(dir.path(), None).unwrap();
        let err = journal.frames_from(0).unwrap().next().unwrap().unwrap_err();
        assert!(err.to_string().contains("records 1–2"), "{err}");
        // A changed magic with a whole frame after it: damage, not a torn write.
        let (mut journal, _) = Journal::open(dir.path(), None).unwrap();
        journal.append(3, &records(3, 1), &hash(3), true).unwrap();
        drop(journal);
        let mut bytes = fs::read(&path).unwrap();
        bytes[0] = b'X';
        fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            Journal::open(dir.path(), None),
            Err(Error::JournalDamaged(_))
        ));
        // Garbage where the last frame starts, nothing after: a tail for the caller to judge.
        let mut bytes = fs::read(&path).unwrap();
        bytes[0] = MAGIC[0];
        let last = end as usize;
        bytes[last] = b'X';
        fs::write(&path, &bytes).unwrap();
        let (_, opened) = Journal::open(dir.path(), None).unwrap();
        assert_eq!(
            (opened.committed.seq, opened.tail),
            (2, bytes.len() as u64 - end)
        );
    }

    /// A journal of two commit frames (records 1–2, then 3), its path and the offset
    /// where the second frame starts.
    fn two_frames() -> (tempfile::TempDir, PathBuf, u64) {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(dir.path(), None).unwrap();
        let first = journal.append(1, &records(1, 2), &hash(2), true).unwrap();
        journal.append(3, &records(3, 1), &hash(3), true).unwrap();
        journal.sync().unwrap();
        let path = dir.path().join(FILE);
        (dir, path, first)
    }

    /// Opens the journal with `change` made to its bytes and reads every frame.
    fn read_changed(change: impl FnOnce(&mut Vec<u8>)) -> Result<Vec<Vec<u8>>> {
        let (dir, path, _) = two_frames();
        let mut bytes = fs::read(&path).unwrap();
        change(&mut bytes);
        fs::write(&path, &bytes).unwrap();
        let (journal, opened) = Journal::open(dir.path(), None)?;
        assert_eq!(opened.tail, 0, "nothing trimmed");
        let mut out = Vec::new();
        for frame in journal.frames_from(0)? {
            out.extend(frame?.1);
        }
        Ok(out)
    }

    #[test]
    fn every_header_and_trailer_field_is_checked() {
        assert_eq!(read_changed(|_| {}).unwrap(), records(1, 3));
        // An unknown flag bit, a count that disagrees with the payload, a trailer's
        // magic or length: each is damage in the first frame, never read past.
        for (what, at, value) in [
            ("flags", 4, 0x03),
            ("count", 13, 3),
            ("first seq", 5, 9),
            ("last hash", 30, 0x77),
            ("trailer magic", 0, 0),
            ("trailer length", 0, 1),
        ] {
            let result = read_changed(|bytes| {
                let payload = u32::from_le_bytes(bytes[17..21].try_into().unwrap()) as usize;
                let trailer = HEADER + payload;
                match what {
                    "trailer magic" => bytes[trailer + 4] = b'X',
                    "trailer length" => bytes[trailer] ^= value,
                    _ => bytes[at] = value,
                }
            });
            let err = result.expect_err(what);
            assert!(matches!(err, Error::JournalDamaged(_)), "{what}: {err}");
            // A count that disagrees shows first where the next frame should start.
            let at = if what == "count" {
                "at byte"
            } else {
                "at byte 0"
            };
            assert!(err.to_string().contains(at), "{what}: {err}");
        }
    }

    #[test]
    fn a_last_frame_whose_count_disagrees_with_its_records_is_damage() {
        // Nothing follows the last frame to show its count is wrong: reading does.
        let (dir, path, first) = two_frames();
        let mut bytes = fs::read(&path).unwrap();
        bytes[first as usize + 13] = 2;
        fs::write(&path, &bytes).unwrap();
        let (journal, opened) = Journal::open(dir.path(), None).unwrap();
        assert_eq!(opened.committed.seq, 4);
        let err = journal.frames_from(0).unwrap().nth(1).unwrap().unwrap_err();
        assert!(err.to_string().contains("does not hold 2 records"), "{err}");
    }

    #[test]
    fn an_abandoned_write_leaves_the_file_at_its_last_commit() {
        let (dir, path, _) = two_frames();
        let len = fs::metadata(&path).unwrap().len();
        let (mut journal, _) = Journal::open(dir.path(), None).unwrap();
        journal.append(4, &records(4, 5), &hash(8), false).unwrap();
        assert!(fs::metadata(&path).unwrap().len() > len);
        journal.abandon().unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), len);
        // The next frame goes where the abandoned one was.
        let end = journal.append(4, &records(4, 1), &hash(4), true).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), end);
        drop(journal);
        let (_, opened) = Journal::open(dir.path(), None).unwrap();
        assert_eq!((opened.committed.seq, opened.tail), (4, 0));
    }

    #[test]
    fn a_tail_is_a_frame_cut_anywhere_or_zeros() {
        let (dir, path, first) = two_frames();
        let whole = fs::read(&path).unwrap();
        // The second frame cut at every length: the first commit stands, the rest is tail.
        for cut in first as usize..whole.len() {
            fs::write(&path, &whole[..cut]).unwrap();
            let (_, opened) = Journal::open(dir.path(), None).unwrap();
            assert_eq!(opened.committed.seq, 2, "cut at {cut}");
            assert_eq!(opened.committed.offset, first, "cut at {cut}");
            assert_eq!(opened.tail, cut as u64 - first, "cut at {cut}");
        }
        // Zeros after the last commit.
        let mut zeros = whole.clone();
        zeros.extend([0u8; 100]);
        fs::write(&path, &zeros).unwrap();
        let (_, opened) = Journal::open(dir.path(), None).unwrap();
        assert_eq!((opened.committed.seq, opened.tail), (3, 100));
    }

    #[test]
    fn a_frame_out_of_sequence_is_damage() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(dir.path(), None).unwrap();
        journal.append(1, &records(1, 2), &hash(2), true).unwrap();
        journal.append(4, &records(4, 1), &hash(4), true).unwrap();
        drop(journal);
        let err = Journal::open(dir.path(), None).err().unwrap();
        assert!(
            err.to_string()
                .contains("starts at record 4 where 3 was expected"),
            "{err}"
        );
    }

    #[test]
    fn remove_tolerates_a_missing_file_only() {
        let dir = tempfile::tempdir().unwrap();
        remove(dir.path(), "nothing-here").unwrap();
        fs::write(dir.path().join("x"), b"1").unwrap();
        remove(dir.path(), "x").unwrap();
        assert!(!dir.path().join("x").exists());
        fs::create_dir(dir.path().join("d")).unwrap();
        assert!(remove(dir.path(), "d").is_err());
    }

    #[test]
    fn the_hint_is_used_only_when_the_frame_ending_there_says_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(dir.path(), None).unwrap();
        let first = journal.append(1, &records(1, 2), &hash(2), true).unwrap();
        let end = journal.append(3, &records(3, 1), &hash(3), true).unwrap();
        drop(journal);
        let at = |seq, hash: String, offset| Position { seq, hash, offset };
        // Agreeing hints: at the end, in the middle (the rest is read), at the start.
        for hint in [
            at(3, hash(3), end),
            at(2, hash(2), first),
            at(0, GENESIS.into(), 0),
        ] {
            let (_, opened) = Journal::open(dir.path(), Some(&hint)).unwrap();
            assert!(opened.from_hint, "{hint:?}");
            assert_eq!(opened.committed, at(3, hash(3), end));
        }
        // Disagreeing hints: every frame is read from the start instead.
        for hint in [
            at(2, hash(9), first),
            at(1, hash(2), first),
            at(3, hash(3), end + 1),
            at(3, hash(3), first + 1),
        ] {
            let (_, opened) = Journal::open(dir.path(), Some(&hint)).unwrap();
            assert!(!opened.from_hint, "{hint:?}");
            assert_eq!(opened.committed, at(3, hash(3), end));
        }
        // No journal yet: created empty.
        let empty = tempfile::tempdir().unwrap();
        let (_, opened) = Journal::open(empty.path(), None).unwrap();
        assert_eq!((opened.committed.seq, opened.tail), (0, 0));
        assert!(Journal::exists(empty.path()));
    }
}
