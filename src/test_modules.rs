//! Rust files that are test code because the module that declares them says
//! so in another file: `#[cfg(test)] mod tests;` in `src/foo.rs` makes
//! `src/foo/tests.rs` test code, and `#[cfg(test)] mod helpers;` in
//! `src/lib.rs` makes `src/helpers.rs` test code. Modules declared (with or
//! without the attribute) in a file that is itself test code are test code.
//!
//! The parent file is found by Rust's module layout, read once per process
//! (cached), only when it is a regular file (not a link, FIFO or device) of
//! bounded size next to the scanned file, and only searched as text: what it
//! holds never reaches a finding, only the yes/no answer does.

use regex::Regex;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Parent module files larger than this are not read.
const MAX_PARENT_BYTES: u64 = 1024 * 1024;
/// How many parent modules up a chain of declarations is followed.
const MAX_DEPTH: usize = 8;

/// The modules one parent file declares: (names declared under
/// `#[cfg(test)]`, all names declared with `mod NAME;`).
#[derive(Default)]
struct Declared {
    test: HashSet<String>,
    all: HashSet<String>,
}

type Cache = Mutex<HashMap<PathBuf, Arc<Declared>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Returns true if and only if the Rust file at `path` is a compile-test
/// fixture (trybuild, compiletest, ui tests): a file next to its expected
/// compiler output, `x.rs` beside `x.stderr` or `x.stdout`.
pub fn is_compile_test_fixture(path: &Path) -> bool {
    ["stderr", "stdout"].iter().any(|ext| {
        std::fs::symlink_metadata(path.with_extension(ext)).is_ok_and(|m| m.file_type().is_file())
    })
}

/// Returns true if and only if the Rust file at `path` is the body of a
/// module that its parent module file declares under `#[cfg(test)]`, or
/// declares while being test code itself (a `tests.rs`, a file under
/// `tests/`, or such a module in turn).
pub fn declared_as_test_module(path: &Path) -> bool {
    declared_as_test(path, MAX_DEPTH)
}

fn declared_as_test(path: &Path, depth: usize) -> bool {
    let Some((name, parents)) = module_name_and_parents(path) else {
        return false;
    };
    parents.iter().any(|parent| {
        let declared = declared_in(parent);
        if declared.test.contains(&name) {
            return true;
        }
        declared.all.contains(&name)
            && depth > 0
            && (crate::scan::is_test_file(parent, crate::lang::Language::Rust)
                || declared_as_test(parent, depth - 1))
    })
}

/// The module name of the file at `path` and the files that may declare it:
/// `dir/name.rs` and `dir/name/mod.rs` are declared in `dir/mod.rs`,
/// `dir/lib.rs`, `dir/main.rs` or `dir.rs`.
fn module_name_and_parents(path: &Path) -> Option<(String, Vec<PathBuf>)> {
    let stem = path.file_stem()?.to_str()?;
    let folder = path.parent().unwrap_or(Path::new(""));
    let (name, dir) = match stem {
        "lib" | "main" => return None,
        "mod" => (folder.file_name()?.to_str()?, folder.parent()?),
        _ => (stem, folder),
    };
    let mut parents: Vec<PathBuf> = ["mod.rs", "lib.rs", "main.rs"]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    if let (Some(dir_name), Some(up)) = (dir.file_name(), dir.parent()) {
        let mut file = dir_name.to_os_string();
        file.push(".rs");
        parents.push(up.join(file));
    }
    parents.retain(|p| p != path && inside_tree(p));
    Some((name.to_string(), parents))
}

/// Returns true if and only if `path` stays below the current folder: no
/// `..` and, when absolute, under the current folder (`dir.rs` one folder up
/// from a file at the top of the tree would be outside it).
fn inside_tree(path: &Path) -> bool {
    use std::path::Component;
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return false;
    }
    !path.is_absolute() || std::env::current_dir().is_ok_and(|cwd| path.starts_with(cwd))
}

fn declared_in(parent: &Path) -> Arc<Declared> {
    if let Some(found) = cache().lock().ok().and_then(|c| c.get(parent).cloned()) {
        return found;
    }
    let declared = Arc::new(read_regular(parent).map_or_else(Declared::default, |t| parse(&t)));
    if let Ok(mut c) = cache().lock() {
        c.insert(parent.to_path_buf(), declared.clone());
    }
    declared
}

