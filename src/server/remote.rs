//! `POST /api/v1/cli`: a command line run for the CLI as a client (`PACTLOG_SERVER`,
//! or a command on this machine that found the runtime file). The server parses it
//! as the CLI does and runs the same command on the ledger it holds, so the client
//! prints exactly what the command prints locally: one code path renders both.

use std::cell::RefCell;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard};

use super::api::{authorize, Deadline, Failure, Need};
use super::Shared;
use crate::cli::{self, Cli, CliError, ClientInput, Command, Env, Held};
use crate::store::Ledger;

/// A command line and what the client sends with it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    /// The arguments after `pactlog`, as the user typed them.
    pub args: Vec<String>,
    #[serde(default)]
    pub input: ClientInput,
    /// The client's user, taken only with the server's local token.
    #[serde(default)]
    pub recorded_by: Option<String>,
}

/// What the command printed and how it ended.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Reply {
    /// The exit code the command ends with.
    pub code: u8,
    /// Everything it wrote to standard output.
    pub stdout: String,
    /// Its one-line error (without `error: `), when it failed.
    pub error: Option<String>,
    /// The notes it said for stderr (`pactlog: …` lines), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The largest body of a command from this machine (the runtime file's local token): 4 GiB.
const LOCAL_MAX_BODY: usize = 4 << 30;

/// Commands that only make sense where they run (never sent to a server).
pub fn runs_locally(command: &Command) -> bool {
    matches!(
        command,
        Command::Demo(_)
            | Command::Serve(_)
            | Command::Token(_)
            | Command::Completions(_)
            | Command::Man(_)
    )
}

/// Commands that write to the ledger (the CLI's own list: those it never runs twice).
pub fn writes(command: &Command) -> bool {
    !command.only_reads()
}

/// A file the command would write on the server's disk.
fn writes_a_file(command: &Command) -> Option<&'static str> {
    match command {
        Command::Export(args) if cli::export::out_file(args.out.as_deref()).is_some() => {
            Some("--out FILE")
        }
        Command::Timeline(args) if cli::export::out_file(args.html.as_deref()).is_some() => {
            Some("--html FILE")
        }
        _ => None,
    }
}

/// Why a request cannot run as sent, before anything runs: a `--db` (the server runs
/// on the ledger it holds), or an `import` of files the request does not carry (the
/// server never reads its own disk for a client).
fn refused_line(args: &[String], cli: &Cli, input: &ClientInput) -> Option<String> {
    if cli::without_db(args).is_some() {
        return Some(
            "--db: a command sent to a server runs on the ledger it holds and names no other; leave --db out (nothing was run)".into(),
        );
    }
    let Command::Import(import) = &cli.command else {
        return None;
    };
    let missing: Vec<String> = import
        .paths
        .iter()
        .filter(|path| !carried(path, &input.files))
        .map(|path| format!("`{}`", path.display()))
        .collect();
    (!missing.is_empty()).then(|| format!(
        "import: the request does not carry {}: a server imports what the client read on its side and sent in `input.files` as [name, text] pairs (a file by its name, a folder's files by names under it, standard input as `stdin`), never files on its own disk (nothing was run)",
        missing.join(", ")
    ))
}

/// Whether an `import` argument's text is among the files a request carries: the
/// file itself, files under the folder it names, or `stdin` for `-`. The CLI as a
/// client names each file as a local import would (`crate::import::expand`).
fn carried(path: &std::path::Path, files: &[(String, String)]) -> bool {
    let named = path.to_string_lossy();
    if named == "-" {
        return files.iter().any(|(name, _)| name == "stdin");
    }
    let folder = format!("{}/", named.trim_end_matches('/'));
    files
        .iter()
        .any(|(name, _)| *name == named || name.starts_with(&folder))
}

fn usage(message: impl Into<String>) -> Reply {
    Reply {
        code: 2,
        stdout: String::new(),
        error: Some(message.into()),
        notes: Vec::new(),
    }
}

pub(crate) async fn run_command(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    match run_inner(shared, headers, body).await {
        Ok(reply) => axum::Json(reply).into_response(),
        Err(failure) => failure.into_response(),
    }
}

