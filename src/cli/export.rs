//! `pactlog export`: NDJSON of all records, in seq order; or, for publishing,
//! TimelineJS JSON and CSV or Markdown tables at a cut (see `publish`).

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use super::{publish, CliError, Ctx};
use crate::error::Error;
use crate::store::Access;

/// Write every stored record as NDJSON in seq order, exactly as stored (canonical
/// JSON, so each line re-hashes to its `hash`). `pactlog import` of an export into an
/// empty ledger reproduces the same head hash.
///
/// For publishing: `--format timelinejs` (Knight Lab's TimelineJS), `--format csv`
/// and `--format markdown` (every provision at `--at`/`--known-at`, or with
/// `--provision P` its history), each stamped with its cut.
///
/// Example: pactlog export --format markdown --at florida-2025-11-30
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write to this file (atomically: a temporary file renamed into place) instead of
    /// stdout (`-`: stdout)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// ndjson: the stored records. timelinejs: TimelineJS JSON (a slide per event, a
    /// group per provision, an era per negotiation round). csv, markdown: every
    /// provision at the cut (status, text in each proposal, each party's stance) or,
    /// with --provision, that provision's history; stamped with the cut
    #[arg(long, value_enum, default_value_t = Format::Ndjson)]
    pub format: Format,

    /// csv, markdown: one provision's history; timelinejs: only this provision
    #[arg(long, value_name = "PROVISION")]
    pub provision: Option<String>,

    #[command(flatten)]
    pub cut: super::state::CutArgs,

    /// Machine output: the NDJSON export is JSON already (one record per line), so
    /// this only confirms it; it goes with the ndjson and timelinejs formats
    #[arg(long)]
    pub json: bool,
}

/// What `export` writes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    Timelinejs,
    Csv,
    Markdown,
}

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    if args.json && matches!(args.format, Format::Csv | Format::Markdown) {
        return Err(CliError::usage(format!(
            "--json goes with --format ndjson or timelinejs, not {}",
            if args.format == Format::Csv {
                "csv"
            } else {
                "markdown"
            }
        )));
    }
    let file = out_file(args.out.as_deref());
    if args.format == Format::Ndjson
        && (args.provision.is_some() || args.cut.at.is_some() || args.cut.known_at.is_some())
    {
        return Err(CliError::usage(
            "--provision, --at and --known-at go with --format timelinejs, csv or markdown; ndjson exports every record",
        ));
    }
    let ledger = match ctx.open(Access::Existing) {
        Err(CliError::Failed { code: 6, message })
            if args.format == Format::Ndjson && crate::journal::Journal::exists(&ctx.db_path()) =>
        {
            return export_journal_prefix(ctx, file, out, &message);
        }
        other => other?,
    };
    if args.format == Format::Ndjson {
        // Every record that verifies is written, the file included when a record
        // cannot be: it is what a damaged ledger's recovery starts from.
        let mut records = ledger.durable_records()?;
        let mut copied = Copied::default();
        write_to(file, out, |w| copied.copy(records.by_ref(), w))?;
        let (written, failed) = (copied.written, copied.stopped);
        let shown = file.map_or("standard output".to_string(), |p| p.display().to_string());
        if let Some((_, why)) = records.fallback() {
            // In a folder that takes no files, writes fail anyway.
            let _ = ledger.note_journal_damage(Some(why));
        }
        if let Some(err) = failed {
            return Err(CliError::from(Error::JournalDamaged(format!(
                "wrote {} to {shown}, each one verified, and stopped: {err}",
                super::count(written, "record", "records")
            ))));
        }
        if let Some((seq, why)) = records.fallback() {
            eprintln!(
                "pactlog: {why}; records {seq} on were read from sled instead, each checked against the hash chain. To recover, import {shown} into a new ledger (README: \"Recovering a damaged journal\")"
            );
        }
        if let Some(path) = file {
            let records = super::count(written, "record", "records");
            ctx.say(
                out,
                format_args!("wrote {}: {records} as NDJSON", path.display()),
            )?;
        }
        return Ok(());
    }
    let cut = ctx.cut_of(&ledger, &args.cut)?;
    let provision = args
        .provision
        .as_deref()
        .map(|p| super::state::slug_arg(p, "--provision"))
        .transpose()?;
    let provisions: Vec<_> = provision.iter().cloned().collect();
    write_to(file, out, |w| match args.format {
        Format::Timelinejs => {
            super::write_json(w, &publish::timelinejs(&ledger, &provisions, &cut)?)
        }
        Format::Csv => publish::write_csv(
            &publish::table(
                &ledger,
                provision.as_ref(),
                &cut,
                args.cut.at.is_some(),
                args.format == Format::Markdown,
            )?,
            w,
        ),
        _ => publish::write_markdown(
            &publish::table(
                &ledger,
                provision.as_ref(),
                &cut,
                args.cut.at.is_some(),
                args.format == Format::Markdown,
            )?,
            w,
        ),
    })?;
    if let Some(path) = file {
        let format = clap::ValueEnum::to_possible_value(&args.format)
            .map(|v| v.get_name().to_string())
            .unwrap_or_default();
        ctx.say(
            out,
            format_args!(
                "wrote {}: {format}, at {}, as known at {}",
                path.display(),
                super::render::cut(&cut.at),
                super::render::known(&cut)
            ),
        )?;
    }
    Ok(())
}

