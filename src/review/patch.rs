//! The hunks of a changed file's `patch` (unified diff without file headers,
//! as GitHub's PR files API and GitLab's MR diffs API return it): which
//! new-side lines a forge accepts a comment on, the text there, and the old
//! side's number of each unchanged line (GitLab positions need both).

use crate::diff::FileChange;

/// One `@@ -a,b +c,d @@` hunk, new side only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// New-side lines in this hunk (context and added), with their text.
    pub lines: Vec<(usize, String)>,
    /// The subset of `lines` the change added.
    pub added: Vec<usize>,
    /// Unchanged (context) lines: (new-side number, old-side number).
    pub context: Vec<(usize, usize)>,
}

impl Hunk {
    pub fn first(&self) -> usize {
        self.lines.first().map_or(0, |l| l.0)
    }
    pub fn last(&self) -> usize {
        self.lines.last().map_or(0, |l| l.0)
    }
    pub fn contains(&self, line: usize) -> bool {
        !self.lines.is_empty() && (self.first()..=self.last()).contains(&line)
    }
    /// The old side's number of an unchanged line; None for an added line
    /// or one outside the hunk.
    pub fn old_line(&self, line: usize) -> Option<usize> {
        self.context
            .iter()
            .find(|(new, _)| *new == line)
            .map(|(_, old)| *old)
    }
    pub fn text(&self, line: usize) -> Option<&str> {
        self.lines
            .iter()
            .find(|(n, _)| *n == line)
            .map(|(_, t)| t.as_str())
    }
}

/// Parses a `patch`. Lines before the first `@@` header are an error, as is a
/// header that is not `@@ -a[,b] +c[,d] @@`.
pub fn parse(patch: &str) -> Result<Vec<Hunk>, String> {
    let mut hunks: Vec<Hunk> = Vec::new();
    let (mut next_old, mut next_new) = (0usize, 0usize);
    for (index, line) in patch.lines().enumerate() {
        if let Some(header) = line.strip_prefix("@@ ") {
            (next_old, next_new) = starts(header)
                .ok_or_else(|| format!("line {}: bad hunk header `{line}`", index + 1))?;
            hunks.push(Hunk {
                lines: Vec::new(),
                added: Vec::new(),
                context: Vec::new(),
            });
            continue;
        }
        let Some(hunk) = hunks.last_mut() else {
            return Err(format!(
                "line {}: expected a hunk header `@@ -a,b +c,d @@`",
                index + 1
            ));
        };
        match line.chars().next() {
            Some('+') => {
                hunk.lines.push((next_new, line[1..].to_string()));
                hunk.added.push(next_new);
                next_new += 1;
            }
            Some('-') => next_old += 1,
            Some('\\') => {}
            // A context line; an empty line is a context line whose space was trimmed.
            _ => {
                hunk.lines
                    .push((next_new, line.get(1..).unwrap_or("").to_string()));
                hunk.context.push((next_new, next_old));
                next_old += 1;
                next_new += 1;
            }
        }
    }
    Ok(hunks)
}

/// The `a` and `c` of `-a,b +c,d @@ …`.
fn starts(header: &str) -> Option<(usize, usize)> {
    let start = |sign: char| -> Option<usize> {
        let part = header.split_whitespace().find(|p| p.starts_with(sign))?;
        part[1..].split(',').next()?.parse().ok()
    };
    Some((start('-')?, start('+')?))
}

/// The change a patch describes, in the form the diff filters use.
pub fn file_change(hunks: &[Hunk], status: crate::diff::FileStatus) -> FileChange {
    let mut added: Vec<(usize, usize)> = Vec::new();
    for hunk in hunks {
        for &line in &hunk.added {
            match added.last_mut() {
                Some((_, end)) if *end + 1 == line => *end = line,
                _ => added.push((line, line)),
            }
        }
    }
    FileChange {
        status,
        added,
        hunks: hunks
            .iter()
            .filter(|h| !h.lines.is_empty())
            .map(|h| (h.first(), h.last()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATCH: &str = "@@ -1,4 +1,5 @@\n package main\n-import \"os\"\n+import (\n+\t\"os\"\n+)\n \n func main() {\n@@ -20,3 +21,4 @@ func main() {\n \tx := 1\n+\ty := 2\n \treturn\n\\ No newline at end of file";

    #[test]
    fn new_side_lines_and_added_lines_follow_the_headers() {
        let hunks = parse(PATCH).unwrap();
        assert_eq!(hunks.len(), 2);
        assert_eq!(
            hunks[0].lines.iter().map(|l| l.0).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5, 6]
        );
        assert_eq!(hunks[0].added, vec![2, 3, 4]);
        assert_eq!(hunks[0].text(3), Some("\t\"os\""));
        assert_eq!(hunks[0].text(5), Some(""));
        assert_eq!((hunks[1].first(), hunks[1].last()), (21, 23));
        assert_eq!(hunks[1].added, vec![22]);
        assert!(!hunks[0].contains(7) && hunks[1].contains(22));
        // Unchanged lines know their old number; added lines have none.
        assert_eq!(hunks[0].old_line(1), Some(1));
        assert_eq!(hunks[0].old_line(5), Some(3));
        assert_eq!(hunks[0].old_line(3), None);
        assert_eq!(hunks[1].old_line(21), Some(20));
        assert_eq!(hunks[1].old_line(23), Some(21));
        let change = file_change(&hunks, crate::diff::FileStatus::Modified);
        assert_eq!(change.added, vec![(2, 4), (22, 22)]);
        assert_eq!(change.hunks, vec![(1, 6), (21, 23)]);
    }

    #[test]
    fn text_before_a_header_or_a_bad_header_is_an_error() {
        assert!(parse("+x").unwrap_err().contains("line 1"));
        assert!(parse("@@ nonsense @@\n+x")
            .unwrap_err()
            .contains("bad hunk header"));
        assert_eq!(parse("").unwrap(), vec![]);
        let single = parse("@@ -0,0 +1 @@\n+only").unwrap();
        assert_eq!(single[0].added, vec![1]);
    }
}
