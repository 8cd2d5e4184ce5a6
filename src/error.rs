//! The library's one error type.
//!
//! Every failure a user can cause or meet is one variant; the CLI maps each
//! [`ErrorKind`] to an exit code. Messages are one line, lower case, without a
//! trailing period, and name the problem: the file and line for bad input, the
//! field, and a suggestion for a misspelt slug.

use std::fmt;

/// Where a piece of input came from: `events.ndjson:12`, `stdin:3`, `--status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location(pub String);

impl Location {
    pub fn line(file: &str, line: usize) -> Location {
        Location(format!("{file}:{line}"))
    }

    /// The `element`-th (from 1) element of a JSON array, on `line` with others.
    pub fn element(file: &str, line: usize, element: usize) -> Location {
        Location(format!("{file}:{line} (element {element} of the array)"))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Errors of the pactlog library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that does not follow the event format or the ledger's rules; nothing was appended.
    #[error("{}{message}", prefix(.at))]
    Invalid { at: Location, message: String },
    /// A ledger, event, provision, proposal or meeting that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The ledger changed under the caller (`--expect-seq`), or an id was reused with other content.
    #[error("{0}")]
    Conflict(String),
    /// The ledger's stored data failed a check: a broken hash chain, an index or snapshot
    /// that disagrees with the log, a record that does not parse.
    #[error("{0}")]
    Integrity(String),
    /// The journal, the durable copy that sled is rebuilt from and that nothing can
    /// rebuild, is damaged (what was found). An integrity error (exit 6) whose
    /// message, as the CLI and the server say it, ends with [`JOURNAL_RECOVERY`]:
    /// what the user can do.
    #[error("{0}")]
    JournalDamaged(String),
    /// sled's files are damaged (sled reported corruption, or bytes it holds do not
    /// decode). The journal holds every record: [`crate::recover::set_aside_sled`]
    /// and the next open rebuild sled from it.
    #[error("sled's files are damaged ({0})")]
    SledDamaged(String),
    /// Another process holds the ledger's lock.
    #[error("ledger {path} is in use by another process")]
    Locked { path: String },
    /// The storage engine failed.
    #[error("storage: {0}")]
    Storage(String),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

/// What a user can do about a damaged journal: every error about one
/// ([`Error::JournalDamaged`]) ends with it, as the CLI and the server say it
/// ([`Error::user_message`]).
pub const JOURNAL_RECOVERY: &str = "to recover, `pactlog export --out FILE` writes every record that verifies (the journal's, then sled's past the damage) and `pactlog --db NEW import FILE` rebuilds the ledger from them in a new folder (README: \"Recovering a damaged journal\")";

fn prefix(at: &Location) -> String {
    if at.0.is_empty() {
        String::new()
    } else {
        format!("{at}: ")
    }
}

/// The coarse classes of [`Error`], which the CLI maps to exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    Invalid,
    NotFound,
    Conflict,
    Integrity,
    Locked,
    Io,
}

impl Error {
    pub fn invalid(at: &Location, message: impl Into<String>) -> Error {
        Error::Invalid {
            at: at.clone(),
            message: message.into(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Invalid { .. } => ErrorKind::Invalid,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::Integrity(_) | Error::JournalDamaged(_) | Error::SledDamaged(_) => {
                ErrorKind::Integrity
            }
            Error::Locked { .. } => ErrorKind::Locked,
            Error::Storage(_) | Error::Io { .. } => ErrorKind::Io,
        }
    }

    /// The message as the user reads it: the error's own, and for a damaged journal
    /// what to do about it ([`JOURNAL_RECOVERY`]). Errors nested in other messages
    /// keep their own text (`to_string`), so the hint is said once, at the end.
    pub fn user_message(&self) -> String {
        match self {
            Error::JournalDamaged(found) => format!("{found}; {JOURNAL_RECOVERY}"),
            other => other.to_string(),
        }
    }

    /// A message with the [`JOURNAL_RECOVERY`] hint of [`Error::user_message`] taken
    /// off its end, for a message that says what to do in its own words.
    pub fn without_recovery(message: &str) -> &str {
        message
            .strip_suffix(JOURNAL_RECOVERY)
            .and_then(|m| m.strip_suffix("; "))
            .unwrap_or(message)
    }

    pub fn io(path: impl fmt::Display, err: std::io::Error) -> Error {
        Error::Io {
            path: path.to_string(),
            message: err.to_string(),
        }
    }
}

impl From<sled::Error> for Error {
    fn from(err: sled::Error) -> Error {
        match err {
            sled::Error::Corruption { .. } => {
                Error::SledDamaged("sled found corrupted data".into())
            }
            sled::Error::ReportableBug(bug) => {
                Error::SledDamaged(format!("sled found itself inconsistent: {bug}"))
            }
            // A file of sled's own gone (a blob it points to): damage, repaired from
            // the journal like any other.
            sled::Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
                Error::SledDamaged(format!("a file of sled's is missing ({io})"))
            }
            other => Error::Storage(other.to_string()),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// "1 event", "2 events": a count and its noun in the right number, for messages.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "did you mean `x`?" for a misspelt or shortened name, from the names that exist:
/// the nearest by edit distance, else the shortest name that begins with the text or
/// holds its `-`-separated words in order (`florida` for `florida-2025-11-30`,
/// `us-28-plan` for `us-28-point-plan`).
pub fn suggest<'a>(wrong: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let known: Vec<&str> = known.into_iter().collect();
    let near = known
        .iter()
        .map(|name| (strsim::damerau_levenshtein(wrong, name), *name))
        .filter(|(distance, name)| *distance <= (name.len().max(wrong.len()) / 3).max(2))
        .min();
    // Every word of `wrong`, in order, is a word of `name`.
    let words_of = |name: &str| {
        let mut theirs = name.split('-');
        wrong.split('-').all(|word| theirs.any(|w| w == word))
    };
    let part = || {
        known
            .iter()
            .filter(|name| wrong.len() >= 3 && (name.starts_with(wrong) || words_of(name)))
            .map(|name| (name.len(), *name))
            .min()
    };
    match near.or_else(part) {
        Some((_, name)) => format!(" (did you mean `{name}`?)"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_known_name() {
        assert_eq!(
            suggest("nato-membrship", ["nato-membership", "donetsk"]),
            " (did you mean `nato-membership`?)"
        );
        assert_eq!(suggest("zzzzzzzz", ["nato-membership"]), "");
        assert_eq!(
            suggest("florida", ["geneva-2025-11-23", "florida-2025-11-30"]),
            " (did you mean `florida-2025-11-30`?)"
        );
        assert_eq!(
            suggest(
                "counter-proposal",
                ["us-28-point-plan", "european-counter-proposal"]
            ),
            " (did you mean `european-counter-proposal`?)"
        );
        assert_eq!(
            suggest("us-28-plan", ["us-28-point-plan"]),
            " (did you mean `us-28-point-plan`?)"
        );
        assert_eq!(suggest("us", ["us-28-point-plan"]), "");
    }
}