/// `export` of a ledger that cannot be opened (`failed`: why): the records that
/// verify, the journal's from record 1 and then sled's ([`crate::recover::salvage`]).
/// Exit 0 with a note when they reach the head witness (`pactlog.head`), else 6
/// naming where they stopped. What a ledger whose two copies are damaged can give.
fn export_journal_prefix(
    ctx: &Ctx,
    file: Option<&std::path::Path>,
    out: &mut dyn Write,
    failed: &str,
) -> Result<(), CliError> {
    // Said with what `export` did instead of the usual hint on what to do.
    let failed = Error::without_recovery(failed);
    let path = ctx.db_path();
    let mut records = crate::recover::salvage(&path)?;
    let mut copied = Copied::default();
    write_to(file, out, |w| copied.copy(records.by_ref(), w))?;
    let Copied {
        written,
        stopped,
        last,
    } = copied;
    let stopped = stopped.map(|e| e.to_string());
    let shown = file.map_or("standard output".to_string(), |p| p.display().to_string());
    let read = match (records.from_journal(), written - records.from_journal()) {
        (j, 0) => format!("{} from the journal", super::count(j, "record", "records")),
        (0, s) => format!("{} from sled", super::count(s, "record", "records")),
        (j, s) => format!("{j} from the journal and {s} from sled"),
    };
    let witness = crate::store::read_head_file(&path).ok().flatten();
    let whole = stopped.is_none()
        && witness.as_ref().is_some_and(|(seq, hash)| {
            *seq == written
                && last
                    .as_deref()
                    .and_then(|b| crate::chain::Record::decode(b).ok())
                    .is_some_and(|r| r.hash == *hash)
        });
    if whole {
        eprintln!(
            "pactlog: {failed}; so `export` read the copies alone: it wrote every record, {read}, each one verified against the hash chain, up to the committed head. To recover, import {shown} into a new ledger (README: \"Recovering a damaged journal\")"
        );
        return Ok(());
    }
    let end = match (stopped, witness) {
        (Some(why), _) => format!("then: {why}"),
        (None, Some((seq, _))) => format!("{seq} were committed (pactlog.head)"),
        (None, None) => "the copies end there".to_string(),
    };
    Err(CliError::from(Error::JournalDamaged(format!(
        "{failed}; so `export` read the copies alone: it wrote {} to {shown} ({read}), each one verified against the hash chain, and stopped ({end}); check the head of a ledger made from them against one you published (`verify --head`)",
        super::count(written, "record", "records")
    ))))
}

/// What [`Copied::copy`] wrote: how many records, the last one, and the error it
/// stopped at, if any.
#[derive(Default)]
struct Copied {
    written: u64,
    last: Option<Vec<u8>>,
    stopped: Option<Error>,
}

impl Copied {
    /// Writes each record (one NDJSON line) until the first error, which it keeps:
    /// the lines before it are what verified.
    fn copy(
        &mut self,
        records: impl Iterator<Item = Result<(u64, Vec<u8>), Error>>,
        w: &mut dyn Write,
    ) -> Result<(), CliError> {
        for item in records {
            match item {
                Ok((_, bytes)) => {
                    w.write_all(&bytes)?;
                    w.write_all(b"\n")?;
                    self.written += 1;
                    self.last = Some(bytes);
                }
                Err(err) => {
                    self.stopped = Some(err);
                    break;
                }
            }
        }
        Ok(())
    }
}

/// The file a `FILE` option names; `None` for none or `-` (stdout), as everywhere a
/// command takes a FILE.
pub fn out_file(path: Option<&std::path::Path>) -> Option<&std::path::Path> {
    path.filter(|p| p.as_os_str() != "-")
}

