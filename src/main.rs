//! The `pactlog` binary: parse the command line, run it, map errors to exit codes.

fn main() -> std::process::ExitCode {
    pactlog::cli::main()
}
