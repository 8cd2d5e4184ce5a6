//! The CLI as a client of `pactlog serve`: with `PACTLOG_SERVER=URL` (and
//! `PACTLOG_TOKEN`), or when the ledger folder holds the runtime file of a server
//! on this machine, a command is sent to the server as its command line and the
//! server runs it on the ledger it holds; the client prints what came back, exactly
//! what the command prints locally, and exits with its code.

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use super::remote::{runs_locally, writes, Reply, Request};
use super::{Runtime, RUNTIME_FILE};
use crate::cli::{Cli, ClientInput, Command, Env};

/// Where a command goes.
struct Target {
    url: String,
    token: Option<String>,
    /// Found through the runtime file: if the server is gone, the command runs locally.
    local: bool,
    /// How it was found (for `-v`).
    via: String,
}

/// Where a command goes: `Ok(None)` to run it here; an error (exit 2) when
/// `PACTLOG_SERVER` names a server and `--db` (or `PACTLOG_DB`) a ledger that is not
/// the one that server holds on this machine: the command never writes elsewhere
/// than the user named.
fn target(cli: &Cli, db: &Path) -> Result<Option<Target>, String> {
    if runs_locally(&cli.command) {
        return Ok(None);
    }
    let held = held_here(db);
    if let Ok(url) = std::env::var("PACTLOG_SERVER") {
        let url = url.trim().trim_end_matches('/').to_string();
        if !url.is_empty() {
            let url = server_url(&url)?;
            if let Some(named) = &cli.db {
                let same = held
                    .as_ref()
                    .is_some_and(|runtime| same_server(&runtime.url, &url));
                if !same {
                    return Err(format!(
                        "--db (or PACTLOG_DB) names the ledger {} but PACTLOG_SERVER names the server at {url}, which holds its own: unset PACTLOG_SERVER to use {} here, or leave out --db and PACTLOG_DB to use the server's; nothing was run",
                        named.display(),
                        named.display()
                    ));
                }
            }
            return Ok(Some(Target {
                url,
                token: std::env::var("PACTLOG_TOKEN")
                    .ok()
                    .filter(|t| !t.is_empty()),
                local: false,
                via: "PACTLOG_SERVER".into(),
            }));
        }
    }
    Ok(held.map(|runtime| Target {
        url: runtime.url,
        token: Some(runtime.token),
        local: true,
        via: format!("{}", db.join(RUNTIME_FILE).display()),
    }))
}

/// The URL `PACTLOG_SERVER` gives, checked: `http://HOST:PORT` (or `https://`, behind
/// a proxy). Without its scheme (`127.0.0.1:7878`, as `serve --bind` takes an
/// address), the error shows the value corrected.
fn server_url(url: &str) -> Result<String, String> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok(url.to_string());
    }
    match url.split_once("://") {
        Some((scheme, _)) => Err(format!(
            "PACTLOG_SERVER=`{url}`: a server is reached over http://, not {scheme}://: such as PACTLOG_SERVER=http://127.0.0.1:7878; nothing was run"
        )),
        None => Err(format!(
            "PACTLOG_SERVER=`{url}` is not a URL: it needs http:// in front, as in PACTLOG_SERVER=http://{url}; nothing was run"
        )),
    }
}

/// The server on this machine that holds the ledger at `db`, from its runtime file.
fn held_here(db: &Path) -> Option<Runtime> {
    let bytes = std::fs::read(db.join(RUNTIME_FILE)).ok()?;
    let runtime: Runtime = serde_json::from_slice(&bytes).ok()?;
    // Left by a server that died: the ledger is free (whoever listens there now).
    #[cfg(target_os = "linux")]
    if !Path::new(&format!("/proc/{}", runtime.pid)).exists() {
        return None;
    }
    Some(runtime)
}

/// Whether two server URLs name the same server (`localhost` is `127.0.0.1`).
fn same_server(a: &str, b: &str) -> bool {
    let norm = |url: &str| {
        url.trim()
            .trim_end_matches('/')
            .to_ascii_lowercase()
            .replace("://localhost:", "://127.0.0.1:")
    };
    norm(a) == norm(b)
}

