//! `pactlog demo`: load the bundled record and show the NATO clause after Geneva and Florida.

use std::io::Write;
use std::path::PathBuf;

use super::{render, CliError, Ctx};
use crate::append::{append_all, Clock};
use crate::error::Error;
use crate::event::{Kind, Slug};
use crate::import::items;
use crate::query::{self, Cut};
use crate::store::{Access, Ledger};
use crate::time::When;

/// The bundled record of the 2025 Russia–Ukraine talks, compiled into the binary.
pub const BUNDLED: &[(&str, &str)] = &[(
    "events/russia-ukraine-2025/01-talks.ndjson",
    include_str!("../../events/russia-ukraine-2025/01-talks.ndjson"),
)];

/// The staged correction example, loaded after the record: a misattribution no source
/// made, then its correction (see `examples/staged-correction/README.md`). It is not
/// part of the record; `--write-events` writes it to a folder of its own.
pub const STAGED: &[(&str, &str)] = &[
    (
        "examples/staged-correction/01-misattribution.ndjson",
        include_str!("../../examples/staged-correction/01-misattribution.ndjson"),
    ),
    (
        "examples/staged-correction/02-correction.ndjson",
        include_str!("../../examples/staged-correction/02-correction.ndjson"),
    ),
];

const PROVISION: &str = "nato-membership";
const MEETING_WORDS: &[&str] = &["geneva", "florida"];

/// Load the bundled record of the 2025 talks into a fresh ledger and show the NATO
/// clause after the Geneva and after the Florida meeting.
///
/// The ledger is a temporary one, or `--db`/`PACTLOG_DB` if that names a missing or
/// empty ledger; an existing ledger with events is never altered. The record is
/// compiled into the binary, so the demo runs from any folder:
///
///   pactlog demo --db talks.db            keep a ledger to explore
///   pactlog --db talks.db history nato-membership
///   pactlog demo --write-events record    the record as NDJSON files, to read or import
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Print the two states as JSON
    #[arg(long, conflicts_with = "write_events")]
    pub json: bool,

    /// Write the bundled record's NDJSON files into this folder (created if missing; no
    /// file is overwritten) instead of loading them
    #[arg(long, value_name = "DIR")]
    pub write_events: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    if let Some(dir) = &args.write_events {
        return write_events(ctx, dir, out);
    }
    // --db/PACTLOG_DB is used only when it names a missing or empty ledger; a ledger
    // holding events is never altered, and the demo runs in a temporary one instead.
    let mut note = None;
    let mut explicit = ctx.cli.db.is_some();
    if explicit && Ledger::exists(&ctx.db_path()) {
        let ledger = ctx.open(Access::Existing)?;
        if ledger.head().seq > 0 {
            note = Some(format!(
                "{} holds {} and is left as it is; the demo uses a temporary ledger",
                ctx.db_path().display(),
                super::count(ledger.head().seq, "event", "events")
            ));
            explicit = false;
        }
    }
    let _temp;
    let path: PathBuf = if explicit {
        ctx.db_path()
    } else {
        _temp = tempfile::Builder::new()
            .prefix("pactlog-demo-")
            .tempdir()
            .map_err(|e| Error::io("temporary folder", e))?;
        _temp.path().join("ledger")
    };
    let mut ledger = super::open_waiting(
        &path,
        Access::Create,
        ctx.cli.lock_timeout,
        ctx.env.stderr_is_terminal,
        &mut |_, _| {},
    )?;
    let mut loaded = 0;
    let mut staged = 0;
    for (name, text) in BUNDLED.iter().chain(STAGED) {
        let stream = items(
            name.to_string(),
            Box::new(std::io::Cursor::new(text.as_bytes())),
        );
        let mut new_id = || ctx.env.new_id();
        let clock = Clock {
            now: ctx.env.now,
            new_id: &mut new_id,
        };
        let appended = append_all(&mut ledger, stream, clock, None)?.appended;
        if name.starts_with("examples/") {
            staged += appended;
        } else {
            loaded += appended;
        }
    }
    let provision = Slug::parse(PROVISION).expect("a valid slug");
    let mut meetings: Vec<(chrono::DateTime<chrono::Utc>, Slug)> = Vec::new();
    for word in MEETING_WORDS {
        let slug = ledger
            .slugs(Kind::Meeting)?
            .into_iter()
            .find(|m| m.contains(word))
            .ok_or_else(|| Error::NotFound(format!("the bundled record has no {word} meeting")))?;
        let slug = Slug::parse(&slug).expect("stored slugs are valid");
        let at = query::resolve(
            &ledger,
            &When::Meeting(slug.clone()),
            query::Known::at(ctx.env.now),
        )?;
        meetings.push((at, slug));
    }
    let states = meetings
        .iter()
        .map(|(at, _)| query::provision_state(&ledger, &provision, &Cut::new(*at, ctx.env.now)))
        .collect::<Result<Vec<_>, _>>()?;
    if args.json {
        return super::write_json(out, &states);
    }
    if let Some(note) = &note {
        ctx.say(out, format_args!("Note: {note}."))?;
    }
    ctx.say(
        out,
        format_args!(
            "Loaded the bundled record of the 2025 Russia–Ukraine talks ({}) and the staged correction example ({}, not part of the record: examples/staged-correction) into {}\n",
            super::count(loaded, "event", "events"),
            super::count(staged, "event", "events"),
            if explicit {
                path.display().to_string()
            } else {
                "a temporary ledger".into()
            }
        ),
    )?;
    let sources = render::Sources::new(&ledger);
    for ((_, meeting), state) in meetings.iter().zip(&states) {
        writeln!(out, "== The NATO clause after {meeting} ==")?;
        render::provision(out, state, &sources)?;
        writeln!(out)?;
    }
    // Hints that work in the folder the demo was run from.
    if explicit {
        let db = shell_word(&path.display().to_string());
        ctx.say(
            out,
            format_args!(
                "Explore it: pactlog --db {db} history nato-membership\n            pactlog --db {db} history nato-membership --known-at seq:{before}   (before the staged correction)\n            pactlog --db {db} list meetings",
                before = loaded + staged - 1
            ),
        )
    } else {
        ctx.say(
            out,
            format_args!(
                "Keep a ledger to explore: pactlog demo --db talks.db\nThe record as NDJSON files: pactlog demo --write-events record"
            ),
        )
    }
}

