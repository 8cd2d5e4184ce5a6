//! Stored records and the hash chain (docs/format.md §4).
//!
//! A stored record is the input object plus `seq`, `recorded_at`, `prev_hash` and
//! `hash`. `hash` is the SHA-256 of the record without `hash`, written in the RFC 8785
//! canonical form (keys sorted by UTF-16 code units, no insignificant whitespace).
//! The record is stored in exactly that canonical form (with `hash`), so `verify`
//! re-hashes what is stored and an export can be checked with a few lines of any
//! language.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::event::{parse_event_owned, Event, RECORDED_BY, RECORD_FIELDS};
use crate::time::{self, Instant};

/// `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Reads a seq (a record's number) as a user writes it (`--expect-seq`, `seq:N`,
/// `--head SEQ:HASH`, `If-Match: SEQ`): ASCII digits only. A sign or a space is
/// refused, not read as Rust's number parser would read it (`+68` as 68): a seq
/// names a record, and `+68` is not how the ledger ever writes one. Leading zeros
/// are the number they write (`068` is 68). The error says what is wrong with the
/// text; the caller names where it was given.
pub fn parse_seq(text: &str) -> Result<u64, String> {
    let shown = text.escape_debug();
    if text.is_empty() {
        return Err("a seq cannot be empty: write the record's number, such as `68`".into());
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        let hint = match digits_within(text) {
            Some(digits) => format!(": write its digits alone (`{digits}`)"),
            None => ": a seq is a record's number, written in digits (such as `68`)".to_string(),
        };
        return Err(format!("`{shown}` is not a seq{hint}"));
    }
    text.parse()
        .map_err(|_| format!("`{shown}` is larger than any seq (at most {})", u64::MAX))
}

/// The seq of a `seq:N` (a cut, or an event named by its record), read by
/// [`parse_seq`]; `None` when `text` does not start with `seq:`. The error quotes the
/// whole text and says how it is written.
pub fn parse_seq_form(text: &str) -> Option<Result<u64, String>> {
    let n = text.strip_prefix("seq:")?;
    Some(parse_seq(n).map_err(|e| {
        if n.bytes().all(|b| b.is_ascii_digit()) {
            return format!("`{}`: {e}", text.escape_debug());
        }
        let example = match digits_within(n) {
            Some(digits) => format!("such as `seq:{digits}`"),
            // `seq:-1` is not the last record: records are counted from the first.
            None => "counted from the first record, `seq:1`".to_string(),
        };
        format!(
            "`{}`: `seq:` takes a record number in digits alone, {example}",
            text.escape_debug()
        )
    }))
}

/// The digits a user meant by a seq written with spaces or a `+` around them
/// (` +68 ` → `68`), for the hint of an error; `None` when there are none.
fn digits_within(text: &str) -> Option<&str> {
    let digits = text.trim().trim_start_matches('+');
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// Checks stored `bytes` as record `seq` of a log whose record before is `prev`
/// (its stored bytes; `None` for record 1): its seq, its canonical form and hash
/// ([`Record::check_stored`]), and that its `prev_hash` names the record before.
pub fn check_follows(seq: u64, bytes: &[u8], prev: Option<&[u8]>) -> Result<(), String> {
    let record = Record::decode(bytes)?;
    if record.seq != seq {
        return Err(format!("it says it is record {}", record.seq));
    }
    record.check_stored(bytes)?;
    let prev_hash = match prev {
        Some(prev) => Record::decode(prev)?.hash,
        None => GENESIS_HASH.to_string(),
    };
    if record.prev_hash != prev_hash {
        return Err("its prev_hash does not name the record before it".into());
    }
    Ok(())
}

/// One record of the log, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub seq: u64,
    pub recorded_at: Instant,
    pub prev_hash: String,
    pub hash: String,
    pub event: std::sync::Arc<Event>,
    /// The whole stored object, `hash` included (shared: a clone of a record is cheap).
    pub object: std::sync::Arc<Map<String, Value>>,
}