/// What the client reads on its side and sends: stdin for `append -`, the files of
/// an `import` (each by the name a local import would give it).
fn input(cli: &Cli) -> Result<ClientInput, crate::error::Error> {
    let mut input = ClientInput::default();
    let read_stdin = || -> Result<String, crate::error::Error> {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| crate::error::Error::io("stdin", e))?;
        Ok(text)
    };
    match &cli.command {
        Command::Append(args) if args.event_type.as_deref() == Some("-") => {
            input.stdin = read_stdin()?
        }
        Command::Import(args) => {
            for item in crate::import::expand(&args.paths)? {
                match item {
                    crate::import::Input::Stdin => {
                        input.files.push(("stdin".into(), read_stdin()?));
                    }
                    crate::import::Input::File(path) => {
                        let shown = path.display().to_string();
                        let bytes =
                            std::fs::read(&path).map_err(|e| crate::error::Error::io(&shown, e))?;
                        let text = String::from_utf8(bytes).map_err(|e| {
                            crate::error::Error::invalid(
                                &crate::error::Location(shown.clone()),
                                format!(
                                    "invalid UTF-8 at byte {}",
                                    e.utf8_error().valid_up_to() + 1
                                ),
                            )
                        })?;
                        input.files.push((shown, text));
                    }
                }
            }
        }
        _ => {}
    }
    Ok(input)
}

/// Runs the command through a server when one is named or holds the ledger; `None`
/// to run it here.
pub fn forward(cli: &Cli, env: &Env, db: &Path) -> Option<ExitCode> {
    let target = match target(cli, db) {
        Ok(target) => target?,
        Err(message) => {
            eprintln!("error: {message}");
            return Some(ExitCode::from(2));
        }
    };
    let started = std::time::Instant::now();
    let code = send(cli, env, &target)?;
    if cli.verbose {
        eprintln!(
            "pactlog: {} in {:.1} ms; the ledger held by the server at {} (found through {})",
            if code == 0 { "done" } else { "failed" },
            started.elapsed().as_secs_f64() * 1000.0,
            target.url,
            target.via
        );
    }
    Some(ExitCode::from(code))
}

/// The exit code of a refusal by the server: 8 for a missing, unknown or revoked
/// token (401) and a reader's token writing (403), as README's table says.
pub const REFUSED: u8 = 8;

