//! The rule library shipped inside the binary (`rules/**/*.yml`, embedded by `build.rs`).

include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));
