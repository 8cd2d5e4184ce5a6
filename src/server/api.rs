//! The JSON endpoints under `/api/v1/`: reads that run the CLI's own commands with
//! `--json` on the held ledger, writes through the CLI's write path, Bearer-token
//! auth, and errors as `{"error", "line"?, "field"?}` with the CLI's messages.

use std::io::{self, Write};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, RawPathParams, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use clap::CommandFactory;
use serde_json::{json, Map, Value};

use super::tokens::{self, Holder, Role};
use super::Shared;
use crate::append::{append_recorded_by, Clock};
use crate::cli::{self, Cli, CliError, Env};
use crate::error::{Error, Location};

/// Every route, with the limits and headers every response gets.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let options = shared.options.clone();
    // Writes keep their own deadlines (see [`Deadline`]): a write that has started
    // is never cut off, so a timeout never answers for a write that then commits.
    let writes = Router::new()
        .route("/api/v1/events", post(post_events))
        .route("/api/v1/retract/{id}", post(post_command))
        .route("/api/v1/cite/{id}", post(post_command))
        .route("/api/v1/cli", post(super::remote::run_command));
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/state", get(read_endpoint))
        .route("/api/v1/state/{provision}", get(read_endpoint))
        .route("/api/v1/history/{provision}", get(read_endpoint))
        .route("/api/v1/diff/{provision}", get(read_endpoint))
        .route("/api/v1/compare/{left}/{right}", get(read_endpoint))
        .route("/api/v1/blame/{provision}", get(read_endpoint))
        .route("/api/v1/log", get(read_endpoint))
        .route("/api/v1/export", get(read_endpoint))
        .route("/api/v1/list/{kind}", get(read_endpoint))
        .route("/api/v1/search", get(read_endpoint))
        .route("/api/v1/timeline", get(read_endpoint))
        .route("/api/v1/verify", post(read_endpoint))
        .merge(super::pages::routes())
        .fallback(not_found)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            options.request_timeout,
        ))
        .merge(writes)
        .layer(axum::extract::DefaultBodyLimit::disable())
        // Outside the limits, so that their refusals are said as JSON too.
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            errors_as_json,
        ))
        .layer(axum::middleware::from_fn(close_after_refused_body))
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(
            tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(super::pages::API_CSP),
            ),
        )
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .with_state(shared)
}

/// A failed request: its status and the JSON body `{"error", "line"?, "field"?}`.
pub(crate) struct Failure {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }

    /// A 500: the server failed, not the request. The client reads `public`, which
    /// names no file or folder of the server's; the detail (`detail`, which may) goes
    /// to the server's log (its stderr), for whoever runs it.
    pub(crate) fn internal(public: &str, detail: &str) -> Failure {
        eprintln!("pactlog: {public}: {}", detail.replace(['\n', '\r'], " "));
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{public}; the server's log says more"),
        )
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        // One line, whatever the message quotes, as on the command line.
        let message = in_body_terms(&self.message.replace(['\n', '\r'], " "));
        if let Some(line) = line_of(&message) {
            body.insert("line".into(), line.into());
        }
        if let Some(field) = field_of(&message) {
            body.insert("field".into(), field.into());
        }
        body.insert("error".into(), message.into());
        let mut response = (self.status, axum::Json(Value::Object(body))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"pactlog\""),
            );
        }
        response
    }
}

