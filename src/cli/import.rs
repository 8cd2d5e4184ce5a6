//! `pactlog import`: append every event of files, folders or stdin, all or nothing.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use super::{CliError, Ctx};
use crate::append::{append_recorded_by, Clock, Summary};
use crate::import::{expand, read, Input};
use crate::store::Ledger;

/// Append all events of files or folders, atomically: on any error nothing is appended.
///
/// Files are NDJSON (one event per line; `#` comments and blank lines allowed) or a
/// JSON array. Folders are read for `*.ndjson`, `*.jsonl` and `*.json`, sorted by
/// path. `-` reads stdin. Events already in the ledger (same id, same content) are
/// skipped; an export of a ledger restores into an empty one with the same hashes.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or folders to read (`-` = stdin)
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Fail unless the ledger head is at this seq before the import
    #[arg(long, value_name = "N", value_parser = super::seq_arg)]
    pub expect_seq: Option<u64>,
}

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    // Standard input can be read once; a second `-` would wait on it forever.
    if args.paths.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return Err(CliError::usage(
            "`-` (standard input) can be given only once",
        ));
    }
    // A client of `pactlog serve` read its files on its side and sent them.
    let (inputs, files) = match ctx.client_files() {
        Some(files) => (Vec::new(), files.len()),
        None => {
            let inputs = expand(&args.paths)?;
            let n = inputs.len();
            (inputs, n)
        }
    };
    ctx.expect_ledger(args.expect_seq)?;
    let summary = ctx.write(|ledger| import_inputs(ctx, ledger, &inputs, args.expect_seq))?;
    ctx.say(
        out,
        format_args!(
            "imported {} ({} already present) from {}; head {} {}",
            super::count(summary.appended, "event", "events"),
            summary.unchanged,
            super::count(files as u64, "input", "inputs"),
            summary.head.seq,
            summary.head.hash
        ),
    )
}

/// Appends the events of `inputs` in one all-or-nothing write.
pub fn import_inputs(
    ctx: &Ctx,
    ledger: &mut Ledger,
    inputs: &[Input],
    expect_seq: Option<u64>,
) -> Result<Summary, CliError> {
    let mut stdin = || -> Box<dyn BufRead> { Box::new(std::io::stdin().lock()) };
    let bar = ctx.progress("importing");
    let mut streams = Vec::new();
    // Each input's name and how many objects it held, for the note on an empty one.
    let mut counts = Vec::new();
    let mut counted = |name: String, stream: Box<dyn Iterator<Item = _>>| {
        let count = std::rc::Rc::new(std::cell::Cell::new(0u64));
        counts.push((name, count.clone()));
        streams.push(stream.inspect(move |_| count.set(count.get() + 1)));
    };
    for input in inputs {
        let name = match input {
            Input::Stdin => "standard input".to_string(),
            Input::File(path) => path.display().to_string(),
        };
        counted(name, read(input, &mut stdin)?);
    }
    for (name, text) in ctx.client_files().unwrap_or_default() {
        let bytes = std::io::Cursor::new(text.clone().into_bytes());
        let shown = if name == "stdin" {
            "standard input".to_string()
        } else {
            name.clone()
        };
        counted(shown, crate::import::items(name.clone(), Box::new(bytes)));
    }
    let mut new_id = || ctx.env.new_id();
    let clock = Clock {
        now: ctx.env.now,
        new_id: &mut new_id,
    };
    let summary = append_recorded_by(
        ledger,
        streams.into_iter().flatten().inspect(|_| bar.inc(1)),
        clock,
        expect_seq,
        ctx.env.recorded_by.as_deref(),
    );
    drop(bar);
    let summary = summary?;
    // An empty input imports nothing, as an empty file copies nothing: not an
    // error, but said, since a wrong file given is the likelier cause.
    for (name, count) in counts {
        if count.get() == 0 {
            ctx.note(format!("no events in {name}"));
        }
    }
    Ok(summary)
}
