//! Empty: this package exists only so `cargo vendor` fetches its pinned dependencies.
