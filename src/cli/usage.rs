//! clap's usage errors said the way pactlog says errors: one line, arguments named
//! as the user types them (`--at`, `KIND`), never clap's placeholders (`'--at
//! <WHEN>'`, `<KIND>`) or its phrasing ("cannot be used multiple times"). The
//! server says the same messages in a request's terms (`api::in_request_terms`).

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// clap's usage error as one line: what is wrong, naming the argument as it is typed
/// (`--at`, `KIND`), the values it takes where clap knows them, and clap's tip;
/// without the usage block.
pub(crate) fn one_line_usage_error(err: &clap::Error) -> String {
    said(err).unwrap_or_else(|| cleaned(&rendered(err)))
}

/// clap's own message, on one line, without the usage block and `error: `.
fn rendered(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:"))
        .filter(|line| !line.is_empty() && !line.starts_with("For more information"))
        .collect();
    let line = parts.join(" ");
    line.strip_prefix("error: ").unwrap_or(&line).to_string()
}

/// An argument as clap shows it (`--at <WHEN>`, `<KIND>`, `<PROVISIONS>...`) named
/// as the user types it (`--at`, `KIND`, `PROVISIONS`).
pub(crate) fn argument_name(shown: &str) -> String {
    let shown = shown.trim();
    if shown.starts_with('-') {
        return shown.split([' ', '=']).next().unwrap_or(shown).to_string();
    }
    shown
        .trim_end_matches("...")
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

/// "a", "a and b", "a, b and c".
fn joined(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The message of the usage errors pactlog words itself; `None` for the others.
fn said(err: &clap::Error) -> Option<String> {
    let one = |kind| match err.get(kind) {
        Some(ContextValue::String(text)) => Some(text.as_str()),
        _ => None,
    };
    let many = |kind| match err.get(kind) {
        Some(ContextValue::Strings(texts)) => texts.clone(),
        Some(ContextValue::String(text)) => vec![text.clone()],
        _ => Vec::new(),
    };
    let tip = || {
        one(ContextKind::SuggestedValue)
            .map(|value| format!(" (did you mean `{value}`?)"))
            .unwrap_or_default()
    };
    let arg = one(ContextKind::InvalidArg);
    let name = arg.map(argument_name).unwrap_or_default();
    match err.kind() {
        // clap's "the argument '--at <WHEN>' cannot be used multiple times".
        ErrorKind::ArgumentConflict if arg.is_some() && one(ContextKind::PriorArg) == arg => {
            Some(format!("{name} is given more than once: give it once"))
        }
        ErrorKind::ArgumentConflict if arg.is_some() => {
            let prior: Vec<String> = many(ContextKind::PriorArg)
                .iter()
                .map(|a| argument_name(a))
                .collect();
            (!prior.is_empty()).then(|| format!("{name} cannot be used with {}", joined(&prior)))
        }
        ErrorKind::MissingRequiredArgument => {
            let missing: Vec<String> = many(ContextKind::InvalidArg)
                .iter()
                .map(|a| argument_name(a))
                .collect();
            let values = match missing.as_slice() {
                [one] => values_of(err, one)
                    .map(|values| format!(": one of {}", values.join(", ")))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            match missing.len() {
                0 => None,
                1 => Some(format!("{} is required{values}", missing[0])),
                _ => Some(format!("{} are required", joined(&missing))),
            }
        }
        ErrorKind::InvalidValue if arg.is_some() => {
            let value = one(ContextKind::InvalidValue).unwrap_or_default();
            let shown = arg.unwrap_or_default();
            let placeholder = shown.split_once(' ').map(|(_, p)| argument_name(p));
            if value.is_empty() {
                return Some(match placeholder {
                    Some(p) => format!("{name} needs a value ({p})"),
                    None => format!("{name} needs a value"),
                });
            }
            let valid = many(ContextKind::ValidValue);
            Some(match valid.is_empty() {
                true => format!("{name}: `{value}` is not a value it takes{}", tip()),
                false => format!(
                    "{name}: `{value}` is not one of {}{}",
                    valid.join(", "),
                    tip()
                ),
            })
        }
        ErrorKind::ValueValidation if arg.is_some() => {
            let value = one(ContextKind::InvalidValue).unwrap_or_default();
            let source = std::error::Error::source(err).map(|s| s.to_string());
            Some(match source.as_deref() {
                // pactlog's own parsers quote the value already.
                Some(why) if why.contains(&format!("`{value}`")) => format!("{name}: {why}"),
                // Rust's words for a whole number that is not one.
                Some("invalid digit found in string") => {
                    format!("{name}: `{value}` is not a whole number")
                }
                Some("number too large to fit in target type") => {
                    format!("{name}: `{value}` is too large")
                }
                Some(why) => format!("{name}: `{value}`: {why}"),
                None => format!("{name}: `{value}` is not a value it takes"),
            })
        }
        _ => None,
    }
}

/// The values a positional argument `name` (`KIND`, `SHELL`) of the command in the
/// error's usage line takes, when it takes a fixed set.
fn values_of(err: &clap::Error, name: &str) -> Option<Vec<String>> {
    let usage = match err.get(ContextKind::Usage) {
        Some(ContextValue::StyledStr(usage)) => usage.to_string(),
        _ => return None,
    };
    let mut command = super::command();
    // `Usage: pactlog list [OPTIONS] <KIND>`: the words naming commands.
    for word in usage
        .split_whitespace()
        .skip_while(|w| *w != "pactlog")
        .skip(1)
    {
        match command.find_subcommand(word) {
            Some(sub) => command = sub.clone(),
            None => break,
        }
    }
    let arg = command.get_arguments().find(|a| {
        a.is_positional()
            && a.get_value_names()
                .and_then(|v| v.first())
                .map_or_else(|| a.get_id().as_str().to_uppercase(), |v| v.to_string())
                == name
    })?;
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    (!values.is_empty()).then_some(values)
}

/// clap's message with its placeholders named as typed: `'--at <WHEN>'` is `'--at'`,
/// `'<KIND>'` is `'KIND'`, and its tip is joined to the sentence.
fn cleaned(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find('\'') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('\'') else {
            rest = &rest[start..];
            break;
        };
        let quoted = &after[..end];
        if quoted.starts_with('-') || quoted.starts_with('<') {
            out.push_str(&format!("'{}'", argument_name(quoted)));
        } else {
            out.push_str(&format!("'{quoted}'"));
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out.replace(" tip: ", "; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_named_as_typed() {
        assert_eq!(argument_name("--at <WHEN>"), "--at");
        assert_eq!(argument_name("<KIND>"), "KIND");
        assert_eq!(argument_name("<PROVISIONS>..."), "PROVISIONS");
        assert_eq!(argument_name("--quiet"), "--quiet");
        assert_eq!(
            cleaned("a value is required for '--min-grade <XN>' but none was supplied"),
            "a value is required for '--min-grade' but none was supplied"
        );
        assert_eq!(
            cleaned("unexpected argument '--atx' found tip: a similar argument exists: '--at'"),
            "unexpected argument '--atx' found; a similar argument exists: '--at'"
        );
    }
}
