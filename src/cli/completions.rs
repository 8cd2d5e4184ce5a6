//! `pactlog completions` and `pactlog man`: shell completions and the man page,
//! generated from the clap definitions so they never drift from `--help`.

use std::io::Write;

use clap::CommandFactory;

use super::{Cli, CliError};

/// Print a shell completion script.
///
/// Example: pactlog completions bash > /etc/bash_completion.d/pactlog
#[derive(clap::Args, Debug)]
pub struct Args {
    /// bash, elvish, fish, powershell or zsh
    pub shell: clap_complete::Shell,
}

/// Print the man page (roff) to stdout.
///
/// Example: pactlog man > pactlog.1 && man ./pactlog.1
#[derive(clap::Args, Debug)]
pub struct ManArgs {}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    clap_complete::generate(args.shell, &mut Cli::command(), "pactlog", out);
    Ok(())
}

pub fn man(_: &ManArgs, out: &mut dyn Write) -> Result<(), CliError> {
    clap_mangen::Man::new(Cli::command()).render(out)?;
    Ok(())
}
