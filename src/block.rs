//! Packed sled values: blocks of log records and blocks of history postings.
//!
//! sled's cost is per key (every insert copies a node), so the log and the history
//! indexes are stored a block per value instead of a key per record or entry:
//!
//! - a **record block** (`B` first seq) holds up to [`RECORDS_PER_BLOCK`] consecutive
//!   records (or [`BLOCK_BYTES`] of them), their canonical bytes unchanged, in one
//!   zstd frame with its content checksum. A block is written once, by the chunk of
//!   a write that holds its records, and never rewritten: a block past the committed
//!   head holds nothing committed, and an unfinished write is undone by deleting the
//!   blocks past the head.
//! - a **posting block** (`P` kind slug 0 first seq) holds an entity's history
//!   entries, (valid time, seq), in seq order. A write appends to the entity's last
//!   block while it is small, so an entity touched once per write still reads a few
//!   values, not one per write.
//!
//! # Record block layout (integers little-endian)
//!
//! | bytes | field |
//! |---|---|
//! | 1 | version (1) |
//! | 4 | number of records |
//! | 4 | length of the payload uncompressed |
//! | 12 | record time of the first record ([`crate::index::time_bytes`]) |
//! | 12 | record time of the last record |
//! | n | one zstd frame (with checksum) of, per record: seq (8), length (4), canonical bytes |
//!
//! The record times in the clear let a record-time cut find its block without
//! decompressing any other (record time never decreases along the log).

use std::cell::RefCell;

use crate::index::{time_bytes, time_from};
use crate::time::Instant;

/// Records per block at most.
pub const RECORDS_PER_BLOCK: usize = 256;
/// A block closes once its records' bytes reach this size.
pub const BLOCK_BYTES: usize = 128 << 10;
/// Entries in a posting block before the next write starts a new one.
pub const POSTINGS_PER_BLOCK: usize = 512;
/// zstd level of record blocks (1: the fastest, within a few percent of 3's ratio on records).
const LEVEL: i32 = 1;
const VERSION: u8 = 1;
const HEADER: usize = 1 + 4 + 4 + 12 + 12;
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

/// Encodes records (seq, canonical bytes, record time) as one block value.
pub fn encode_records<'a>(records: impl IntoIterator<Item = (u64, &'a [u8], Instant)>) -> Vec<u8> {
    let mut payload = Vec::new();
    let (mut count, mut first, mut last) = (0u32, None, None);
    for (seq, bytes, recorded_at) in records {
        payload.extend_from_slice(&seq.to_le_bytes());
        payload.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        payload.extend_from_slice(bytes);
        count += 1;
        first.get_or_insert(recorded_at);
        last = Some(recorded_at);
    }
    let mut out = Vec::with_capacity(HEADER + payload.len() / 3);
    out.push(VERSION);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    let none = Instant::default();
    out.extend_from_slice(&time_bytes(&first.unwrap_or(none)));
    out.extend_from_slice(&time_bytes(&last.unwrap_or(none)));
    let compressed = COMPRESSOR.with(|c| c.borrow_mut().compress(&payload));
    out.extend_from_slice(&compressed.expect("zstd compresses in memory"));
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
    if value.len() < HEADER || value[0] != VERSION {
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

/// Decodes a block value (checking zstd's checksum and the layout).
pub fn decode_records(value: &[u8]) -> Result<RecordBlock, String> {
    let header = header(value)?;
    let data = DECOMPRESSOR
        .with(|d| {
            d.borrow_mut()
                .decompress(&value[HEADER..], header.raw_len as usize)
        })
        .map_err(|e| format!("a record block does not decompress: {e}"))?;
    if data.len() != header.raw_len as usize {
        return Err("a record block's length is damaged".into());
    }
    let mut records = Vec::with_capacity(header.count as usize);
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
    if records.len() != header.count as usize {
        return Err(damaged());
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
    fn records_split_into_blocks_by_count_and_bytes() {
        let small = vec![10usize; 600];
        let blocks = split(1, &small, |n| *n);
        let shape: Vec<(u64, usize)> = blocks.iter().map(|(s, r)| (*s, r.len())).collect();
        assert_eq!(shape, [(1, 256), (257, 256), (513, 88)]);
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
