//! The command line: clap definitions, dispatch, the environment (clock, ids,
//! stdin, stdout), and the mapping from errors to exit codes.
//!
//! One file per command beside this one, each with an `Args` struct whose doc
//! comment is the help text and a `run` function. This module is the only one
//! that reads environment variables and the clock.

pub(crate) mod append;
mod blame;
mod cite;
mod compare;
mod completions;
mod demo;
mod diff;
pub(crate) mod export;
mod history;
mod import;
mod list;
mod log;
mod publish;
pub(crate) mod render;
mod retract;
mod search;
mod serve;
pub(crate) mod state;
pub(crate) mod timeline;
mod token;
mod usage;
mod verify;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use uuid::Uuid;

use crate::error::{Error, ErrorKind};
use crate::query::Known;
use crate::store::{Access, Ledger};
use crate::time::{Instant, When};

/// pactlog: an event-sourced, hash-chained ledger of negotiations.
///
/// Every statement, meeting and proposal change is an immutable event. Queries see
/// the state of any provision at any valid time (`--at`: when it happened) as known
/// at any record time (`--known-at`: when the ledger learned it).
///
/// Exit codes: 0 success; 1 storage or file error; 2 usage; 3 invalid input (nothing
/// was appended); 4 not found; 5 conflict (`--expect-seq`); 6 integrity check failed;
/// 7 ledger in use by another process; 8 refused by a server (401, 403).
#[derive(Parser, Debug)]
#[command(
    name = "pactlog",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// The ledger: a folder holding its journal, `sled/` (the log, indexes and snapshots),
    /// `pactlog.head` and a `lock` file [default: pactlog.db]
    #[arg(long, global = true, env = "PACTLOG_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// How long to wait for a ledger that another process holds, in seconds
    #[arg(
        long,
        global = true,
        env = "PACTLOG_LOCK_TIMEOUT",
        default_value_t = 10.0,
        value_name = "SECS",
        value_parser = lock_timeout_arg
    )]
    pub lock_timeout: f64,

    /// Who records this command's writes, stored as `recorded_by` in every new record
    /// (inside the hash chain) [default: the OS user name; empty: none]
    #[arg(long, global = true, env = "PACTLOG_RECORDED_BY", value_name = "NAME")]
    pub recorded_by: Option<String>,

    /// Print no messages on success: only the output asked for (tables, JSON, exported
    /// data); no "appended", "imported", "wrote" or "ok" lines, no progress bars, errors
    /// still on stderr
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// Also say on stderr which ledger was used, where its head is, and how long it took
    #[arg(long, short, global = true, conflicts_with = "quiet")]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Demo(demo::Args),
    Import(import::Args),
    Append(append::Args),
    Retract(retract::Args),
    Cite(cite::Args),
    State(state::Args),
    History(history::Args),
    Diff(diff::Args),
    Compare(compare::Args),
    Blame(blame::Args),
    Log(log::Args),
    Export(export::Args),
    Verify(verify::Args),
    Timeline(timeline::Args),
    List(list::Args),
    Search(search::Args),
    Completions(completions::Args),
    Man(completions::ManArgs),
    Serve(serve::Args),
    #[command(subcommand)]
    Token(token::Command),
}

/// How a `WHEN` is written, shown after the options of every command that takes one.
pub const WHEN_FORMS: &str = "\
WHEN (--at, --known-at and the like) is one of:
  2025-11-23            a day: the end of that UTC day
  2025-11-23T14:00:00Z  an RFC 3339 instant with a UTC offset
  florida-2025-11-30    a meeting's slug: the end of the UTC day it was held
  seq:70                record 70: as --known-at, exactly records 1 to 70; as --at, its record time
  now                   this moment (as --known-at: everything the ledger holds)
Without a cut: everything up to now, as the ledger knows it now.";