/// Sends the command and prints what came back; its exit code, or `None` when the
/// server of the runtime file is gone (the command runs here).
fn send(cli: &Cli, env: &Env, target: &Target) -> Option<u8> {
    let input = match input(cli) {
        Ok(input) => input,
        Err(err) => {
            let err = crate::cli::CliError::from(err);
            return Some(fail(err));
        }
    };
    // The server runs on the ledger it holds (chosen above): `--db` is not sent.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = crate::cli::without_db(&args).unwrap_or(args);
    let (args, file) = file_on_this_side(cli, args);
    let request = Request {
        args,
        input,
        recorded_by: env.recorded_by.clone(),
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut call = agent.post(format!("{}/api/v1/cli", target.url));
    if let Some(token) = &target.token {
        call = call.header("Authorization", format!("Bearer {token}"));
    }
    let response = match call.send_json(&request) {
        Ok(response) => response,
        // The server named by the runtime file is gone: the ledger is free again. Only
        // when the command surely never reached it, or only reads: a write the server
        // may have committed before it died must not be run a second time here.
        Err(err) if target.local && (never_reached(&err) || !writes(&cli.command)) => return None,
        Err(err) if target.local => {
            eprintln!(
                "error: the server at {} stopped answering after it was sent the command ({err}): it may have written it before it stopped, so nothing was run here; see what the ledger holds (`pactlog log -n 5`) before running it again (events with an `id` are never written twice)",
                target.url
            );
            return Some(1);
        }
        Err(err) => {
            // TLS spoken to a server that answers in plain HTTP (`pactlog serve` does;
            // TLS is a reverse proxy's): rustls reads the answer as a corrupt record.
            let plain_http = target.url.starts_with("https://")
                && err.to_string().contains("InvalidContentType");
            match plain_http {
                true => eprintln!(
                    "error: PACTLOG_SERVER {}: the server answered in plain HTTP, not TLS (`pactlog serve` speaks plain HTTP; TLS comes from a reverse proxy in front): use {}",
                    target.url,
                    target.url.replacen("https://", "http://", 1)
                ),
                false => eprintln!("error: PACTLOG_SERVER {}: {err}", target.url),
            }
            return Some(1);
        }
    };
    let status = response.status().as_u16();
    let text = response
        .into_body()
        .with_config()
        .limit(1 << 34)
        .read_to_string()
        .unwrap_or_default();
    if status != 200 {
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("the server answered {status}"));
        eprintln!("error: {} ({status})", message.replace(['\n', '\r'], " "));
        return Some(match status {
            400 => 2,
            401 | 403 => REFUSED,
            404 => 4,
            413 => 3,
            _ => 1,
        });
    }
    let reply: Reply = match serde_json::from_str(&text) {
        Ok(reply) => reply,
        Err(err) => {
            eprintln!("error: the server's answer is not a command's: {err}");
            return Some(1);
        }
    };
    let mut stdout = std::io::stdout().lock();
    match file {
        Some(path) if reply.code == 0 => {
            // The server sent the file's bytes as its stdout: written here, atomically.
            let written = crate::cli::export::write_to(Some(&path), &mut stdout, |w| {
                Ok(w.write_all(reply.stdout.as_bytes())?)
            });
            if let Err(err) = written {
                return Some(fail(err));
            }
            if !cli.quiet {
                let _ = writeln!(stdout, "wrote {}", path.display());
            }
        }
        _ => {
            let _ = stdout.write_all(reply.stdout.as_bytes());
        }
    }
    let _ = stdout.flush();
    for note in &reply.notes {
        eprintln!("pactlog: {}", note.replace(['\n', '\r'], " "));
    }
    if let Some(error) = reply.error {
        eprintln!("error: {}", error.replace(['\n', '\r'], " "));
    }
    Some(reply.code)
}

/// Whether a failed call surely never reached a server: nothing listens at its
/// address (any other failure may come after the server read the command).
fn never_reached(err: &ureq::Error) -> bool {
    match err {
        ureq::Error::Io(io) => io.kind() == std::io::ErrorKind::ConnectionRefused,
        ureq::Error::HostNotFound => true,
        _ => false,
    }
}

/// A file the command writes (`export --out FILE`, `timeline --html FILE`) is written
/// on the client's side: the server is sent `-` (stdout) in its place. The command
/// line to send, and the file.
fn file_on_this_side(cli: &Cli, args: Vec<String>) -> (Vec<String>, Option<std::path::PathBuf>) {
    use crate::cli::export::out_file;
    let (flag, path) = match &cli.command {
        Command::Export(a) => ("--out", out_file(a.out.as_deref())),
        Command::Timeline(a) => ("--html", out_file(a.html.as_deref())),
        _ => return (args, None),
    };
    let Some(path) = path else {
        return (args, None);
    };
    let joined = format!("{flag}=");
    let mut sent = Vec::with_capacity(args.len());
    let mut next_is_value = false;
    for arg in args {
        if next_is_value {
            sent.push("-".to_string());
            next_is_value = false;
        } else if arg == flag {
            sent.push(arg);
            next_is_value = true;
        } else if arg.starts_with(&joined) {
            sent.push(format!("{joined}-"));
        } else {
            sent.push(arg);
        }
    }
    (sent, Some(path.to_path_buf()))
}

fn fail(err: crate::cli::CliError) -> u8 {
    match err {
        crate::cli::CliError::Failed { code, message } => {
            eprintln!("error: {}", message.replace(['\n', '\r'], " "));
            code
        }
        _ => 1,
    }
}
