//! `pactlog completions` and `pactlog man`: shell completions and the man page,
//! generated from the clap definitions so they never drift from `--help`.

use std::io::Write;

use std::path::{Path, PathBuf};

use super::{CliError, Ctx};
use crate::error::Error;

/// Print a shell completion script.
///
/// Example: pactlog completions bash > ~/.local/share/bash-completion/completions/pactlog
#[derive(clap::Args, Debug)]
pub struct Args {
    /// bash, elvish, fish, powershell or zsh
    pub shell: clap_complete::Shell,
}

/// Print the man page of pactlog (roff) to stdout, or with `--out DIR` write one page
/// per command into DIR: pactlog.1, pactlog-state.1, pactlog-append.1, and so on.
///
/// Example: pactlog man --out man/man1 && MANPATH=$PWD/man man pactlog-state
#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// Write pactlog.1 and a page per command into this folder (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    // clap_complete panics when a write fails: write into memory, then out (a reader
    // that stops early, `| head`, is no error).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut super::command(), "pactlog", &mut script);
    out.write_all(&script)?;
    Ok(())
}

/// The command line for man pages: no `help` command (it has no page; `--help` is on
/// every page), so the main page lists only pages `--out` writes.
fn man_command() -> clap::Command {
    let command = super::command().disable_help_subcommand(true);
    // The NAME line is `pactlog \- ABOUT`: the about without its own `pactlog: `.
    let about = command.get_about().map(ToString::to_string);
    match about.as_deref().and_then(|a| a.strip_prefix("pactlog: ")) {
        Some(about) => {
            let about = about.to_string();
            command.about(about)
        }
        None => command,
    }
}

pub fn man(ctx: &Ctx, args: &ManArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let Some(dir) = &args.out else {
        out.write_all(&page(man_command())?)?;
        return Ok(());
    };
    if dir.as_os_str() == "-" {
        return Err(CliError::usage(
            "--out: `-` (standard output) takes one page: leave --out out to print pactlog(1), or name a folder",
        ));
    }
    super::export::check_outside_ledgers(dir, &dir.display().to_string())?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
    let mut command = man_command();
    command.build();
    let n = write_pages(command, dir)?;
    ctx.say(
        out,
        format_args!(
            "wrote {} into {} (read one with: man {}/pactlog.1)",
            super::count(n, "man page", "man pages"),
            dir.display(),
            dir.display()
        ),
    )
}

/// Writes the page of `command` and of each of its subcommands into `dir`; returns
/// how many pages it wrote.
fn write_pages(command: clap::Command, dir: &Path) -> Result<u64, CliError> {
    let mut n = 0;
    for sub in command.get_subcommands().filter(|c| !c.is_hide_set()) {
        n += write_pages(sub.clone(), dir)?;
    }
    let path = dir.join(clap_mangen::Man::new(command.clone()).get_filename());
    // Replaced by a rename, never written through: a link in `dir` (a hard link to a
    // ledger's journal, say) keeps what it points to.
    let page = page(command)?;
    super::export::write_to(Some(&path), &mut std::io::sink(), |w| {
        Ok(w.write_all(&page)?)
    })?;
    Ok(n + 1)
}

/// One man page in roff, ASCII only: any other character of the help text is written
/// as groff's `\[uXXXX]` escape, so `groff -ww -man` reads every page without a warning.
/// pactlog-append(1) also has a section EVENT TYPES: each type's help as
/// `pactlog append TYPE --help` prints it.
fn page(command: clap::Command) -> Result<Vec<u8>, CliError> {
    let is_append = command.get_name() == "append";
    let mut roff = Vec::new();
    clap_mangen::Man::new(command).render(&mut roff)?;
    let mut roff = String::from_utf8_lossy(&roff).into_owned();
    if is_append {
        let section = format!(
            ".SH \"EVENT TYPES\"\n{}",
            preformatted(&super::append::every_type_help()?)
        );
        let at = roff.find(".SH VERSION").unwrap_or(roff.len());
        roff.insert_str(at, &section);
    }
    let mut ascii = String::with_capacity(roff.len());
    for c in roff.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            ascii.push_str(&format!("\\[u{:04X}]", c as u32));
        }
    }
    Ok(ascii.into_bytes())
}

/// Text as a roff block kept as it is laid out (no filling), escaped for roff.
fn preformatted(text: &str) -> String {
    let mut roff = String::from(".nf\n");
    for line in text.lines() {
        let line = line.replace('\\', "\\e").replace('-', "\\-");
        if line.starts_with(['.', '\'']) {
            roff.push_str("\\&");
        }
        roff.push_str(&line);
        roff.push('\n');
    }
    roff.push_str(".fi\n");
    roff
}
