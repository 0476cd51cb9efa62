//! Decides, without touching the network, what a run does on the pull
//! request: which findings get a new inline comment and where, which are
//! already commented, which old comments are fixed, and what goes to the
//! summary instead. Anchors are checked against the PR's own diff hunks, so
//! GitHub never answers "line must be part of the diff".

use super::comments;
use super::forge::Dialect;
use super::patch::Hunk;
use crate::finding::Finding;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A multi-line comment spans at most this many lines; longer findings are
/// commented on their first line.
const MAX_SPAN: usize = 10;

/// A file of the pull request.
#[derive(Debug, Clone, Default)]
pub struct FileDiff {
    /// None when the forge sent no diff (binary, too large, collapsed).
    pub hunks: Option<Vec<Hunk>>,
    /// The path before the change, for a renamed file.
    pub old_path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    pub id: String,
    pub resolved: bool,
    /// Resolved by tollgate (a fix it saw), not by a person who dismissed it.
    pub resolved_by_us: bool,
}

/// A review comment tollgate wrote on an earlier run.
#[derive(Debug, Clone)]
pub struct Existing {
    pub id: u64,
    pub fingerprint: String,
    pub body: String,
    pub thread: Option<Thread>,
}

impl Existing {
    fn marked_fixed(&self) -> bool {
        comments::is_marked_fixed(&self.body)
    }
}

/// Why a finding is listed in the summary rather than commented inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elsewhere {
    /// The file or the lines are not part of the PR's diff.
    NotInDiff,
    /// GitHub sent no patch for the file.
    NoPatch,
    /// More findings than `max_comments`.
    OverCap,
    /// The scanned file's line differs from the PR head's: commenting could
    /// land on the wrong line.
    Moved,
    /// GitHub refused the comment.
    Refused(String),
    /// Its comment was posted on an earlier run and someone deleted it.
    Dismissed,
}