impl Record {
    /// Makes the record that follows `prev_hash` from a checked input object, and its stored bytes.
    pub fn seal(
        input: Map<String, Value>,
        event: Event,
        seq: u64,
        recorded_at: Instant,
        prev_hash: &str,
    ) -> (Record, Vec<u8>) {
        let members = Members::of(&input);
        Record::seal_members(input, members, event, seq, recorded_at, prev_hash)
    }

    /// [`Record::seal`] with the input's canonical members already written (by
    /// [`Members::of`], possibly on another thread): only the ledger's fields are
    /// written here, then the hash (docs/format.md §4).
    pub fn seal_members(
        mut input: Map<String, Value>,
        mut members: Members,
        event: Event,
        seq: u64,
        recorded_at: Instant,
        prev_hash: &str,
    ) -> (Record, Vec<u8>) {
        let fields = [
            ("seq", Value::from(seq)),
            ("recorded_at", Value::String(time::format(&recorded_at))),
            ("prev_hash", Value::String(prev_hash.to_string())),
        ];
        for (key, value) in fields {
            members.insert(key, &value);
            input.insert(key.into(), value);
        }
        // Each member is written once; the hashed form and the stored form (with
        // `hash` in its sorted place) are joined from the same pieces.
        let hash = hash_hex(&members.join());
        let hash_value = Value::String(hash.clone());
        members.insert("hash", &hash_value);
        let bytes = members.join();
        input.insert("hash".into(), hash_value);
        let record = Record {
            seq,
            recorded_at,
            prev_hash: prev_hash.to_string(),
            hash,
            event: event.into(),
            object: input.into(),
        };
        (record, bytes)
    }

    /// Reads a stored (or exported) record: its ledger fields and its event. The hash
    /// is not checked here; see [`Record::check`].
    pub fn from_object(object: Map<String, Value>) -> Result<Record, String> {
        let seq = match object.get("seq") {
            Some(Value::Number(n)) => n.as_u64().filter(|&s| s > 0),
            _ => None,
        }
        .ok_or("field `seq` must be a whole number from 1")?;
        let text = |field: &str| -> Result<String, String> {
            match object.get(field) {
                Some(Value::String(s)) => Ok(s.clone()),
                _ => Err(format!("field `{field}` must be a string")),
            }
        };
        let recorded_at = time::parse_rfc3339(&text("recorded_at")?)
            .map_err(|e| format!("field `recorded_at`: {e}"))?;
        let prev_hash = text("prev_hash")?;
        let hash = text("hash")?;
        for (field, value) in [("prev_hash", &prev_hash), ("hash", &hash)] {
            if !is_hash(value) {
                return Err(format!("field `{field}` must be 64 lowercase hex digits"));
            }
        }
        match object.get(RECORDED_BY) {
            None | Some(Value::String(_)) => {}
            Some(_) => return Err(format!("field `{RECORDED_BY}` must be a string")),
        }
        let input = input_of(&object);
        if !matches!(input.get("id"), Some(Value::String(_))) {
            return Err("a stored record needs field `id`, a UUID".into());
        }
        let event = parse_event_owned(input, &mut Uuid::nil)?;
        Ok(Record {
            seq,
            recorded_at,
            prev_hash,
            hash,
            event: event.into(),
            object: object.into(),
        })
    }

    /// Decodes stored bytes.
    pub fn decode(bytes: &[u8]) -> Result<Record, String> {
        match serde_json::from_slice(bytes) {
            Ok(Value::Object(object)) => Record::from_object(object),
            Ok(_) => Err("a record must be a JSON object".into()),
            Err(e) => Err(format!("not JSON: {e}")),
        }
    }

    /// Reads only what a fold needs from stored bytes: seq, record time, event. Much
    /// cheaper than [`Record::decode`]; the record was fully checked when appended,
    /// and `verify` reads every record the full way.
    pub fn decode_event(bytes: &[u8]) -> Result<(u64, Instant, Event), String> {
        let stored: crate::event::Stored =
            serde_json::from_slice(bytes).map_err(|e| format!("not a stored record: {e}"))?;
        let (seq, recorded_at) = (stored.seq, stored.recorded_at);
        Ok((seq, recorded_at, stored.into_event()?))
    }

    /// Re-hashes the record and compares with its `hash`.
    pub fn check(&self) -> Result<(), String> {
        self.check_hash(&Members::of(&self.object))
    }

