//! Runs the real binary with `env_clear()`, a pinned clock (`PACTLOG_NOW`) and a
//! ledger in a temporary folder, so outputs are repeatable.

#![allow(dead_code)]

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The clock every test pins unless it moves it on purpose.
pub const NOW: &str = "2026-11-26T09:00:00Z";

/// A writer's append through the CLI: the Holy See registered as a party.
pub const APPEND_VATICAN: [&str; 8] = [
    "append",
    "party_registered",
    "--party",
    "vatican",
    "--name",
    "Holy See",
    "--occurred-at",
    "2025-12-03",
];

/// The project folder (for `events/` and `snapshots/`).
pub fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn events_dir() -> PathBuf {
    project().join("events")
}

/// The staged correction example (not part of the record): a misattribution, then its
/// correction (`examples/staged-correction/`).
pub fn staged_dir() -> PathBuf {
    project().join("examples/staged-correction")
}

/// A ledger in its own temporary folder.
pub struct TestLedger {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

impl TestLedger {
    pub fn new() -> TestLedger {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger");
        TestLedger { dir, db }
    }

    /// A ledger holding the bundled record and the staged correction example, imported
    /// file by file at two record times: the talks and the staged misattribution at one,
    /// the correction a day later.
    pub fn bundled() -> TestLedger {
        let ledger = TestLedger::new();
        let talks = events_dir().join("russia-ukraine-2025/01-talks.ndjson");
        let misattribution = staged_dir().join("01-misattribution.ndjson");
        let correction = staged_dir().join("02-correction.ndjson");
        for file in [talks, misattribution] {
            ledger
                .at("2025-12-01T12:00:00Z")
                .ok(&["import", file.to_str().unwrap()]);
        }
        ledger
            .at("2025-12-02T12:00:00Z")
            .ok(&["import", correction.to_str().unwrap()]);
        ledger
    }

    /// A command on this ledger at the default clock.
    pub fn run(&self, args: &[&str]) -> Run {
        self.at(NOW).run(args)
    }

    pub fn ok(&self, args: &[&str]) -> String {
        self.run(args).ok()
    }

    /// Runs a command that must succeed and say `note` on stderr; returns stdout.
    pub fn ok_noting(&self, args: &[&str], note: &str) -> String {
        let run = self.run(args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stderr.contains(note), "{}", run.stderr);
        run.stdout
    }

    /// Appends a party registration (a small write that must succeed).
    pub fn register_party(&self, slug: &str, name: &str) -> String {
        self.ok(&[
            "append",
            "party_registered",
            "--party",
            slug,
            "--name",
            name,
            "--occurred-at",
            "now",
        ])
    }

    pub fn fails(&self, args: &[&str]) -> Run {
        self.run(args).fails()
    }

    /// A command builder with the clock at `now`.
    pub fn at<'a>(&'a self, now: &'a str) -> Invocation<'a> {
        Invocation {
            db: &self.db,
            now,
            stdin: None,
            wrapper: Vec::new(),
        }
    }

    /// `export` output: the ledger exactly as a user sees it.
    pub fn export(&self) -> String {
        self.ok(&["export"])
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

pub struct Invocation<'a> {
    db: &'a Path,
    now: &'a str,
    stdin: Option<Vec<u8>>,
    /// A program (and its arguments) that runs the binary, e.g. `strace … --`.
    wrapper: Vec<OsString>,
}

impl Invocation<'_> {
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    /// Runs the binary under `program args… pactlog …` (same cleared environment).
    pub fn under(
        mut self,
        program_and_args: impl IntoIterator<Item = impl Into<OsString>>,
    ) -> Self {
        self.wrapper = program_and_args.into_iter().map(Into::into).collect();
        self
    }

    pub fn run(self, args: &[&str]) -> Run {
        let binary = env!("CARGO_BIN_EXE_pactlog");
        let mut command = match self.wrapper.split_first() {
            None => Command::new(binary),
            Some((program, rest)) => {
                let mut command = Command::new(program);
                command.args(rest).arg(binary);
                command
            }
        };
        command
            .env_clear()
            .env("PACTLOG_DB", self.db)
            .env("PACTLOG_NOW", self.now)
            .env("PACTLOG_LOCK_TIMEOUT", "20")
            // No `recorded_by` (the OS user differs between machines): goldens stay put.
            .env("PACTLOG_RECORDED_BY", "")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("the pactlog binary runs");
        let input = self.stdin.unwrap_or_default();
        let mut pipe = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
        let output = child.wait_with_output().unwrap();
        writer.join().unwrap();
        Run::from(output, args)
    }

    pub fn ok(self, args: &[&str]) -> String {
        self.run(args).ok()
    }
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub args: String,
}

impl Run {
    fn from(output: Output, args: &[&str]) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            args: args.join(" "),
        }
    }

    pub fn ok(self) -> String {
        assert_eq!(
            self.code, 0,
            "`pactlog {}` failed:\n{}",
            self.args, self.stderr
        );
        self.stdout
    }

    /// Asserts a failure with a one-line `error: …` and returns the run.
    pub fn fails(self) -> Run {
        assert_ne!(
            self.code, 0,
            "`pactlog {}` succeeded:\n{}",
            self.args, self.stdout
        );
        assert!(
            self.stderr.starts_with("error: "),
            "stderr: {}",
            self.stderr
        );
        assert_eq!(
            self.stderr.trim_end().lines().count(),
            1,
            "one line: {}",
            self.stderr
        );
        self
    }

    /// The error line without `error: `.
    pub fn error(&self) -> &str {
        self.stderr
            .trim_end()
            .strip_prefix("error: ")
            .unwrap_or(&self.stderr)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// Runs a command and parses its JSON output.
pub fn json(ledger: &TestLedger, args: &[&str]) -> serde_json::Value {
    let run = ledger.run(args);
    let stdout = run.ok();
    serde_json::from_str(&stdout).unwrap()
}

/// Rewrites the journal of the ledger in `db` with record `seq` replaced by `bytes`,
/// frame for frame, as a forger who knows the format would (for tamper tests).
pub fn rewrite_journal_record(db: &Path, seq: u64, bytes: Vec<u8>) {
    use pactlog::journal::Journal;
    let (journal, _) = Journal::open(db, None).unwrap();
    let frames: Vec<_> = journal
        .frames_from(0)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    drop(journal);
    let temp = db.join("journal.forged");
    let mut forged = Journal::create_at(&temp).unwrap();
    let mut prev_hash = pactlog::chain::GENESIS_HASH.to_string();
    for (frame, mut records) in frames {
        for (i, record) in records.iter_mut().enumerate() {
            if frame.first_seq + i as u64 == seq {
                *record = bytes.clone();
            }
            let value: serde_json::Value = serde_json::from_slice(record).unwrap();
            prev_hash = value["hash"].as_str().unwrap().to_string();
        }
        forged
            .append(frame.first_seq, &records, &prev_hash, frame.commit)
            .unwrap();
    }
    forged.sync().unwrap();
    std::fs::rename(&temp, db.join(pactlog::journal::FILE)).unwrap();
}