/// The command line as clap sees it: the derived definitions, with the forms of a
/// `WHEN` listed after the options of every command that takes one (help, man pages
/// and completions all come from here).
pub fn command() -> clap::Command {
    fn takes_when(command: &clap::Command) -> bool {
        command.get_arguments().any(|arg| {
            arg.get_value_names()
                .is_some_and(|names| names.iter().any(|n| n == "WHEN"))
        })
    }
    fn with_forms(command: clap::Command) -> clap::Command {
        let command = command.mut_subcommands(with_forms);
        if takes_when(&command) {
            command.after_help(WHEN_FORMS)
        } else {
            command
        }
    }
    with_forms(Cli::command())
}

pub use crate::error::count;
pub(crate) use usage::one_line_usage_error;

/// `--lock-timeout` (or `PACTLOG_LOCK_TIMEOUT`): seconds, 0 to a day. Rust reads
/// `inf`, `NaN` and `1e400` as numbers, and a wait that long cannot be a duration.
fn lock_timeout_arg(text: &str) -> Result<f64, String> {
    let secs: f64 = text.trim().parse().map_err(|_| {
        format!("`{text}` is not a number of seconds (such as `10` or `0.5`; also PACTLOG_LOCK_TIMEOUT)")
    })?;
    if !(0.0..=86_400.0).contains(&secs) {
        return Err(format!(
            "`{text}` is not a number of seconds from 0 to 86400 (a day; also PACTLOG_LOCK_TIMEOUT)"
        ));
    }
    Ok(secs)
}

/// A seq given as a flag's value (`--expect-seq N`): digits alone
/// ([`crate::chain::parse_seq`]), so `+68` is refused rather than read as 68.
pub(crate) fn seq_arg(text: &str) -> Result<u64, String> {
    crate::chain::parse_seq(text)
}

/// Runs pactlog with the process's arguments and environment.
pub fn main() -> ExitCode {
    let cli = match parse(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            // --help and --version
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("error: {}", one_line_usage_error(&err));
            return ExitCode::from(2);
        }
    };
    let mut env = match Env::from_process() {
        Ok(env) => env,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    if let Some(name) = &cli.recorded_by {
        match recorder(name) {
            Ok(name) => env.recorded_by = name,
            Err(message) => {
                eprintln!("error: --recorded-by: {message}");
                return ExitCode::from(2);
            }
        }
    }
    // A server named by PACTLOG_SERVER, or holding this ledger, runs the command.
    let db = Ctx {
        cli: &cli,
        env: &env,
        held: Held::None,
    }
    .db_path();
    if let Some(code) = crate::server::client::forward(&cli, &env, &db) {
        return code;
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(Counted::new(stdout.lock()));
    env.stderr_is_terminal &= !cli.quiet;
    let started = std::time::Instant::now();
    let mut result = run(&cli, &mut env, Held::None, &mut out);
    if let Err(CliError::SledDamaged(reason)) = &result {
        // The journal holds every record: set sled aside, and run a read command again
        // (the open rebuilds sled) if none of its output has left the buffer yet.
        let ctx = Ctx {
            cli: &cli,
            env: &env,
            held: Held::None,
        };
        let path = ctx.db_path();
        result = match crate::recover::set_aside_sled(&path) {
            Ok(aside) if cli.command.only_reads() && out.get_ref().written == 0 => {
                let note = format!(
                    "sled's files are damaged ({reason}): moved them to {}; rebuilding sled from the journal",
                    aside.display()
                );
                eprintln!("pactlog: {note}");
                env.repaired.borrow_mut().push(note);
                let (inner, _unsent) = out.into_parts();
                out = io::BufWriter::new(inner);
                run(&cli, &mut env, Held::None, &mut out)
            }
            Ok(aside) => Err(CliError::Failed {
                code: 6,
                message: format!(
                    "sled's files are damaged ({reason}); nothing was written: they were moved to {} and the next command rebuilds sled from the journal",
                    aside.display()
                ),
            }),
            Err(err) => Err(CliError::Failed {
                code: 6,
                message: format!("sled's files are damaged ({reason}) and could not be set aside: {err}"),
            }),
        };
    }
    let result = result.and_then(|()| out.flush().map_err(CliError::from));
    if cli.verbose {
        let ctx = Ctx {
            cli: &cli,
            env: &env,
            held: Held::None,
        };
        let head = Ledger::exists(&ctx.db_path())
            .then(|| ctx.open(Access::Existing).ok())
            .flatten()
            .map(|l| format!("head {}:{}", l.head().seq, l.head().hash))
            .unwrap_or_else(|| "no ledger".into());
        eprintln!(
            "pactlog: {} in {:.1} ms; ledger {} ({head})",
            if result.is_ok() { "done" } else { "failed" },
            started.elapsed().as_secs_f64() * 1000.0,
            ctx.db_path().display()
        );
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::BrokenPipe) => ExitCode::SUCCESS,
        Err(CliError::SledDamaged(reason)) => {
            drop(out);
            eprintln!("error: sled's files are damaged again ({reason})");
            ExitCode::from(6)
        }
        Err(CliError::Failed { code, message }) => {
            drop(out);
            // One line, whatever the message quotes.
            eprintln!("error: {}", message.replace(['\n', '\r'], " "));
            ExitCode::from(code)
        }
    }
}