/// A path as one shell word: quoted when it holds anything but plain characters.
fn shell_word(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:@".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// `demo --write-events DIR`: the bundled files, as they are compiled in, under `DIR`
/// (`DIR/russia-ukraine-2025/01-talks.ndjson`, then the staged example in
/// `DIR/staged-correction/`, which a folder import reads after the record). An existing
/// file is never replaced: the command fails before writing anything.
fn write_events(ctx: &Ctx, dir: &std::path::Path, out: &mut dyn Write) -> Result<(), CliError> {
    if dir.as_os_str() == "-" {
        return Err(CliError::usage(
            "--write-events: name a folder (`-` is standard output, which holds no files)",
        ));
    }
    let files: Vec<(PathBuf, &str)> = BUNDLED
        .iter()
        .chain(STAGED)
        .map(|(name, text)| {
            let relative = name
                .strip_prefix("events/")
                .or_else(|| name.strip_prefix("examples/"))
                .unwrap_or(name);
            (dir.join(relative), *text)
        })
        .collect();
    // Each file, since the folders under `dir` may be ledgers (or links to them).
    for (path, _) in &files {
        super::export::check_outside_ledgers(path, &path.display().to_string())?;
    }
    if let Some((path, _)) = files.iter().find(|(path, _)| path.exists()) {
        return Err(CliError::from(Error::Io {
            path: path.display().to_string(),
            message: "already exists; nothing was written (choose another folder)".into(),
        }));
    }
    for (path, text) in &files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent.display(), e))?;
        }
        // A new file only (`O_EXCL`): never written through a link left at its name.
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .map_err(|e| Error::io(path.display(), e))?;
        ctx.say(out, format_args!("wrote {}", path.display()))?;
    }
    // A ledger that does not exist yet here: never one that may hold the record already.
    let fresh = (1..)
        .map(|n| match n {
            1 => "mine.db".to_string(),
            n => format!("mine-{n}.db"),
        })
        .find(|name| !std::path::Path::new(name).exists())
        .expect("a free name");
    ctx.say(
        out,
        format_args!(
            "Import them into a new ledger of your own: pactlog --db {fresh} import {}",
            shell_word(&dir.display().to_string())
        ),
    )
}