/// A message about the request body said in the body's terms: the CLI's location
/// `body:3` is `line 3` (leading the message, or naming another line in it), and
/// `body: ` (the one object of a body) goes.
fn in_body_terms(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("body: ") {
        return rest.to_string();
    }
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find("body:") {
        let after = &rest[start + "body:".len()..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let standalone = !rest[..start].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        out.push_str(&rest[..start]);
        if digits > 0 && standalone {
            out.push_str("line ");
            out.push_str(&after[..digits]);
        } else {
            out.push_str("body:");
            out.push_str(&after[..digits]);
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// The line of the body an error names (`line 3: …`).
fn line_of(message: &str) -> Option<u64> {
    let rest = message.strip_prefix("line ")?;
    rest.split(':').next()?.parse().ok()
}

/// The field an error names (``field `status`: …``).
fn field_of(message: &str) -> Option<String> {
    let rest = &message[message.find("field `")? + "field `".len()..];
    Some(rest[..rest.find('`')?].to_string())
}

/// The HTTP status of a CLI exit code.
fn status_of(code: u8) -> StatusCode {
    match code {
        2 | 3 => StatusCode::BAD_REQUEST,
        4 => StatusCode::NOT_FOUND,
        5 => StatusCode::CONFLICT,
        7 => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<CliError> for Failure {
    fn from(err: CliError) -> Failure {
        match err {
            // The server's own failure: its files, its ledger's integrity. Said without
            // the paths its message may hold (see [`Failure::internal`]).
            CliError::Failed { code, message }
                if status_of(code) == StatusCode::INTERNAL_SERVER_ERROR =>
            {
                let public = match code {
                    1 => "the server could not read or write one of its files",
                    6 => "the server's ledger failed an integrity check (its journal or its records are damaged); whoever runs the server can recover it (README: \"Recovering a damaged journal\")",
                    _ => "the command failed on the server",
                };
                Failure::internal(public, &message)
            }
            CliError::Failed { code, message } => Failure::new(status_of(code), message),
            CliError::BrokenPipe => Failure::new(StatusCode::BAD_REQUEST, "the client went away"),
            CliError::SledDamaged(reason) => Failure::internal(
                "the server's copy of the ledger in sled is damaged; restarting the server rebuilds it from the journal",
                &format!("sled's files are damaged ({reason})"),
            ),
        }
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Failure {
        Failure::from(CliError::from(err))
    }
}

/// Whether a path is one of the API's (`/api/…`), whose errors are JSON; every other
/// path is a page's (or no page), whose errors are pages, for a browser.
pub(crate) fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// Every error is said as JSON (`{"error": …}`) under `/api/`, and as a page
/// elsewhere: limits, timeouts, a method a route does not take (405, with its
/// `Allow` header) and axum's own refusals answer in plain text or with no body.
/// Their headers (`Allow`, `WWW-Authenticate`, `Connection`) are kept; what a
/// handler said as JSON or as a page is kept as it is.
async fn errors_as_json(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    let said = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
        });
    if said || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(shared.options.max_body).message,
        StatusCode::REQUEST_TIMEOUT => "the request took too long".to_string(),
        // axum adds `Allow` after this layer has run.
        StatusCode::METHOD_NOT_ALLOWED => {
            format!("{path} does not take {method}: the `Allow` header lists the methods it takes")
        }
        _ => {
            let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
            let text = String::from_utf8_lossy(&text).trim().to_string();
            if text.is_empty() {
                status.canonical_reason().unwrap_or("refused").to_string()
            } else {
                text
            }
        }
    };
    let failure = Failure::new(status, message);
    let mut said = match is_api(&path) {
        true => failure.into_response(),
        false => super::pages::failed(failure),
    };
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            said.headers_mut().insert(name.clone(), value.clone());
        }
    }
    said
}

/// A request with a body that is refused may be answered before its body is read
/// (a token, a media type or a size checked first), and hyper then closes the
/// connection after the answer: say so with `Connection: close`, so that a client
/// never sends its next request on a connection the server is closing (it would
/// read a reset instead of an answer).
async fn close_after_refused_body(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = request.headers();
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    let mut response = next.run(request).await;
    let status = response.status();
    if has_body && (status.is_client_error() || status.is_server_error()) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A path no route takes: under `/api/`, a JSON 404 naming no endpoint; elsewhere a
/// page saying there is no such page, with the pages there are.
async fn not_found(uri: axum::http::Uri) -> Response {
    match is_api(uri.path()) {
        true => Failure::new(StatusCode::NOT_FOUND, "no such endpoint").into_response(),
        false => super::pages::no_such_page(uri.path()),
    }
}

/// What a request needs its token for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    Read,
    Write,
}

/// The holder of the request's Bearer token, or why it may not go on: 401 without
/// a valid token (reads need none with `--public-read`), 403 for a reader writing.
pub(crate) fn authorize(
    shared: &Shared,
    headers: &HeaderMap,
    need: Need,
) -> Result<Option<Holder>, Failure> {
    let token = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => {
            let token = value
                .to_str()
                .ok()
                .and_then(bearer)
                .filter(|t| !t.is_empty());
            match token {
                Some(token) => Some(token),
                None => {
                    return Err(Failure::new(
                        StatusCode::UNAUTHORIZED,
                        "the Authorization header must be `Bearer TOKEN`",
                    ))
                }
            }
        }
    };
    let Some(token) = token else {
        if need == Need::Read && shared.options.public_read {
            return Ok(None);
        }
        return Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            match need {
                Need::Read => "reading needs a token (Authorization: Bearer TOKEN; see `pactlog token add`)",
                Need::Write => "writing needs a writer's token (Authorization: Bearer TOKEN; see `pactlog token add`)",
            },
        ));
    };
    if tokens::same(token, &shared.local_token) {
        return Ok(Some(Holder {
            name: "local".into(),
            role: Role::Writer,
            local: true,
        }));
    }
    let entries = tokens::list(&shared.path).map_err(|err| {
        Failure::internal(
            "the server cannot read its token file, so no token can be checked: whoever runs the server must mend it",
            &err.user_message(),
        )
    })?;
    let holder = tokens::check(&entries, token).ok_or_else(|| {
        Failure::new(
            StatusCode::UNAUTHORIZED,
            "the token is not one of this ledger's (unknown or revoked)",
        )
    })?;
    if need == Need::Write && holder.role == Role::Reader {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            format!(
                "token `{}` is a reader's: writing needs a writer's token",
                holder.name
            ),
        ));
    }
    Ok(Some(holder))
}

/// The token of an `Authorization: Bearer TOKEN` value; the scheme is
/// case-insensitive (RFC 9110 11.1), as `bearer` or `BEARER`.
pub(crate) fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once([' ', '\t'])?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

async fn health() -> Response {
    axum::Json(json!({ "ok": true })).into_response()
}

/// Where a request's arguments come from, which names them in its errors: the
/// query of a read (`unknown query parameter `x``) or the JSON body of a write
/// (`unknown field `x``, `field `outlet` is required`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Given {
    Query,
    Body,
}

impl Given {
    fn noun(self) -> &'static str {
        match self {
            Given::Query => "query parameter",
            Given::Body => "field",
        }
    }
}

/// The command line of a read: the command, flags from the query (`known_at=…` is
/// `--known-at …`; a flag without a value takes `true` or `false`), `--json`, and
/// positional arguments (from the path, or from the query parameters in
/// `positional`). Only the command's own flags are taken: never `--db`, `--out`,
/// `--html`.
pub(crate) fn command_line(
    command: &str,
    positionals: Vec<String>,
    query: Vec<(String, String)>,
    positional: &[&str],
    json_flag: bool,
) -> Result<Vec<String>, Failure> {
    arguments_line(
        Given::Query,
        command,
        positionals,
        query,
        positional,
        json_flag,
    )
}

/// The command line of `command` from named arguments `given` as the query or the
/// body: see [`command_line`]. From a body, every flag the command requires must be
/// there (`field `outlet` is required`), so that clap never answers in flags.
pub(crate) fn arguments_line(
    given: Given,
    command: &str,
    mut positionals: Vec<String>,
    named: Vec<(String, String)>,
    positional: &[&str],
    json_flag: bool,
) -> Result<Vec<String>, Failure> {
    const NOT_OVER_HTTP: &[&str] = &["json", "out", "html", "expect-seq"];
    let noun = given.noun();
    let cli = Cli::command();
    let sub = cli.find_subcommand(command).expect("the command exists");
    let allowed: Vec<&clap::Arg> = sub
        .get_arguments()
        .filter(|a| !a.is_global_set() && !a.is_positional())
        .filter(|a| a.get_long().is_some_and(|l| !NOT_OVER_HTTP.contains(&l)))
        .collect();
    let name_of = |arg: &clap::Arg| arg.get_long().unwrap_or_default().replace('-', "_");
    let mut line = vec!["pactlog".to_string(), command.to_string()];
    let mut seen = Vec::new();
    for (key, value) in named {
        if positional.contains(&key.as_str()) {
            positionals.push(value);
            continue;
        }
        let long = key.replace('_', "-");
        let Some(arg) = allowed.iter().find(|a| a.get_long() == Some(long.as_str())) else {
            if given == Given::Body && long == "expect-seq" {
                return Err(Failure::new(
                    StatusCode::BAD_REQUEST,
                    format!("field `{key}`: send the head the write expects as the header `If-Match: SEQ`"),
                ));
            }
            let known = allowed
                .iter()
                .map(|a| name_of(a))
                .chain(positional.iter().map(|p| p.to_string()))
                .collect::<Vec<_>>();
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "unknown {noun} `{key}`{}",
                    crate::error::suggest(&key, known.iter().map(String::as_str))
                ),
            ));
        };
        seen.push(arg.get_id().clone());
        if matches!(arg.get_action(), clap::ArgAction::SetTrue) {
            match value.as_str() {
                "" | "true" | "1" => line.push(format!("--{long}")),
                "false" | "0" => {}
                other => {
                    return Err(Failure::new(
                        StatusCode::BAD_REQUEST,
                        format!("{noun} `{key}`: `{other}` is not true or false"),
                    ))
                }
            }
        } else {
            line.push(format!("--{long}={value}"));
        }
    }
    if given == Given::Body {
        if let Some(missing) = allowed
            .iter()
            .find(|a| a.is_required_set() && !seen.contains(a.get_id()))
        {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                format!("field `{}` is required", name_of(missing)),
            ));
        }
    }
    if json_flag {
        line.push("--json".into());
    }
    line.push("--".into());
    line.extend(positionals);
    Ok(line)
}

