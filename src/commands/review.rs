//! `tollgate review`: which forge holds the change request, then that
//! forge's command. Flags win; else the CI says (GitLab CI, GitHub Actions,
//! or the `CHANGE_URL` of a Jenkins pull/merge request build).

use crate::cli::{ForgeKind, ReviewArgs};
use crate::context::jenkins::{self, Build, ChangeBuild, Location};
use crate::run::outcome::EXIT_ERROR;

/// A Jenkins pull/merge request build and where its change lives.
pub struct Jenkins {
    pub build: ChangeBuild,
    pub location: Location,
}

/// The forge to review on, and the Jenkins build that named it, if any.
enum Chosen {
    GitHub(Option<Jenkins>),
    GitLab(Option<Jenkins>),
}

pub fn run(args: ReviewArgs) -> anyhow::Result<i32> {
    let env = crate::github::context::process_env;
    match choose(&args, &env) {
        Ok(Chosen::GitHub(jenkins)) => crate::github::command::run(args, jenkins),
        Ok(Chosen::GitLab(jenkins)) => crate::gitlab::command::run(args, jenkins),
        Err(err) => {
            crate::say!("error: {err}");
            Ok(EXIT_ERROR)
        }
    }
}

fn choose(args: &ReviewArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<Chosen, String> {
    let gitlab_flags = args.gitlab_url.is_some() || args.project.is_some() || args.mr.is_some();
    let is = |name: &str| env(name).is_some_and(|v| v == "true");
    let forge = match args.forge {
        Some(forge) => Some(forge),
        None if gitlab_flags || is("GITLAB_CI") => Some(ForgeKind::Gitlab),
        None if is("GITHUB_ACTIONS") || args.repo.is_some() || args.pr.is_some() => {
            Some(ForgeKind::Github)
        }
        None => None,
    };
    // Jenkins says where the change is only when nothing else did, or
    // when it agrees with the forge asked for.
    let jenkins = match jenkins::read(env)? {
        Build::Change(build) if !is("GITLAB_CI") && !is("GITHUB_ACTIONS") => {
            let location = build.location(args.gitlab_url.as_deref());
            match (forge, location) {
                (_, Ok(location)) => Some(Jenkins { build, location }),
                (None, Err(err)) => return Err(err),
                // Flags say where the change is; CHANGE_URL is not needed.
                (Some(_), Err(_)) => None,
            }
        }
        Build::NoChange { reason } if forge.is_none() => return Err(reason.to_string()),
        _ => None,
    };
    let forge = match (forge, &jenkins) {
        (Some(forge), _) => forge,
        (None, Some(jenkins)) => match jenkins.location.forge {
            jenkins::Forge::GitHub => ForgeKind::Github,
            jenkins::Forge::GitLab => ForgeKind::Gitlab,
        },
        (None, None) => ForgeKind::Github,
    };
    let jenkins = jenkins.filter(|j| {
        matches!(
            (forge, j.location.forge),
            (ForgeKind::Github, jenkins::Forge::GitHub)
                | (ForgeKind::Gitlab, jenkins::Forge::GitLab)
        )
    });
    Ok(match forge {
        ForgeKind::Github => Chosen::GitHub(jenkins),
        ForgeKind::Gitlab => Chosen::GitLab(jenkins),
    })
}