/// Parses the command line. Global options given among `append`'s `--field value`
/// pairs (`-q`, `--db PATH`…), which clap hands to `append` as fields, are moved
/// before the command and the line parsed again: they work there as anywhere.
pub(crate) fn parse(args: Vec<std::ffi::OsString>) -> Result<Cli, clap::Error> {
    let parse_from = |args: &[std::ffi::OsString]| {
        command()
            .try_get_matches_from(args)
            .and_then(|matches| Cli::from_arg_matches(&matches))
    };
    let args = help_append_type(args);
    let cli = parse_from(&args)?;
    let Command::Append(append) = &cli.command else {
        return Ok(cli);
    };
    let (globals, fields) = global_flags_among(&append.fields);
    if globals.is_empty() {
        return Ok(cli);
    }
    let before = &args[..args.len() - append.fields.len()];
    let mut moved = vec![before[0].clone()];
    moved.extend(globals.into_iter().map(Into::into));
    moved.extend(before[1..].iter().cloned());
    moved.extend(fields.into_iter().map(Into::into));
    parse_from(&moved)
}

/// `args` (the words after `pactlog`) without the global `--db PATH` (or `--db=PATH`)
/// that the CLI reads in them: the one whose removal leaves the same command and
/// options, found by parsing the line again, so that a `--db` that is a field's value
/// (a quote reading `--db`) is never taken for it. `None` when the line gives no
/// `--db` option, or does not parse. A command sent to a server leaves it out (the
/// server runs on the ledger it holds), and the server refuses a line that has one.
pub fn without_db(args: &[String]) -> Option<Vec<String>> {
    let parsed = |args: &[String]| {
        let line = std::iter::once("pactlog")
            .chain(args.iter().map(String::as_str))
            .map(Into::into)
            .collect();
        parse(line).ok()
    };
    // Everything the line says but the ledger.
    let said = |cli: &Cli| {
        format!(
            "{:?} {:?} {:?} {} {}",
            cli.command, cli.lock_timeout, cli.recorded_by, cli.quiet, cli.verbose
        )
    };
    let whole = parsed(args)?;
    let end = args
        .iter()
        .position(|arg| arg == "--")
        .unwrap_or(args.len());
    (0..end)
        .filter_map(|at| match args[at].as_str() {
            "--db" => Some((at, 2)),
            arg if arg.starts_with("--db=") => Some((at, 1)),
            _ => None,
        })
        .map(|(at, n)| {
            let mut rest = args.to_vec();
            rest.drain(at..(at + n).min(args.len()));
            rest
        })
        .find(|rest| parsed(rest).is_some_and(|cli| said(&cli) == said(&whole)))
}

/// `pactlog help append TYPE` (after global options, if any) is `pactlog append TYPE
/// --help`: clap's `help` knows commands, not event types.
fn help_append_type(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let Some(help) = words.iter().position(|w| w == "help") else {
        return args;
    };
    let only_globals_before = global_flags_among(&words[1..help]).1.is_empty();
    if only_globals_before
        && words.get(help + 1).map(String::as_str) == Some("append")
        && words.len() > help + 2
    {
        args.remove(help);
        args.push("--help".into());
    }
    args
}