/// Parses a command line as the CLI does; a usage error is a 400 with clap's message.
pub(crate) fn parse(line: Vec<String>) -> Result<Cli, Failure> {
    cli::parse(line.into_iter().map(Into::into).collect())
        .map_err(|err| Failure::new(StatusCode::BAD_REQUEST, cli::one_line_usage_error(&err)))
}

/// Runs a read command on the held ledger and answers with what it prints.
/// `path`: the path's parameters (name, value), the command's first positional
/// arguments; `positional`: the query parameters that give the others.
async fn read(
    shared: Arc<Shared>,
    headers: &HeaderMap,
    command: &str,
    path: Vec<(String, String)>,
    query: Vec<(String, String)>,
    positional: &[&str],
) -> Response {
    match read_inner(shared, headers, command, path, query, positional).await {
        Ok(response) => response,
        Err(failure) => failure.into_response(),
    }
}

async fn read_inner(
    shared: Arc<Shared>,
    headers: &HeaderMap,
    command: &str,
    path: Vec<(String, String)>,
    query: Vec<(String, String)>,
    positional: &[&str],
) -> Result<Response, Failure> {
    let (path_names, positionals): (Vec<String>, Vec<String>) = path.into_iter().unzip();
    authorize(&shared, headers, Need::Read)?;
    let json_flag = command != "export";
    let content_type = if command == "export" {
        match query
            .iter()
            .rev()
            .find(|(k, _)| k == "format")
            .map(|(_, v)| v.as_str())
        {
            None | Some("ndjson") => "application/x-ndjson",
            Some("csv") => "text/csv; charset=utf-8",
            Some("markdown") => "text/markdown; charset=utf-8",
            Some(_) => "application/json",
        }
    } else {
        "application/json"
    };
    let in_query_terms = |failure: Failure| Failure {
        message: in_request_terms(
            Given::Query,
            command,
            &Positionals {
                path: &path_names,
                query: positional,
            },
            &failure.message,
        ),
        ..failure
    };
    let cli = parse(command_line(
        command,
        positionals,
        query,
        positional,
        json_flag,
    )?)
    .map_err(in_query_terms)?;
    let output = run_streamed(shared, move |ledger, out| {
        let mut env = Env::from_process().map_err(CliError::usage)?;
        cli::run(&cli, &mut env, cli::Held::Read(ledger), out)
    })
    .await
    .map_err(in_query_terms)?;
    let mut response = Response::new(output);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}

/// The whole output of a command on the held ledger (for the pages).
pub(crate) async fn output(shared: Arc<Shared>, cli: Cli) -> Result<Vec<u8>, Failure> {
    tokio::task::spawn_blocking(move || {
        let ledger = shared.ledger.blocking_read();
        shared.running()?;
        let mut env = Env::from_process().map_err(CliError::usage)?;
        let mut out = Vec::new();
        cli::run(&cli, &mut env, cli::Held::Read(&ledger), &mut out)?;
        Ok::<_, CliError>(out)
    })
    .await
    .map_err(|_| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the command stopped without an answer",
        )
    })?
    .map_err(Failure::from)
}

/// How much output is gathered before the response starts streaming: below it, an
/// error still gets its own status.
const STREAM_AFTER: usize = 64 << 10;

/// What a command did before its output started to flow.
enum First {
    /// It finished: the whole output.
    Whole(Vec<u8>),
    /// It failed before any output left.
    Failed(CliError),
    /// Its output is flowing: the rest is read from the spool.
    Streaming(Spooled),
}

/// How far a command has written its spool: the bytes written, and whether it has
/// ended (and how).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Progress {
    written: u64,
    end: Option<Ended>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Ended {
    Done,
    Failed,
}

/// The reading side of a spool: the file (read at offsets, never through the
/// writer's position) and the writer's progress.
struct Spooled {
    file: std::fs::File,
    progress: tokio::sync::watch::Receiver<Progress>,
}

/// Output of a command on a blocking thread: buffered up to [`STREAM_AFTER`], then
/// written on to an unnamed temporary file (the spool) that the response reads at
/// the client's pace. The command never waits for the client, so it holds the
/// ledger only for as long as it computes: a client that stops reading holds
/// nothing but its connection and the spool's disk space.
struct Pipe {
    buffer: Vec<u8>,
    first: Option<tokio::sync::oneshot::Sender<First>>,
    spool: Option<(std::fs::File, tokio::sync::watch::Sender<Progress>)>,
}

impl Pipe {
    /// Writes the buffer to the spool (made, and announced, on the first call).
    fn spill(&mut self) -> io::Result<()> {
        if self.spool.is_none() {
            let file = tempfile::tempfile()?;
            let (progress, watched) = tokio::sync::watch::channel(Progress {
                written: 0,
                end: None,
            });
            let reader = Spooled {
                file: file.try_clone()?,
                progress: watched,
            };
            self.first
                .take()
                .expect("the first answer is sent once")
                .send(First::Streaming(reader))
                .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
            self.spool = Some((file, progress));
        }
        let (file, progress) = self.spool.as_mut().expect("made above");
        file.write_all(&self.buffer)?;
        let written = self.buffer.len() as u64;
        self.buffer.clear();
        if progress.is_closed() {
            // The client went away: the command may stop.
            return Err(io::Error::from(io::ErrorKind::BrokenPipe));
        }
        progress.send_modify(|p| p.written += written);
        Ok(())
    }

