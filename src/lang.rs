//! The languages tollgate parses, their file extensions and tree-sitter grammars.

use serde::Serialize;
use std::fmt;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Go,
    Rust,
}

impl Language {
    pub const ALL: &'static [Language] = &[Language::Go, Language::Rust];

    pub fn name(self) -> &'static str {
        match self {
            Language::Go => "go",
            Language::Rust => "rust",
        }
    }

    /// Looks a language up by its name or a common alias.
    pub fn from_name(name: &str) -> Option<Language> {
        match name.to_ascii_lowercase().as_str() {
            "go" | "golang" => Some(Language::Go),
            "rust" | "rs" => Some(Language::Rust),
            _ => None,
        }
    }

    /// Picks the language of a file by its extension.
    pub fn from_path(path: &Path) -> Option<Language> {
        match path.extension()?.to_str()? {
            "go" => Some(Language::Go),
            "rs" => Some(Language::Rust),
            _ => None,
        }
    }

    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            Language::Go => tree_sitter_go::LANGUAGE.into(),
            Language::Rust => tree_sitter_rust::LANGUAGE.into(),
        }
    }

    /// The kind of the root node of every tree, and of no other node.
    pub fn root_kind(self) -> &'static str {
        match self {
            Language::Go | Language::Rust => "source_file",
        }
    }

    /// The file name used for rule test snippets of this language.
    pub fn snippet_file_name(self) -> &'static str {
        match self {
            Language::Go => "snippet.go",
            Language::Rust => "snippet.rs",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