impl Elsewhere {
    pub fn describe(&self, dialect: &Dialect) -> String {
        match self {
            Elsewhere::NotInDiff => "outside the diff".into(),
            Elsewhere::NoPatch => format!("{} shows no diff for this file", dialect.forge),
            Elsewhere::OverCap => "over the inline comment cap".into(),
            Elsewhere::Moved => format!(
                "the scanned line differs from the {} head",
                dialect.change_abbr
            ),
            Elsewhere::Refused(why) => format!("{} refused the comment: {why}", dialect.forge),
            Elsewhere::Dismissed => "its comment was deleted".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewComment {
    /// Index into the findings.
    pub finding: usize,
    pub path: String,
    pub line: usize,
    pub start_line: Option<usize>,
    pub body: String,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub new: Vec<NewComment>,
    /// Findings whose comment is already on the PR.
    pub kept: Vec<usize>,
    /// Threads tollgate resolved whose finding is back (a person's
    /// resolution is respected).
    pub reopen: Vec<Thread>,
    /// Comments whose text changed (rule text or severity), with the new body.
    pub edit: Vec<(Existing, String)>,
    /// Comments whose finding is gone and that are not resolved yet.
    pub gone: Vec<Existing>,
    pub elsewhere: Vec<(usize, Elsewhere)>,
}

pub struct Inputs<'a> {
    /// Paths repository-relative, with `/`.
    pub findings: &'a [Finding],
    pub files: &'a BTreeMap<String, FileDiff>,
    pub existing: &'a [Existing],
    pub max_comments: usize,
    pub markers: &'a comments::Markers,
    pub dialect: &'a Dialect,
    /// Short fingerprints whose comment was posted before and is gone.
    pub dismissed: &'a HashSet<String>,
    pub rule_url: &'a dyn Fn(&str) -> Option<String>,
    /// The text the scan saw on a line, when known.
    pub line_text: &'a dyn Fn(&str, usize) -> Option<String>,
}

/// Where a comment goes: (start line if several, line, whether the fix
/// can be offered as a suggestion).
type Anchor = (Option<usize>, usize, bool);

/// The info string of the fix's suggestion block, when the anchor offers one.
fn suggestion(dialect: &Dialect, (start, line, suggest): Anchor) -> Option<String> {
    suggest.then(|| (dialect.suggestion)(start.unwrap_or(line), line))
}

fn hunk_with(hunks: &[Hunk], line: usize) -> Option<&Hunk> {
    hunks.iter().find(|h| h.contains(line))
}

fn anchor(finding: &Finding, hunks: &[Hunk]) -> Option<Anchor> {
    let start = finding.start.line;
    let end = finding.end.line.max(start);
    if let Some(fix) = finding.fix.as_ref().filter(|f| f.new_lines.is_some()) {
        let (from, to) = (fix.start.line, fix.end.line.max(fix.start.line));
        if let Some(hunk) = hunk_with(hunks, from).filter(|h| h.contains(to)) {
            if to - from < MAX_SPAN && from <= end && to >= start {
                let _ = hunk;
                return Some(((from < to).then_some(from), to, true));
            }
        }
    }
    if let Some(hunk) = hunk_with(hunks, start) {
        if hunk.contains(end) && end - start < MAX_SPAN {
            return Some(((start < end).then_some(start), end, false));
        }
        return Some((None, start, false));
    }
    (start..=end)
        .find(|line| hunk_with(hunks, *line).is_some())
        .map(|line| (None, line, false))
}

/// Lines of context around a comment that must read the same too: a line
/// such as `}` matches in many places, a run of lines hardly ever.
const CONTEXT: usize = 2;

/// The lines a comment covers, and the diff's lines around them, all show in
/// the PR's diff the text the scan saw (it may have scanned another commit).
fn same_text(inputs: &Inputs<'_>, path: &str, hunks: &[Hunk], anchor: Anchor) -> bool {
    let (start, line, _) = anchor;
    let first = start.unwrap_or(line).saturating_sub(CONTEXT).max(1);
    (first..=line + CONTEXT).all(|n| {
        match (
            (inputs.line_text)(path, n),
            hunk_with(hunks, n).and_then(|h| h.text(n)),
        ) {
            (Some(seen), Some(diff)) => seen.trim_end_matches('\r') == diff.trim_end_matches('\r'),
            _ => true,
        }
    })
}

pub fn plan(inputs: &Inputs<'_>) -> Plan {
    let mut plan = Plan::default();
    let mut by_fingerprint: HashMap<&str, &Existing> = HashMap::new();
    // A comment tollgate itself resolved and marked fixed (GitLab does both)
    // comes back to life with its finding; one only marked fixed (its
    // thread could not be resolved) does not. Live comments win.
    let live = inputs.existing.iter().filter(|e| !e.marked_fixed());
    let resolved_by_us = inputs.existing.iter().filter(|e| {
        e.marked_fixed()
            && e.thread
                .as_ref()
                .is_some_and(|t| t.resolved && t.resolved_by_us)
    });
    for existing in live.chain(resolved_by_us) {
        by_fingerprint
            .entry(existing.fingerprint.as_str())
            .or_insert(existing);
    }
    let mut candidates: Vec<NewComment> = Vec::new();
    for (index, finding) in inputs.findings.iter().enumerate() {
        let path = crate::report::json::path_string(&finding.path);
        let located = match inputs.files.get(&path) {
            None => Err(Elsewhere::NotInDiff),
            Some(FileDiff { hunks: None, .. }) => Err(Elsewhere::NoPatch),
            Some(FileDiff {
                hunks: Some(hunks), ..
            }) => match anchor(finding, hunks) {
                None => Err(Elsewhere::NotInDiff),
                Some(a) if !same_text(inputs, &path, hunks, a) => Err(Elsewhere::Moved),
                Some(a) => Ok(a),
            },
        };
        let url = (inputs.rule_url)(&finding.rule);
        if let Some(existing) = by_fingerprint.get(finding.fingerprint.as_str()) {
            plan.kept.push(index);
            if let Some(thread) = existing
                .thread
                .as_ref()
                .filter(|t| t.resolved && t.resolved_by_us)
            {
                plan.reopen.push(thread.clone());
            }
            if let Ok(anchor) = located {
                let body = comments::inline_body(
                    inputs.markers,
                    finding,
                    url.as_deref(),
                    suggestion(inputs.dialect, anchor).as_deref(),
                );
                if body != existing.body {
                    plan.edit.push(((*existing).clone(), body));
                }
            }
            continue;
        }
        if inputs
            .dismissed
            .contains(comments::short(&finding.fingerprint))
        {
            plan.elsewhere.push((index, Elsewhere::Dismissed));
            continue;
        }
        match located {
            Ok(anchor @ (start_line, line, _)) => candidates.push(NewComment {
                finding: index,
                path,
                line,
                start_line,
                body: comments::inline_body(
                    inputs.markers,
                    finding,
                    url.as_deref(),
                    suggestion(inputs.dialect, anchor).as_deref(),
                ),
            }),
            Err(why) => plan.elsewhere.push((index, why)),
        }
    }
    // The most serious first, then in file order; the rest over the cap go to the summary.
    candidates.sort_by(|a, b| {
        let (fa, fb) = (&inputs.findings[a.finding], &inputs.findings[b.finding]);
        fb.severity
            .cmp(&fa.severity)
            .then_with(|| (&a.path, a.line).cmp(&(&b.path, b.line)))
    });
    for (rank, comment) in candidates.into_iter().enumerate() {
        if rank < inputs.max_comments {
            plan.new.push(comment);
        } else {
            plan.elsewhere.push((comment.finding, Elsewhere::OverCap));
        }
    }
    plan.elsewhere.sort_by_key(|(i, _)| *i);
    let present: HashSet<&str> = inputs
        .findings
        .iter()
        .map(|f| f.fingerprint.as_str())
        .collect();
    plan.gone = inputs
        .existing
        .iter()
        .filter(|e| !e.marked_fixed() && !present.contains(e.fingerprint.as_str()))
        .filter(|e| !e.thread.as_ref().is_some_and(|t| t.resolved))
        .cloned()
        .collect();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Fix, Position, Severity};
    use crate::review::patch;

    fn finding(path: &str, start: usize, end: usize, fp: &str, severity: Severity) -> Finding {
        Finding {
            rule: "go/x".into(),
            severity,
            path: path.into(),
            start: Position {
                line: start,
                column: 1,
            },
            end: Position {
                line: end,
                column: 2,
            },
            message: "m".into(),
            fingerprint: fp.into(),
            fix: None,
            snippet: String::new(),
            suppressed: false,
        }
    }

    fn files() -> BTreeMap<String, FileDiff> {
        // New-side lines 10..=14 (12 and 13 added) and 40..=42.
        let hunks = patch::parse(
            "@@ -10,3 +10,5 @@\n a\n b\n+c\n+d\n e\n@@ -38,3 +40,3 @@\n x\n-y\n+z\n w",
        )
        .unwrap();
        let mut files = BTreeMap::new();
        files.insert(
            "a.go".to_string(),
            FileDiff {
                hunks: Some(hunks),
                old_path: None,
            },
        );
        files.insert("big.go".to_string(), FileDiff::default());
        files
    }

    fn run(findings: &[Finding], existing: &[Existing], cap: usize) -> Plan {
        run_with(findings, existing, cap, &HashSet::new(), &|_, _| None)
    }

    fn run_with(
        findings: &[Finding],
        existing: &[Existing],
        cap: usize,
        dismissed: &HashSet<String>,
        line_text: &dyn Fn(&str, usize) -> Option<String>,
    ) -> Plan {
        let files = files();
        plan(&Inputs {
            findings,
            files: &files,
            existing,
            max_comments: cap,
            markers: &comments::Markers::default(),
            dialect: &crate::github::forge::DIALECT,
            dismissed,
            rule_url: &|_| None,
            line_text,
        })
    }

    #[test]
    fn anchors_stay_inside_one_hunk() {
        let findings = [
            finding("a.go", 12, 13, "01", Severity::Warning), // multi-line within a hunk
            finding("a.go", 13, 41, "02", Severity::Warning), // spans two hunks: first line only
            finding("a.go", 20, 30, "03", Severity::Warning), // between hunks
            finding("a.go", 5, 11, "04", Severity::Warning),  // starts before the hunk
            finding("other.go", 1, 1, "05", Severity::Error),
            finding("big.go", 1, 1, "06", Severity::Error),
        ];
        let plan = run(&findings, &[], 30);
        let anchors: Vec<(usize, Option<usize>, usize)> = plan
            .new
            .iter()
            .map(|c| (c.finding, c.start_line, c.line))
            .collect();
        assert_eq!(
            anchors,
            vec![(3, None, 10), (0, Some(12), 13), (1, None, 13)]
        );
        assert_eq!(
            plan.elsewhere,
            vec![
                (2, Elsewhere::NotInDiff),
                (4, Elsewhere::NotInDiff),
                (5, Elsewhere::NoPatch)
            ]
        );
    }

    #[test]
    fn suggestions_need_the_fix_lines_in_one_hunk() {
        let mut inside = finding("a.go", 12, 12, "01", Severity::Warning);
        inside.fix = Some(Fix {
            start: Position {
                line: 12,
                column: 1,
            },
            end: Position {
                line: 13,
                column: 1,
            },
            replacement: "q".into(),
            new_lines: Some("q".into()),
        });
        let mut across = inside.clone();
        across.fingerprint = "02".into();
        across.fix.as_mut().unwrap().end.line = 40;
        let plan = run(&[inside, across], &[], 30);
        let of = |i: usize| plan.new.iter().find(|c| c.finding == i).unwrap();
        assert_eq!((of(0).start_line, of(0).line), (Some(12), 13));
        assert!(of(0).body.contains("```suggestion"));
        assert_eq!((of(1).start_line, of(1).line), (None, 12));
        assert!(!of(1).body.contains("```suggestion"));
    }

    #[test]
    fn a_comment_someone_deleted_is_not_posted_again() {
        let findings = [
            finding("a.go", 12, 12, "00000000000000000001", Severity::Warning),
            finding("a.go", 13, 13, "00000000000000000002", Severity::Warning),
        ];
        let dismissed: HashSet<String> = ["0000000000000000".to_string()].into();
        let mut second = findings[1].clone();
        second.fingerprint = "1000000000000000000".into();
        let findings = [findings[0].clone(), second];
        let plan = run_with(&findings, &[], 30, &dismissed, &|_, _| None);
        assert_eq!(plan.elsewhere, vec![(0, Elsewhere::Dismissed)]);
        assert_eq!(
            plan.new.iter().map(|c| c.finding).collect::<Vec<_>>(),
            vec![1]
        );
    }

    #[test]
    fn the_cap_keeps_the_most_serious() {
        let findings = [
            finding("a.go", 10, 10, "01", Severity::Info),
            finding("a.go", 11, 11, "02", Severity::Error),
            finding("a.go", 12, 12, "03", Severity::Warning),
        ];
        let plan = run(&findings, &[], 2);
        assert_eq!(
            plan.new.iter().map(|c| c.finding).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(plan.elsewhere, vec![(0, Elsewhere::OverCap)]);
    }

    #[test]
    fn existing_comments_are_kept_reopened_edited_or_gone() {
        let findings = [
            finding("a.go", 12, 12, "01", Severity::Warning),
            finding("a.go", 13, 13, "02", Severity::Warning),
            finding("a.go", 40, 40, "03", Severity::Warning),
            finding("a.go", 41, 41, "04", Severity::Warning),
        ];
        let body =
            |f: &Finding| comments::inline_body(&comments::Markers::default(), f, None, None);
        let existing = vec![
            Existing {
                id: 1,
                fingerprint: "01".into(),
                body: body(&findings[0]),
                thread: Some(Thread {
                    id: "T1".into(),
                    resolved: false,
                    resolved_by_us: false,
                }),
            },
            Existing {
                id: 2,
                fingerprint: "02".into(),
                body: "old text <!-- tollgate:fingerprint=02 -->".into(),
                thread: Some(Thread {
                    id: "T2".into(),
                    resolved: true,
                    resolved_by_us: true,
                }),
            },
            Existing {
                id: 3,
                fingerprint: "09".into(),
                body: "gone".into(),
                thread: Some(Thread {
                    id: "T3".into(),
                    resolved: false,
                    resolved_by_us: false,
                }),
            },
            Existing {
                id: 4,
                fingerprint: "08".into(),
                body: "gone, resolved".into(),
                thread: Some(Thread {
                    id: "T4".into(),
                    resolved: true,
                    resolved_by_us: true,
                }),
            },
            Existing {
                id: 6,
                fingerprint: "04".into(),
                body: "a person resolved this one <!-- tollgate:fingerprint=04 -->".into(),
                thread: Some(Thread {
                    id: "T6".into(),
                    resolved: true,
                    resolved_by_us: false,
                }),
            },
            Existing {
                id: 5,
                fingerprint: "03".into(),
                body: format!("x {}", comments::FIXED_MARKER),
                thread: None,
            },
        ];
        let plan = run(&findings, &existing, 30);
        assert_eq!(plan.kept, vec![0, 1, 3]);
        assert_eq!(
            plan.reopen
                .iter()
                .map(|t| t.id.as_str())
                .collect::<Vec<_>>(),
            vec!["T2"],
            "a person's resolution stands"
        );
        assert_eq!(
            plan.edit.iter().map(|e| e.0.id).collect::<Vec<_>>(),
            vec![2, 6]
        );
        assert_eq!(plan.gone.iter().map(|e| e.id).collect::<Vec<_>>(), vec![3]);
        // A comment marked fixed does not count: the finding came back, so it gets a new one.
        assert_eq!(
            plan.new.iter().map(|c| c.finding).collect::<Vec<_>>(),
            vec![2]
        );
    }

    #[test]
    fn a_comment_we_resolved_and_marked_fixed_comes_back_with_its_finding() {
        let findings = [finding("a.go", 12, 12, "01", Severity::Warning)];
        let markers = comments::Markers::default();
        let live = comments::inline_body(&markers, &findings[0], None, None);
        let thread = |resolved_by_us| {
            Some(Thread {
                id: "D1".into(),
                resolved: true,
                resolved_by_us,
            })
        };
        let fixed = Existing {
            id: 1,
            fingerprint: "01".into(),
            body: comments::fixed_body(&markers, &live, "abc"),
            thread: thread(true),
        };
        let plan = run(&findings, std::slice::from_ref(&fixed), 30);
        assert_eq!(plan.kept, vec![0]);
        assert!(plan.new.is_empty(), "no second comment");
        assert_eq!(plan.reopen.len(), 1);
        assert_eq!(plan.edit.len(), 1);
        assert_eq!(plan.edit[0].1, live, "its text is the finding's again");
        // Resolved by a person after we marked it: their word stands.
        let dismissed = Existing {
            thread: thread(false),
            ..fixed
        };
        let plan = run(&findings, &[dismissed], 30);
        assert!(plan.reopen.is_empty() && plan.kept.is_empty());
        assert_eq!(plan.new.len(), 1);
    }

    #[test]
    fn the_lines_around_an_anchor_must_match_too() {
        // Line 12 reads "c" as in the diff, but its neighbour 13 does not:
        // the scanned file is another version, so line 12 may be a lookalike.
        let findings = [finding("a.go", 12, 12, "01", Severity::Warning)];
        let texts = |_: &str, n: usize| -> Option<String> {
            Some(
                match n {
                    10 => "a",
                    11 => "b",
                    12 => "c",
                    13 => "D",
                    _ => "e",
                }
                .to_string(),
            )
        };
        let plan = run_with(&findings, &[], 30, &HashSet::new(), &texts);
        assert_eq!(plan.elsewhere, vec![(0, Elsewhere::Moved)]);
    }

    #[test]
    fn a_line_whose_text_differs_from_the_diff_is_not_commented() {
        let findings = [
            finding("a.go", 12, 12, "01", Severity::Warning),
            finding("a.go", 41, 41, "02", Severity::Warning),
        ];
        // The scanned file reads as the diff, except on line 41.
        let texts = |_: &str, n: usize| -> Option<String> {
            let text = match n {
                10 => "a",
                11 => "b",
                12 => "c",
                13 => "d",
                14 => "e",
                40 => "x",
                41 => "not z",
                42 => "w",
                _ => return None,
            };
            Some(text.to_string())
        };
        let plan = run_with(&findings, &[], 30, &HashSet::new(), &texts);
        assert_eq!(
            plan.new.iter().map(|c| c.finding).collect::<Vec<_>>(),
            vec![0]
        );
        assert_eq!(plan.elsewhere, vec![(1, Elsewhere::Moved)]);
    }
}