    /// The command ended: says how to whoever reads its output.
    fn end(mut self, result: Result<(), CliError>) {
        if let Some(first) = self.first.take() {
            let _ = first.send(match result {
                Ok(()) => First::Whole(std::mem::take(&mut self.buffer)),
                Err(err) => First::Failed(err),
            });
            return;
        }
        let end = match result {
            Ok(()) => self.spill().map_or(Ended::Failed, |()| Ended::Done),
            Err(_) => Ended::Failed,
        };
        if let Some((_, progress)) = &self.spool {
            progress.send_modify(|p| p.end = Some(end));
        }
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= STREAM_AFTER {
            self.spill()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The body that reads a spool as the command writes it, in chunks of up to
/// [`STREAM_AFTER`] bytes; an error after everything written was sent if the
/// command failed mid-way (the client sees the body cut short).
fn spool_body(spooled: Spooled) -> Body {
    use std::os::unix::fs::FileExt as _;
    let (chunks, body) = tokio::sync::mpsc::channel::<Result<Bytes, io::Error>>(2);
    tokio::spawn(async move {
        let Spooled { file, mut progress } = spooled;
        let mut sent = 0u64;
        loop {
            let now = *progress.borrow_and_update();
            if sent < now.written {
                let length = (now.written - sent).min(STREAM_AFTER as u64);
                let mut chunk = vec![0; length as usize];
                let read = file
                    .read_exact_at(&mut chunk, sent)
                    .map(|()| Bytes::from(chunk));
                sent += length;
                let failed = read.is_err();
                if chunks.send(read).await.is_err() || failed {
                    return;
                }
                continue;
            }
            match now.end {
                Some(Ended::Done) => return,
                Some(Ended::Failed) => {
                    let _ = chunks
                        .send(Err(io::Error::other("the command failed mid-way")))
                        .await;
                    return;
                }
                None if progress.changed().await.is_err() => return,
                None => {}
            }
        }
    });
    Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(body))
}

/// Runs `command` on a blocking thread with the ledger shared, and gives its output
/// as a body: whole when it is small or failed early, streamed from a spool
/// otherwise (see [`Pipe`]; an error after the stream started cuts the body short,
/// so the client sees it incomplete).
async fn run_streamed(
    shared: Arc<Shared>,
    command: impl FnOnce(&crate::store::Ledger, &mut dyn Write) -> Result<(), CliError> + Send + 'static,
) -> Result<Body, Failure> {
    let (first_tx, first_rx) = tokio::sync::oneshot::channel();
    tokio::task::spawn_blocking(move || {
        let ledger = shared.ledger.blocking_read();
        let mut pipe = Pipe {
            buffer: Vec::new(),
            first: Some(first_tx),
            spool: None,
        };
        let result = shared.running().and_then(|()| command(&ledger, &mut pipe));
        drop(ledger);
        pipe.end(result);
    });
    match first_rx.await {
        Ok(First::Whole(bytes)) => Ok(Body::from(bytes)),
        Ok(First::Failed(err)) => Err(Failure::from(err)),
        Ok(First::Streaming(spooled)) => Ok(spool_body(spooled)),
        Err(_) => Err(Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the command stopped without an answer",
        )),
    }
}

/// The command an `/api/v1/{command}/…` route names.
fn route_command(route: &MatchedPath) -> String {
    route
        .as_str()
        .split('/')
        .nth(3)
        .unwrap_or_default()
        .to_string()
}

/// Every read endpoint: the command is the route's third segment
/// (`/api/v1/{command}/…`), the path's parameters its positional arguments in order,
/// and `q` (search) or every `provision` (timeline) more of them.
async fn read_endpoint(
    State(shared): State<Arc<Shared>>,
    route: MatchedPath,
    params: Result<RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let command = route_command(&route);
    let from_query: &[&str] = match command.as_str() {
        "search" => &["q"],
        "timeline" => &["provision"],
        _ => &[],
    };
    let (path, query) =
        match path_params(params).and_then(|path| Ok((path, query_pairs(query.as_deref())?))) {
            Ok(both) => both,
            Err(failure) => return failure.into_response(),
        };
    read(shared, &headers, &command, path, query, from_query).await
}

/// What an `If-Match` header asks of the head: the condition of RFC 9110 13.1.1
/// holds when the head is one of `seqs`. A write answers the head as its ETag
/// (`"68"`); `If-Match` lists ETags (`"12", "13"`), or seqs (`68`, as
/// `--expect-seq`), or is `*` (any head: the ledger always has one, so no
/// condition at all).
#[derive(Clone, Debug)]
pub(crate) struct IfMatch {
    /// The heads it accepts: each strong ETag that is one this server gives, and
    /// each seq.
    seqs: Vec<u64>,
}

impl IfMatch {
    /// The seq to hold the write to (`--expect-seq`) when the head is `head`: the
    /// head itself when the condition holds; otherwise one it is not, so that the
    /// write is refused once it is found to write something (a retry of events
    /// already there still succeeds, as under `--expect-seq`).
    pub(crate) fn expected(&self, head: u64) -> u64 {
        match self.seqs.contains(&head) {
            true => head,
            false => self.seqs.first().copied().unwrap_or(u64::MAX),
        }
    }

