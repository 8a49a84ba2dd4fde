//! The `strata` binary: parse the command line, run, map errors to documented exit codes.

use clap::Parser;

fn main() {
    let cli = strata::cli::Cli::parse();
    let code = match strata::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("strata: error: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code.code());
}
