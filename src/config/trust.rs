//! Which configuration a run trusts. A pull request controls its working
//! tree, so: `review --from` reads nothing from the report's folder;
//! `--config-from-base` reads `.tollgate.yml` and its rule files from the base
//! commit instead of the working tree; and otherwise the keys that decide
//! where credentials go keep the base commit's values.

use super::{paths, pin_credential_destinations, Config, ConfigError, Effective, FILE_NAME};
use crate::diff::git::{Repo, TreeEntry};
use crate::rules::RuleSource;
use std::path::{Path, PathBuf};

/// Rule files read from a commit larger than this are refused (the working
/// tree's rule loader has its own cap).
const MAX_RULE_FILE: u64 = 4 * 1024 * 1024;
/// Hex digits of a commit id in file names such as `1a2b3c4:.tollgate.yml`.
const SHORT_SHA: usize = 7;

/// The commit a change is measured from.
#[derive(Debug, Clone)]
pub enum BaseCommit {
    /// The merge base of `base` and `head` (default HEAD): `scan --base REF`.
    MergeBase { base: String, head: Option<String> },
    /// This commit: the pull request's base.
    Commit(String),
}

/// Where the run's configuration may come from.
#[derive(Debug, Clone)]
pub enum Place {
    /// The working tree of a checkout, and the change's base when known.
    Checkout { base: Option<BaseCommit> },
    /// `review --from REPORT`: `folder` holds the report, which is the pull request's.
    Report { folder: PathBuf },
}

/// What the run asked for.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `--config FILE`.
    pub explicit: Option<&'a Path>,
    /// `--env NAME`.
    pub environment: Option<&'a str>,
    /// `--config-from-base`.
    pub from_base: bool,
}

/// The configuration a run uses, the rule sources it names, and what to say.
#[derive(Debug)]
pub struct Loaded {
    pub effective: Effective,
    pub rule_sources: Vec<RuleSource>,
    /// Said as `note:`.
    pub notes: Vec<String>,
    /// Said as `error:`: the run goes on with what could be loaded, and exits 2.
    pub errors: Vec<String>,
}

