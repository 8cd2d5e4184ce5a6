//! Durability, proven rather than assumed: `pactlog append` (flags and `append -`) and
//! `pactlog import` (into an existing ledger and into a new one) run under
//! `strace -f -y`, and the trace of their system calls is checked:
//!
//! - every write to a durable file (see [`DURABLE`]) is followed by an fsync or
//!   fdatasync of that file which starts after the write returned and returns before
//!   the success line is written to stdout (fd 1); data written to a temporary file
//!   and renamed onto a durable name counts as written to the durable file;
//! - creating, renaming or removing a durable file is followed, before the success
//!   line, by an fsync of the ledger folder; creating the ledger folder, by an fsync
//!   of its parent;
//! - durable files are made durable in the order of [`DURABLE`]: a file is written
//!   (or renamed into place) only when every write to the earlier ones is fsynced, so
//!   that the head witness never gets ahead of the data it witnesses. (Writes to an
//!   earlier file after a later one are allowed: sled rewrites pages after a commit,
//!   when snapshots are refreshed and when it is closed.)
//! - nothing is written to a durable file after the success line;
//! - there is at least one write to and one fsync of a durable file (no fsync at all,
//!   or a stale [`DURABLE`], fails).
//!
//! Lines of threads interleave (`<unfinished ...>` … `<... resumed>`): a call starts
//! at its first line and ends at its last, and an fsync only covers writes that
//! returned before it started. Writes through mmap or io_uring would not be seen.
//!
//! strace is Debian's `strace` package; without it the tests fail when `CI` is set
//! and are skipped (with a note on stderr) otherwise.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::common::{events_dir, TestLedger, NOW};

/// The files that carry durability, by name in the ledger folder, in the order a
/// commit makes them durable (each is written only once the earlier ones are fsynced). Today: sled's data
/// file, then the head witness (written as `pactlog.head.tmp`, fsynced, renamed).
/// With a write-ahead journal this becomes `&["journal"]`.
const DURABLE: &[&str] = &["journal", "pactlog.head"];

/// Calls that put data into a file, and the argument naming it.
const WRITES: &[(&str, usize)] = &[
    ("write", 0),
    ("pwrite64", 0),
    ("writev", 0),
    ("pwritev", 0),
    ("pwritev2", 0),
    ("ftruncate", 0),
    ("fallocate", 0),
    ("sendfile", 0),
    ("copy_file_range", 2),
    ("splice", 2),
];

/// Calls that make a file's data durable (`sync_file_range` does not: no metadata,
/// no drive cache).
const SYNCS: &[&str] = &["fsync", "fdatasync"];

fn strace() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("strace"))
        .find(|candidate| candidate.is_file())
}

/// strace, or `None` (after a note on stderr) when the test is to be skipped.
fn strace_or_skip(test: &str) -> Option<PathBuf> {
    let found = strace();
    if found.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("{test}: strace is required in CI (apt-get install strace)");
        }
        eprintln!("SKIPPED {test}: strace is not installed (apt-get install strace); the durability checks did not run");
    }
    found
}

// --- The trace ------------------------------------------------------------------------

/// One system call, joined from its `<unfinished ...>` and `<... resumed>` lines.
#[derive(Debug, Clone)]
struct Call {
    name: String,
    args: Vec<String>,
    /// The return value; `None` when unknown (`?`) or when the call never returned.
    ret: Option<i64>,
    /// Line numbers where it started and where it returned.
    start: usize,
    end: usize,
    text: String,
}

impl Call {
    fn ok(&self) -> bool {
        self.ret.is_some_and(|r| r >= 0)
    }
}