    /// The 412 of a write whose `If-Match` does not hold at `head`.
    pub(crate) fn failed(&self, head: u64) -> Failure {
        let listed = match self.seqs.as_slice() {
            [one] => one.to_string(),
            many => format!(
                "any of {}",
                many.iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        Failure::new(
            StatusCode::PRECONDITION_FAILED,
            format!(
                "the ledger head is at seq {head}, not {listed} (If-Match): another write came first; nothing was written"
            ),
        )
    }
}

/// One member of an `If-Match` list.
#[derive(Debug, PartialEq)]
enum Tag<'a> {
    /// `"…"`: compared with the head's ETag character by character.
    Strong(&'a str),
    /// `W/"…"`: never matches (If-Match compares strongly).
    Weak(&'a str),
    /// `68`: a seq, as `--expect-seq` takes it.
    Seq(&'a str),
}

/// The members of an `If-Match` list (RFC 9110 5.6.1: commas, optional white
/// space, empty members ignored); an entity-tag may hold commas inside its quotes.
/// The error says what is wrong where.
fn if_match_tags(text: &str) -> Result<Vec<Tag<'_>>, String> {
    let mut tags = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return Ok(tags);
        }
        let (weak, quoted) = match rest.strip_prefix("W/") {
            Some(after) => (true, after),
            None => (false, rest),
        };
        let (tag, after) = if let Some(inside) = quoted.strip_prefix('"') {
            let Some(close) = inside.find('"') else {
                return Err(format!("`{rest}` opens a quote it does not close"));
            };
            let opaque = &inside[..close];
            if let Some(c) = opaque.chars().find(|c| *c == ' ' || c.is_control()) {
                return Err(format!(
                    "`\"{opaque}\"` holds {}, which no ETag holds",
                    if c == ' ' {
                        "a space".to_string()
                    } else {
                        format!("the control character U+{:04X}", c as u32)
                    }
                ));
            }
            let tag = match weak {
                true => Tag::Weak(&rest[..close + 4]),
                false => Tag::Strong(&rest[..close + 2]),
            };
            (tag, &inside[close + 1..])
        } else if weak {
            return Err(format!(
                "`{rest}`: a weak ETag is `W/` and a quoted tag, such as `W/\"68\"`"
            ));
        } else {
            let end = rest.find([',', ' ', '\t']).unwrap_or(rest.len());
            (Tag::Seq(&rest[..end]), &rest[end..])
        };
        let after_spaces = after.trim_start_matches([' ', '\t']);
        if !(after_spaces.is_empty() || after_spaces.starts_with(',')) {
            return Err(format!(
                "`{}` follows an ETag without a comma between them",
                after_spaces
                    .split(',')
                    .next()
                    .unwrap_or(after_spaces)
                    .trim()
            ));
        }
        tags.push(tag);
        rest = after_spaces;
    }
}

/// `If-Match` (RFC 9110 13.1.1): `*`, or a list of ETags (`"68"`, the head a write
/// answers; the condition holds if any is the head's, compared character by
/// character, so `"068"` or `"+68"` never matches `"68"`) and seqs (`68`, as
/// `--expect-seq`, digits alone); `None` when there is no condition. Several
/// `If-Match` lines are one list (RFC 9110 5.3).
///
/// A list that can hold for no head (only weak ETags such as `W/"12"`, which never
/// match strongly, or tags that are no ETag this server gives) is a 412, not a 400:
/// it is a well-formed If-Match whose condition is false whatever the head (13.1.1:
/// "respond with 412 if the condition evaluates to false"). It is refused from the
/// headers, before the ledger is looked at: nothing is written. A malformed one is a
/// 400 naming the header.
fn if_match(headers: &HeaderMap) -> Result<Option<IfMatch>, Failure> {
    let mut lines = Vec::new();
    for value in headers.get_all(header::IF_MATCH) {
        let Ok(line) = value.to_str() else {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "If-Match holds bytes that are not ASCII: send `*`, ETags such as `\"68\"` (the head a write answers) or seqs such as `68`",
            ));
        };
        lines.push(line.trim());
    }
    if lines.is_empty() {
        return Ok(None);
    }
    let text = lines.join(", ");
    let malformed = |why: String| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            format!(
                "If-Match: {why}; send `*`, or one or more ETags separated by commas (`\"68\"`, the head a write answers as its ETag), or the seq the write expects (`68`)"
            ),
        )
    };
    // `*`: any current head (RFC 9110 13.1.1), and the ledger always has one.
    if text == "*" {
        return Ok(None);
    }
    let tags = if_match_tags(&text).map_err(malformed)?;
    if tags.is_empty() {
        return Err(malformed("the header is empty".into()));
    }
    let mut seqs = Vec::new();
    let (mut weak, mut foreign) = (Vec::new(), Vec::new());
    for tag in tags {
        match tag {
            Tag::Seq("*") => {
                return Err(malformed(format!(
                    "`{text}`: `*` stands alone, never in a list"
                )))
            }
            Tag::Seq(seq) => {
                seqs.push(crate::chain::parse_seq(seq).map_err(malformed)?);
            }
            Tag::Weak(tag) => weak.push(tag),
            // The ETags a write answers: a seq in its own decimal form, in quotes.
            Tag::Strong(tag) => match crate::chain::parse_seq(&tag[1..tag.len() - 1]) {
                Ok(seq) if tag[1..tag.len() - 1] == seq.to_string() => seqs.push(seq),
                _ => foreign.push(tag),
            },
        }
    }
    if !seqs.is_empty() {
        return Ok(Some(IfMatch { seqs }));
    }
    let why = match (weak.as_slice(), foreign.as_slice()) {
        ([one], []) => format!(
            "`{one}` is a weak ETag, and If-Match compares ETags strongly (RFC 9110 13.1.1), so it never matches"
        ),
        (_, []) => format!(
            "{} are weak ETags, and If-Match compares ETags strongly (RFC 9110 13.1.1), so none ever matches",
            weak.join(", ")
        ),
        ([], [one]) => format!(
            "`{one}` is not an ETag this server gives (the head's seq in quotes, such as `\"68\"`), and ETags are compared character by character (RFC 9110 8.8.3.2), so it never matches"
        ),
        _ => format!(
            "none of `{text}` can match: this server's ETags are the head's seq in quotes (such as `\"68\"`), compared character by character, and a weak ETag never matches (RFC 9110 13.1.1)"
        ),
    };
    Err(Failure::new(
        StatusCode::PRECONDITION_FAILED,
        format!(
            "If-Match: {why}: send the head as `\"SEQ\"` or `SEQ` (the ETag a write answers); nothing was written"
        ),
    ))
}

/// How much of a refused body is read and thrown away before the refusal (a 413 past
/// `--max-body`, a 401, 403, 415 or 400 decided from the headers), so that the
/// client, still sending, reads the answer instead of a reset connection.
const DRAIN_AT_MOST: usize = 16 << 20;

/// Reads and drops the rest of `body`, up to [`DRAIN_AT_MOST`] bytes past `read`,
/// then gives back `failure` to answer with.
async fn drained(body: Body, mut read: usize, failure: Failure) -> Failure {
    use http_body_util::BodyExt as _;
    let mut body = body;
    while let Some(Ok(frame)) = body.frame().await {
        read += frame.data_ref().map_or(0, |data| data.len());
        if read > DRAIN_AT_MOST {
            break;
        }
    }
    failure
}

/// The 413 of a body over `max` bytes, said to an HTTP client: the limit, and that it
/// is the server's (`serve --max-body`, which the client cannot set).
fn too_large(max: usize) -> Failure {
    Failure::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the request body is larger than this server takes: at most {} (a setting of the server, not of the request); nothing was written: send less at a time (several requests), or ask whoever runs the server to take more",
            crate::error::count(max as u64, "byte", "bytes")
        ),
    )
}

