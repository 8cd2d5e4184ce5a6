//! Reading events from files, folders and stdin, with file and line numbers.
//!
//! A file is NDJSON (one object per line; `#` comment lines and blank lines are
//! skipped; LF or CRLF; an optional UTF-8 byte-order mark) or a JSON array of
//! objects. NDJSON is streamed line by line, so memory does not grow with the file.
//! Folders are walked for `*.ndjson`, `*.jsonl` and `*.json`, sorted by path,
//! without following symbolic links out of them.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

use crate::append::Item;
use crate::error::{Error, Location, Result};
use crate::event::json_kind;

/// The longest line accepted; longer lines are refused before they are parsed.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// File endings read from folders.
pub const EXTENSIONS: &[&str] = &["ndjson", "jsonl", "json"];

/// One input named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

/// Expands paths (`-` is stdin) into inputs: files as named, folders walked.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        let meta = fs::metadata(path).map_err(|e| Error::io(path.display(), e))?;
        if meta.is_dir() {
            let mut files = Vec::new();
            walk_folder(path, &mut files)?;
            files.sort();
            if files.is_empty() {
                return Err(Error::NotFound(format!(
                    "{}: no *.ndjson, *.jsonl or *.json files in this folder",
                    path.display()
                )));
            }
            inputs.extend(files.into_iter().map(Input::File));
        } else {
            inputs.push(Input::File(path.clone()));
        }
    }
    Ok(inputs)
}

/// A folder being walked: links are followed when they lead inside it, and every
/// link that leads out of it (or nowhere) is named in an error, never skipped silently.
struct Walk {
    root: PathBuf,
    /// Folders walked and files taken, by canonical path: a link to either is read once.
    visited: std::collections::HashSet<PathBuf>,
    refused: Vec<String>,
}

fn walk_folder(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let root = fs::canonicalize(dir).map_err(|e| Error::io(dir.display(), e))?;
    let mut walk = Walk {
        visited: std::collections::HashSet::from([root.clone()]),
        root,
        refused: Vec::new(),
    };
    walk.walk(dir, out)?;
    if walk.refused.is_empty() {
        return Ok(());
    }
    Err(Error::invalid(
        &Location(dir.display().to_string()),
        format!(
            "a folder import follows links only inside the folder; not followed: {}; import a link's target by naming it",
            walk.refused.join(", ")
        ),
    ))
}

impl Walk {
    fn walk(&mut self, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        for entry in fs::read_dir(dir).map_err(|e| Error::io(dir.display(), e))? {
            let entry = entry.map_err(|e| Error::io(dir.display(), e))?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|e| Error::io(path.display(), e))?;
            let wanted = |path: &Path| {
                path.extension()
                    .is_some_and(|x| EXTENSIONS.iter().any(|e| x == *e))
            };
            if kind.is_dir() {
                let canonical =
                    fs::canonicalize(&path).map_err(|e| Error::io(path.display(), e))?;
                if self.visited.insert(canonical) {
                    self.walk(&path, out)?;
                }
            } else if kind.is_file() {
                let canonical =
                    fs::canonicalize(&path).map_err(|e| Error::io(path.display(), e))?;
                if wanted(&path) && self.visited.insert(canonical) {
                    out.push(path);
                }
            } else if kind.is_symlink() {
                let target = match fs::canonicalize(&path) {
                    Ok(target) => target,
                    Err(_) => {
                        self.refused
                            .push(format!("{} (a broken link)", path.display()));
                        continue;
                    }
                };
                if !target.starts_with(&self.root) {
                    self.refused
                        .push(format!("{} -> {}", path.display(), target.display()));
                } else if target.is_dir() {
                    if self.visited.insert(target) {
                        self.walk(&path, out)?;
                    }
                } else if (wanted(&path) || wanted(&target)) && self.visited.insert(target) {
                    out.push(path);
                }
            }
        }
        Ok(())
    }
}

/// The objects of one input, in order.
pub fn read(
    input: &Input,
    stdin: &mut dyn FnMut() -> Box<dyn BufRead>,
) -> Result<Box<dyn Iterator<Item = Result<Item>>>> {
    match input {
        Input::Stdin => Ok(items("stdin".into(), stdin())),
        Input::File(path) => {
            let file = fs::File::open(path).map_err(|e| Error::io(path.display(), e))?;
            Ok(items(
                path.display().to_string(),
                Box::new(BufReader::with_capacity(1 << 16, file)),
            ))
        }
    }
}

