//! Image policy checks over files: finds the image references of Dockerfiles,
//! manifests and CI files and turns denied or unresolvable ones into findings.

use super::check::check;
use super::sources::{dockerfile, is_dockerfile, manifests};
use crate::config::EnvironmentPolicy;
use crate::finding::{Finding, Position, Severity};
use crate::scan::{Notice, PassedImage, ScanOutcome};
use std::path::PathBuf;

/// Rule id of an image that a policy denies.
pub const IMAGE_POLICY_RULE: &str = "image/policy";
/// Rule id of an image reference with a variable that has no value.
pub const IMAGE_UNRESOLVED_RULE: &str = "image/unresolved";

/// The files under `roots` that can name images, as display paths.
pub fn image_files(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for root in roots {
        // CI files are hidden (`.gitlab-ci.yml`, `.github/workflows/`): walk hidden files, not `.git`.
        // `.ignore` files are the pull request's to write: only `.gitignore` counts, as for code.
        let walker = ignore::WalkBuilder::new(root)
            .require_git(false)
            .ignore(false)
            .git_global(false)
            .hidden(false)
            .filter_entry(|e| e.file_name() != ".git")
            .build();
        for entry in walker.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let wanted = is_dockerfile(&name) || manifests::kind_of(entry.path()).is_some();
            if entry.file_type().is_some_and(|t| t.is_file()) && wanted {
                files.push(crate::scan::display_path(entry.path()));
            }
        }
    }
    files.sort();
    files.dedup();
    files
}

/// Checks the images of `files` against `policy` (environment `env`),
/// adding findings and notices to `outcome`. A file that cannot be read (not
/// a regular file, over the size cap, not UTF-8) is a notice and is not
/// checked, as for source files. Returns true if and only if a file could
/// not be read as its kind (each is reported on stderr with its line; the
/// other files are still checked).
pub fn check_files(
    files: &[PathBuf],
    env: &str,
    policy: &EnvironmentPolicy,
    outcome: &mut ScanOutcome,
) -> bool {
    let mut bad_files = false;
    for path in files {
        let text = match read_image_file(path) {
            Ok(t) => t,
            Err(message) => {
                // Like a source file that cannot be read: a notice, not
                // checked, and (in a change) a gate that fails by
                // `fail_on_skipped`: padding a Dockerfile must not hide its images.
                outcome.not_scanned.push(path.clone());
                outcome.notices.push(Notice {
                    path: path.clone(),
                    message,
                });
                continue;
            }
        };
        outcome.files_checked += 1;
        let parsed = match mentions(path, &text) {
            Mentions::Found(found) => Ok(found),
            Mentions::None => continue,
            Mentions::Template => {
                outcome.notices.push(Notice {
                    path: path.clone(),
                    message: "skipped: a template, not YAML until rendered".into(),
                });
                continue;
            }
            Mentions::Bad(e) => Err(e),
        };
        let mentions = match parsed {
            Ok(m) => m,
            Err(e) => {
                crate::say!("error: {}:{}: {}", path.display(), e.line, e.message);
                bad_files = true;
                continue;
            }
        };
        outcome.files_parsed += 1;
        let mut found = Vec::new();
        for m in mentions {
            let (rule, severity, message) = match &m.unresolved {
                Some(var) => (
                    IMAGE_UNRESOLVED_RULE,
                    Severity::Info,
                    format!("cannot check `{}`: `{var}` has no value here (give the ARG a default, or check the image with `tollgate images check` where it is known)", m.image),
                ),
                None => match check(&m.image, env, policy).reason {
                    Some(reason) => (IMAGE_POLICY_RULE, Severity::Error, format!("`{}` is denied in {env}: {reason}", m.image)),
                    None => {
                        outcome.images_passed.push(PassedImage {
                            path: path.clone(),
                            line: m.line,
                            image: m.image.clone(),
                        });
                        continue;
                    }
                },
            };
            let column = m.column.max(1);
            found.push(Finding {
                rule: rule.into(),
                severity,
                path: path.clone(),
                start: Position {
                    line: m.line,
                    column,
                },
                end: Position {
                    line: m.line,
                    column: column + m.image.chars().count(),
                },
                message,
                fingerprint: String::new(),
                fix: None,
                snippet: m.image.clone(),
                suppressed: false,
            });
        }
        crate::fingerprint::assign(&mut found);
        outcome.findings.extend(found);
    }
    crate::fingerprint::separate_twins(outcome.findings.iter_mut().chain(&mut outcome.suppressed));
    bad_files
}

