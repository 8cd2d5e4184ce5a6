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
pub const BUNDLED: &[(&str, &str)] = &[
    (
        "events/russia-ukraine-2025/01-talks.ndjson",
        include_str!("../../events/russia-ukraine-2025/01-talks.ndjson"),
    ),
    (
        "events/russia-ukraine-2025/02-corrections.ndjson",
        include_str!("../../events/russia-ukraine-2025/02-corrections.ndjson"),
    ),
];

const PROVISION: &str = "nato-membership";
const MEETING_WORDS: &[&str] = &["geneva", "florida"];

/// Load the bundled record of the 2025 talks into a fresh ledger and show the NATO
/// clause after the Geneva and after the Florida meeting.
///
/// The ledger is a temporary one, or `--db`/`PACTLOG_DB` if that names a missing or
/// empty ledger; an existing ledger with events is never altered.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the two states as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    // --db/PACTLOG_DB is used only when it names a missing or empty ledger; a ledger
    // holding events is never altered, and the demo runs in a temporary one instead.
    let mut note = None;
    let mut explicit = ctx.cli.db.is_some();
    if explicit && Ledger::exists(&ctx.db_path()) {
        let ledger = ctx.open(Access::Existing)?;
        if ledger.head().seq > 0 {
            note = Some(format!(
                "{} holds {} events and is left as it is; the demo uses a temporary ledger",
                ctx.db_path().display(),
                ledger.head().seq
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
    for (name, text) in BUNDLED {
        let stream = items(
            name.to_string(),
            Box::new(std::io::Cursor::new(text.as_bytes())),
        );
        let mut new_id = || ctx.env.new_id();
        let clock = Clock {
            now: ctx.env.now,
            new_id: &mut new_id,
        };
        loaded += append_all(&mut ledger, stream, clock, None)?.appended;
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
        writeln!(out, "Note: {note}.")?;
    }
    writeln!(
        out,
        "Loaded the bundled record of the 2025 Russia–Ukraine talks: {loaded} events into {}\n",
        if explicit {
            path.display().to_string()
        } else {
            "a temporary ledger".into()
        }
    )?;
    let sources = render::Sources { ledger: &ledger };
    for ((_, meeting), state) in meetings.iter().zip(&states) {
        writeln!(out, "== The NATO clause after {meeting} ==")?;
        render::provision(out, state, &sources)?;
        writeln!(out)?;
    }
    writeln!(
        out,
        "Try: pactlog --db demo.db import events/ && pactlog --db demo.db history nato-membership"
    )?;
    Ok(())
}