/// The objects of one stream named `name`.
pub fn items(name: String, reader: Box<dyn BufRead>) -> Box<dyn Iterator<Item = Result<Item>>> {
    Box::new(Lines {
        name,
        reader,
        line: 0,
        buf: Vec::new(),
        state: State::Start,
        array: Vec::new().into_iter(),
    })
}

enum State {
    Start,
    Lines,
    Done,
}

struct Lines {
    name: String,
    reader: Box<dyn BufRead>,
    line: usize,
    buf: Vec<u8>,
    state: State,
    array: std::vec::IntoIter<Result<Item>>,
}

impl Lines {
    fn at(&self) -> Location {
        Location::line(&self.name, self.line)
    }

    /// The next line without its end, or None at the end of input.
    fn next_line(&mut self) -> Result<Option<String>> {
        self.buf.clear();
        let n = (&mut self.reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| Error::io(&self.name, e))?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        if self.buf.len() > MAX_LINE_BYTES && self.buf.last() != Some(&b'\n') {
            return Err(Error::invalid(
                &self.at(),
                format!("line is longer than {} MiB", MAX_LINE_BYTES >> 20),
            ));
        }
        let mut bytes: &[u8] = &self.buf;
        if self.line == 1 {
            if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
                return Err(Error::invalid(
                    &self.at(),
                    "the input starts with a UTF-16 byte-order mark; events are read as UTF-8",
                ));
            }
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        if let Some(i) = bytes.iter().position(|&b| b == 0) {
            return Err(Error::invalid(&self.at(), nul_message(i)));
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Some(text.to_string())),
            Err(e) => Err(Error::invalid(
                &self.at(),
                format!("invalid UTF-8 at byte {} of the line", e.valid_up_to() + 1),
            )),
        }
    }

    fn object(&self, text: &str) -> Result<Item> {
        let at = self.at();
        if text.starts_with('\u{feff}') {
            // Taken at the file's start; inside it, most often files joined together.
            return Err(Error::invalid(
                &at,
                "a byte-order mark (U+FEFF) starts this line: remove it (files saved with one and joined together put one at each join)",
            ));
        }
        match parse_value(text) {
            Ok(Value::Object(object)) => Ok(Item { at, object }),
            Ok(other) => Err(Error::invalid(
                &at,
                format!("expected a JSON object, found {}", json_kind(&other)),
            )),
            Err(e) => Err(Error::invalid(&at, json_error(&e, false))),
        }
    }

    /// Reads the rest of the input as a JSON array that starts on the current line.
    fn read_array(&mut self, first: String) -> Result<Vec<Result<Item>>> {
        let start_line = self.line;
        let mut text = first;
        let mut rest = Vec::new();
        self.reader
            .read_to_end(&mut rest)
            .map_err(|e| Error::io(&self.name, e))?;
        if !rest.is_empty() {
            // (A one-line array cut short must read as ending early, not as a string
            // holding a line break.)
            text.push('\n');
        }
        let rest = String::from_utf8(rest).map_err(|e| {
            let line = start_line
                + 1
                + e.as_bytes()[..e.utf8_error().valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count();
            Error::invalid(&Location::line(&self.name, line), "invalid UTF-8")
        })?;
        text.push_str(&rest);
        // `#` comment lines may stand around the array too.
        let text = without_comments(&text);
        let line_of = |offset: usize| start_line + text[..offset].matches('\n').count();
        if let Some(offset) = text.find('\0') {
            let column = offset - text[..offset].rfind('\n').map_or(0, |n| n + 1);
            return Err(Error::invalid(
                &Location::line(&self.name, line_of(offset)),
                nul_message(column),
            ));
        }
        let raws: Vec<&RawValue> = serde_json::from_str(&text).map_err(|e| {
            let mut message = json_error(&e, true);
            if message.starts_with("invalid JSON: trailing characters") {
                message.push_str(&format!(
                    ": something follows the JSON array that starts on line {start_line} (a file whose first event line starts with `[` is read as one array of every event; for one event per line, write each line as an object)"
                ));
            }
            Error::invalid(
                &Location::line(&self.name, start_line + e.line().saturating_sub(1)),
                message,
            )
        })?;
        let lines: Vec<usize> = raws
            .iter()
            .map(|raw| line_of(raw.get().as_ptr() as usize - text.as_ptr() as usize))
            .collect();
        // Where elements share a line (a one-line array), the line alone does not say
        // which is meant: the element's place in the array is added.
        let shared =
            |i: usize| (i > 0 && lines[i - 1] == lines[i]) || lines.get(i + 1) == Some(&lines[i]);
        Ok(raws
            .into_iter()
            .enumerate()
            .map(|(i, raw)| {
                let at = match shared(i) {
                    true => Location::element(&self.name, lines[i], i + 1),
                    false => Location::line(&self.name, lines[i]),
                };
                match parse_value(raw.get()) {
                    Ok(Value::Object(object)) => Ok(Item { at, object }),
                    Ok(other) => Err(Error::invalid(
                        &at,
                        format!(
                            "expected a JSON object in the array, found {}",
                            json_kind(&other)
                        ),
                    )),
                    Err(e) => Err(Error::invalid(&at, json_error(&e, false))),
                }
            })
            .collect())
    }
}