impl Loaded {
    fn defaults() -> Loaded {
        Loaded {
            effective: super::load(None, None).expect("defaults load"),
            rule_sources: Vec::new(),
            notes: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn failed(error: String) -> Loaded {
        let mut loaded = Loaded::defaults();
        loaded.errors.push(error);
        loaded
    }
}

/// Loads the configuration `request` asks for, from where `place` allows.
pub fn load(request: Request<'_>, place: &Place) -> Loaded {
    match (place, request.from_base) {
        (Place::Report { .. }, true) => Loaded::failed(
            "--config-from-base reads the base commit of a checkout, and `review --from` reads no repository (the report's folder is the pull request's): give --config FILE from a trusted checkout instead".into(),
        ),
        (Place::Checkout { base: None }, true) => Loaded::failed(
            "--config-from-base needs the base commit of the change: give --base REF (`review` takes the pull request's base from the event)".into(),
        ),
        (Place::Checkout { base: Some(base) }, true) => from_base(request, base),
        (Place::Report { folder }, false) => beside_report(request, folder),
        (Place::Checkout { base }, false) => from_checkout(request, base.as_ref()),
    }
}

fn rule_paths(effective: &Effective) -> Vec<PathBuf> {
    effective
        .config
        .rules
        .iter()
        .flat_map(|r| r.paths.iter().flatten())
        .map(|p| effective.base_dir.join(p))
        .collect()
}

/// `review --from`: only an explicit `--config` outside the report's folder.
fn beside_report(request: Request<'_>, folder: &Path) -> Loaded {
    let Some(file) = request.explicit else {
        let mut loaded = Loaded::defaults();
        loaded.notes.push(format!("`review --from` reads no configuration from the report's folder (it comes from the pull request): defaults apply; give --config FILE from a trusted checkout to change them{}", request.environment.map(|e| format!(" (environment `{e}` not applied)")).unwrap_or_default()));
        return loaded;
    };
    let folder = folder
        .canonicalize()
        .unwrap_or_else(|_| folder.to_path_buf());
    let inside = |path: &Path| {
        path.canonicalize()
            .unwrap_or_else(|_| std::env::current_dir().unwrap_or_default().join(path))
            .starts_with(&folder)
    };
    if inside(file) {
        return Loaded::failed(format!(
            "{}: the configuration lies in the report's folder, which comes from the pull request: expected a file from a trusted checkout, outside {}",
            file.display(),
            folder.display()
        ));
    }
    let effective = match super::load(Some(file), request.environment) {
        Ok(effective) => effective,
        Err(err) => return Loaded::failed(err.to_string()),
    };
    let mut loaded = Loaded {
        rule_sources: Vec::new(),
        effective,
        notes: Vec::new(),
        errors: Vec::new(),
    };
    for path in rule_paths(&loaded.effective) {
        if inside(&path) {
            loaded.errors.push(format!("{}: rules.paths: `{}` lies in the report's folder, which comes from the pull request: not loaded", file.display(), path.display()));
        } else {
            loaded.rule_sources.push(RuleSource::Path(path));
        }
    }
    loaded
}

/// The working tree's configuration; credential destinations pinned to the base's.
fn from_checkout(request: Request<'_>, base: Option<&BaseCommit>) -> Loaded {
    let file = match super::locate(request.explicit) {
        Ok(file) => file,
        Err(err) => return Loaded::failed(err.to_string()),
    };
    let mut effective = match super::load(file.as_deref(), request.environment) {
        Ok(effective) => effective,
        Err(err) => return Loaded::failed(err.to_string()),
    };
    let mut notes = Vec::new();
    if let (Some(file), Some(base)) = (&file, base) {
        let base_config = config_at_base(file, base, request.environment);
        notes.extend(base_config.1);
        notes.extend(pin_credential_destinations(
            &mut effective.config,
            base_config.0.as_ref(),
        ));
    }
    Loaded {
        rule_sources: rule_paths(&effective)
            .into_iter()
            .map(RuleSource::Path)
            .collect(),
        effective,
        notes,
        errors: Vec::new(),
    }
}

/// The base commit's version of the working tree's configuration `file`, to
/// pin credential destinations to: None when `file` is not the repository's
/// (nothing to pin); the defaults when the base has no such file or it cannot
/// be read (then nothing the change adds is used), with a note.
fn config_at_base(
    file: &Path,
    base: &BaseCommit,
    environment: Option<&str>,
) -> (Option<Config>, Option<String>) {
    let Some(repo) = std::env::current_dir()
        .ok()
        .and_then(|cwd| Repo::discover(&cwd).ok())
    else {
        return (None, None);
    };
    let Some(rel) = repo_relative(&repo, file) else {
        return (None, None);
    };
    let unreadable = |why: String| {
        (
            Some(Config::default()),
            Some(format!("the base commit's configuration cannot be read ({why}): no key of this change that decides where credentials go or what they do (`jira`, `notify`, `*url*`) is used; fetch the base commit (e.g. `fetch-depth: 0`)")),
        )
    };
    let commit = match resolve(&repo, base) {
        Ok(commit) => commit,
        Err(err) => return unreadable(err),
    };
    match read_config(&repo, commit, &rel, environment) {
        Ok(Some((config, _))) => (Some(config), None),
        Ok(None) => (Some(Config::default()), None),
        Err(err) => unreadable(err.to_string()),
    }
}

/// `--config-from-base`: the configuration and its rule files as the base commit has them.
fn from_base(request: Request<'_>, base: &BaseCommit) -> Loaded {
    let repo = match std::env::current_dir()
        .map_err(|e| e.to_string())
        .and_then(|cwd| Repo::discover(&cwd).map_err(|e| e.to_string()))
    {
        Ok(repo) => repo,
        Err(err) => return Loaded::failed(format!("--config-from-base: {err}")),
    };
    let commit = match resolve(&repo, base) {
        Ok(commit) => commit,
        Err(err) => {
            return Loaded::failed(format!(
                "--config-from-base: cannot read the base commit: {err}"
            ))
        }
    };
    let short = short(commit);
    let rel = match request.explicit {
        None => PathBuf::from(FILE_NAME),
        Some(file) => match repo_relative(&repo, file) {
            Some(rel) => rel,
            None => {
                return Loaded::failed(format!(
                    "{}: --config-from-base reads the configuration from the repository's base commit: expected a path inside the repository",
                    file.display()
                ))
            }
        },
    };
    let workdir = repo.workdir().map(Path::to_path_buf).unwrap_or_default();
    let (config, dir) = match read_config(&repo, commit, &rel, request.environment) {
        Ok(Some(found)) => found,
        Ok(None) => {
            let mut loaded = Loaded::defaults();
            loaded.notes.push(format!(
                "--config-from-base: the base commit {short} has no {}: defaults apply",
                rel.display()
            ));
            return loaded;
        }
        Err(err) => return Loaded::failed(err.to_string()),
    };
    let mut loaded = Loaded {
        effective: Effective {
            base_dir: workdir.join(&dir),
            config,
            file: None,
        },
        rule_sources: Vec::new(),
        notes: vec![format!(
            "--config-from-base: configuration and repository rules from the base commit {short} ({}), not from the working tree",
            rel.display()
        )],
        errors: Vec::new(),
    };
    let paths: Vec<PathBuf> = loaded
        .effective
        .config
        .rules
        .iter()
        .flat_map(|r| r.paths.iter().flatten())
        .cloned()
        .collect();
    for path in paths {
        // Checked when the configuration was parsed.
        let Ok(rel) = paths::in_tree(&dir, &path) else {
            continue;
        };
        let name = |p: &Path| format!("{short}:{}", p.display());
        match repo.entry_at(commit, &rel, MAX_RULE_FILE) {
            Ok(Some(TreeEntry::Folder(files))) => {
                let before = loaded.rule_sources.len();
                for (file, entry) in files.into_iter().filter(|(f, _)| is_rule_file(f)) {
                    match rule_text(entry) {
                        Ok(text) => loaded.rule_sources.push(RuleSource::Text {
                            file: name(&file),
                            text,
                        }),
                        Err(why) => loaded.errors.push(format!("{}: {why}", name(&file))),
                    }
                }
                if loaded.rule_sources.len() == before {
                    loaded.errors.push(format!(
                        "{}: no rule files (*.yml, *.yaml) in this folder",
                        name(&rel)
                    ));
                }
            }
            Ok(Some(entry)) => match rule_text(entry) {
                Ok(text) => loaded.rule_sources.push(RuleSource::Text {
                    file: name(&rel),
                    text,
                }),
                Err(why) => loaded.errors.push(format!("{}: {why}", name(&rel))),
            },
            Ok(None) => loaded.errors.push(format!(
                "{}: no such file or folder in the base commit",
                name(&rel)
            )),
            Err(err) => loaded.errors.push(format!("{}: {err}", name(&rel))),
        }
    }
    loaded
}

fn is_rule_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yml") | Some("yaml")
    )
}