    /// [`Record::check`], and that `stored` is exactly the record's canonical form:
    /// what `verify` asks of every stored record, writing each member once.
    pub fn check_stored(&self, stored: &[u8]) -> Result<(), String> {
        let members = Members::of(&self.object);
        self.check_hash(&members)?;
        if members.join() != stored {
            return Err(format!(
                "record {} is not stored in canonical form",
                self.seq
            ));
        }
        Ok(())
    }

    fn check_hash(&self, members: &Members) -> Result<(), String> {
        let actual = hash_hex(&members.join_without("hash"));
        if actual != self.hash {
            return Err(format!(
                "record {} does not match its hash: stored {}, computed {}",
                self.seq, self.hash, actual
            ));
        }
        Ok(())
    }

    /// Who recorded it (`recorded_by`), when the record says.
    pub fn recorded_by(&self) -> Option<&str> {
        self.object.get(RECORDED_BY).and_then(Value::as_str)
    }

    /// The event object as the user gave it (with its id), without the ledger's fields.
    pub fn input(&self) -> Map<String, Value> {
        input_of(&self.object)
    }

    /// The stored bytes of this record.
    pub fn bytes(&self) -> Vec<u8> {
        canonical(&self.object)
    }
}

fn input_of(object: &Map<String, Value>) -> Map<String, Value> {
    object
        .iter()
        .filter(|(k, _)| !RECORD_FIELDS.contains(&k.as_str()) && *k != RECORDED_BY)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn is_hash(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Lowercase hex SHA-256.
pub fn hash_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// RFC 8785 canonical JSON of an object: keys sorted by UTF-16 code units, no
/// whitespace, strings escaped as JSON.stringify does. Numbers in records are
/// whole numbers (`seq`), whose canonical form is their decimal digits.
pub fn canonical(object: &Map<String, Value>) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    write_object(object, &mut out);
    out
}

fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => write_object(map, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out);
            }
            out.push(b']');
        }
        // serde_json writes null, booleans, integers and strings as RFC 8785 does.
        other => serde_json::to_writer(&mut *out, other).expect("writing to a Vec cannot fail"),
    }
}

fn write_object(map: &Map<String, Value>, out: &mut Vec<u8>) {
    out.extend_from_slice(&Members::of(map).join());
}

/// The canonical members (`"key":value`) of an object, in RFC 8785 order (keys by
/// UTF-16 code units): joined, they are the object's canonical form (docs/format.md §4).
pub struct Members(Vec<(String, Vec<u8>)>);

impl Members {
    /// Writes every member of `object`.
    pub fn of(object: &Map<String, Value>) -> Members {
        let mut members: Vec<(String, Vec<u8>)> = object
            .iter()
            .map(|(key, value)| (key.clone(), member(key, value)))
            .collect();
        members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
        Members(members)
    }

    /// Adds a member in its sorted place (the key must be new).
    pub fn insert(&mut self, key: &str, value: &Value) {
        let at = self
            .0
            .partition_point(|(k, _)| k.encode_utf16().lt(key.encode_utf16()));
        self.0.insert(at, (key.to_string(), member(key, value)));
    }

    /// The canonical object: `{`, the members joined by `,`, `}`.
    pub fn join(&self) -> Vec<u8> {
        self.join_without("")
    }

    /// [`Members::join`] leaving out the member `key` (the hashed form leaves out `hash`).
    fn join_without(&self, key: &str) -> Vec<u8> {
        let len = self.0.iter().map(|(_, m)| m.len() + 1).sum::<usize>() + 2;
        let mut out = Vec::with_capacity(len);
        out.push(b'{');
        let kept = self.0.iter().filter(|(k, _)| k != key);
        for (i, (_, m)) in kept.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(m);
        }
        out.push(b'}');
        out
    }
}