impl Iterator for Lines {
    type Item = Result<Item>;

    fn next(&mut self) -> Option<Result<Item>> {
        loop {
            match self.state {
                State::Done => return self.array.next(),
                State::Start | State::Lines => {}
            }
            let text = match self.next_line() {
                Ok(Some(text)) => text,
                Ok(None) => {
                    self.state = State::Done;
                    continue;
                }
                Err(e) => {
                    self.state = State::Done;
                    return Some(Err(e));
                }
            };
            let trimmed = text.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if matches!(self.state, State::Start) && trimmed.starts_with('[') {
                self.state = State::Done;
                match self.read_array(text) {
                    Ok(items) => self.array = items.into_iter(),
                    Err(e) => return Some(Err(e)),
                }
                continue;
            }
            self.state = State::Lines;
            let item = self.object(trimmed);
            if item.is_err() {
                self.state = State::Done;
            }
            return Some(item);
        }
    }
}

/// A NUL byte is never valid JSON; it usually means a binary file or a UTF-16 one.
fn nul_message(index: usize) -> String {
    format!(
        "a NUL byte at byte {} of the line: this is binary data or UTF-16, not UTF-8 JSON",
        index + 1
    )
}

/// Parses one JSON value like `serde_json::from_str::<Value>`, except that an object
/// repeating a key is an error: keeping one of the two values silently would let a
/// typo or a hostile file hide a field (and other JSON readers keep the other one).
pub fn parse_value(text: &str) -> serde_json::Result<Value> {
    serde_json::from_str::<Strict>(text).map(|strict| strict.0)
}

/// A JSON value read with [`StrictVisitor`]. serde_json's recursion limit still applies.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "the key `{}` appears twice in one object",
                    key.escape_debug()
                )));
            }
            let Strict(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// serde_json's message without its own "at line L column C", with the column kept
/// where a line number is already given by the location.
fn json_error(err: &serde_json::Error, whole_file: bool) -> String {
    let text = err.to_string();
    let message = text.split(" at line ").next().unwrap_or(&text).to_string();
    let message = match err.classify() {
        serde_json::error::Category::Eof => format!("the JSON ends too early ({message})"),
        _ => format!("invalid JSON: {message}"),
    };
    if whole_file || err.column() == 0 {
        message
    } else {
        format!("{message} at column {}", err.column())
    }
}

/// `text` with its `#` comment lines blanked in place, keeping every offset and line
/// number. A JSON string cannot hold a raw line break, so a line that starts with
/// `#` is never inside one.
fn without_comments(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            if line.trim_start().starts_with('#') {
                line.chars()
                    .map(|c| if c == '\n' { c } else { ' ' })
                    .collect()
            } else {
                line.to_string()
            }
        })
        .collect()
}

/// Whether a text holds no event: nothing but an optional byte-order mark, blank
/// lines and `#` comment lines (an input an import takes as empty). `append -` and
/// a one-event body refuse it as having no event, never as invalid JSON.
pub fn holds_no_event(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#')
    })
}