/// The request body, within `max` bytes (`--max-body`; 413 beyond).
pub(crate) async fn body_bytes(body: Body, max: usize) -> Result<Bytes, Failure> {
    use http_body_util::BodyExt as _;
    let mut body = body;
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| {
            Failure::new(
                StatusCode::BAD_REQUEST,
                format!("the request body could not be read: {err}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if bytes.len() + data.len() > max {
            let refused = too_large(max);
            return Err(drained(body, bytes.len() + data.len(), refused).await);
        }
        bytes.extend_from_slice(&data);
    }
    Ok(Bytes::from(bytes))
}

/// What the headers of a write decide and its body (within `--max-body`), both
/// received by the deadline; or the headers' refusal once the body is drained (see
/// [`DRAIN_AT_MOST`]).
async fn checked_body<T>(
    shared: &Shared,
    deadline: &Deadline,
    body: Body,
    checked: Result<T, Failure>,
) -> Result<(T, Bytes), Failure> {
    deadline
        .receive(async {
            match checked {
                Ok(value) => Ok((value, body_bytes(body, shared.options.max_body).await?)),
                Err(failure) => Err(drained(body, 0, failure).await),
            }
        })
        .await
}

/// What every write's headers decide: who writes (its token) and the head it
/// expects (`If-Match`).
fn write_headers(
    shared: &Shared,
    headers: &HeaderMap,
) -> Result<(Option<Holder>, Option<IfMatch>), Failure> {
    Ok((authorize(shared, headers, Need::Write)?, if_match(headers)?))
}

/// How long a write may wait before it starts: its body must arrive, then the
/// ledger must be its alone, within `--request-timeout` of its headers. Past it, the
/// write is refused and nothing is written; once it has the ledger, it runs to its
/// end whatever the clock says (so a timeout never answers for a write that then
/// commits).
pub(crate) struct Deadline {
    at: tokio::time::Instant,
    limit: std::time::Duration,
}

impl Deadline {
    /// `--request-timeout` from now (the request's headers have just arrived).
    pub(crate) fn after_headers(shared: &Shared) -> Deadline {
        let limit = shared.options.request_timeout;
        Deadline {
            at: tokio::time::Instant::now() + limit,
            limit,
        }
    }

    /// `receive` (reading the request's body), or a 408 if the body has not arrived
    /// by the deadline.
    pub(crate) async fn receive<T>(
        &self,
        receive: impl std::future::Future<Output = Result<T, Failure>>,
    ) -> Result<T, Failure> {
        tokio::time::timeout_at(self.at, receive)
            .await
            .unwrap_or_else(|_| {
                Err(Failure::new(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the request's body did not arrive within {} s; nothing was written",
                        self.limit.as_secs()
                    ),
                ))
            })
    }

    /// The ledger to this write alone, or a 503 if other requests held it past the
    /// deadline (nothing was written: the request may be sent again).
    pub(crate) async fn ledger_alone(
        &self,
        shared: &Shared,
    ) -> Result<tokio::sync::OwnedRwLockWriteGuard<crate::store::Ledger>, Failure> {
        self.held(shared, shared.ledger.clone().write_owned()).await
    }

    /// The ledger shared with other reads, or a 503 as [`Deadline::ledger_alone`].
    pub(crate) async fn ledger_shared(
        &self,
        shared: &Shared,
    ) -> Result<tokio::sync::OwnedRwLockReadGuard<crate::store::Ledger>, Failure> {
        self.held(shared, shared.ledger.clone().read_owned()).await
    }

    /// The lock, once `lock` has it and the server is not stopping (a 503 either way
    /// past the deadline or once stopping, nothing written).
    async fn held<G>(
        &self,
        shared: &Shared,
        lock: impl std::future::Future<Output = G>,
    ) -> Result<G, Failure> {
        let guard = tokio::time::timeout_at(self.at, lock).await.map_err(|_| {
            Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the ledger was busy with other requests for {} s; nothing was written: send the request again",
                    self.limit.as_secs()
                ),
            )
        })?;
        shared.running()?;
        Ok(guard)
    }
}

/// What a write answers: 201 when it wrote (200 when everything was already in the
/// ledger, or an NDJSON body held no event), `{"seq", "id", "head", "appended",
/// "unchanged"}` (`seq` and `id` of the last event; null when there was none) and
/// the head as ETag.
pub(crate) fn written(summary: crate::append::Summary) -> Response {
    let (id, seq) = summary.last.unzip();
    let status = if summary.appended > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = (
        status,
        axum::Json(json!({
            "seq": seq,
            "id": id,
            "head": { "seq": summary.head.seq, "hash": summary.head.hash },
            "appended": summary.appended,
            "unchanged": summary.unchanged,
        })),
    )
        .into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", summary.head.seq)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// Runs a write on a blocking thread with the ledger to itself (`ledger`, from
/// [`Deadline::ledger_alone`]), recorded by the token's holder, held to the head
/// `If-Match` expects (`command` is given it as `--expect-seq`). A conflict with
/// `If-Match` is a 412.
async fn write(
    mut ledger: tokio::sync::OwnedRwLockWriteGuard<crate::store::Ledger>,
    holder: Option<Holder>,
    if_match: Option<IfMatch>,
    command: impl FnOnce(
            &mut crate::store::Ledger,
            &Env,
            Option<u64>,
        ) -> Result<crate::append::Summary, Error>
        + Send
        + 'static,
) -> Result<Response, Failure> {
    tokio::task::spawn_blocking(move || {
        let mut env =
            Env::from_process().map_err(|m| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, m))?;
        // The token's name is who recorded it.
        env.recorded_by = holder.map(|h| h.name);
        let head = ledger.head().seq;
        let expect_seq = if_match.as_ref().map(|m| m.expected(head));
        match command(&mut ledger, &env, expect_seq) {
            Ok(summary) => Ok(written(summary)),
            Err(Error::Conflict(_)) if expect_seq.is_some_and(|seq| seq != head) => {
                Err(if_match.expect("an expected head").failed(head))
            }
            Err(err) => Err(Failure::from(err)),
        }
    })
    .await
    .unwrap_or_else(|_| {
        Err(Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the write stopped without an answer",
        ))
    })
}