fn member(key: &str, value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    serde_json::to_writer(&mut out, key).expect("writing to a Vec cannot fail");
    out.push(b':');
    write_value(value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_seq_is_digits_alone() {
        assert_eq!(parse_seq("68"), Ok(68));
        assert_eq!(parse_seq("068"), Ok(68));
        assert_eq!(parse_seq("0"), Ok(0));
        let plus = parse_seq("+68").unwrap_err();
        assert!(
            plus.contains("`+68` is not a seq: write its digits alone (`68`)"),
            "{plus}"
        );
        for text in ["-1", " 68", "68 ", "6_8", "x", "", "６８"] {
            assert!(parse_seq(text).is_err(), "{text:?}");
        }
        assert!(parse_seq("99999999999999999999")
            .unwrap_err()
            .contains("larger than any seq"));
    }

    #[test]
    fn canonical_form_sorts_keys_and_drops_whitespace() {
        let value = json!({"b": [1, {"z": null, "a": true}], "a": "é\n\u{1}\"", "\u{e000}": 1, "\u{1f600}": 2});
        let text = String::from_utf8(canonical(value.as_object().unwrap())).unwrap();
        // U+1F600 is a surrogate pair (D83D…), which sorts before U+E000 in UTF-16.
        assert_eq!(
            text,
            "{\"a\":\"é\\n\\u0001\\\"\",\"b\":[1,{\"a\":true,\"z\":null}],\"\u{1f600}\":2,\"\u{e000}\":1}"
        );
    }

    #[test]
    fn a_sealed_record_checks_and_any_change_breaks_it() {
        let mut input =
            json!({"type": "party_registered", "occurred_at": "2025-11-23", "party": "us",
            "name": "United States", "id": Uuid::from_u128(1).to_string()})
            .as_object()
            .unwrap()
            .clone();
        let event = crate::event::parse_event(&mut input, &mut Uuid::nil).unwrap();
        let at = time::parse_occurred_at("2026-01-01T00:00:00Z").unwrap();
        let (record, bytes) = Record::seal(input, event, 1, at, GENESIS_HASH);
        let back = Record::decode(&bytes).unwrap();
        assert_eq!(back, record);
        back.check().unwrap();
        assert_eq!(back.bytes(), bytes);
        let tampered = String::from_utf8(bytes)
            .unwrap()
            .replace("United States", "United Kingdom");
        let err = Record::decode(tampered.as_bytes())
            .unwrap()
            .check()
            .unwrap_err();
        assert!(err.contains("does not match its hash"), "{err}");
    }

    #[test]
    fn the_fast_reader_gives_the_same_event_as_the_parser_for_every_type() {
        for spec in crate::event::TYPES {
            let mut map = Map::new();
            map.insert("type".into(), json!(spec.name));
            map.insert("occurred_at".into(), json!("2025-11-23T10:00:00+01:00"));
            map.insert("id".into(), json!(Uuid::from_u128(9).to_string()));
            map.insert(
                "source".into(),
                json!({"outlet": "Wire", "url": "https://example.org"}),
            );
            if spec.name != "actor_registered" {
                map.insert("actor".into(), json!("someone"));
                map.insert("attribution".into(), json!("an official"));
            }
            for field in spec.fields {
                let value = match field.name {
                    "parties" | "authors" | "participants" | "provisions" => json!(["x", "y"]),
                    "status" => json!("agreed_in_principle"),
                    "stance" => json!("conditional"),
                    "planned_for" => json!("2025-12-01"),
                    "target" => json!(Uuid::from_u128(1).to_string()),
                    "parameters" => json!({"troop_cap": 600000, "scope": "peacetime"}),
                    _ => json!("x"),
                };
                map.insert(field.name.to_string(), value);
            }
            if spec.name != "event_retracted" {
                map.insert("supersedes".into(), json!(Uuid::from_u128(2).to_string()));
            }
            let event = crate::event::parse_event(&mut map, &mut Uuid::nil)
                .unwrap_or_else(|e| panic!("{}: {e}", spec.name));
            let at = time::parse_occurred_at("2026-01-01T00:00:00Z").unwrap();
            let (record, bytes) = Record::seal(map, event, 3, at, GENESIS_HASH);
            let (seq, recorded_at, fast) = Record::decode_event(&bytes).unwrap();
            assert_eq!((seq, recorded_at), (3, at));
            assert_eq!(fast, *record.event, "{}", spec.name);
            assert_eq!(
                Record::decode(&bytes).unwrap().event,
                record.event,
                "{}",
                spec.name
            );
        }
    }
}
