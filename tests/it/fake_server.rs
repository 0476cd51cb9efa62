//! What the fake forges and the fake Jira share: canned answers queued by a
//! test ([`Injection`]), and a wiremock server on 127.0.0.1 that hands every
//! request to one handler.

use serde_json::Value;
use std::collections::VecDeque;
use wiremock::{Respond, ResponseTemplate};

/// A canned failure: the next `times` requests whose method and path match get it.
#[derive(Default)]
pub struct Injection {
    pub method: &'static str,
    pub path_suffix: &'static str,
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
    pub times: usize,
    /// Answer this late (a hung connection).
    pub delay_ms: u64,
}

impl Injection {
    /// The next request of `method` to a path ending in `path_suffix` gets this answer.
    pub fn once(
        method: &'static str,
        path_suffix: &'static str,
        status: u16,
        body: Value,
    ) -> Injection {
        Injection {
            method,
            path_suffix,
            status,
            body,
            times: 1,
            ..Injection::default()
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Injection {
        self.headers.push((name, value.into()));
        self
    }

    pub fn times(mut self, times: usize) -> Injection {
        self.times = times;
        self
    }

    pub fn delay_ms(mut self, delay_ms: u64) -> Injection {
        self.delay_ms = delay_ms;
        self
    }
}

/// The answer of the first queued injection for `method` on a path ending
/// as it asks, used up once its `times` are spent. A JSON string body is
/// sent as plain text (an HTML error page, a proxy's words), `null` as none.
pub fn take_injection(
    injections: &mut VecDeque<Injection>,
    method: &str,
    path: &str,
) -> Option<ResponseTemplate> {
    let at = injections
        .iter()
        .position(|i| i.method == method && path.ends_with(i.path_suffix) && i.times > 0)?;
    let injection = &mut injections[at];
    let mut response = ResponseTemplate::new(injection.status);
    response = match &injection.body {
        Value::String(text) => response.set_body_string(text.clone()),
        Value::Null => response,
        other => response.set_body_json(other.clone()),
    };
    for (name, value) in &injection.headers {
        response = response.insert_header(*name, value.as_str());
    }
    response = response.set_delay(std::time::Duration::from_millis(injection.delay_ms));
    injection.times -= 1;
    if injection.times == 0 {
        injections.remove(at);
    }
    Some(response)
}

/// A server on 127.0.0.1 answering every request with the handler
/// `handler` makes from the server's URL, and the runtime it lives on
/// (tests are synchronous).
pub fn serve<H: Respond + 'static>(
    handler: impl FnOnce(String) -> H,
) -> (wiremock::MockServer, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(wiremock::MockServer::start());
    runtime.block_on(
        wiremock::Mock::given(wiremock::matchers::any())
            .respond_with(handler(server.uri()))
            .mount(&server),
    );
    (server, runtime)
}
