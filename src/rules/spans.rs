//! Byte spans of sub-query matches, answering "does one of them lie wholly
//! inside this window?" in logarithmic time, so that a positional scope
//! (`after`/`before`) checked for every match of a huge function stays
//! linear-logarithmic instead of quadratic.

/// Spans sorted by start, with the smallest end of every suffix.
#[derive(Debug, Default)]
pub struct Spans {
    starts: Vec<usize>,
    /// `min_end[i]`: the smallest end among the spans `i..`.
    min_end: Vec<usize>,
}

impl Spans {
    pub fn new(mut spans: Vec<(usize, usize)>) -> Self {
        spans.sort_unstable();
        let starts = spans.iter().map(|s| s.0).collect();
        let mut min_end = vec![usize::MAX; spans.len()];
        let mut smallest = usize::MAX;
        for (i, (_, end)) in spans.iter().enumerate().rev() {
            smallest = smallest.min(*end);
            min_end[i] = smallest;
        }
        Spans { starts, min_end }
    }

    /// Returns true if and only if some span starts at or after
    /// `window.start` and ends at or before `window.end`.
    pub fn any_within(&self, window: &std::ops::Range<usize>) -> bool {
        let first = self.starts.partition_point(|&s| s < window.start);
        self.min_end
            .get(first)
            .is_some_and(|&end| end <= window.end)
    }
}

#[cfg(test)]
mod tests {
    use super::Spans;

    #[test]
    fn a_span_counts_only_when_wholly_inside_the_window() {
        let spans = Spans::new(vec![(50, 60), (10, 20), (30, 100)]);
        assert!(spans.any_within(&(10..20)));
        assert!(spans.any_within(&(0..60)));
        assert!(spans.any_within(&(25..60)));
        // starts inside but ends after
        assert!(!spans.any_within(&(25..59)));
        // ends inside but starts before
        assert!(!spans.any_within(&(11..25)));
        assert!(!spans.any_within(&(61..1000)));
        assert!(!Spans::new(Vec::new()).any_within(&(0..usize::MAX)));
    }
}
