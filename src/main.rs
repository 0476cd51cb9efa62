use clap::Parser;
use std::process::ExitCode;
use tollgate::app;
use tollgate::cli::Cli;

fn main() -> ExitCode {
    // A panic message can quote data (a path, a rule's text): it goes through
    // the same CI log guard as everything else tollgate prints.
    std::panic::set_hook(Box::new(|info| {
        tollgate::say!(
            "error: tollgate crashed ({info}); please report it with the command that ran\n{}",
            std::backtrace::Backtrace::capture()
        );
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            // --help and --version are not errors.
            return if err.use_stderr() {
                ExitCode::from(tollgate::run::outcome::EXIT_ERROR as u8)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match app::run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            // A closed pipe (`tollgate scan | head`) is not a failure.
            if err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            tollgate::say!("error: {err:#}");
            ExitCode::from(tollgate::run::outcome::EXIT_ERROR as u8)
        }
    }
}