/// Splits `--field value` pairs into the global options among them (with their
/// values) and the rest. A pair's value is never taken for an option.
fn global_flags_among(fields: &[String]) -> (Vec<String>, Vec<String>) {
    let globals: Vec<clap::Arg> = Cli::command()
        .get_arguments()
        .filter(|arg| arg.is_global_set())
        .cloned()
        .collect();
    let global = |token: &str| {
        let (name, inline_value) = match token.split_once('=') {
            Some((name, _)) => (name, true),
            None => (token, false),
        };
        globals.iter().find_map(|arg| {
            let long = arg
                .get_long()
                .is_some_and(|l| name.strip_prefix("--") == Some(l));
            let short = arg
                .get_short()
                .is_some_and(|c| name.len() == 2 && name == format!("-{c}"));
            let takes_value = arg.get_action().takes_values();
            // How many tokens the option spans.
            (long || short).then_some(if takes_value && !inline_value { 2 } else { 1 })
        })
    };
    let (mut moved, mut kept) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < fields.len() {
        let token = &fields[i];
        let (span, to) = match global(token) {
            Some(span) => (span, &mut moved),
            // `--field value`, or `--field=value`, or a stray word (append says what it expected).
            None if token.starts_with("--") && !token.contains('=') => (2, &mut kept),
            None => (1, &mut kept),
        };
        let end = (i + span).min(fields.len());
        to.extend(fields[i..end].iter().cloned());
        i = end;
    }
    (moved, kept)
}

/// Standard output, counting the bytes that have gone through (none means a command's
/// output can still be thrown away and the command run again).
struct Counted<W> {
    inner: W,
    written: u64,
}

impl<W> Counted<W> {
    fn new(inner: W) -> Self {
        Counted { inner, written: 0 }
    }
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Command {
    /// Whether the command only reads the ledger (and so may be run again).
    pub(crate) fn only_reads(&self) -> bool {
        !matches!(
            self,
            Command::Demo(_)
                | Command::Import(_)
                | Command::Append(_)
                | Command::Retract(_)
                | Command::Cite(_)
                | Command::Serve(_)
                | Command::Token(_)
        )
    }
}

/// What a command may take from the outside world.
pub struct Env {
    /// The wall clock, or `PACTLOG_NOW` when set (tests and reproducible runs).
    pub now: Instant,
    /// For messages while waiting (lock) and progress.
    pub stderr_is_terminal: bool,
    /// Who records this command's writes (`recorded_by`): `--recorded-by`, else the
    /// OS user name; for `pactlog serve`, the name of the request's token.
    pub recorded_by: Option<String>,
    /// What this command repaired (the notes said on stderr), for `verify --json`.
    pub repaired: std::cell::RefCell<Vec<String>>,
    /// Notes for the user that a command run by `pactlog serve` for a client could not
    /// say on its own stderr (the server's): sent back to the client, which says them.
    pub notes: std::cell::RefCell<Vec<String>>,
}

/// A `--recorded-by` name: trimmed, empty for none, one line of at most 200 characters.
pub fn recorder(name: &str) -> Result<Option<String>, String> {
    let name = name.trim();
    if name.chars().any(char::is_control) {
        return Err("a name has no control characters".into());
    }
    if name.chars().count() > 200 {
        return Err("a name has at most 200 characters".into());
    }
    Ok((!name.is_empty()).then(|| name.to_string()))
}

impl Env {
    pub(crate) fn from_process() -> Result<Env, String> {
        let now = match std::env::var("PACTLOG_NOW") {
            Ok(text) => {
                crate::time::parse_rfc3339(&text).map_err(|e| format!("PACTLOG_NOW: {e}"))?
            }
            Err(_) => chrono::Utc::now(),
        };
        Ok(Env {
            now,
            stderr_is_terminal: std::io::IsTerminal::is_terminal(&io::stderr()),
            recorded_by: whoami::fallible::username()
                .ok()
                .and_then(|name| recorder(&name).ok().flatten()),
            repaired: Default::default(),
            notes: Default::default(),
        })
    }

