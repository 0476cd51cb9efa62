//! Who tollgate posts as, so that it only ever acts on its own comments.

use super::client::{Client, Method};
use serde_json::Value;

/// Who tollgate posts as. A comment counts as tollgate's only when it carries
/// the marker *and* has this author, so a person who copies a marker into
/// their own comment never has it edited, resolved or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A user token (`GET /user` answers): that login.
    Login(String),
    /// An installation token such as `GITHUB_TOKEN` (`GET /user` is refused):
    /// bot accounts (`github-actions[bot]`, `APP[bot]`).
    Bots,
}

impl Identity {
    pub async fn of(client: &Client) -> Identity {
        match client.rest(Method::Get, "/user", None).await {
            Ok(reply) => match reply.body.get("login").and_then(Value::as_str) {
                Some(login) => Identity::Login(login.to_string()),
                None => Identity::Bots,
            },
            Err(_) => Identity::Bots,
        }
    }

    /// Whether `comment` (as the REST API lists it) was written by this identity.
    pub fn wrote(&self, comment: &Value) -> bool {
        let at = |p: &str| comment.pointer(p).and_then(Value::as_str);
        self.is(at("/user/type"), at("/user/login"))
    }

    /// Whether an actor of this type (`User`, `Bot`) and login is this identity.
    pub fn is(&self, kind: Option<&str>, login: Option<&str>) -> bool {
        match self {
            Identity::Login(me) => login == Some(me.as_str()),
            Identity::Bots => kind == Some("Bot"),
        }
    }
}