/// Reads one JSON object from a string (for `append -`, a one-event body and the
/// event flags); `#` comment lines and blank lines around it are allowed, as in a file.
pub fn parse_object(text: &str, at: &Location, for_several: &str) -> Result<Map<String, Value>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = &without_comments(text);
    if let Some(offset) = text.find('\0') {
        let column = offset - text[..offset].rfind('\n').map_or(0, |n| n + 1);
        return Err(Error::invalid(at, nul_message(column)));
    }
    match parse_value(text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(Error::invalid(
            at,
            format!("expected a JSON object, found {}", json_kind(&other)),
        )),
        Err(e) if e.to_string().starts_with("trailing characters") => Err(Error::invalid(
            at,
            format!(
                "more than one JSON value (the second starts at line {}, column {}): one object is expected here; {for_several}",
                e.line(),
                e.column()
            ),
        )),
        Err(e) => Err(Error::invalid(at, json_error(&e, true))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Got = std::result::Result<(String, Map<String, Value>), String>;

    fn collect(text: &str) -> Vec<Got> {
        items(
            "f".into(),
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        )
        .map(|r| r.map(|i| (i.at.0, i.object)).map_err(|e| e.to_string()))
        .collect()
    }

    #[test]
    fn ndjson_with_bom_comments_blank_lines_and_crlf() {
        let got = collect("\u{feff}# header\r\n\r\n{\"a\":1}\r\n  \n{\"b\":2}");
        let locations: Vec<String> = got.into_iter().map(|r| r.unwrap().0).collect();
        assert_eq!(locations, ["f:3", "f:5"]);
    }

    #[test]
    fn a_json_array_keeps_line_numbers() {
        let got = collect("# c\n[\n  {\"a\": 1},\n\n  {\"b\": 2}\n]\n");
        let locations: Vec<String> = got.into_iter().map(|r| r.unwrap().0).collect();
        assert_eq!(locations, ["f:3", "f:5"]);
    }

    #[test]
    fn errors_name_the_line_and_stop_the_stream() {
        let got = collect("{\"a\":1}\n{\"a\":\n{\"b\":2}\n");
        assert_eq!(got.len(), 2);
        let err = got[1].clone().unwrap_err();
        assert!(err.starts_with("f:2: the JSON ends too early"), "{err}");
        let got = collect("[1]\n");
        assert!(got[0]
            .clone()
            .unwrap_err()
            .contains("f:1: expected a JSON object in the array, found a number"));
        let got = collect("{\"a\":\"\u{0}\"}\n");
        assert!(got[0]
            .clone()
            .unwrap_err()
            .starts_with("f:1: a NUL byte at byte 7 of the line"));
        let got = collect("{\"a\":\"\u{1}\"}\n");
        assert!(got[0]
            .clone()
            .unwrap_err()
            .starts_with("f:1: invalid JSON: control character"));
    }

    #[test]
    fn a_repeated_key_is_refused_not_silently_dropped() {
        let got = collect("{\"a\":1,\"b\":{\"c\":1,\"c\":2}}\n");
        assert_eq!(
            got[0].clone().unwrap_err(),
            "f:1: invalid JSON: the key `c` appears twice in one object at column 21"
        );
        let got = collect("[\n{\"a\":1},\n{\"a\":1,\"a\":1}\n]\n");
        assert_eq!(got.len(), 2);
        assert!(got[1]
            .clone()
            .unwrap_err()
            .starts_with("f:3: invalid JSON: the key `a` appears twice"));
        let err = parse_object(
            "{\"x\":[1,{\"y\":2,\"y\":3}]}",
            &Location("stdin".into()),
            "",
        );
        assert!(err
            .unwrap_err()
            .to_string()
            .contains("the key `y` appears twice"));
        // Numbers, nesting and escapes read as serde_json reads them.
        let text =
            r#"{"n":-1,"u":18446744073709551615,"f":1.5e300,"s":"\u00e9\n","l":[null,true,{}]}"#;
        assert_eq!(
            parse_value(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[test]
    fn utf16_input_is_named_as_such() {
        let got: Vec<_> = items(
            "f".into(),
            Box::new(std::io::Cursor::new(b"\xFF\xFE{\x00}\x00\n\x00".to_vec())),
        )
        .collect();
        let err = got[0].as_ref().err().unwrap().to_string();
        assert!(
            err.starts_with("f:1: the input starts with a UTF-16 byte-order mark"),
            "{err}"
        );
    }

    #[test]
    fn invalid_utf8_is_refused_with_its_line() {
        let bytes = b"{\"a\":1}\n{\"a\":\"\xff\"}\n".to_vec();
        let got: Vec<_> = items("f".into(), Box::new(std::io::Cursor::new(bytes))).collect();
        let err = got[1].as_ref().err().unwrap().to_string();
        assert_eq!(err, "f:2: invalid UTF-8 at byte 7 of the line");
    }
}