fn parse_trace(trace: &str) -> Vec<Call> {
    let mut calls = Vec::new();
    // pid → (line of the start, the text so far)
    let mut pending: HashMap<&str, (usize, String)> = HashMap::new();
    let lines: Vec<&str> = trace.lines().collect();
    for (n, line) in lines.iter().enumerate() {
        // `PID TIME CALL`: strace pads the pid with spaces to a fixed width.
        let Some((pid, rest)) = line.trim_start().split_once(' ') else {
            continue;
        };
        let Some((_time, rest)) = rest.trim_start().split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        if rest.starts_with("+++") || rest.starts_with("---") {
            continue;
        }
        let (start, text) = if let Some(resumed) = rest.strip_prefix("<... ") {
            let Some((_, tail)) = resumed.split_once(" resumed>") else {
                continue;
            };
            match pending.remove(pid) {
                Some((start, head)) => (start, format!("{head}{tail}")),
                // Its start was not traced: nothing to join it to.
                None => continue,
            }
        } else {
            (n, rest.to_string())
        };
        if let Some(head) = text.strip_suffix(" <unfinished ...>") {
            pending.insert(pid, (start, head.to_string()));
            continue;
        }
        if let Some(call) = parse_call(&text, start, n) {
            calls.push(call);
        }
    }
    // Calls that never returned (the thread died, or the trace ended): started, never
    // finished; treat them as still running at the end.
    for (start, text) in pending.into_values() {
        if let Some(mut call) = parse_call(&format!("{text}) = ?"), start, lines.len()) {
            call.ret = None;
            calls.push(call);
        }
    }
    calls
}