    /// A new UUIDv7 for an event without an id, stamped with this run's clock.
    pub fn new_id(&self) -> Uuid {
        let ts = uuid::Timestamp::from_unix(
            uuid::NoContext,
            self.now.timestamp().max(0) as u64,
            self.now.timestamp_subsec_nanos(),
        );
        Uuid::new_v7(ts)
    }
}

/// Runs the parsed command. `held` is a ledger this process holds already (the
/// server's), lent to the command instead of one it would open.
pub(crate) fn run<'a>(
    cli: &'a Cli,
    env: &'a mut Env,
    held: Held<'a>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let ctx = Ctx { cli, env, held };
    match &cli.command {
        Command::Demo(args) => demo::run(&ctx, args, out),
        Command::Import(args) => import::run(&ctx, args, out),
        Command::Append(args) => append::run(&ctx, args, out),
        Command::Retract(args) => retract::run(&ctx, args, out),
        Command::Cite(args) => cite::run(&ctx, args, out),
        Command::State(args) => state::run(&ctx, args, out),
        Command::History(args) => history::run(&ctx, args, out),
        Command::Diff(args) => diff::run(&ctx, args, out),
        Command::Compare(args) => compare::run(&ctx, args, out),
        Command::Blame(args) => blame::run(&ctx, args, out),
        Command::Log(args) => log::run(&ctx, args, out),
        Command::Export(args) => export::run(&ctx, args, out),
        Command::Verify(args) => verify::run(&ctx, args, out),
        Command::Timeline(args) => timeline::run(&ctx, args, out),
        Command::List(args) => list::run(&ctx, args, out),
        Command::Search(args) => search::run(&ctx, args, out),
        Command::Completions(args) => completions::run(args, out),
        Command::Man(args) => completions::man(&ctx, args, out),
        Command::Serve(args) => serve::run(&ctx, args, out),
        Command::Token(command) => token::run(&ctx, command, out),
    }
}

/// What every command gets.
pub struct Ctx<'a> {
    pub cli: &'a Cli,
    pub env: &'a Env,
    /// A ledger this process holds already (`pactlog serve`): [`Ctx::open`] and
    /// [`Ctx::write`] lend it.
    pub held: Held<'a>,
}

/// A ledger `pactlog serve` holds, lent to a command it runs for a client.
#[derive(Default)]
pub enum Held<'a> {
    /// None: the command opens the ledger `--db` names.
    #[default]
    None,
    /// Shared with other readers, for a read command.
    Read(&'a Ledger),
    /// To itself, for a write command, with what the client sent as its input.
    Write {
        ledger: std::cell::RefCell<&'a mut Ledger>,
        input: &'a ClientInput,
    },
}

/// What a client sends with a write: its standard input, and the files an `import`
/// names (read on the client's side, each by the name the client gave it).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ClientInput {
    pub stdin: String,
    pub files: Vec<(String, String)>,
}

/// A ledger a command reads: opened for it, or lent by the process that holds it.
pub enum Opened<'a> {
    Own(Box<Ledger>),
    Held(&'a Ledger),
    /// Lent to a write command for a look before it writes (`cite` finds its event).
    Lent(std::cell::Ref<'a, &'a mut Ledger>),
}

impl std::ops::Deref for Opened<'_> {
    type Target = Ledger;

    fn deref(&self) -> &Ledger {
        match self {
            Opened::Own(ledger) => ledger,
            Opened::Held(ledger) => ledger,
            Opened::Lent(ledger) => ledger,
        }
    }
}

