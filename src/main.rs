//! The `dhub` command line (CONTRACT §1). Every subcommand exits 0 on success and 1 with a one-line
//! message naming the file, line or record at fault.

use std::process::ExitCode;

use clap::Parser;

/// glibc's malloc spent a third of the hub's CPU under load (perf: `malloc`, `_int_free`,
/// `malloc_consolidate` across tokio, blocking and librdkafka threads); mimalloc's per-thread heaps do not
/// contend.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    dhub::allocator::tune();
    // Usage errors are handled errors too (CONTRACT §1: exit 1); help and version exit 0.
    let cli = match dhub::commands::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
            let _ = error.print();
            return code;
        }
    };
    dhub::commands::init_logging();
    // The crash tests' failure points (`failpoints` feature; nothing without it).
    dhub_support::failpoint::setup_from_env();
    // Few blocking threads: each holds its own allocator heap, and parsing needs no more than the cores.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(16)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dhub::commands::execute(cli)) {
        Ok(code) => code,
        Err(error) => {
            // One line: the chain of contexts, outermost first.
            let message = format!("{error:#}");
            eprintln!("error: {}", message.replace('\n', " | "));
            ExitCode::FAILURE
        }
    }
}
