//! The CLI as a client of `pactlog serve`: with `PACTLOG_SERVER=URL` (and
//! `PACTLOG_TOKEN`), or when the ledger folder holds the runtime file of a server
//! on this machine, a command is sent to the server as its command line and the
//! server runs it on the ledger it holds; the client prints what came back, exactly
//! what the command prints locally, and exits with its code.

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use super::remote::{runs_locally, Reply, Request};
use super::{Runtime, RUNTIME_FILE};
use crate::cli::{Cli, ClientInput, Command, Env};

/// Where a command goes.
struct Target {
    url: String,
    token: Option<String>,
    /// Found through the runtime file: if the server is gone, the command runs locally.
    local: bool,
}

fn target(cli: &Cli, db: &Path) -> Option<Target> {
    if runs_locally(&cli.command) {
        return None;
    }
    if let Ok(url) = std::env::var("PACTLOG_SERVER") {
        if !url.trim().is_empty() {
            return Some(Target {
                url: url.trim().trim_end_matches('/').to_string(),
                token: std::env::var("PACTLOG_TOKEN")
                    .ok()
                    .filter(|t| !t.is_empty()),
                local: false,
            });
        }
    }
    let bytes = std::fs::read(db.join(RUNTIME_FILE)).ok()?;
    let runtime: Runtime = serde_json::from_slice(&bytes).ok()?;
    // Left by a server that died: the ledger is free (whoever listens there now).
    #[cfg(target_os = "linux")]
    if !Path::new(&format!("/proc/{}", runtime.pid)).exists() {
        return None;
    }
    Some(Target {
        url: runtime.url,
        token: Some(runtime.token),
        local: true,
    })
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
    let target = target(cli, db)?;
    let input = match input(cli) {
        Ok(input) => input,
        Err(err) => {
            let err = crate::cli::CliError::from(err);
            return Some(fail(err));
        }
    };
    let request = Request {
        args: std::env::args().skip(1).collect(),
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
        // The server named by the runtime file is gone: the ledger is free again.
        Err(_) if target.local => return None,
        Err(err) => {
            eprintln!("error: PACTLOG_SERVER {}: {err}", target.url);
            return Some(ExitCode::from(1));
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
        return Some(ExitCode::from(match status {
            400 => 2,
            413 => 3,
            _ => 1,
        }));
    }
    let reply: Reply = match serde_json::from_str(&text) {
        Ok(reply) => reply,
        Err(err) => {
            eprintln!("error: the server's answer is not a command's: {err}");
            return Some(ExitCode::from(1));
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(reply.stdout.as_bytes());
    let _ = stdout.flush();
    if let Some(error) = reply.error {
        eprintln!("error: {}", error.replace(['\n', '\r'], " "));
    }
    Some(ExitCode::from(reply.code))
}

fn fail(err: crate::cli::CliError) -> ExitCode {
    match err {
        crate::cli::CliError::Failed { code, message } => {
            eprintln!("error: {}", message.replace(['\n', '\r'], " "));
            ExitCode::from(code)
        }
        _ => ExitCode::from(1),
    }
}