impl<'a> Ctx<'a> {
    /// The ledger for a read: the held one, or the one named by `--db` (see [`Ctx::open_own`]).
    pub fn open(&self, access: Access) -> Result<Opened<'_>, CliError> {
        match &self.held {
            Held::Read(ledger) => Ok(Opened::Held(ledger)),
            Held::Write { ledger, .. } => Ok(Opened::Lent(ledger.borrow())),
            Held::None => self.open_own(access).map(|l| Opened::Own(Box::new(l))),
        }
    }

    /// Standard input: the process's, or what the client sent.
    pub fn stdin(&self) -> Box<dyn io::BufRead + '_> {
        match &self.held {
            Held::Write { input, .. } => Box::new(io::Cursor::new(input.stdin.as_bytes())),
            _ => Box::new(io::stdin().lock()),
        }
    }

    /// The files a client sent with an `import`, by name (read on its side).
    pub fn client_files(&self) -> Option<&'a [(String, String)]> {
        match &self.held {
            Held::Write { input, .. } => Some(&input.files),
            _ => None,
        }
    }

    /// Opens the ledger named by `--db`, waiting up to `--lock-timeout` for another
    /// process; says on stderr what opening repaired (always, even with `--quiet`: a
    /// repaired ledger is news), with a progress bar on a terminal only while a
    /// repair or rebuild of 1000 records or more runs.
    pub fn open_own(&self, access: Access) -> Result<Ledger, CliError> {
        let bar = self.progress("repairing from the journal");
        let mut on_progress = |done: u64, total: u64| {
            if total >= 1000 {
                bar.set_position(done);
            }
        };
        let ledger = open_waiting(
            &self.db_path(),
            access,
            self.cli.lock_timeout,
            self.env.stderr_is_terminal,
            &mut on_progress,
        );
        drop(bar);
        let ledger = ledger?;
        for note in ledger.recovery_notes() {
            eprintln!("pactlog: {note}");
            self.env.repaired.borrow_mut().push(note.to_string());
        }
        Ok(ledger)
    }

    /// Runs a writing command on the ledger, creating it if it is missing. If the
    /// command fails on a ledger it created, the ledger is removed again: a failed
    /// command leaves the disk as it found it.
    pub fn write<T>(
        &self,
        command: impl FnOnce(&mut Ledger) -> Result<T, CliError>,
    ) -> Result<T, CliError> {
        match &self.held {
            Held::Write { ledger, .. } => return command(&mut ledger.borrow_mut()),
            Held::Read(_) => return Err(CliError::usage("a read is lent no ledger to write")),
            Held::None => {}
        }
        let path = self.db_path();
        // The outermost folder this write creates: the ledger's, or a missing parent.
        let created = path
            .ancestors()
            .take_while(|p| !p.as_os_str().is_empty() && !p.exists())
            .last()
            .map(Path::to_path_buf);
        let mut ledger = self.open_own(Access::Create)?;
        let result = command(&mut ledger);
        if let (Err(_), Some(created)) = (&result, created) {
            if ledger.head().seq == 0 {
                drop(ledger);
                let _ = std::fs::remove_dir_all(created);
            }
        }
        result
    }

    /// `--expect-seq N` with N > 0 names a head that a missing ledger cannot have: the
    /// error says the ledger is missing (exit 4), not that another write came first.
    pub fn expect_ledger(&self, expect_seq: Option<u64>) -> Result<(), CliError> {
        if !matches!(self.held, Held::None) {
            // `pactlog serve` holds it: it exists, whatever `--db` says.
            return Ok(());
        }
        match expect_seq {
            Some(n) if n > 0 && !Ledger::exists(&self.db_path()) => {
                Err(CliError::from(Error::NotFound(format!(
                    "ledger {} does not exist, so its head cannot be at seq {n} (--expect-seq); nothing was written (check --db or PACTLOG_DB)",
                    self.db_path().display()
                ))))
            }
            _ => Ok(()),
        }
    }

    /// The ledger path: `--db`, `PACTLOG_DB`, or `pactlog.db` here.
    pub fn db_path(&self) -> PathBuf {
        self.cli
            .db
            .clone()
            .unwrap_or_else(|| PathBuf::from("pactlog.db"))
    }

    /// Says a note on stderr (`pactlog: …`) unless `--quiet`: here, or, for a command
    /// a server runs for a client, on the client's stderr (see [`Env::notes`]).
    pub fn note(&self, note: String) {
        if self.cli.quiet {
            return;
        }
        match self.held {
            Held::None => eprintln!("pactlog: {note}"),
            _ => self.env.notes.borrow_mut().push(note),
        }
    }

    /// Writes a success line unless `--quiet`.
    pub fn say(&self, out: &mut dyn Write, line: std::fmt::Arguments) -> Result<(), CliError> {
        if !self.cli.quiet {
            writeln!(out, "{line}")?;
        }
        Ok(())
    }

    /// A progress bar on stderr for a long job, only when stderr is a terminal and not
    /// `--quiet`; it is drawn from its first step on (never for a job that does none)
    /// and cleared when dropped, before any output follows.
    pub fn progress(&self, what: &'static str) -> Progress {
        Progress {
            what,
            terminal: self.env.stderr_is_terminal,
            bar: std::cell::OnceCell::new(),
        }
    }

    /// Parses a `WHEN` argument given as `flag`, defaulting to now (`now` is this
    /// run's clock); an error names the flag.
    pub fn when(&self, text: Option<&str>, flag: &str) -> Result<When, CliError> {
        match text {
            None | Some(crate::time::NOW) => Ok(When::Instant(self.env.now)),
            Some(text) => When::parse(text).map_err(|m| CliError::usage(format!("{flag}: {m}"))),
        }
    }

    /// The default record-time cut: everything the ledger holds, even records stamped
    /// after this machine's clock (record time never decreases, and an export from a
    /// machine whose clock ran ahead keeps its times).
    pub fn latest(&self, ledger: &Ledger) -> Instant {
        ledger
            .head()
            .recorded_at
            .map_or(self.env.now, |head| head.max(self.env.now))
    }

    /// Resolves a command's `--at` and `--known-at` into a cut.
    pub fn cut_of(
        &self,
        ledger: &Ledger,
        args: &state::CutArgs,
    ) -> Result<crate::query::Cut, CliError> {
        let mut cut = self.cut(ledger, args.at.as_deref(), args.known_at.as_deref())?;
        cut.filter = args.filter.filter()?;
        Ok(cut)
    }

    /// Resolves `--at` and `--known-at` into a cut.
    pub fn cut(
        &self,
        ledger: &Ledger,
        at: Option<&str>,
        known_at: Option<&str>,
    ) -> Result<crate::query::Cut, CliError> {
        self.cut_as(ledger, ("--at", at), ("--known-at", known_at))
    }

    /// Resolves a valid-time and a record-time `WHEN`, each with the flag it was
    /// given as (errors name it), into a cut. No record-time cut, or `now`, is
    /// everything the ledger holds (see [`Ctx::latest`]).
    pub fn cut_as(
        &self,
        ledger: &Ledger,
        (at_flag, at): (&str, Option<&str>),
        (known_flag, known_at): (&str, Option<&str>),
    ) -> Result<crate::query::Cut, CliError> {
        // The record-time cut first: a meeting as --at is resolved as known then.
        let latest = self.latest(ledger);
        let (known_at, known_seq) = match known_at {
            None | Some(crate::time::NOW) => (latest, None),
            Some(_) => {
                let when = self.when(known_at, known_flag)?;
                let seq = match when {
                    // `seq:N`: exactly records 1..N, whatever record time they share.
                    When::Record(seq) => Some(seq),
                    _ => None,
                };
                (
                    self.resolve(ledger, &when, Known::at(latest), known_flag)?,
                    seq,
                )
            }
        };
        let known = Known {
            at: known_at,
            seq: known_seq,
        };
        let at = self.resolve(ledger, &self.when(at, at_flag)?, known, at_flag)?;
        Ok(crate::query::Cut {
            at,
            known_at,
            known_seq,
            filter: Default::default(),
        })
    }
}

