//! Packed sled values: blocks of log records and blocks of history postings.
//!
//! sled's cost is per key (every insert copies a node), so the log and the history
//! indexes are stored a block per value instead of a key per record or entry:
//!
//! - a **record block** (`B` first seq) holds up to [`RECORDS_PER_BLOCK`] consecutive
//!   records (or [`BLOCK_BYTES`] of them), their canonical bytes unchanged, in groups
//!   of one zstd frame each with its content checksum. A block written now is one
//!   group (the limits are equal); blocks of several groups, written before, read
//!   unchanged. A block is written once, by the chunk of a write that holds its
//!   records, and never rewritten: a block past the committed head holds nothing
//!   committed, and an unfinished write is undone by deleting the blocks past the head.
//! - a **posting block** (`P` kind slug 0 first seq) holds an entity's history
//!   entries, (valid time, seq), in seq order. A write appends to the entity's last
//!   block up to [`POSTINGS_PER_BLOCK`] entries, then starts new blocks of that size,
//!   so an entity touched once per write still reads a few values, not one per write,
//!   and no write rewrites more than one full block per entity.
//!
//! # Record block layout (integers little-endian)
//!
//! | bytes | field |
//! |---|---|
//! | 1 | version (2) |
//! | 4 | number of records |
//! | 4 | length of the payload uncompressed |
//! | 12 | record time of the first record ([`crate::index::time_bytes`]) |
//! | 12 | record time of the last record |
//! | 2 | number of groups `g` |
//! | 16 × g | per group: its first seq (8), its payload's length uncompressed (4) and compressed (4) |
//! | n | per group, one zstd frame (with checksum) of, per record: seq (8), length (4), canonical bytes |
//!
//! The record times in the clear let a record-time cut find its block without
//! decompressing any other (record time never decreases along the log). The groups
//! (up to [`RECORDS_PER_GROUP`] records or [`GROUP_BYTES`]) let a read of one record
//! decompress its group alone: a query reads a provision's events scattered over the
//! log, one or two per block, and a whole block is eight times the work. Scans
//! decompress the frames of a block in one call. Version 1 (one frame, no group
//! table) is still read: it is a block of one group.

use std::cell::RefCell;

use crate::index::{time_bytes, time_from};
use crate::time::Instant;

/// Records per block at most.
pub const RECORDS_PER_BLOCK: usize = 32;
/// A block closes once its records' bytes reach this size. A block is then one group,
/// about 5 KiB compressed: sled splits a leaf at 17 keys whatever their size and keeps
/// a leaf over about 128 KiB as a blob its cache never evicts (ARCHITECTURE.md, "What
/// sled does at scale"). Blocks of 256 records (8 groups, about 40 KiB) made a 1M
/// import peak at 539 MB; blocks of one group at 391 MB, in the same time.
pub const BLOCK_BYTES: usize = 16 << 10;
/// Entries in a posting block at most (10 KiB).
pub const POSTINGS_PER_BLOCK: usize = 512;
/// zstd level of record blocks (1: the fastest, within a few percent of 3's ratio on records).
const LEVEL: i32 = 1;
/// A group closes once its records' bytes reach this size...
pub const GROUP_BYTES: usize = 16 << 10;
/// ...or it holds this many records.
pub const RECORDS_PER_GROUP: usize = 32;
/// Blocks with groups.
const VERSION: u8 = 2;
/// Blocks of one frame (written before groups).
const VERSION_ONE_FRAME: u8 = 1;
const HEADER: usize = 1 + 4 + 4 + 12 + 12;
/// One entry of the group table: first seq (8), raw length (4), compressed length (4).
const GROUP_ENTRY: usize = 16;
/// One posting: valid time (12) and seq (8).
const POSTING: usize = 20;

/// The clear header of a record block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    pub count: u32,
    /// Length of the payload uncompressed.
    pub raw_len: u32,
    pub first_recorded: Instant,
    pub last_recorded: Instant,
}

/// A decoded record block: its records' canonical bytes by seq.
#[derive(Debug, Default)]
pub struct RecordBlock {
    data: Vec<u8>,
    /// (seq, start, end) in `data`, in seq order.
    records: Vec<(u64, u32, u32)>,
}

impl RecordBlock {
    /// The bytes of the record at `seq`, if the block holds it.
    pub fn get(&self, seq: u64) -> Option<&[u8]> {
        let i = self.records.binary_search_by_key(&seq, |r| r.0).ok()?;
        let (_, start, end) = self.records[i];
        Some(&self.data[start as usize..end as usize])
    }