/// `name(arg, arg, …) = ret …`, splitting the arguments at top-level commas (not in
/// strings, brackets or the `<path>` strace -y appends to a descriptor).
fn parse_call(text: &str, start: usize, end: usize) -> Option<Call> {
    let open = text.find('(')?;
    let name = text[..open].to_string();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let mut args = Vec::new();
    let mut current = String::new();
    let (mut depth, mut in_string, mut escaped, mut in_path) = (0usize, false, false, false);
    let mut close = None;
    let mut prev = '(';
    for (i, c) in text[open + 1..].char_indices() {
        if in_string {
            current.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if in_path {
            current.push(c);
            if c == '>' {
                in_path = false;
            }
        } else {
            match c {
                '"' => {
                    in_string = true;
                    current.push(c);
                }
                '<' if prev.is_ascii_alphanumeric() => {
                    in_path = true;
                    current.push(c);
                }
                '(' | '[' | '{' => {
                    depth += 1;
                    current.push(c);
                }
                ')' if depth == 0 => {
                    close = Some(open + 1 + i);
                    break;
                }
                ')' | ']' | '}' => {
                    depth = depth.saturating_sub(1);
                    current.push(c);
                }
                ',' if depth == 0 => {
                    args.push(current.trim().to_string());
                    current.clear();
                }
                _ => current.push(c),
            }
        }
        prev = c;
    }
    let close = close?;
    if !current.trim().is_empty() {
        args.push(current.trim().to_string());
    }
    let ret = text[close + 1..]
        .trim_start()
        .strip_prefix('=')
        .and_then(|r| r.split_whitespace().next())
        .and_then(|r| r.parse::<i64>().ok());
    Some(Call {
        name,
        args,
        ret,
        start,
        end,
        text: text.to_string(),
    })
}

/// The path strace -y shows behind a descriptor: `3</path/to/db>`.
fn fd_path(arg: &str) -> Option<PathBuf> {
    let inner = arg.split_once('<')?.1.strip_suffix('>')?;
    let inner = inner.strip_suffix(" (deleted)").unwrap_or(inner);
    Some(PathBuf::from(unescape(inner)))
}

fn fd_number(arg: &str) -> Option<i64> {
    arg.split('<').next()?.parse().ok()
}

/// A string argument, without quotes and with strace's escapes undone.
fn string_arg(arg: &str) -> Option<String> {
    let body = arg.strip_prefix('"')?;
    let end = body.rfind('"')?;
    Some(unescape(&body[..end]))
}

fn unescape(text: &str) -> String {
    let mut bytes = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('n') => bytes.push(b'\n'),
            Some('t') => bytes.push(b'\t'),
            Some('r') => bytes.push(b'\r'),
            Some('v') => bytes.push(0x0b),
            Some('f') => bytes.push(0x0c),
            Some('x') => {
                let hex: String = [chars.next(), chars.next()].into_iter().flatten().collect();
                bytes.push(u8::from_str_radix(&hex, 16).unwrap_or(b'?'));
            }
            Some(d @ '0'..='7') => {
                let mut value = d.to_digit(8).unwrap();
                for _ in 0..2 {
                    match chars.peek() {
                        Some(&n @ '0'..='7') => {
                            value = value * 8 + n.to_digit(8).unwrap();
                            chars.next();
                        }
                        _ => break,
                    }
                }
                bytes.push(value as u8);
            }
            Some(other) => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
            None => bytes.push(b'\\'),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A path argument (`"…"`), made absolute against the directory descriptor before it.
fn path_arg(dir: Option<&str>, arg: &str) -> Option<PathBuf> {
    let path = PathBuf::from(string_arg(arg)?);
    if path.is_absolute() {
        return Some(path);
    }
    Some(fd_path(dir?)?.join(path))
}

/// What a call does to the files the checks care about.
#[derive(Debug)]
enum Effect {
    Write(PathBuf),
    Sync(PathBuf),
    /// A name appears in (or leaves) a folder: the folder must be fsynced.
    Create(PathBuf),
    Rename(PathBuf, PathBuf),
    Remove(PathBuf),
    /// The first write to stdout.
    Stdout(String),
    None,
}

fn effect(call: &Call) -> Effect {
    let arg = |i: usize| call.args.get(i).map(String::as_str);
    let name = call.name.as_str();
    if let Some(&(_, fd)) = WRITES.iter().find(|(n, _)| *n == name) {
        if name == "write" && arg(0).and_then(fd_number) == Some(1) {
            return Effect::Stdout(arg(1).and_then(string_arg).unwrap_or_default());
        }
        return arg(fd)
            .and_then(fd_path)
            .map_or(Effect::None, Effect::Write);
    }
    if SYNCS.contains(&name) {
        return arg(0).and_then(fd_path).map_or(Effect::None, Effect::Sync);
    }
    let at = |dir: usize, path: usize| path_arg(arg(dir), arg(path)?);
    match name {
        "open" | "openat" | "creat" => {
            let (path, flags) = match name {
                "openat" => (at(0, 1), arg(2)),
                "creat" => (
                    path_arg(None, arg(0).unwrap_or_default()),
                    Some("O_CREAT|O_TRUNC"),
                ),
                _ => (path_arg(None, arg(0).unwrap_or_default()), arg(1)),
            };
            match (path, flags.unwrap_or_default()) {
                (Some(path), flags) if flags.contains("O_TRUNC") => Effect::Write(path),
                (Some(path), flags) if flags.contains("O_CREAT") => Effect::Create(path),
                _ => Effect::None,
            }
        }
        "truncate" => {
            path_arg(None, arg(0).unwrap_or_default()).map_or(Effect::None, Effect::Write)
        }
        "mkdir" => path_arg(None, arg(0).unwrap_or_default()).map_or(Effect::None, Effect::Create),
        "mkdirat" => at(0, 1).map_or(Effect::None, Effect::Create),
        "rename" => match (
            path_arg(None, arg(0).unwrap_or_default()),
            path_arg(None, arg(1).unwrap_or_default()),
        ) {
            (Some(from), Some(to)) => Effect::Rename(from, to),
            _ => Effect::None,
        },
        "renameat" | "renameat2" => match (at(0, 1), at(2, 3)) {
            (Some(from), Some(to)) => Effect::Rename(from, to),
            _ => Effect::None,
        },
        "unlink" | "rmdir" => {
            path_arg(None, arg(0).unwrap_or_default()).map_or(Effect::None, Effect::Remove)
        }
        "unlinkat" => at(0, 1).map_or(Effect::None, Effect::Remove),
        _ => Effect::None,
    }
}

// --- The checks -----------------------------------------------------------------------

/// What has been written (or created) and not yet fsynced: the line that did it.
#[derive(Default)]
struct Dirty(HashMap<PathBuf, (usize, String)>);

impl Dirty {
    fn mark(&mut self, path: &Path, call: &Call) {
        self.0
            .insert(path.to_path_buf(), (call.end, call.text.clone()));
    }

    /// An fsync covers what returned before it started.
    fn sync(&mut self, path: &Path, call: &Call) {
        if self.0.get(path).is_some_and(|(end, _)| *end < call.start) {
            self.0.remove(path);
        }
    }

    fn get(&self, path: &Path) -> Option<&String> {
        self.0.get(path).map(|(_, text)| text)
    }
}

struct Checker {
    ledger: PathBuf,
}

impl Checker {
    /// The position of a durable file in [`DURABLE`].
    fn durable(&self, path: &Path) -> Option<usize> {
        if path.parent()? != self.ledger {
            return None;
        }
        let name = path.file_name()?.to_str()?;
        DURABLE.iter().position(|d| *d == name)
    }

    /// The folders whose fsync is owed: the ledger folder and its parent.
    fn owed_folders(&self) -> [PathBuf; 2] {
        [
            self.ledger.clone(),
            self.ledger.parent().unwrap().to_path_buf(),
        ]
    }

    /// Every violation in the trace, as readable lines.
    fn check(&self, calls: &[Call], success_prefix: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let effects: Vec<Effect> = calls.iter().map(effect).collect();
        // The success line: the first write to stdout.
        let success = (0..calls.len())
            .filter(|&i| matches!(effects[i], Effect::Stdout(_)))
            .min_by_key(|&i| calls[i].start);
        let Some(success) = success else {
            return vec![
                "no write to stdout (fd 1) in the trace: where is the success line?".into(),
            ];
        };
        if let Effect::Stdout(text) = &effects[success] {
            if !text.starts_with(success_prefix) {
                problems.push(format!(
                    "the first write to stdout is not the success line `{success_prefix}…`: {}",
                    calls[success].text
                ));
            }
        }
        let acked = calls[success].start;

        // Every call's start and end, in trace order (a one-line call starts, then ends).
        let mut points: Vec<(usize, bool, usize)> = Vec::new();
        for (i, call) in calls.iter().enumerate() {
            points.push((call.start, false, i));
            points.push((call.end, true, i));
        }
        points.sort();

        let mut dirty = Dirty::default();
        let mut running: HashSet<usize> = HashSet::new();
        let (mut durable_writes, mut durable_syncs) = (0, 0);
        let mut checked_at_ack = false;
        for (at, is_end, i) in points {
            let call = &calls[i];
            if !checked_at_ack && at >= acked {
                checked_at_ack = true;
                self.at_success(
                    &calls[success],
                    &dirty,
                    &running,
                    calls,
                    &effects,
                    &mut problems,
                );
            }
            let target = match &effects[i] {
                Effect::Write(path) | Effect::Create(path) | Effect::Remove(path) => {
                    Some(path.clone())
                }
                Effect::Rename(_, to) => Some(to.clone()),
                _ => None,
            };
            let durable = target.as_deref().and_then(|p| self.durable(p));
            if !is_end {
                // A call on a durable file begins.
                if let Some(j) = durable {
                    if matches!(effects[i], Effect::Write(_) | Effect::Rename(..)) {
                        running.insert(i);
                    }
                    if at > acked {
                        problems.push(format!(
                            "{} is changed after the success line was written: {}",
                            DURABLE[j], call.text
                        ));
                    }
                    for earlier in &DURABLE[..j] {
                        let path = self.ledger.join(earlier);
                        if let Some(write) = dirty.get(&path) {
                            problems.push(format!(
                                "{} is changed while {earlier}, earlier in the commit order, is not fsynced: \
                                 {} (after the unsynced {write})",
                                DURABLE[j], call.text
                            ));
                        }
                    }
                }
                continue;
            }
            running.remove(&i);
            if !call.ok() {
                continue;
            }
            match &effects[i] {
                Effect::Write(path) => {
                    dirty.mark(path, call);
                    if durable.is_some() {
                        durable_writes += 1;
                    }
                }
                Effect::Sync(path) => {
                    dirty.sync(path, call);
                    if self.durable(path).is_some() && call.start < acked {
                        durable_syncs += 1;
                    }
                }
                Effect::Create(path) | Effect::Remove(path) => {
                    if durable.is_some() || *path == self.ledger {
                        dirty.mark(path.parent().unwrap(), call);
                    }
                }
                Effect::Rename(from, to) => {
                    // The data travels with the name; the replaced file's is gone.
                    match dirty.0.remove(from) {
                        Some(write) => {
                            dirty.0.insert(to.clone(), write);
                        }
                        None => {
                            dirty.0.remove(to);
                        }
                    }
                    if durable.is_some() {
                        durable_writes += 1;
                    }
                    for path in [from, to] {
                        if self.durable(path).is_some() {
                            dirty.mark(path.parent().unwrap(), call);
                        }
                    }
                }
                Effect::Stdout(_) | Effect::None => {}
            }
        }
        if !checked_at_ack {
            self.at_success(
                &calls[success],
                &dirty,
                &running,
                calls,
                &effects,
                &mut problems,
            );
        }
        if durable_writes == 0 {
            problems.push(format!(
                "no write to any durable file {DURABLE:?} in {}: is DURABLE out of date?",
                self.ledger.display()
            ));
        }
        if durable_syncs == 0 {
            problems.push(format!(
                "no fsync or fdatasync of any durable file {DURABLE:?} before the success line"
            ));
        }
        problems
    }

    /// At the moment the success line starts: nothing durable may be unsynced or
    /// still being written.
    fn at_success(
        &self,
        success: &Call,
        dirty: &Dirty,
        running: &HashSet<usize>,
        calls: &[Call],
        effects: &[Effect],
        problems: &mut Vec<String>,
    ) {
        for name in DURABLE {
            if let Some(write) = dirty.get(&self.ledger.join(name)) {
                problems.push(format!(
                    "{name} is not fsynced after its last write before the success line: \
                     {write} … then {}",
                    success.text
                ));
            }
        }
        for folder in self.owed_folders() {
            if let Some(change) = dirty.get(&folder) {
                problems.push(format!(
                    "the folder {} is not fsynced after {change} before the success line",
                    folder.display()
                ));
            }
        }
        for &i in running {
            if let Effect::Write(path) | Effect::Rename(_, path) = &effects[i] {
                problems.push(format!(
                    "{} is still being written when the success line is: {}",
                    path.display(),
                    calls[i].text
                ));
            }
        }
    }
}

// --- Running commands under strace ----------------------------------------------------

/// Runs `pactlog ARGS` under strace on `ledger` (stdin given), checks the trace and
/// returns its stdout.
fn traced(
    strace: &Path,
    ledger: &TestLedger,
    args: &[&str],
    stdin: &str,
    success_prefix: &str,
) -> String {
    let trace = ledger.path("strace.out");
    let started = std::time::Instant::now();
    let run = ledger
        .at(NOW)
        .stdin(stdin)
        .under([
            strace.as_os_str(),
            "-f".as_ref(),
            "-y".as_ref(),
            "-tt".as_ref(),
            "-s".as_ref(),
            "64".as_ref(),
            "-e".as_ref(),
            "trace=%desc,%file".as_ref(),
            "-o".as_ref(),
            trace.as_os_str(),
            "--".as_ref(),
        ])
        .run(args);
    let elapsed = started.elapsed();
    let text = std::fs::read_to_string(&trace)
        .unwrap_or_else(|e| panic!("strace wrote no trace ({e}); stderr: {}", run.stderr));
    let stdout = run.ok();
    assert!(stdout.starts_with(success_prefix), "{stdout}");
    let calls = parse_trace(&text);
    let problems = Checker {
        ledger: ledger.db.clone(),
    }
    .check(&calls, success_prefix);
    eprintln!(
        "pactlog {} under strace: {elapsed:?}, {} calls traced",
        args.join(" "),
        calls.len()
    );
    if !problems.is_empty() {
        let relevant: Vec<&str> = text
            .lines()
            .filter(|l| {
                l.contains(ledger.db.to_str().unwrap())
                    || l.contains("write(1<")
                    || l.contains("fsync")
                    || l.contains("fdatasync")
            })
            .take(200)
            .collect();
        panic!(
            "`pactlog {}` is not durable before it reports success:\n- {}\n\nthe trace (calls on the ledger, stdout, fsyncs):\n{}",
            args.join(" "),
            problems.join("\n- "),
            relevant.join("\n")
        );
    }
    stdout
}

/// A ledger in a temporary folder whose path has no symlinks, so that the paths
/// strace shows behind descriptors and the paths passed to calls are the same.
fn canonical_ledger() -> TestLedger {
    let mut ledger = TestLedger::new();
    ledger.db = ledger.dir.path().canonicalize().unwrap().join("ledger");
    ledger
}

fn with_talks(ledger: &TestLedger) {
    let talks = events_dir().join("russia-ukraine-2025/01-talks.ndjson");
    ledger
        .at("2025-12-01T12:00:00Z")
        .ok(&["import", talks.to_str().unwrap()]);
}

/// Traces `args` on a ledger holding the talks (66 records), then verifies it.
fn traced_after_talks(test: &str, args: &[&str], stdin: &str, success_prefix: &str) {
    let Some(strace) = strace_or_skip(test) else {
        return;
    };
    let ledger = canonical_ledger();
    with_talks(&ledger);
    traced(&strace, &ledger, args, stdin, success_prefix);
    ledger.ok(&["verify"]);
}

#[test]
fn append_with_flags_is_fsynced_before_it_reports_success() {
    traced_after_talks(
        "append_with_flags_is_fsynced_before_it_reports_success",
        &[
            "append",
            "status_changed",
            "--provision",
            "nato-membership",
            "--status",
            "agreed_in_principle",
            "--occurred-at",
            "2025-12-05",
            "--source-outlet",
            "Example Wire",
        ],
        "",
        "appended seq ",
    );
}

#[test]
fn append_from_stdin_is_fsynced_before_it_reports_success() {
    traced_after_talks(
        "append_from_stdin_is_fsynced_before_it_reports_success",
        &["append", "-"],
        r#"{"type":"statement_made","occurred_at":"2025-12-04","attribution":"a diplomat","quote":"We are close.","provisions":["nato-membership"]}"#,
        "appended seq ",
    );
}

#[test]
fn import_into_a_ledger_is_fsynced_before_it_reports_success() {
    let staged = crate::common::staged_dir().join("01-misattribution.ndjson");
    traced_after_talks(
        "import_into_a_ledger_is_fsynced_before_it_reports_success",
        &["import", staged.to_str().unwrap()],
        "",
        "imported ",
    );
}

#[test]
fn import_creating_a_ledger_is_fsynced_before_it_reports_success() {
    let Some(strace) =
        strace_or_skip("import_creating_a_ledger_is_fsynced_before_it_reports_success")
    else {
        return;
    };
    let ledger = canonical_ledger();
    assert!(!ledger.db.exists());
    let talks = events_dir().join("russia-ukraine-2025/01-talks.ndjson");
    traced(
        &strace,
        &ledger,
        &["import", talks.to_str().unwrap()],
        "",
        "imported ",
    );
    ledger.ok(&["verify"]);
}

/// 10,000 events or more: after the commit the store is settled (sled closed and
/// reopened, which rewrites its files) before the command reports.
#[test]
fn a_large_import_that_settles_the_store_is_fsynced_before_it_reports_success() {
    let Some(strace) = strace_or_skip(
        "a_large_import_that_settles_the_store_is_fsynced_before_it_reports_success",
    ) else {
        return;
    };
    let ledger = canonical_ledger();
    with_talks(&ledger);
    let text: String = (0..10_000)
        .map(|i| {
            format!(
                "{{\"type\":\"party_registered\",\"occurred_at\":\"2025-12-03\",\"party\":\"p{i}\",\"name\":\"Party {i}\"}}\n"
            )
        })
        .collect();
    let file = ledger.write("large.ndjson", text.as_bytes());
    let out = traced(
        &strace,
        &ledger,
        &["import", file.to_str().unwrap()],
        "",
        "imported ",
    );
    assert!(out.starts_with("imported 10000 events"), "{out}");
}

// --- The checker itself, on hand-written traces -----------------------------------------

const L: &str = "/t/ledger";
/// The first durable file, as the hand-written traces name it.
const D: &str = DURABLE[0];

fn check_text(trace: &str) -> Vec<String> {
    Checker {
        ledger: PathBuf::from(L),
    }
    .check(&parse_trace(trace), "appended")
}

/// A trace of a good commit, with `{L}` for the ledger folder.
const GOOD: &str = r#"
1 10:00:00.000001 pwrite64(3<{L}/{D}>, "abc"..., 3, 0) = 3
1 10:00:00.000002 fsync(4<{L}/{D}>) = 0
1 10:00:00.000003 openat(AT_FDCWD</t>, "{L}/pactlog.head.tmp", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 4<{L}/pactlog.head.tmp>
1 10:00:00.000004 write(4<{L}/pactlog.head.tmp>, "1 abc\n", 6) = 6
1 10:00:00.000005 fsync(4<{L}/pactlog.head.tmp>) = 0
1 10:00:00.000006 rename("{L}/pactlog.head.tmp", "{L}/pactlog.head") = 0
1 10:00:00.000007 fsync(5<{L}>) = 0
1 10:00:00.000008 write(1<pipe:[42]>, "appended seq 1 id x; head 1 abc\n", 33) = 33
"#;

fn good() -> String {
    GOOD.replace("{L}", L).replace("{D}", D)
}

#[test]
fn the_checker_passes_a_good_commit() {
    assert_eq!(check_text(&good()), Vec::<String>::new());
}

#[test]
fn the_checker_catches_a_missing_data_fsync() {
    let trace = good().replace(&format!("fsync(4<{L}/{D}>) = 0"), "getpid() = 1");
    let problems = check_text(&trace);
    assert!(
        problems.iter().any(|p| p.contains(&format!("while {D}"))),
        "{problems:?}"
    );
}

#[test]
fn the_checker_catches_no_fsync_at_all() {
    let trace: String = good()
        .lines()
        .filter(|l| !l.contains("fsync"))
        .map(|l| format!("{l}\n"))
        .collect();
    let problems = check_text(&trace);
    assert!(
        problems.iter().any(|p| p.contains("no fsync")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("pactlog.head is not fsynced")),
        "{problems:?}"
    );
}

#[test]
fn the_checker_catches_a_write_after_success_and_an_unsynced_folder() {
    let mut trace = good().replace(&format!("fsync(5<{L}>) = 0"), "getpid() = 1");
    trace.push_str(&format!(
        "1 10:00:00.000009 pwrite64(3<{L}/{D}>, \"x\", 1, 9) = 1\n"
    ));
    let problems = check_text(&trace);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("after the success line")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("folder /t/ledger is not fsynced")),
        "{problems:?}"
    );
}

#[test]
fn the_checker_joins_interleaved_threads() {
    // Thread 2's fsync starts before thread 3's write returns: it does not cover it.
    // (strace pads pids to a fixed width: `3  ` is pid 3.)
    let trace = format!(
        r#"1 10:00:00.000001 pwrite64(3<{L}/{D}>, "abc", 3, 0) = 3
1 10:00:00.000002 fsync(3<{L}/{D}>) = 0
2  10:00:00.000003 fsync(3<{L}/{D}> <unfinished ...>
3  10:00:00.000004 pwrite64(3<{L}/{D}>, "d, e)", 5, 3 <unfinished ...>
3 10:00:00.000005 <... pwrite64 resumed>) = 5
2 10:00:00.000006 <... fsync resumed>) = 0
1 10:00:00.000007 write(1<pipe:[42]>, "appended seq 1", 14) = 14
"#
    );
    let calls = parse_trace(&trace);
    assert_eq!(calls.len(), 5);
    let write = calls.iter().find(|c| c.text.contains("\"d, e)\"")).unwrap();
    assert_eq!((write.start, write.end, write.ret), (3, 4, Some(5)));
    assert_eq!(write.args.len(), 4, "{:?}", write.args);
    let problems = check_text(&trace);
    assert!(
        problems
            .iter()
            .any(|p| p.contains(&format!("{D} is not fsynced"))),
        "{problems:?}"
    );
}