impl Ctx<'_> {
    /// Resolves a `WHEN` against the ledger; an error names the flag, and a meeting
    /// that does not exist but looks like a day says how a day is written.
    pub fn resolve(
        &self,
        ledger: &Ledger,
        when: &When,
        known: Known,
        flag: &str,
    ) -> Result<crate::time::Instant, CliError> {
        crate::query::resolve(ledger, when, known).map_err(|err| match (err, when) {
            // Digits and dashes that name no meeting were meant as a day: a usage error.
            (Error::NotFound(_), When::Meeting(slug))
                if slug.as_str().chars().all(|c| c.is_ascii_digit() || c == '-') =>
            {
                let meant = match crate::time::day_meant(slug.as_str()) {
                    Some(day) => format!("did you mean {day}?"),
                    None => "such as 2025-11-03, in the years 0000 to 9999".into(),
                };
                CliError::usage(format!(
                    "{flag}: `{slug}` is neither a day nor a meeting of the ledger: a day is written YYYY-MM-DD ({meant})"
                ))
            }
            (Error::NotFound(message), _) => {
                CliError::from(Error::NotFound(format!("{flag}: {message}")))
            }
            (other, _) => CliError::from(other),
        })
    }
}

fn open_waiting(
    path: &Path,
    access: Access,
    timeout_secs: f64,
    tell: bool,
    progress: crate::recover::Progress<'_>,
) -> Result<Ledger, CliError> {
    let deadline = std::time::Instant::now() + Duration::from_secs_f64(timeout_secs.max(0.0));
    let mut told = false;
    loop {
        match Ledger::open_with(path, access, progress) {
            Err(Error::Locked { path }) if std::time::Instant::now() < deadline => {
                if !told && tell {
                    eprintln!("waiting for ledger {path}, which another process is using…");
                    told = true;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(Error::Locked { path }) => {
                return Err(CliError::from(Error::Locked {
                    path: format!("{path} (waited {timeout_secs}s; --lock-timeout sets how long)"),
                }))
            }
            other => return other.map_err(CliError::from),
        }
    }
}

/// A progress bar that appears at its job's first step and is cleared when dropped
/// (whether the job ended well or not), so no output is ever glued to it.
pub struct Progress {
    what: &'static str,
    terminal: bool,
    bar: std::cell::OnceCell<indicatif::ProgressBar>,
}

impl Progress {
    fn bar(&self) -> Option<&indicatif::ProgressBar> {
        if !self.terminal {
            return None;
        }
        Some(self.bar.get_or_init(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {msg} {human_pos} [{elapsed}] {per_sec}",
                )
                .expect("a valid template"),
            );
            bar.set_message(self.what);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        }))
    }

    /// One more step done.
    pub fn inc(&self, steps: u64) {
        if let Some(bar) = self.bar() {
            bar.inc(steps);
        }
    }

    /// `done` steps done.
    pub fn set_position(&self, done: u64) {
        if let Some(bar) = self.bar() {
            bar.set_position(done);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}

/// A failed command: its exit code and one-line message.
#[derive(Debug)]
pub enum CliError {
    Failed {
        code: u8,
        message: String,
    },
    /// stdout was closed by the reader (`pactlog log | head`): not an error.
    BrokenPipe,
    /// sled's files were found damaged during the command (see [`Error::SledDamaged`]).
    SledDamaged(String),
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::Failed {
            code: 2,
            message: message.into(),
        }
    }
}

