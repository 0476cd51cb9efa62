//! The raw, serde-facing shape of a rule file. Nothing outside `rules::load`
//! sees these types: they are checked and compiled into [`super::Rule`].

use serde::Deserialize;

/// One rule as written in YAML. Unknown keys are rejected so typos fail loudly.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SerializableRule {
    pub id: String,
    pub language: String,
    pub severity: String,
    pub message: String,
    pub query: String,
    /// The capture whose node is the finding's range; default `match`, else the widest capture.
    #[serde(default)]
    pub report: Option<String>,
    #[serde(default, rename = "where")]
    pub constraints: Vec<SerializableConstraint>,
    #[serde(default)]
    pub paths: Option<SerializablePaths>,
    #[serde(default)]
    pub fix: Option<SerializableFix>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    /// `true`: the rule runs only where the configuration opts in to it
    /// (`rules.opt_in`, or its exact id in `rules.enable`); its tests always run.
    #[serde(default)]
    pub opt_in: bool,
    #[serde(default)]
    pub tests: Option<SerializableTests>,
}

/// A condition on the surroundings of a match: a map with exactly one of
/// these keys. All of a rule's conditions must hold.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SerializableConstraint {
    /// Some ancestor of the reported node has one of these kinds.
    #[serde(default)]
    pub inside: Option<Vec<String>>,
    /// No ancestor of the reported node has one of these kinds.
    #[serde(default)]
    pub not_inside: Option<Vec<String>>,
    /// The reported node contains a match of one of these queries.
    #[serde(default)]
    pub has: Option<OneOrMany>,
    /// The reported node contains no match of any of these queries.
    #[serde(default)]
    pub not_has: Option<OneOrMany>,
    /// The enclosing scope does (not) contain a match of other queries.
    #[serde(default)]
    pub scope: Option<SerializableScope>,
    /// `true`: the match is not in test code (test files, test functions and modules).
    #[serde(default)]
    pub outside_tests: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SerializableScope {
    /// Node kinds that open a scope, e.g. `function_declaration`.
    pub kinds: Vec<String>,
    /// `innermost` (default) or `outermost` enclosing node of those kinds.
    #[serde(default)]
    pub pick: Option<String>,
    #[serde(default)]
    pub contains: Option<OneOrMany>,
    #[serde(default)]
    pub not_contains: Option<OneOrMany>,
    /// Only matches that start after this capture of the main query ends count.
    #[serde(default)]
    pub after: Option<String>,
    /// Only matches that end before this capture of the main query starts count.
    #[serde(default)]
    pub before: Option<String>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SerializablePaths {
    #[serde(default)]
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// `fix: "text"` replaces the reported node; the long form names a capture.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum SerializableFix {
    Text(String),
    Capture(SerializableFixCapture),
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SerializableFixCapture {
    pub capture: String,
    pub replacement: String,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SerializableTests {
    #[serde(default)]
    pub valid: Vec<String>,
    #[serde(default)]
    pub invalid: Vec<SerializableInvalidCase>,
}

/// An invalid snippet: plain code (at least one finding expected), or code
/// with the exact finding lines and/or count expected.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum SerializableInvalidCase {
    Code(String),
    Detailed(SerializableInvalidDetail),
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SerializableInvalidDetail {
    pub code: String,
    /// 1-based lines, within the snippet, where findings must start (exactly these).
    #[serde(default)]
    pub lines: Option<Vec<usize>>,
    /// How many findings the snippet must produce.
    #[serde(default)]
    pub count: Option<usize>,
}