/// The text of `path` when it is a regular file (not a symbolic link) of at
/// most [`MAX_PARENT_BYTES`] bytes in UTF-8.
fn read_regular(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file() || meta.len() > MAX_PARENT_BYTES {
        return None;
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_PARENT_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// The `mod NAME;` declarations of a file's text, and which of them carry a
/// `#[cfg(test)]` (or `#[cfg(all(test, …))]`) attribute among the
/// attributes and comments right before them.
fn parse(text: &str) -> Declared {
    static DECL: OnceLock<Regex> = OnceLock::new();
    let decl = DECL.get_or_init(|| {
        Regex::new(
            r"(?m)((?:^[ \t]*(?:#\[[^\n]*\]|//[^\n]*)[ \t]*\r?\n)*)[ \t]*((?:#\[[^\n]*?\][ \t]*)*)(?:pub(?:\([^)\n]*\))?[ \t]+)?mod[ \t]+(?:r#)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*;",
        )
        .expect("valid regex")
    });
    static TEST: OnceLock<Regex> = OnceLock::new();
    let test = TEST.get_or_init(|| {
        Regex::new(r"#\[\s*cfg\s*\(\s*(?:test\s*\)|all\s*\(\s*test\s*[,)])").expect("valid regex")
    });
    let mut declared = Declared::default();
    for c in decl.captures_iter(text) {
        let name = c[3].to_string();
        // the attribute lines above, and those on the line itself
        let above = c.get(1).map_or("", |m| m.as_str());
        let same_line = c.get(2).map_or("", |m| m.as_str());
        if test.is_match(above) || test.is_match(same_line) {
            declared.test.insert(name.clone());
        }
        declared.all.insert(name);
    }
    declared
}

#[cfg(test)]
mod tests {
    use super::{is_compile_test_fixture, module_name_and_parents, parse};

    #[test]
    fn a_file_beside_its_expected_compiler_output_is_a_fixture() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["fail.rs", "fail.stderr", "ok.rs", "run.rs", "run.stdout"] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        assert!(is_compile_test_fixture(&dir.path().join("fail.rs")));
        assert!(is_compile_test_fixture(&dir.path().join("run.rs")));
        assert!(!is_compile_test_fixture(&dir.path().join("ok.rs")));
    }
    use std::path::{Path, PathBuf};

    #[test]
    fn a_module_under_cfg_test_is_test_code_and_others_are_not() {
        let d = parse(
            "mod real;\n#[cfg(test)]\nmod tests;\n#[cfg(test)] pub(crate) mod helpers;\n\
             #[cfg(all(test, feature = \"x\"))]\n// why\nmod extra;\n#[cfg(not(test))]\nmod prod;\n",
        );
        for name in ["tests", "helpers", "extra"] {
            assert!(d.test.contains(name), "{name}");
        }
        for name in ["real", "prod"] {
            assert!(!d.test.contains(name), "{name}");
            assert!(d.all.contains(name), "{name}");
        }
    }

    #[test]
    fn an_attribute_before_an_earlier_item_does_not_carry_over() {
        let d = parse("#[cfg(test)]\nfn only_in_tests() {}\nmod real;\n");
        assert!(!d.test.contains("real"));
    }

    #[test]
    fn parents_follow_the_module_layout() {
        let (name, parents) = module_name_and_parents(Path::new("src/foo/tests.rs")).unwrap();
        assert_eq!(name, "tests");
        assert!(parents.contains(&PathBuf::from("src/foo/mod.rs")));
        assert!(parents.contains(&PathBuf::from("src/foo.rs")));
        let (name, parents) = module_name_and_parents(Path::new("src/helpers/mod.rs")).unwrap();
        assert_eq!(name, "helpers");
        assert!(parents.contains(&PathBuf::from("src/lib.rs")));
        assert!(module_name_and_parents(Path::new("src/lib.rs")).is_none());
        // nothing outside the tree: no `..`, nothing above an absolute current folder
        let (_, parents) = module_name_and_parents(Path::new("../other/x.rs")).unwrap();
        assert!(parents.is_empty(), "{parents:?}");
        let cwd = std::env::current_dir().unwrap();
        let (_, parents) = module_name_and_parents(&cwd.join("x.rs")).unwrap();
        assert!(parents.iter().all(|p| p.starts_with(&cwd)), "{parents:?}");
        assert!(!parents.is_empty());
    }
}
