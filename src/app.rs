//! Wiring only: turns parsed arguments into calls of the library and an exit code.

use crate::cli::{Cli, Command, ConfigCommand, ImagesCommand, JiraCommand, RulesCommand};
use crate::commands;

pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Scan(args) => commands::scan::run(args),
        Command::Review(args) => commands::review::run(args),
        Command::Rules(RulesCommand::List {
            rules,
            config,
            format,
        }) => commands::rules::list(&rules, &config, format),
        Command::Rules(RulesCommand::Test { paths, config }) => {
            commands::rules::test(paths, &config)
        }
        Command::Rules(RulesCommand::Explain { id, rules, config }) => {
            commands::rules::explain(&id, &rules, &config)
        }
        Command::Rules(RulesCommand::Tree { file, all }) => commands::rules::tree(&file, all),
        Command::Config(ConfigCommand::Validate {
            config,
            environment,
        }) => commands::config::validate(config.as_deref(), environment.as_deref()),
        Command::Init { force } => commands::init::run(force),
        Command::Images(ImagesCommand::Check {
            environment,
            config,
            format,
            references,
        }) => commands::images::check(
            environment.as_deref(),
            config.as_deref(),
            format,
            &references,
        ),
        Command::Images(ImagesCommand::Scan {
            paths,
            environment,
            config,
            format,
        }) => commands::images::scan(&paths, environment.as_deref(), config.as_deref(), format),
        Command::Images(ImagesCommand::Parse { format, references }) => {
            commands::images::parse(format, &references)
        }
        Command::Schema { kind } => commands::schema::run(kind),
        Command::Jira(JiraCommand::Sync(args)) => commands::jira::sync(args),
        Command::Action => crate::action::run(),
    }
}
