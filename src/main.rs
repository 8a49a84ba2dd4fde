//! The `strata` binary: parse the command line, run, map errors to documented exit codes. The
//! command line ([`cli`]) is private to the binary: the library is what other programs use.

mod cli;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    strata::temp::remove_on_interrupt();
    let code = match cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            let (message, hint) = e.printable();
            eprintln!("strata: error: {message}");
            if let Some(hint) = hint {
                eprintln!("hint: {hint}");
            }
            e.exit_code()
        }
    };
    std::process::exit(code.code());
}