async fn run_inner(
    shared: Arc<Shared>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Reply, Failure> {
    // Commands on the server's machine (its local token) are not held to --max-body:
    // a local import is as large as the files it reads.
    let local = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(super::api::bearer)
        .is_some_and(|token| super::tokens::same(token, &shared.local_token));
    let max = if local {
        LOCAL_MAX_BODY
    } else {
        shared.options.max_body
    };
    let deadline = Deadline::after_headers(&shared);
    let bytes = deadline.receive(super::api::body_bytes(body, max)).await?;
    super::api::utf8_charset(&headers)?;
    let request: Request = serde_json::from_slice(&bytes)
        .map_err(|e| Failure::new(StatusCode::BAD_REQUEST, format!("body: {e}")))?;
    // Parsed as the CLI parses its own line (global options among `append`'s fields too).
    let line = std::iter::once("pactlog".to_string())
        .chain(request.args.iter().cloned())
        .map(Into::into)
        .collect();
    let mut cli = match cli::parse(line) {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            return Ok(Reply {
                code: 0,
                stdout: err.render().to_string(),
                error: None,
                notes: Vec::new(),
            })
        }
        Err(err) => return Ok(usage(cli::one_line_usage_error(&err))),
    };
    if runs_locally(&cli.command) {
        return Ok(usage(
            "this command runs where it is typed, not through a server",
        ));
    }
    if let Some(message) = refused_line(&request.args, &cli, &request.input) {
        return Ok(usage(message));
    }
    if let Some(flag) = writes_a_file(&cli.command) {
        return Ok(usage(format!(
            "{flag} would write on the server's disk: send `-` (stdout) and write the file on the client's side (`pactlog` does)"
        )));
    }
    let write = writes(&cli.command);
    let holder = authorize(
        &shared,
        &headers,
        if write { Need::Write } else { Need::Read },
    )?;
    // The server's stderr is not the client's.
    cli.verbose = false;
    let recorded_by = match &holder {
        Some(h) if h.local => match request.recorded_by.as_deref().map(cli::recorder) {
            Some(Ok(name)) => name,
            Some(Err(message)) => return Ok(usage(format!("--recorded-by: {message}"))),
            None => None,
        },
        Some(h) => Some(h.name.clone()),
        None => None,
    };
    let input = request.input;
    // Waited for here, so that a command refused for a busy ledger never runs.
    let guard = if write {
        Guard::Alone(deadline.ledger_alone(&shared).await?)
    } else {
        Guard::Shared(deadline.ledger_shared(&shared).await?)
    };
    tokio::task::spawn_blocking(move || {
        let mut env = match Env::from_process() {
            Ok(env) => env,
            Err(message) => return usage(message),
        };
        env.recorded_by = recorded_by;
        let mut out = Vec::new();
        let result = match guard {
            Guard::Alone(mut ledger) => {
                let held = Held::Write {
                    ledger: RefCell::new(&mut ledger),
                    input: &input,
                };
                cli::run(&cli, &mut env, held, &mut out)
            }
            Guard::Shared(ledger) => cli::run(&cli, &mut env, Held::Read(&ledger), &mut out),
        };
        let stdout = String::from_utf8_lossy(&out).into_owned();
        let notes = env.notes.take();
        match result {
            Ok(()) | Err(CliError::BrokenPipe) => Reply {
                code: 0,
                stdout,
                error: None,
                notes,
            },
            Err(CliError::Failed { code, message }) => Reply {
                code,
                stdout,
                error: Some(message),
                notes,
            },
            Err(CliError::SledDamaged(reason)) => Reply {
                code: 6,
                stdout,
                error: Some(format!(
                    "sled's files are damaged ({reason}); restart the server to rebuild them from the journal"
                )),
                notes,
            },
        }
    })
    .await
    .map_err(|_| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the command stopped without an answer",
        )
    })
}

/// How a command holds the ledger: alone (a write) or shared (a read).
enum Guard {
    Alone(OwnedRwLockWriteGuard<Ledger>),
    Shared(OwnedRwLockReadGuard<Ledger>),
}

/// Runs a write command (`cite`) on the held ledger for the JSON API and answers as
/// the other writes do: `{"seq", "id", "head", …}` of the record it appended, 201.
pub(crate) async fn write_command(
    mut ledger: OwnedRwLockWriteGuard<Ledger>,
    holder: Option<super::tokens::Holder>,
    mut cli: Cli,
    if_match: Option<super::api::IfMatch>,
) -> Result<Response, Failure> {
    tokio::task::spawn_blocking(move || {
        let mut env =
            Env::from_process().map_err(|m| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, m))?;
        env.recorded_by = holder.map(|h| h.name);
        let before = ledger.head().seq;
        // `If-Match` is the command's `--expect-seq`, decided from the head it has now.
        let expect_seq = if_match.as_ref().map(|m| m.expected(before));
        match &mut cli.command {
            Command::Cite(args) => args.expect_seq = expect_seq,
            Command::Retract(args) => args.expect_seq = expect_seq,
            _ => {}
        }
        let input = ClientInput::default();
        let held = Held::Write {
            ledger: RefCell::new(&mut ledger),
            input: &input,
        };
        let mut out = Vec::new();
        match cli::run(&cli, &mut env, held, &mut out) {
            Ok(()) => {}
            Err(CliError::Failed { code: 5, .. })
                if expect_seq.is_some_and(|seq| seq != before) =>
            {
                return Err(if_match.expect("an expected head").failed(before))
            }
            Err(err) => return Err(Failure::from(err)),
        }
        let head = ledger.head().clone();
        let appended = head.seq - before;
        // A retry with the id of a record already there appended nothing: answer with that record.
        let given = match &cli.command {
            crate::cli::Command::Cite(args) => args.id.as_deref(),
            crate::cli::Command::Retract(args) => args.event_id.as_deref(),
            _ => None,
        };
        let seq = match given.and_then(|id| uuid::Uuid::parse_str(id).ok()) {
            Some(id) if appended == 0 => ledger.seq_of(&id).map_err(Failure::from)?,
            _ => None,
        }
        .unwrap_or(head.seq);
        let record = ledger.record(seq).map_err(Failure::from)?;
        let id = record.map(|r| r.event.id).unwrap_or_default();
        Ok(super::api::written(crate::append::Summary {
            appended,
            unchanged: u64::from(appended == 0),
            last: Some((id, seq)),
            head,
        }))
    })
    .await
    .map_err(|_| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the write stopped without an answer",
        )
    })?
}
