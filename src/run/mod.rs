//! One run of the gate, as a pipeline the commands share: its setup
//! (configuration, rules, where the change comes from), scanning the change,
//! the outcome and exit code, and the outputs (reports, the printed result,
//! annotations). Nothing here posts to a forge or imports `app`.

pub mod change;
pub mod outcome;
pub mod outputs;
pub mod setup;
pub mod source;

/// `1 rule`, `2 rules`: a count with its noun.
pub(crate) fn plural(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Says an error of one or more lines, each as `error: …`.
pub(crate) fn say_error(error: &str) {
    for line in error.lines() {
        crate::say!("error: {line}");
    }
}