fn rule_text(entry: TreeEntry) -> Result<String, String> {
    match entry {
        TreeEntry::File(bytes) => {
            String::from_utf8(bytes).map_err(|_| "expected a UTF-8 rule file".to_string())
        }
        TreeEntry::TooBig(size) => Err(format!(
            "{size} bytes: expected a rule file of at most {MAX_RULE_FILE} bytes"
        )),
        TreeEntry::Folder(_) | TreeEntry::Other => Err(
            "expected a regular rule file or folder (a symlink or submodule is not followed)"
                .into(),
        ),
    }
}

/// Reads and parses the configuration at `rel` in `commit`: the effective
/// configuration and the configuration's folder in the tree, or None when there is none.
fn read_config(
    repo: &Repo,
    commit: git2::Oid,
    rel: &Path,
    environment: Option<&str>,
) -> Result<Option<(Config, PathBuf)>, ConfigError> {
    let name = format!("{}:{}", short(commit), rel.display());
    let error = |message: String| ConfigError {
        file: name.clone(),
        line: None,
        message,
    };
    let bytes = match repo.entry_at(commit, rel, super::MAX_FILE_SIZE) {
        Ok(None) => return Ok(None),
        Ok(Some(TreeEntry::File(bytes))) => bytes,
        Ok(Some(TreeEntry::TooBig(size))) => {
            return Err(error(format!(
                "{size} bytes: expected a configuration of at most {} bytes",
                super::MAX_FILE_SIZE
            )))
        }
        Ok(Some(_)) => {
            return Err(error(
                "expected a regular file (a symlink is not followed)".into(),
            ))
        }
        Err(err) => return Err(error(err.to_string())),
    };
    let text = String::from_utf8(bytes).map_err(|_| error("expected UTF-8 text".into()))?;
    let dir = rel.parent().map(Path::to_path_buf).unwrap_or_default();
    let check = |path: &Path| paths::in_tree(&dir, path).map(|_| ());
    let config = super::parse(&name, &text, environment, &check)?;
    Ok(Some((config, dir)))
}

fn resolve(repo: &Repo, base: &BaseCommit) -> Result<git2::Oid, String> {
    match base {
        BaseCommit::MergeBase { base, head } => {
            repo.merge_base_of(base, head.as_deref().unwrap_or("HEAD"))
        }
        BaseCommit::Commit(commit) => repo.resolve(commit),
    }
    .map_err(|e| e.to_string())
}

fn short(commit: git2::Oid) -> String {
    commit.to_string()[..SHORT_SHA].to_string()
}

/// `file` as a path from the repository's root, when it lies inside the working tree.
fn repo_relative(repo: &Repo, file: &Path) -> Option<PathBuf> {
    let workdir = repo.workdir()?.canonicalize().ok()?;
    let cwd = std::env::current_dir().ok()?;
    let absolute = cwd.join(file);
    let absolute = match absolute.canonicalize() {
        Ok(found) => found,
        // Not in the working tree (e.g. only in the base): its folder must be.
        Err(_) => absolute
            .parent()?
            .canonicalize()
            .ok()?
            .join(absolute.file_name()?),
    };
    absolute.strip_prefix(&workdir).ok().map(Path::to_path_buf)
}