/// The text of an image file, or the notice that says why it was not read:
/// only regular files (no symbolic link, which could point outside the
/// checkout) of at most [`crate::yaml::MANIFEST_MAX_BYTES`].
fn read_image_file(path: &std::path::Path) -> Result<String, String> {
    use crate::textfile::ReadError;
    crate::textfile::read(path, crate::yaml::MANIFEST_MAX_BYTES, false).map_err(|e| match e {
        ReadError::TooLarge(..) => {
            format!("skipped: {e} for image files: its images are not checked")
        }
        ReadError::NotRegular(_) => {
            format!("skipped: {e}: image files are read only when they are regular files")
        }
        ReadError::NotUtf8(_) => format!("skipped: {e}"),
        ReadError::Io(kind) => format!("skipped: cannot read: {kind}"),
    })
}

/// The `appVersion` of the chart beside a values file.
fn app_version(values: &std::path::Path) -> Option<String> {
    let dir = values.parent()?;
    let chart = ["Chart.yaml", "Chart.yml"].iter().find_map(|n| {
        crate::textfile::read(&dir.join(n), crate::yaml::CONFIG_MAX_BYTES, false).ok()
    })?;
    let parsed: serde_json::Value = crate::yaml::from_str(&chart).ok()?;
    match parsed.get("appVersion")? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What a file says about images.
pub enum Mentions {
    Found(Vec<super::sources::ImageMention>),
    /// Not a file that names images (a YAML file that is no manifest).
    None,
    /// A Helm template: no YAML until rendered.
    Template,
    Bad(super::sources::SourceError),
}

/// The image references of the file at `path` (used for its kind) holding `text`.
pub fn mentions(path: &std::path::Path, text: &str) -> Mentions {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let parsed = match manifests::kind_of(path) {
        _ if is_dockerfile(&name) => dockerfile::images(text),
        Some(manifests::Kind::Kubernetes) => {
            // Most YAML files are no manifests; templates (Helm) are no YAML yet.
            if !(text.contains("apiVersion") && text.contains("kind")) {
                return Mentions::None;
            }
            match manifests::images(text, manifests::Kind::Kubernetes) {
                Err(_) if text.contains("{{") => return Mentions::Template,
                other => other,
            }
        }
        Some(manifests::Kind::HelmValues) => manifests::images_with(
            text,
            manifests::Kind::HelmValues,
            app_version(path).as_deref(),
        ),
        Some(kind) => manifests::images(text, kind),
        None => return Mentions::None,
    };
    match parsed {
        Ok(found) => Mentions::Found(found),
        Err(e) => Mentions::Bad(e),
    }
}

/// Rule id of a change that moves an image's version back.
pub const IMAGE_DOWNGRADE_RULE: &str = "image/downgrade";

/// The SemVer version of a tag (one leading `v` allowed).
fn version_of(tag: &str) -> Option<semver::Version> {
    semver::Version::parse(tag.strip_prefix('v').unwrap_or(tag)).ok()
}

/// Findings for images whose SemVer tag is lower in `head_text` than the
/// highest tag of the same repository in `base_text` (the file before the change).
pub fn downgrades(
    path: &std::path::Path,
    base_text: &str,
    head_text: &str,
    severity: Severity,
) -> Vec<Finding> {
    let (Mentions::Found(before), Mentions::Found(after)) =
        (mentions(path, base_text), mentions(path, head_text))
    else {
        return Vec::new();
    };
    let key = |image: &str| {
        super::reference::parse(image)
            .ok()
            .and_then(|r| Some((format!("{}/{}", r.domain, r.path), r.tag?)))
    };
    let mut highest: std::collections::HashMap<String, (semver::Version, String)> =
        Default::default();
    for m in &before {
        if let Some((repo, tag)) = key(&m.image) {
            if let Some(v) = version_of(&tag) {
                let entry = highest.entry(repo).or_insert((v.clone(), tag.clone()));
                if super::check::precedence(&v, &entry.0).is_gt() {
                    *entry = (v, tag);
                }
            }
        }
    }
    let mut out = Vec::new();
    for m in after {
        let Some((repo, tag)) = key(&m.image) else {
            continue;
        };
        let (Some(v), Some((old, old_tag))) = (version_of(&tag), highest.get(&repo)) else {
            continue;
        };
        if super::check::precedence(&v, old).is_lt() {
            let column = m.column.max(1);
            out.push(Finding {
                rule: IMAGE_DOWNGRADE_RULE.into(),
                severity,
                path: path.to_path_buf(),
                start: Position {
                    line: m.line,
                    column,
                },
                end: Position {
                    line: m.line,
                    column: column + m.image.chars().count(),
                },
                message: format!(
                    "`{repo}` moves back from `{old_tag}` to `{tag}`: versions only move forward"
                ),
                fingerprint: String::new(),
                fix: None,
                snippet: m.image.clone(),
                suppressed: false,
            });
        }
    }
    crate::fingerprint::assign(&mut out);
    out
}
