//! `pactlog export`: NDJSON of all records, in seq order.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use super::{CliError, Ctx};
use crate::error::Error;
use crate::store::Access;

/// Write every stored record as NDJSON in seq order, exactly as stored (canonical
/// JSON, so each line re-hashes to its `hash`). `pactlog import` of an export into an
/// empty ledger reproduces the same head hash.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write to this file (atomically: a temporary file renamed into place) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    let ledger = ctx.open(Access::Existing)?;
    write_to(args.out.as_deref(), out, |w| write_records(&ledger, w))
}

/// Runs `write` on stdout, or, with a path, on a temporary file beside it that is
/// synced and renamed into place only when everything was written.
pub fn write_to(
    path: Option<&std::path::Path>,
    out: &mut dyn Write,
    write: impl FnOnce(&mut dyn Write) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let Some(path) = path else {
        return write(out);
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let shown = path.display().to_string();
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(&shown, e))?;
    {
        let mut writer = BufWriter::new(temp.as_file_mut());
        write(&mut writer).map_err(|e| match e {
            CliError::BrokenPipe => CliError::Failed {
                code: 1,
                message: format!("{shown}: write failed"),
            },
            other => other,
        })?;
        writer.flush().map_err(|e| Error::io(&shown, e))?;
    }
    temp.as_file()
        .sync_all()
        .map_err(|e| Error::io(&shown, e))?;
    temp.persist(path).map_err(|e| Error::io(&shown, e.error))?;
    Ok(())
}

fn write_records(ledger: &crate::store::Ledger, out: &mut dyn Write) -> Result<(), CliError> {
    for item in ledger.raw_records(1) {
        let (_, bytes) = item?;
        out.write_all(&bytes)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
