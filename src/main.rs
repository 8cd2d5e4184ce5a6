//! The `pactlog` binary: parse the command line, run it, map errors to exit codes.

/// jemalloc rather than the system allocator: an import parses on one thread and
/// stages on another, and glibc's malloc made that pipeline slower than one thread
/// (cross-thread frees); see ARCHITECTURE.md, "Performance".
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    pactlog::cli::main()
}
