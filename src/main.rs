//! The `dhub` command line (CONTRACT §1). Every subcommand exits 0 on success and 1 with a one-line
//! message naming the file, line or record at fault.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = dhub::commands::Cli::parse();
    dhub::commands::init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
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