/// A body is read as UTF-8 (RFC 8259 8.1: JSON exchanged between systems is
/// UTF-8): a `Content-Type` naming another charset (`charset=latin1`) is a 415
/// naming it, rather than bytes read as something they are not.
pub(crate) fn utf8_charset(headers: &HeaderMap) -> Result<(), Failure> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("");
    for parameter in text.split(';').skip(1) {
        let Some((name, charset)) = parameter.split_once('=') else {
            continue;
        };
        let charset = charset.trim().trim_matches('"');
        if name.trim().eq_ignore_ascii_case("charset")
            && !charset.eq_ignore_ascii_case("utf-8")
            && !charset.eq_ignore_ascii_case("utf8")
        {
            return Err(Failure::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Content-Type charset `{charset}`: the body must be UTF-8 (send `charset=utf-8`, or no charset)"),
            ));
        }
    }
    Ok(())
}

/// Whether a `POST /api/v1/events` body holds many events (NDJSON) or one (JSON),
/// from its `Content-Type`; 415 for any other, or for a charset other than UTF-8.
fn many_events(headers: &HeaderMap) -> Result<bool, Failure> {
    utf8_charset(headers)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match content_type.as_deref() {
        None | Some("application/json") => Ok(false),
        Some("application/x-ndjson" | "application/ndjson" | "application/jsonl") => Ok(true),
        Some(other) => Err(Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type `{other}`: send application/json (one event) or application/x-ndjson (many)"),
        )),
    }
}

/// `POST /api/v1/events`: one event (`application/json`, as `append -`) or many
/// (`application/x-ndjson`, as `import -`: all or nothing).
async fn post_events(State(s): State<Arc<Shared>>, h: HeaderMap, body: Body) -> Response {
    post_events_inner(s, h, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn post_events_inner(
    shared: Arc<Shared>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Failure> {
    let deadline = Deadline::after_headers(&shared);
    let checked = write_headers(&shared, &headers)
        .and_then(|(holder, if_match)| Ok((holder, if_match, many_events(&headers)?)));
    let ((holder, if_match, many), bytes) = checked_body(&shared, &deadline, body, checked).await?;
    let ledger = deadline.ledger_alone(&shared).await?;
    write(ledger, holder, if_match, move |ledger, env, expect_seq| {
        if many {
            refuse_an_array(&bytes)?;
            let items = crate::import::items("body".into(), Box::new(io::Cursor::new(bytes)));
            let mut new_id = || env.new_id();
            let clock = Clock {
                now: env.now,
                new_id: &mut new_id,
            };
            // An empty body imports nothing, as `pactlog import` of an empty file.
            append_recorded_by(ledger, items, clock, expect_seq, env.recorded_by.as_deref())
        } else {
            let at = Location("body".into());
            let text = body_text(bytes)?;
            if crate::import::holds_no_event(&text) {
                return Err(Error::invalid(
                    &at,
                    "no event in the body: send one JSON object (an empty NDJSON body, application/x-ndjson, imports nothing)",
                ));
            }
            let object = crate::import::parse_object(
                &text,
                &at,
                "for several events send NDJSON (`Content-Type: application/x-ndjson`)",
            )?;
            cli::append::append_to(ledger, env, object, at, expect_seq)
        }
    })
    .await
}

/// An NDJSON body holds one JSON object per line: a line that opens a JSON array
/// (which `import` takes from a file) is refused, naming the line.
fn refuse_an_array(bytes: &[u8]) -> Result<(), Error> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(n, line)| (n + 1, line.trim_ascii()))
        .find(|(_, line)| !line.is_empty() && !line.starts_with(b"#"));
    match first {
        Some((line, text)) if text.starts_with(b"[") => Err(Error::invalid(
            &Location::line("body", line),
            "expected one JSON object per line, found an array (send application/json for one event, or each object on its own line)",
        )),
        _ => Ok(()),
    }
}

/// `POST /api/v1/retract/{id}` and `POST /api/v1/cite/{id}`: a JSON body whose fields
/// are the command's flags (`reason`, `occurred_at`…; `outlet`, `grade`…), run as
/// `pactlog retract ID` or `pactlog cite ID` on the held ledger; `If-Match` is
/// `--expect-seq`.
async fn post_command(
    State(shared): State<Arc<Shared>>,
    route: MatchedPath,
    params: RawPathParams,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let command = route_command(&route);
    let id: Vec<String> = params.iter().map(|(_, value)| value.to_string()).collect();
    post_command_inner(shared, &command, id, headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn post_command_inner(
    shared: Arc<Shared>,
    command: &str,
    id: Vec<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Failure> {
    let deadline = Deadline::after_headers(&shared);
    let checked = write_headers(&shared, &headers)
        .and_then(|written| utf8_charset(&headers).map(|()| written));
    let ((holder, if_match), bytes) = checked_body(&shared, &deadline, body, checked).await?;
    let fields = body_fields(bytes)?;
    let line = arguments_line(Given::Body, command, id, fields, &[], false)?;
    let cli = parse(line)?;
    let ledger = deadline.ledger_alone(&shared).await?;
    super::remote::write_command(ledger, holder, cli, if_match)
        .await
        .map_err(|failure| Failure {
            message: in_command_body_terms(command, &failure.message),
            ..failure
        })
}

/// A message of `cite` or `retract` said in the terms of their JSON body: without
/// the CLI's location `cite: `, naming the path's `id` where the command names its
/// argument (`EVENT`, `ID`) and the body's field where it names its flag (`--grade`
/// is `grade`, `--source-outlet` is `source_outlet`).
fn in_command_body_terms(command: &str, message: &str) -> String {
    let message = message.strip_prefix("cite: ").unwrap_or(message);
    let path = ["id".to_string()];
    let positionals = Positionals {
        path: &path,
        query: &[],
    };
    in_request_terms(Given::Body, command, &positionals, message)
}

/// Where a request gives a command's positional arguments, in their order: the
/// path's parameters by name, then the query parameters named.
pub(crate) struct Positionals<'a> {
    pub(crate) path: &'a [String],
    pub(crate) query: &'a [&'a str],
}

/// A message of the CLI said in the terms of a request: each flag of `command` it
/// names (`--at`, clap's `'--min-grade <XN>'`, `--format csv`) is the query
/// parameter or body field that gives it (``query parameter `at` ``, ``field
/// `format=csv` ``), and each positional argument (`TEXT`, clap's `<TEXT>`) the path
/// or query parameter that gives it (see [`Positionals`]).
pub(crate) fn in_request_terms(
    given: Given,
    command: &str,
    given_as: &Positionals,
    message: &str,
) -> String {
    let cli = Cli::command();
    let Some(sub) = cli.find_subcommand(command) else {
        return message.to_string();
    };
    let noun = given.noun();
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '-';
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find("--") {
        let (before, flag) = rest.split_at(start);
        out.push_str(before);
        let long_end = flag[2..]
            .find(|c: char| !is_name(c))
            .map_or(flag.len(), |n| n + 2);
        let long = &flag[2..long_end];
        let arg = sub.get_arguments().find(|a| a.get_long() == Some(long));
        let at_boundary = !before.ends_with(is_name);
        let Some(arg) = arg.filter(|_| at_boundary && !long.is_empty()) else {
            out.push_str(&flag[..long_end.max(2)]);
            rest = &flag[long_end.max(2)..];
            continue;
        };
        let mut end = long_end;
        // clap's value name after it: `--min-grade <XN>`.
        if flag[end..].starts_with(" <") {
            if let Some(close) = flag[end..].find('>') {
                end += close + 1;
            }
        }
        let name = long.replace('-', "_");
        let mut named = format!("{noun} `{name}`");
        // One of the flag's values after it: `--format csv` is `format=csv`.
        if let Some(after) = flag[end..].strip_prefix(' ') {
            let value = &after[..after.find(|c: char| !is_name(c)).unwrap_or(after.len())];
            if !value.is_empty()
                && arg
                    .get_possible_values()
                    .iter()
                    .any(|p| p.get_name() == value)
            {
                named = format!("{noun} `{name}={value}`");
                end += 1 + value.len();
            }
        }
        // Quoted by clap (`'--x <X>'`) or in backticks: the name is quoted already.
        if let Some(quote) = out.chars().last().filter(|c| *c == '\'' || *c == '`') {
            if flag[end..].starts_with(quote) {
                out.pop();
                end += 1;
            }
        }
        out.push_str(&named);
        rest = &flag[end..];
    }
    out.push_str(rest);
    let positionals = sub.get_arguments().filter(|a| a.is_positional());
    let names = (given_as
        .path
        .iter()
        .map(|name| ("path parameter", name.as_str())))
    .chain(given_as.query.iter().map(|name| ("query parameter", *name)));
    for (arg, (noun, name)) in positionals.zip(names) {
        // Its value name, as clap and the command's own messages say it (`TEXT`;
        // `PROVISIONS` in usage, `PROVISION` for one of them).
        let value_name = arg
            .get_value_names()
            .and_then(|v| v.first())
            .map_or_else(|| arg.get_id().as_str().to_uppercase(), |v| v.to_string());
        let one = value_name.strip_suffix('S').unwrap_or(&value_name);
        let named = format!("{noun} `{name}`");
        for shown in [format!("<{value_name}>..."), format!("<{value_name}>")] {
            out = out.replace(&shown, &named);
        }
        for shown in [value_name.as_str(), one] {
            out = replace_word(&out, shown, &named);
        }
    }
    out
}

/// `text` with every `word` that stands as a word (not inside another word or a
/// quoted value) replaced by `with`.
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let is_name = |c: char| c.is_alphanumeric() || c == '_' || c == '-' || c == '`';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(word) {
        let (before, after) = (&rest[..start], &rest[start + word.len()..]);
        let alone = !before.ends_with(is_name) && !after.starts_with(is_name);
        out.push_str(before);
        out.push_str(if alone { with } else { word });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The pairs of a query, each name and value percent-decoded and `+` as a space,
/// as a form sends them; a name or value that is not UTF-8 once decoded is a 400
/// naming it, never read with replacement characters in its place.
pub(crate) fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, Failure> {
    let mut pairs = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded_name = percent_decoded(name).map_err(|byte| {
            Failure::new(
                StatusCode::BAD_REQUEST,
                format!("the query parameter named `{name}` is not UTF-8 once percent-decoded (byte {byte}); send names and values as UTF-8, percent-encoded"),
            )
        })?;
        let decoded_value = percent_decoded(value).map_err(|byte| {
            Failure::new(
                StatusCode::BAD_REQUEST,
                format!("query parameter `{decoded_name}`: `{value}` is not UTF-8 once percent-decoded (byte {byte}); send the value as UTF-8, percent-encoded"),
            )
        })?;
        pairs.push((decoded_name, decoded_value));
    }
    Ok(pairs)
}

/// `text` percent-decoded, `+` as a space; or the 1-based position of the first
/// byte that is not UTF-8.
fn percent_decoded(text: &str) -> Result<String, usize> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => decoded.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    decoded.push((high * 16 + low) as u8);
                    i += 3;
                    continue;
                }
                _ => decoded.push(b'%'),
            },
            other => decoded.push(other),
        }
        i += 1;
    }
    String::from_utf8(decoded).map_err(|e| e.utf8_error().valid_up_to() + 1)
}

