//! `pactlog verify`: re-hash the chain and check the indexes against a replay.

use std::io::Write;

use super::{CliError, Ctx};
use crate::store::Access;
use crate::verify::verify_with_progress;

/// Re-hash every record, check the chain links, `seq` and record time, and check
/// every index entry against a replay of the log. With `--head SEQ:HASH` (a head
/// published earlier), also check that the ledger still holds that record: a
/// truncated or rewritten history fails.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A published head to check for, as SEQ:HASH
    #[arg(long, value_name = "SEQ:HASH")]
    pub head: Option<String>,

    /// Machine output: `ok`, `repaired` (what this run repaired first, as said on
    /// stderr; empty when nothing), records, index entries, snapshots, the head (`seq`,
    /// `hash`) and `head_arg`, the head as `--head` takes it (SEQ:HASH); on a failed
    /// check (a malformed `--head` included), `ok: false`, `exit_code`, `error` (also
    /// said on stderr) and `repaired`
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    // Whether an earlier `verify` or `export` had found the journal damaged: a pass
    // now lifts the refusal of writes, and says so.
    let was_damaged = crate::store::journal_damage(&ctx.db_path()).is_ok_and(|d| d.is_some());
    let checked = (|| -> Result<_, CliError> {
        let claimed = args.head.as_deref().map(claimed_head).transpose()?;
        let ledger = ctx.open(Access::Existing)?;
        let bar = ctx.progress("verifying records");
        let report = verify_with_progress(&ledger, claimed, &mut |_| bar.inc(1));
        drop(bar);
        Ok(report?)
    })();
    let report = match checked {
        Ok(report) => report,
        Err(err) => {
            // A script reads the verdict where it reads a pass, whatever failed (no
            // ledger, a lock held, damage found on open or by the checks); the message
            // and the exit code are the usual ones. sled found damaged mid-command is
            // not a verdict: the command runs again on a rebuilt sled.
            if let (true, CliError::Failed { code, message }) = (args.json, &err) {
                let verdict = serde_json::json!({
                    "ok": false,
                    "exit_code": code,
                    "error": message,
                    "repaired": *ctx.env.repaired.borrow(),
                });
                super::write_json(out, &verdict)?;
            }
            return Err(err);
        }
    };
    if was_damaged {
        eprintln!("pactlog: the journal verifies again: the ledger takes writes again");
    }
    if args.json {
        return super::write_json(
            out,
            &serde_json::json!({
                "ok": true,
                // What this run repaired before its checks passed (as said on stderr).
                "repaired": *ctx.env.repaired.borrow(),
                "records": report.records,
                "index_entries": report.index_entries,
                "snapshots": report.snapshots,
                "head": { "seq": report.head.seq, "hash": report.head.hash },
                // What `verify --head` takes, to check this head later.
                "head_arg": format!("{}:{}", report.head.seq, report.head.hash),
            }),
        );
    }
    ctx.say(
        out,
        format_args!(
            "ok: {}, hash chain intact, {} and {} match the log; head {}:{}",
            super::count(report.records as u64, "record", "records"),
            super::count(report.index_entries as u64, "index entry", "index entries"),
            super::count(report.snapshots as u64, "snapshot", "snapshots"),
            report.head.seq,
            report.head.hash
        ),
    )
}

/// A published head as `--head` takes it: SEQ:HASH, a seq and a 64-digit hash.
fn claimed_head(text: &str) -> Result<(u64, &str), CliError> {
    let not_a_head = |why: String| {
        CliError::usage(format!(
            "--head: `{text}` is not SEQ:HASH (a seq and a 64-digit hash){why}"
        ))
    };
    let Some((seq, hash)) = text.split_once(':') else {
        return Err(not_a_head(String::new()));
    };
    let seq = crate::chain::parse_seq(seq).map_err(|e| not_a_head(format!(": {e}")))?;
    if hash.len() != 64 {
        return Err(not_a_head(String::new()));
    }
    Ok((seq, hash))
}