    /// The seqs the block holds, first and last.
    pub fn span(&self) -> Option<(u64, u64)> {
        Some((self.records.first()?.0, self.records.last()?.0))
    }

    /// The records in seq order: (seq, bytes).
    pub fn iter(&self) -> impl Iterator<Item = (u64, &[u8])> + '_ {
        self.records
            .iter()
            .map(|&(seq, start, end)| (seq, &self.data[start as usize..end as usize]))
    }
}

/// Splits consecutive records (from `first_seq`) into blocks: (first seq, records).
pub fn split<T>(first_seq: u64, records: &[T], len: impl Fn(&T) -> usize) -> Vec<(u64, &[T])> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0usize, 0usize);
    for (i, record) in records.iter().enumerate() {
        bytes += len(record);
        let full = i + 1 - start >= RECORDS_PER_BLOCK || bytes >= BLOCK_BYTES;
        if full || i + 1 == records.len() {
            out.push((first_seq + start as u64, &records[start..=i]));
            start = i + 1;
            bytes = 0;
        }
    }
    out
}

/// Encodes records (seq, canonical bytes, record time) as one block value: the
/// records in groups, each group one zstd frame (see the module's layout).
pub fn encode_records<'a>(records: impl IntoIterator<Item = (u64, &'a [u8], Instant)>) -> Vec<u8> {
    // (first seq, payload) per group.
    let mut groups: Vec<(u64, Vec<u8>, usize)> = Vec::new();
    let (mut count, mut first, mut last) = (0u32, None, None);
    for (seq, bytes, recorded_at) in records {
        let open = groups
            .last()
            .is_some_and(|(_, payload, n)| payload.len() < GROUP_BYTES && *n < RECORDS_PER_GROUP);
        if !open {
            groups.push((seq, Vec::new(), 0));
        }
        let (_, payload, n) = groups.last_mut().expect("a group");
        payload.extend_from_slice(&seq.to_le_bytes());
        payload.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        payload.extend_from_slice(bytes);
        *n += 1;
        count += 1;
        first.get_or_insert(recorded_at);
        last = Some(recorded_at);
    }
    let raw_len: usize = groups.iter().map(|(_, payload, _)| payload.len()).sum();
    let frames: Vec<Vec<u8>> = groups
        .iter()
        .map(|(_, payload, _)| {
            COMPRESSOR
                .with(|c| c.borrow_mut().compress(payload))
                .expect("zstd compresses in memory")
        })
        .collect();
    let table = groups.len() * GROUP_ENTRY;
    let framed: usize = frames.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(HEADER + 2 + table + framed);
    out.push(VERSION);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(raw_len as u32).to_le_bytes());
    let none = Instant::default();
    out.extend_from_slice(&time_bytes(&first.unwrap_or(none)));
    out.extend_from_slice(&time_bytes(&last.unwrap_or(none)));
    out.extend_from_slice(&(groups.len() as u16).to_le_bytes());
    for ((first_seq, payload, _), frame) in groups.iter().zip(&frames) {
        out.extend_from_slice(&first_seq.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    }
    for frame in &frames {
        out.extend_from_slice(frame);
    }
    out
}

thread_local! {
    /// One zstd context per thread each way (creating one per block costs more than
    /// decompressing a small block).
    static COMPRESSOR: RefCell<zstd::bulk::Compressor<'static>> = RefCell::new({
        let mut c = zstd::bulk::Compressor::new(LEVEL).expect("zstd takes level 1");
        c.include_checksum(true).expect("zstd takes a checksum");
        c
    });
    static DECOMPRESSOR: RefCell<zstd::bulk::Decompressor<'static>> =
        RefCell::new(zstd::bulk::Decompressor::new().expect("a zstd context"));
}

/// A derived value (a projection snapshot) compressed: its length (u32, little
/// endian), then zstd's frame with a checksum.
pub fn pack(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + bytes.len() / 4);
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    let compressed = COMPRESSOR.with(|c| c.borrow_mut().compress(bytes));
    out.extend_from_slice(&compressed.expect("zstd compresses in memory"));
    out
}