/// Runs `write` on stdout, or, with a path, on a temporary file beside it that is
/// synced and renamed into place only when everything was written. The file gets the
/// mode an ordinary new file gets (0666 less the umask), or keeps the mode of the file
/// it replaces: a published timeline must stay readable by a web server. Every error
/// names the path the user gave, never the temporary file.
pub fn write_to(
    path: Option<&std::path::Path>,
    out: &mut dyn Write,
    write: impl FnOnce(&mut dyn Write) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let Some(given) = path else {
        return write(out);
    };
    let shown = given.display().to_string();
    // An error of the temporary file, said of the file the user named.
    let failed = |err: std::io::Error| Error::Io {
        path: shown.clone(),
        message: without_path(err),
    };
    // Writing to a link writes the file it points to, as any editor would.
    let resolved = match std::fs::symlink_metadata(given) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::canonicalize(given).ok(),
        _ => None,
    };
    let path = resolved.as_deref().unwrap_or(given);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    check_outside_ledgers(path, &shown)?;
    if !dir.is_dir() {
        return Err(CliError::from(Error::Io {
            path: shown,
            message: format!(
                "the folder {} does not exist (pactlog does not create folders)",
                dir.display()
            ),
        }));
    }
    if path.is_dir() {
        return Err(CliError::from(Error::Io {
            path: shown,
            message: "is a folder: name a file (in it or beside it) to write".into(),
        }));
    }
    let mut builder = tempfile::Builder::new();
    builder.prefix(".pactlog-");
    // The mode an ordinary new file is created with; the umask takes its part.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut temp = builder.tempfile_in(dir).map_err(failed)?;
    if let Ok(existing) = std::fs::metadata(path) {
        std::fs::set_permissions(temp.path(), existing.permissions()).map_err(failed)?;
    }
    {
        let mut writer = BufWriter::new(temp.as_file_mut());
        write(&mut writer).map_err(|e| match e {
            CliError::BrokenPipe => CliError::Failed {
                code: 1,
                message: format!("{shown}: write failed"),
            },
            other => other,
        })?;
        writer.flush().map_err(failed)?;
    }
    temp.as_file().sync_all().map_err(failed)?;
    temp.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}

/// Refuses to write `path` (a file or a folder, `shown` as the user gave it) inside a
/// ledger folder, the `--db` one or any other: a file written there could replace the
/// ledger's own (its journal, its head witness, sled's files). `path` may not exist
/// yet; it is resolved as the OS would resolve it once its folders are made
/// ([`as_written`]), and every folder from there up is looked at. Errors:
/// [`Error::Io`] naming the ledger folder (exit 1); nothing written.
pub fn check_outside_ledgers(path: &std::path::Path, shown: &str) -> Result<(), CliError> {
    let resolved = as_written(path);
    let ledger = resolved
        .ancestors()
        .filter(|p| crate::store::Ledger::probe(p).unwrap_or(false))
        // The outermost: sled's own folder inside a ledger looks like a ledger of old.
        .last();
    match ledger {
        Some(ledger) => Err(CliError::from(Error::Io {
            path: shown.to_string(),
            message: format!(
                "is inside the ledger folder {}, where pactlog writes nothing but the ledger (a file there could replace its journal, head witness or sled's files): name a path outside it",
                ledger.display()
            ),
        })),
        None => Ok(()),
    }
}

/// Where `path` is once written: absolute, each existing part with its links resolved
/// (`canonicalize`), and each `..` taken from what comes before it as the OS takes it
/// (after a link, from the link's target; after a folder still to be made, from that
/// folder's parent, as `create_dir_all` makes it).
fn as_written(path: &std::path::Path) -> PathBuf {
    use std::path::Component;
    let real = |p: PathBuf| std::fs::canonicalize(&p).unwrap_or(p);
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut at = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::ParentDir => {
                at = real(at);
                at.pop();
            }
            Component::CurDir => {}
            other => at.push(other),
        }
    }
    // The deepest part that exists, resolved; the rest as written.
    let exists = at.ancestors().find(|p| p.exists()).map(PathBuf::from);
    match exists {
        Some(base) => {
            let rest = at
                .strip_prefix(&base)
                .map(PathBuf::from)
                .unwrap_or_default();
            real(base).join(rest)
        }
        None => at,
    }
}

/// What an I/O error says, without the path that the temporary file's errors add
/// (`… at path "/dir/.pactlog-x1y2"`): the OS's own words for it.
fn without_path(err: std::io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code).to_string(),
        None => std::io::Error::from(err.kind()).to_string(),
    }
}
