//! Access tokens of a shared ledger: a name, a role and the SHA-256 of the token,
//! kept in `tokens.json` in the ledger folder (never in the log, never the token
//! itself). The server reads the file on every request, so a token added or
//! revoked by `pactlog token` counts from the next request on.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Location, Result};
use crate::event::Slug;

/// The file in the ledger folder that holds the tokens' names, roles and hashes.
pub const FILE: &str = "tokens.json";

/// What a token may do: read everything, or also write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Reader,
    Writer,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Reader => "reader",
            Role::Writer => "writer",
        })
    }
}

/// One token as stored: its name (recorded as `recorded_by` on the server's writes),
/// role, the lowercase hex SHA-256 of the token, and when it was made (RFC 3339).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub role: Role,
    pub sha256: String,
    pub created_at: String,
}

/// Who a request's token belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub name: String,
    pub role: Role,
    /// The server's own token for commands on its machine (see `serve.json`): it may
    /// say which user recorded a write.
    pub local: bool,
}

fn file(ledger: &Path) -> PathBuf {
    ledger.join(FILE)
}

/// Every token of the ledger at `ledger` (none when the file is absent). Errors: a
/// file that cannot be read, or is not one `pactlog token` writes (not JSON, an
/// entry without its fields, a role, name or hash no token has, a name twice), is
/// [`Error::Io`] naming the file and what is wrong (exit 1: a file of the ledger's
/// folder, not its records).
pub fn list(ledger: &Path) -> Result<Vec<Entry>> {
    let path = file(ledger);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path.display(), e)),
    };
    let damaged = |what: String| {
        Error::Io {
        path: path.display().to_string(),
        message: format!(
            "the token file is damaged ({what}): restore it, or move it aside and add the tokens again (`pactlog token add NAME --role reader|writer`)"
        ),
    }
    };
    let entries: Vec<Entry> =
        serde_json::from_slice(&bytes).map_err(|e| damaged(format!("not a token list: {e}")))?;
    let mut names = std::collections::HashSet::new();
    for (i, entry) in entries.iter().enumerate() {
        let which = || format!("token {} (`{}`)", i + 1, entry.name.escape_debug());
        if Slug::parse(&entry.name).is_err() {
            return Err(damaged(format!(
                "{} has a name `pactlog token add` never gives",
                which()
            )));
        }
        let hex = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
        if entry.sha256.len() != 64 || !entry.sha256.bytes().all(hex) {
            return Err(damaged(format!(
                "{}: `sha256` is not 64 lowercase hex digits",
                which()
            )));
        }
        if !names.insert(entry.name.as_str()) {
            return Err(damaged(format!("{} is there twice", which())));
        }
    }
    Ok(entries)
}

/// A new random token: `pl_` and 64 hex digits (256 bits from the system's generator).
pub fn generate() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Storage(format!("no random numbers from the system: {e}")))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("pl_{hex}"))
}

/// Whether two tokens are the same, in constant time.
pub fn same(a: &str, b: &str) -> bool {
    digest(a).ct_eq(&digest(b)).into()
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Adds a token named `name` and returns it (the only time it is ever shown).
/// Errors: an invalid name or one already used ([`Error::Invalid`]), a missing
/// ledger ([`Error::NotFound`]), the file unwritable ([`Error::Io`]).
pub fn add(ledger: &Path, name: &str, role: Role, created_at: &str) -> Result<String> {
    let at = Location("NAME".into());
    Slug::parse(name).map_err(|m| Error::invalid(&at, m))?;
    let token = generate()?;
    change(ledger, |entries| {
        if entries.iter().any(|e| e.name == name) {
            return Err(Error::invalid(
                &at,
                format!("a token named `{name}` exists already (revoke it first)"),
            ));
        }
        entries.push(Entry {
            name: name.to_string(),
            role,
            sha256: hex(&digest(&token)),
            created_at: created_at.to_string(),
        });
        Ok(())
    })?;
    Ok(token)
}

/// Removes the token named `name`: requests bearing it fail from the next one on.
pub fn revoke(ledger: &Path, name: &str) -> Result<()> {
    change(ledger, |entries| {
        let before = entries.len();
        entries.retain(|e| e.name != name);
        if entries.len() == before {
            let names = entries.iter().map(|e| e.name.as_str());
            return Err(Error::NotFound(format!(
                "no token named `{name}`{}",
                crate::error::suggest(name, names)
            )));
        }
        Ok(())
    })
}

/// The holder of `token`, if it is one of the ledger's (compared in constant time
/// against every stored hash, so the time taken says nothing about which matched).
pub fn check(entries: &[Entry], token: &str) -> Option<Holder> {
    let presented = hex(&digest(token));
    let mut found = None;
    for entry in entries {
        let same: bool = entry.sha256.as_bytes().ct_eq(presented.as_bytes()).into();
        if same && found.is_none() {
            found = Some(Holder {
                name: entry.name.clone(),
                role: entry.role,
                local: false,
            });
        }
    }
    found
}

/// Tokens belong to a ledger: [`Error::NotFound`] when there is none at `ledger`.
pub fn require_ledger(ledger: &Path) -> Result<()> {
    if crate::store::Ledger::exists(ledger) {
        Ok(())
    } else {
        Err(Error::NotFound(format!(
            "no ledger at {}: tokens live in the ledger folder, so `pactlog token` runs on the server's machine with --db naming the ledger it serves (never through PACTLOG_SERVER)",
            ledger.display()
        )))
    }
}

/// Reads, changes and rewrites the token file under its own lock (`tokens.lock`),
/// atomically (a temporary file with mode 0600, synced, renamed into place).
fn change(ledger: &Path, edit: impl FnOnce(&mut Vec<Entry>) -> Result<()>) -> Result<()> {
    require_ledger(ledger)?;
    let lock_path = ledger.join("tokens.lock");
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::io(lock_path.display(), e))?;
    lock.lock().map_err(|e| Error::io(lock_path.display(), e))?;
    let mut entries = list(ledger)?;
    edit(&mut entries)?;
    let path = file(ledger);
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tokens-");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    let mut temp = builder
        .tempfile_in(ledger)
        .map_err(|e| Error::io(path.display(), e))?;
    let mut bytes = serde_json::to_vec_pretty(&entries).expect("tokens serialize");
    bytes.push(b'\n');
    temp.write_all(&bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| Error::io(path.display(), e))?;
    temp.persist(&path)
        .map_err(|e| Error::io(path.display(), e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_checked_against_its_hash_only() {
        let token = generate().unwrap();
        assert_eq!(token.len(), 3 + 64);
        let entries = vec![Entry {
            name: "desk".into(),
            role: Role::Writer,
            sha256: hex(&digest(&token)),
            created_at: String::new(),
        }];
        assert_eq!(
            check(&entries, &token),
            Some(Holder {
                name: "desk".into(),
                role: Role::Writer,
                local: false,
            })
        );
        assert_eq!(check(&entries, &format!("{token}x")), None);
        assert_eq!(check(&entries, ""), None);
        assert_ne!(generate().unwrap(), token);
    }
}