/// The exit code of each kind of library error.
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Io => 1,
        ErrorKind::Invalid => 3,
        ErrorKind::NotFound => 4,
        ErrorKind::Conflict => 5,
        ErrorKind::Integrity => 6,
        ErrorKind::Locked => 7,
    }
}

impl From<Error> for CliError {
    fn from(err: Error) -> CliError {
        if let Error::SledDamaged(reason) = err {
            return CliError::SledDamaged(reason);
        }
        CliError::Failed {
            code: exit_code(err.kind()),
            message: err.user_message(),
        }
    }
}

impl From<io::Error> for CliError {
    fn from(err: io::Error) -> CliError {
        if err.kind() == io::ErrorKind::BrokenPipe {
            CliError::BrokenPipe
        } else {
            CliError::Failed {
                code: 1,
                message: format!("output: {err}"),
            }
        }
    }
}

impl From<serde_json::Error> for CliError {
    fn from(err: serde_json::Error) -> CliError {
        match err.io_error_kind() {
            Some(kind) => CliError::from(io::Error::from(kind)),
            None => CliError::Failed {
                code: 1,
                message: format!("output: {err}"),
            },
        }
    }
}

/// Writes a value as pretty JSON and a newline.
pub fn write_json(out: &mut dyn Write, value: &impl serde::Serialize) -> Result<(), CliError> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}
