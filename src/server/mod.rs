//! `pactlog serve`: one process holds the ledger and answers HTTP, so a desk can
//! share it: analysts write through tokens, editors read pages.
//!
//! Like [`crate::cli`], this module is outside the pure library: it reads the
//! clock and `PACTLOG_NOW` (through [`crate::cli::Env`]) and binds sockets. Every
//! read endpoint runs the CLI's own command with `--json` on the held ledger, so
//! its body is byte for byte what `pactlog … --json` prints; writes go through the
//! same write path as `append` and `import`.
//!
//! - `api`: the JSON endpoints under `/api/v1/`, auth, errors.
//! - `pages`: the read-only pages for editors.
//! - [`tokens`]: the hashed tokens in the ledger folder.

mod api;
pub mod client;
mod pages;
mod remote;
pub mod tokens;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use std::time::Duration;
use tokio::sync::RwLock;

use crate::error::{Error, Result};
use crate::store::Ledger;

/// How the server listens and what it allows.
#[derive(Clone, Debug)]
pub struct Options {
    /// The address to bind (port 0: any free port).
    pub bind: SocketAddr,
    /// Reads (API and pages) without a token.
    pub public_read: bool,
    /// The largest request body, in bytes (413 beyond).
    pub max_body: usize,
    /// Connections served at once; more wait in the listen queue.
    pub max_connections: usize,
    /// Time to answer a read, from its headers to the start of the response (408
    /// beyond); for a write, the time to receive its body (408) and then to get the
    /// ledger to itself (503): a write that has started is never cut off.
    pub request_timeout: Duration,
    /// Time for a client to send a request's headers, also on an idle kept-alive connection.
    pub header_timeout: Duration,
}

/// What every request handler shares.
pub(crate) struct Shared {
    /// The one handle on the ledger: reads share it, a write has it alone. A fair
    /// (first come, first served) lock: a stream of writes, each holding it through
    /// its fsync, cannot starve the readers. It is held while a command computes,
    /// never while a client reads or sends (see `api::run_streamed`).
    pub ledger: Arc<RwLock<Ledger>>,
    /// The ledger folder (tokens live there).
    pub path: PathBuf,
    pub options: Options,
    /// The token of commands run on this machine (written to [`RUNTIME_FILE`]).
    pub local_token: String,
    /// Set when the server stops: the ledger is closed once the commands in flight
    /// are done, and a request that gets it after that is a 503.
    pub stopping: std::sync::atomic::AtomicBool,
}

impl Shared {
    /// A 503 once the server is stopping (the ledger it held is closed).
    pub(crate) fn running(&self) -> std::result::Result<(), crate::cli::CliError> {
        if self.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(crate::cli::CliError::Failed {
                code: 7,
                message: "the server is stopping; send the request again once it is back".into(),
            });
        }
        Ok(())
    }
}

/// The file in the ledger folder that tells commands on this machine where the
/// server that holds the ledger listens, and its local token (mode 0600; removed
/// when the server stops).
pub const RUNTIME_FILE: &str = "serve.json";

/// What [`RUNTIME_FILE`] holds.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Runtime {
    pub url: String,
    pub token: String,
    pub pid: u32,
}

/// Writes the runtime file (a temporary file with mode 0600, renamed into place).
fn write_runtime(path: &std::path::Path, runtime: &Runtime) -> Result<()> {
    use std::io::Write as _;
    let file = path.join(RUNTIME_FILE);
    let mut builder = tempfile::Builder::new();
    builder.prefix(".serve-");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    let mut temp = builder
        .tempfile_in(path)
        .map_err(|e| Error::io(file.display(), e))?;
    let bytes = serde_json::to_vec(runtime).expect("serializes");
    temp.write_all(&bytes)
        .map_err(|e| Error::io(file.display(), e))?;
    temp.persist(&file)
        .map_err(|e| Error::io(file.display(), e.error))?;
    Ok(())
}

/// Serves `ledger` until SIGTERM or SIGINT: then stops accepting, finishes the
/// requests in flight (a write in progress commits or fails as it would), closes
/// the ledger and returns. `ready` is called with the bound address once the
/// socket listens. Errors: the address cannot be bound ([`Error::Io`]).
pub fn serve(ledger: Ledger, options: Options, ready: impl FnOnce(SocketAddr)) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("pactlog-serve")
        .build()
        .map_err(|e| Error::io("tokio runtime", e))?;
    let shared = Arc::new(Shared {
        path: ledger.path().to_path_buf(),
        ledger: Arc::new(RwLock::new(ledger)),
        options: options.clone(),
        local_token: tokens::generate()?,
        stopping: Default::default(),
    });
    let result = runtime.block_on(run(shared.clone(), options, ready));
    let _ = std::fs::remove_file(shared.path.join(RUNTIME_FILE));
    result?;
    // Every handler has returned; a blocking write whose client went away may still
    // run: taking the write lock waits for it (no command waits on a client while it
    // holds the lock). Then the runtime and its tasks go, and the ledger closes.
    drop(shared.ledger.blocking_write());
    drop(runtime);
    drop(shared);
    Ok(())
}

async fn run(shared: Arc<Shared>, options: Options, ready: impl FnOnce(SocketAddr)) -> Result<()> {
    // The signals are caught from before the address is announced.
    let stop = shutdown_signal().map_err(|e| Error::io("signal handler", e))?;
    let listener = tokio::net::TcpListener::bind(options.bind)
        .await
        .map_err(|e| Error::io(options.bind, e))?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::io(options.bind, e))?;
    // Commands on this machine find the server here instead of a locked ledger.
    let mut local = bound;
    if local.ip().is_unspecified() {
        local.set_ip(match local {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    write_runtime(
        &shared.path,
        &Runtime {
            url: format!("http://{local}"),
            token: shared.local_token.clone(),
            pid: std::process::id(),
        },
    )?;
    ready(bound);
    let app = api::router(shared.clone());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .keep_alive(true);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(options.max_connections.max(1)));
    tokio::pin!(stop);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore stays open"),
            () = &mut stop => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of file descriptors or a reset before accept: try again shortly.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let connection = http.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    // The commands in flight finish (the lock is fair: those waiting for it go
    // first), then the ledger is closed and its folder free for other processes,
    // while responses still being read (from their spools) go on.
    shared
        .stopping
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let closed = shared.ledger.write().await.close();
    let _ = std::fs::remove_file(shared.path.join(RUNTIME_FILE));
    // Idle connections close. A client that holds a response open longer than this
    // is cut off.
    let _ = tokio::time::timeout(Duration::from_secs(30), graceful.shutdown()).await;
    closed?;
    Ok(())
}

/// A future that resolves on SIGTERM or SIGINT (Ctrl-C); the handlers are in place
/// when this returns.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

/// Whether an address is on this machine only.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}
