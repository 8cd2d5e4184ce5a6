//! `pactlog serve`: hold the ledger and share it over HTTP.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use super::{CliError, Ctx};
use crate::server::{self, Options};
use crate::store::Access;

/// Hold the ledger and answer HTTP, so several people share it: JSON endpoints under
/// `/api/v1/` (the same JSON as each command's `--json`), writes with a writer's
/// token (`pactlog token add`), read-only pages for editors at `/`.
///
/// The first line on stdout is the address it listens on. SIGTERM or Ctrl-C
/// finishes the requests in flight, closes the ledger and exits 0. Bound to an
/// address other than loopback, it expects a reverse proxy in front for TLS.
///
/// Example: pactlog serve --bind 127.0.0.1:7878
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The address and port to listen on (port 0: any free port)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7878")]
    pub bind: SocketAddr,

    /// Let anyone read (the API and the pages) without a token; writes still need one
    #[arg(long)]
    pub public_read: bool,

    /// The largest request body in bytes (413 beyond)
    #[arg(long, value_name = "BYTES", default_value_t = 8 << 20)]
    pub max_body: usize,

    /// Connections served at once (more wait to be accepted)
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_connections: usize,

    /// Seconds to answer a read (408 beyond); a write's body must arrive within them
    /// (408) and the ledger then be free for it within them (503): either way nothing
    /// is written, and a write that has started is never cut off
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub request_timeout: u64,

    /// Create an empty ledger when none is at `--db` (without it, a missing ledger is
    /// exit 4, as for every read: a mistyped path never serves a new empty ledger)
    #[arg(long)]
    pub create: bool,
}

pub fn run(ctx: &Ctx, args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    let ledger = ctx.open_own(if args.create {
        Access::Create
    } else {
        Access::Existing
    })?;
    // A token file that cannot be read would refuse every request: refused here,
    // naming it, rather than served.
    server::tokens::list(ledger.path())?;
    let options = Options {
        bind: args.bind,
        public_read: args.public_read,
        max_body: args.max_body,
        max_connections: args.max_connections,
        request_timeout: Duration::from_secs(args.request_timeout),
        header_timeout: Duration::from_secs(10),
    };
    let mut said = Ok(());
    server::serve(ledger, options, |bound| {
        said = writeln!(out, "listening on http://{bound}").and_then(|()| out.flush());
        if !server::is_loopback(&bound) {
            eprintln!(
                "pactlog: listening on {bound}, beyond this machine: tokens and data travel in clear, so put a reverse proxy with TLS in front"
            );
        }
    })?;
    said?;
    Ok(())
}