/// The bytes [`pack`] compressed; an error says what is damaged.
pub fn unpack(value: &[u8]) -> Result<Vec<u8>, String> {
    let len = value
        .get(..4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
        .ok_or("its length is missing")?;
    let data = DECOMPRESSOR
        .with(|d| d.borrow_mut().decompress(&value[4..], len))
        .map_err(|e| format!("it does not decompress: {e}"))?;
    if data.len() != len {
        return Err("its length is damaged".into());
    }
    Ok(data)
}

/// The clear header of a block value.
pub fn header(value: &[u8]) -> Result<BlockHeader, String> {
    if value.len() < HEADER || !matches!(value[0], VERSION | VERSION_ONE_FRAME) {
        return Err("a record block's header is damaged".into());
    }
    let count = u32::from_le_bytes(value[1..5].try_into().expect("4 bytes"));
    let raw_len = u32::from_le_bytes(value[5..9].try_into().expect("4 bytes"));
    let time =
        |at: usize| time_from(&value[at..at + 12]).ok_or("a record block's header is damaged");
    Ok(BlockHeader {
        count,
        raw_len,
        first_recorded: time(9)?,
        last_recorded: time(21)?,
    })
}

/// A group of a block value: its first seq (`None` in a block of one frame, which
/// does not say), its payload's length uncompressed, and where its frame lies in the
/// value.
struct Group {
    first_seq: Option<u64>,
    raw_len: usize,
    frame: std::ops::Range<usize>,
}

/// The header and groups of a block value, checked to lie inside it and to add up.
fn groups(value: &[u8]) -> Result<(BlockHeader, Vec<Group>), String> {
    let header = header(value)?;
    if value[0] == VERSION_ONE_FRAME {
        let group = Group {
            first_seq: None,
            raw_len: header.raw_len as usize,
            frame: HEADER..value.len(),
        };
        return Ok((header, vec![group]));
    }
    let damaged = || "a record block's group table is damaged".to_string();
    let n = value
        .get(HEADER..HEADER + 2)
        .map(|b| u16::from_le_bytes(b.try_into().expect("2 bytes")) as usize)
        .ok_or_else(damaged)?;
    let table = value
        .get(HEADER + 2..HEADER + 2 + n * GROUP_ENTRY)
        .ok_or_else(damaged)?;
    let mut at = HEADER + 2 + n * GROUP_ENTRY;
    let mut groups = Vec::with_capacity(n);
    for entry in table.chunks_exact(GROUP_ENTRY) {
        let first_seq = u64::from_le_bytes(entry[..8].try_into().expect("8 bytes"));
        let raw_len = u32::from_le_bytes(entry[8..12].try_into().expect("4 bytes")) as usize;
        let len = u32::from_le_bytes(entry[12..].try_into().expect("4 bytes")) as usize;
        if groups
            .last()
            .is_some_and(|g: &Group| g.first_seq >= Some(first_seq))
        {
            return Err(damaged());
        }
        groups.push(Group {
            first_seq: Some(first_seq),
            raw_len,
            frame: at..at + len,
        });
        at += len;
    }
    let raw_total: usize = groups.iter().map(|g| g.raw_len).sum();
    if at != value.len() || raw_total != header.raw_len as usize {
        return Err(damaged());
    }
    Ok((header, groups))
}

/// Decompresses `frames` (one or more whole zstd frames, checksums checked) to
/// exactly `raw_len` bytes.
fn decompress(frames: &[u8], raw_len: usize) -> Result<Vec<u8>, String> {
    if frames.is_empty() && raw_len == 0 {
        return Ok(Vec::new());
    }
    let data = DECOMPRESSOR
        .with(|d| d.borrow_mut().decompress(frames, raw_len))
        .map_err(|e| format!("a record block does not decompress: {e}"))?;
    if data.len() != raw_len {
        return Err("a record block's length is damaged".into());
    }
    Ok(data)
}

/// The records of a decompressed payload: (seq, start, end), seqs increasing.
fn parse_records(data: &[u8]) -> Result<Vec<(u64, u32, u32)>, String> {
    let mut records = Vec::new();
    let mut at = 0usize;
    let damaged = || "a record block's records are damaged".to_string();
    while at < data.len() {
        let seq = u64::from_le_bytes(
            data.get(at..at + 8)
                .ok_or_else(damaged)?
                .try_into()
                .expect("8"),
        );
        let len = u32::from_le_bytes(
            data.get(at + 8..at + 12)
                .ok_or_else(damaged)?
                .try_into()
                .expect("4"),
        );
        let start = at + 12;
        let end = start
            .checked_add(len as usize)
            .filter(|&e| e <= data.len())
            .ok_or_else(damaged)?;
        if records.last().is_some_and(|&(prev, _, _)| prev >= seq) {
            return Err(damaged());
        }
        records.push((seq, start as u32, end as u32));
        at = end;
    }
    Ok(records)
}

/// Decodes a whole block value (checking zstd's checksums, the group table and the
/// layout): every frame in one call.
pub fn decode_records(value: &[u8]) -> Result<RecordBlock, String> {
    let (header, groups) = groups(value)?;
    let frames = groups.first().map_or(value.len(), |g| g.frame.start);
    let data = decompress(&value[frames..], header.raw_len as usize)?;
    let records = parse_records(&data)?;
    // Each group's first seq is that of the first record of its payload.
    let mut at = 0usize;
    let starts_agree = groups.iter().all(|g| {
        let first = records
            .binary_search_by_key(&(at + 12), |r| r.1 as usize)
            .ok()
            .map(|i| records[i].0);
        at += g.raw_len;
        g.first_seq.is_none() || first == g.first_seq
    });
    if records.len() != header.count as usize || !starts_agree {
        return Err("a record block's records are damaged".into());
    }
    Ok(RecordBlock { data, records })
}

/// Decodes the group of a block value that holds `seq` (or would): a block of those
/// records alone. A block of one frame decodes whole.
pub fn decode_group(value: &[u8], seq: u64) -> Result<RecordBlock, String> {
    let (_, groups) = groups(value)?;
    let Some(group) = groups
        .iter()
        .rev()
        .find(|g| g.first_seq.is_none_or(|first| first <= seq))
        .or(groups.first())
    else {
        return decode_records(value);
    };
    if group.first_seq.is_none() {
        return decode_records(value);
    }
    let data = decompress(&value[group.frame.clone()], group.raw_len)?;
    let records = parse_records(&data)?;
    if records.first().map(|r| r.0) != group.first_seq {
        return Err("a record block's records are damaged".into());
    }
    Ok(RecordBlock { data, records })
}

/// Appends postings (valid time, seq) to a posting block value.
pub fn push_postings(value: &mut Vec<u8>, postings: &[(Instant, u64)]) {
    value.reserve(postings.len() * POSTING);
    for (time, seq) in postings {
        value.extend_from_slice(&time_bytes(time));
        value.extend_from_slice(&seq.to_be_bytes());
    }
}

/// How many postings a posting block value holds.
pub fn postings_len(value: &[u8]) -> usize {
    value.len() / POSTING
}

/// The postings of a posting block value, in seq order.
pub fn postings(value: &[u8]) -> Result<Vec<(Instant, u64)>, String> {
    if !value.len().is_multiple_of(POSTING) {
        return Err("a history block is damaged".into());
    }
    value
        .chunks_exact(POSTING)
        .map(|p| {
            let time = time_from(&p[..12]).ok_or("a history block is damaged")?;
            Ok((
                time,
                u64::from_be_bytes(p[12..].try_into().expect("8 bytes")),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(day: &str) -> Instant {
        crate::time::parse_occurred_at(day).unwrap()
    }

    #[test]
    fn a_record_block_round_trips_its_bytes_and_header() {
        let records: Vec<Vec<u8>> = (0..300)
            .map(|i| format!("{{\"n\":{i}}}").into_bytes())
            .collect();
        let value = encode_records(records.iter().enumerate().map(|(i, r)| {
            (
                10 + i as u64,
                r.as_slice(),
                t(if i < 5 { "2025-01-01" } else { "2025-01-02" }),
            )
        }));
        let head = header(&value).unwrap();
        assert_eq!(head.count, 300);
        assert_eq!(
            (head.first_recorded, head.last_recorded),
            (t("2025-01-01"), t("2025-01-02"))
        );
        let block = decode_records(&value).unwrap();
        assert_eq!(block.span(), Some((10, 309)));
        assert_eq!(block.get(10), Some(&b"{\"n\":0}"[..]));
        assert_eq!(block.get(309), Some(&b"{\"n\":299}"[..]));
        assert_eq!(block.get(9), None);
        assert_eq!(block.iter().count(), 300);
        let mut damaged = value.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert!(decode_records(&damaged).is_err());
    }

    #[test]
    fn a_group_decodes_alone_and_a_block_of_one_frame_still_reads() {
        let records: Vec<Vec<u8>> = (0..100)
            .map(|i| format!("{{\"n\":{i}}}").into_bytes())
            .collect();
        let at = t("2025-01-01");
        let value = encode_records(
            records
                .iter()
                .enumerate()
                .map(|(i, r)| (1 + i as u64, r.as_slice(), at)),
        );
        // 100 small records: groups of RECORDS_PER_GROUP.
        for seq in [1, 32, 33, 64, 65, 100] {
            let group = decode_group(&value, seq).unwrap();
            let first = (seq - 1) / RECORDS_PER_GROUP as u64 * RECORDS_PER_GROUP as u64 + 1;
            let last = (first + RECORDS_PER_GROUP as u64 - 1).min(100);
            assert_eq!(group.span(), Some((first, last)), "seq {seq}");
            let want = format!("{{\"n\":{}}}", seq - 1);
            assert_eq!(group.get(seq), Some(want.as_bytes()));
        }
        assert_eq!(decode_group(&value, 0).unwrap().get(0), None);
        // A changed group table is damage, whichever way the block is read.
        let mut damaged = value.clone();
        damaged[HEADER + 2] ^= 1;
        assert!(decode_records(&damaged).is_err());
        damaged = value.clone();
        damaged[HEADER] ^= 1;
        assert!(decode_records(&damaged).is_err());
        assert!(decode_group(&damaged, 1).is_err());
        // Version 1: the header, then one frame of the whole payload.
        let mut payload = Vec::new();
        for (i, r) in records.iter().enumerate() {
            payload.extend_from_slice(&(1 + i as u64).to_le_bytes());
            payload.extend_from_slice(&(r.len() as u32).to_le_bytes());
            payload.extend_from_slice(r);
        }
        let mut old = vec![VERSION_ONE_FRAME];
        old.extend_from_slice(&100u32.to_le_bytes());
        old.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        old.extend_from_slice(&time_bytes(&at));
        old.extend_from_slice(&time_bytes(&at));
        old.extend_from_slice(&zstd::bulk::compress(&payload, 1).unwrap());
        assert_eq!(header(&old).unwrap(), header(&value).unwrap());
        assert_eq!(decode_group(&old, 50).unwrap().span(), Some((1, 100)));
        let whole = decode_records(&old).unwrap();
        assert!(whole.iter().eq(decode_records(&value).unwrap().iter()));
    }

    #[test]
    fn packed_values_round_trip_and_damage_is_refused() {
        let text = b"a fold's JSON, packed".repeat(20);
        let value = pack(&text);
        assert!(value.len() < text.len());
        assert_eq!(unpack(&value).unwrap(), text);
        assert!(unpack(&value[..3]).is_err());
        let mut damaged = value.clone();
        damaged[0] ^= 1; // the length
        assert!(unpack(&damaged).is_err());
        let block = encode_records([(1, &b"{}"[..], t("2025-01-01"))]);
        assert!(header(&block[..HEADER - 1]).is_err());
        assert!(decode_records(&block[..block.len() - 1]).is_err());
        assert!(decode_group(&block[..block.len() - 1], 1).is_err());
    }

    #[test]
    fn records_split_into_blocks_by_count_and_bytes() {
        const R: usize = RECORDS_PER_BLOCK;
        let small = vec![10usize; 2 * R + 5];
        let blocks = split(1, &small, |n| *n);
        let shape: Vec<(u64, usize)> = blocks.iter().map(|(s, r)| (*s, r.len())).collect();
        let r = R as u64;
        assert_eq!(shape, [(1, R), (1 + r, R), (1 + 2 * r, 5)]);
        let large = vec![BLOCK_BYTES / 2; 5];
        let shape: Vec<(u64, usize)> = split(7, &large, |n| *n)
            .iter()
            .map(|(s, r)| (*s, r.len()))
            .collect();
        assert_eq!(shape, [(7, 2), (9, 2), (11, 1)]);
        assert!(split(1, &Vec::<usize>::new(), |n| *n).is_empty());
    }

    #[test]
    fn postings_round_trip_in_order() {
        let mut value = Vec::new();
        push_postings(&mut value, &[(t("2025-02-01"), 3), (t("2024-01-01"), 3)]);
        push_postings(&mut value, &[(t("2025-03-01"), 9)]);
        assert_eq!(postings_len(&value), 3);
        assert_eq!(
            postings(&value).unwrap(),
            [
                (t("2025-02-01"), 3),
                (t("2024-01-01"), 3),
                (t("2025-03-01"), 9)
            ]
        );
        assert!(postings(&value[1..]).is_err());
    }
}
