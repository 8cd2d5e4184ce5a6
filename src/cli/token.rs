//! `pactlog token`: the access tokens of a ledger that `pactlog serve` shares.

use std::io::Write;

use super::{render, CliError, Ctx};
use crate::server::tokens::{self, Role};

/// Tokens for `pactlog serve`: `add` prints a new token once, `list` shows names and
/// roles, `revoke` ends one at once. Tokens are kept hashed in the ledger folder
/// (`tokens.json`, mode 0600), never in the log.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Make a token and print it once, alone on the last line (only its hash is kept)
    Add(AddArgs),
    /// The tokens' names, roles and creation times (never the tokens)
    List(ListArgs),
    /// Revoke a token: the server refuses it from the next request on
    Revoke(RevokeArgs),
}

#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// The token's name, a slug; the server records it as `recorded_by` on every write made with it
    pub name: String,

    /// reader: every read; writer: reads and writes
    #[arg(long, value_enum)]
    pub role: Role,
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Machine output
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct RevokeArgs {
    /// The token's name
    pub name: String,
}

pub fn run(ctx: &Ctx, command: &Command, out: &mut dyn Write) -> Result<(), CliError> {
    let path = ctx.db_path();
    match command {
        Command::Add(args) => {
            let created_at = crate::time::format(&ctx.env.now);
            let token = tokens::add(&path, &args.name, args.role, &created_at)?;
            if !ctx.cli.quiet {
                writeln!(
                    out,
                    "token `{}` ({}) added; it is shown only now: keep it secret",
                    args.name, args.role
                )?;
            }
            // Alone on the last line, even with --quiet: it can never be shown again.
            writeln!(out, "{token}")?;
            Ok(())
        }
        Command::List(args) => {
            tokens::require_ledger(&path)?;
            let entries = tokens::list(&path)?;
            if args.json {
                let values: Vec<_> = entries
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "name": e.name, "role": e.role, "created_at": e.created_at
                        })
                    })
                    .collect();
                return super::write_json(out, &values);
            }
            let mut t = render::table(&["name", "role", "created"]);
            for e in &entries {
                t.add_row(vec![
                    e.name.clone(),
                    e.role.to_string(),
                    e.created_at.clone(),
                ]);
            }
            writeln!(out, "{} tokens", entries.len())?;
            writeln!(out, "{t}")?;
            Ok(())
        }
        Command::Revoke(args) => {
            tokens::revoke(&path, &args.name)?;
            ctx.say(out, format_args!("token `{}` revoked", args.name))
        }
    }
}