/// The path's parameters (name, value), percent-decoded; one that is not UTF-8 once
/// decoded is a 400 naming it (axum says it in plain text).
pub(crate) fn path_params(
    params: Result<RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
) -> Result<Vec<(String, String)>, Failure> {
    match params {
        Ok(params) => Ok(params
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()),
        Err(rejection) => Err(path_failure(&rejection.body_text())),
    }
}

/// A refusal of the path's parameters (axum's `Invalid UTF-8 in `provision``) said
/// as the API says it.
pub(crate) fn path_failure(text: &str) -> Failure {
    let key = text.split('`').nth(1).filter(|_| text.contains("UTF-8"));
    Failure::new(
        StatusCode::BAD_REQUEST,
        match key {
            Some(key) => format!("path parameter `{key}` is not UTF-8 once percent-decoded; send it as UTF-8, percent-encoded"),
            None => format!("the path: {text}"),
        },
    )
}

/// A body as text: UTF-8, or an error naming the first bad byte.
fn body_text(bytes: Bytes) -> Result<String, Error> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        Error::invalid(
            &Location("body".into()),
            format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to() + 1),
        )
    })
}

/// The fields of a JSON body as `--flag value` pairs (every value a string); a
/// body with nothing in it (or only blank and `#` lines) gives none, so that the
/// refusal names the first field required.
fn body_fields(bytes: Bytes) -> Result<Vec<(String, String)>, Failure> {
    let text = body_text(bytes)?;
    if crate::import::holds_no_event(&text) {
        return Ok(Vec::new());
    }
    let object = crate::import::parse_object(&text, &Location("body".into()), "send one")?;
    let mut fields = Vec::new();
    for (key, value) in object {
        match value {
            Value::String(text) => fields.push((key, text)),
            other => {
                return Err(Failure::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "field `{key}`: expected a string, found {}",
                        crate::event::json_kind(&other)
                    ),
                ))
            }
        }
    }
    Ok(fields)
}
