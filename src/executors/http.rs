//! HTTP tasks through awc: the network policy on every hop, redirects only when the task asks
//! (its own headers dropped on a redirect to another origin), accepted statuses, the body
//! captured with a cap. The task's timeout bounds everything; `executors::run` enforces it.

use std::rc::Rc;
use std::time::Duration;

use awc::error::{ConnectError, SendRequestError};
use awc::http::{Method, StatusCode, Uri};
use futures_util::StreamExt;
use serde_json::{json, Map, Value};

use super::capture::cap_bytes;
use super::netpolicy::{NetPolicy, PolicyResolver};
use super::{ErrorType, Outcome, RunContext};
use crate::domain::redact::redact_url;
use crate::domain::task::HttpTask;

/// Connect timeout, within the task's total timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Redirects followed at most (with `followRedirects`).
const MAX_REDIRECTS: usize = 10;

/// One request of the chain.
struct Hop {
    method: Method,
    uri: Uri,
    body: Option<Value>,
    /// False after a redirect to another origin: the task's own headers stay behind.
    own_headers: bool,
}

/// Sends the request (following redirects when asked) and classifies the answer.
pub async fn run(t: &HttpTask, ctx: &RunContext) -> Outcome {
    let method = match Method::from_bytes(t.method.as_bytes()) {
        Ok(m) => m,
        Err(e) => return Outcome::failed(ErrorType::Internal, format!("method {}: {e}", t.method)),
    };
    let uri = match t.url.parse::<Uri>() {
        Ok(u) => u,
        Err(e) => return Outcome::failed(ErrorType::Spawn, format!("url: {e}")),
    };
    let origin = origin_of(&uri);
    let mut hop = Hop {
        method,
        uri,
        body: t.body.clone(),
        own_headers: true,
    };
    let mut hops = 0;
    let mut resp = loop {
        if let Some(refused) = literal_refused(&hop.uri, &ctx.policy) {
            return Outcome::failed(ErrorType::Connection, refused);
        }
        let r = match send(t, ctx, &hop).await {
            Ok(r) => r,
            Err(e) => return classify(e, ctx),
        };
        let next = if t.follow_redirects && r.status().is_redirection() {
            r.headers()
                .get(awc::http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| resolve_location(&hop.uri, l))
        } else {
            None
        };
        match next {
            Some(next) if hops < MAX_REDIRECTS => {
                hops += 1;
                hop = redirected(hop, r.status(), next, &origin);
            }
            Some(_) => {
                return Outcome::failed(
                    ErrorType::Connection,
                    format!(
                        "more than {MAX_REDIRECTS} redirects from {}",
                        redact_url(&t.url)
                    ),
                )
            }
            None => break r,
        }
    };
    let status = resp.status().as_u16();
    let headers: Map<String, Value> = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.to_string(), Value::String(v))
        })
        .collect();
    // Read up to the cap (+1 to know it was cut); the task deadline bounds a stalled body.
    let mut body = Vec::new();
    while body.len() <= ctx.output_cap {
        match resp.next().await {
            None => break,
            Some(Ok(chunk)) => body.extend_from_slice(&chunk),
            Some(Err(e)) => {
                return Outcome::failed(
                    ErrorType::Connection,
                    format!("reading the response body failed: {e}"),
                )
            }
        }
    }
    let captured = cap_bytes(&body, ctx.output_cap);
    let body_value = serde_json::from_str::<Value>(&captured.text)
        .ok()
        .filter(|_| !captured.truncated)
        .unwrap_or(Value::String(captured.text.clone()));
    let result = json!({ "status": status, "headers": headers, "body": body_value, "truncated": captured.truncated });
    let accepted = match &t.expected_status {
        Some(list) => list.contains(&status),
        None => (200..300).contains(&status),
    };
    if accepted {
        Outcome::Completed {
            result,
            conductor: None,
        }
    } else {
        Outcome::Failed {
            error_type: ErrorType::HttpStatus,
            message: format!("{} {} answered {status}", t.method, redact_url(&t.url)),
            result: Some(result),
            conductor: None,
        }
    }
}

fn send(t: &HttpTask, ctx: &RunContext, hop: &Hop) -> awc::SendClientRequest {
    let mut req = ctx
        .http
        .request(hop.method.clone(), hop.uri.clone())
        .timeout(ctx.timeout);
    for (k, v) in ctx.context.headers() {
        req = req.insert_header((k, v));
    }
    if hop.own_headers {
        for (k, v) in &t.headers {
            if let Some(v) = v.plain() {
                req = req.insert_header((k.as_str(), v));
            }
        }
    }
    match &hop.body {
        None => req.send(),
        Some(Value::String(s)) => req.send_body(s.clone()),
        Some(v) => req.send_json(v),
    }
}

/// The next hop after a redirect answer: 303 (and 301/302 after a POST) become a GET without
/// a body, as browsers do; 307/308 repeat the request.
fn redirected(prev: Hop, status: StatusCode, next: Uri, origin: &str) -> Hop {
    let to_get = status == StatusCode::SEE_OTHER
        || (matches!(status.as_u16(), 301 | 302) && prev.method == Method::POST);
    let (method, body) = if to_get {
        (Method::GET, None)
    } else {
        (prev.method, prev.body)
    };
    Hop {
        own_headers: prev.own_headers && origin_of(&next) == origin,
        method,
        uri: next,
        body,
    }
}

/// `scheme://host:port` of a URI (default ports made explicit).
fn origin_of(u: &Uri) -> String {
    let scheme = u.scheme_str().unwrap_or("http");
    let port = u
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    format!(
        "{scheme}://{}:{port}",
        u.host().unwrap_or("").to_ascii_lowercase()
    )
}

/// A `Location` header resolved against the URI it came from.
fn resolve_location(base: &Uri, location: &str) -> Option<Uri> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.parse().ok();
    }
    let scheme = base.scheme_str().unwrap_or("http");
    let authority = base.authority()?.as_str();
    if let Some(rest) = location.strip_prefix("//") {
        return format!("{scheme}://{rest}").parse().ok();
    }
    let path = if location.starts_with('/') {
        location.to_string()
    } else {
        let dir = base.path().rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        format!("{dir}/{location}")
    };
    format!("{scheme}://{authority}{path}").parse().ok()
}

/// A URL whose host is an address literal is checked here (the resolver only sees names).
fn literal_refused(uri: &Uri, policy: &NetPolicy) -> Option<String> {
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    let ip: std::net::IpAddr = host.parse().ok()?;
    policy.refuses(ip).then(|| NetPolicy::message(ip))
}

fn classify(e: SendRequestError, ctx: &RunContext) -> Outcome {
    match e {
        SendRequestError::Timeout => Outcome::failed(
            ErrorType::Timeout,
            format!("no response within {} ms", ctx.timeout.as_millis()),
        ),
        SendRequestError::Connect(ConnectError::Timeout) => Outcome::failed(
            ErrorType::Timeout,
            format!(
                "connect timed out after {} ms",
                CONNECT_TIMEOUT.min(ctx.timeout).as_millis()
            ),
        ),
        SendRequestError::Connect(c) => {
            Outcome::failed(ErrorType::Connection, format!("connection failed: {c}"))
        }
        other => Outcome::failed(ErrorType::Connection, format!("request failed: {other}")),
    }
}

/// An awc client with our connect timeout and the network policy in its resolver; redirects
/// are followed by [`run`] itself. Build it on the thread that uses it (awc is !Send).
pub fn client(policy: Rc<NetPolicy>) -> awc::Client {
    let tcp = actix_tls::connect::Connector::new(actix_tls::connect::Resolver::custom(
        PolicyResolver(policy),
    ))
    .service();
    awc::Client::builder()
        .connector(
            awc::Connector::new()
                .connector(tcp)
                .timeout(CONNECT_TIMEOUT),
        )
        .disable_redirects()
        .disable_timeout()
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn locations_resolve_against_the_request() {
        let base = uri("http://a.test:8080/x/y?q=1");
        assert_eq!(
            resolve_location(&base, "/z"),
            Some(uri("http://a.test:8080/z"))
        );
        assert_eq!(
            resolve_location(&base, "w"),
            Some(uri("http://a.test:8080/x/w"))
        );
        assert_eq!(
            resolve_location(&base, "//b.test/p"),
            Some(uri("http://b.test/p"))
        );
        assert_eq!(
            resolve_location(&base, "https://c.test/"),
            Some(uri("https://c.test/"))
        );
    }

    #[test]
    fn origins_and_redirect_methods() {
        assert_eq!(
            origin_of(&uri("http://A.test/x")),
            origin_of(&uri("http://a.test:80/y"))
        );
        assert_ne!(
            origin_of(&uri("http://a.test/")),
            origin_of(&uri("https://a.test/"))
        );
        let hop = |m: Method| Hop {
            method: m,
            uri: uri("http://a.test/"),
            body: Some(json!({"a": 1})),
            own_headers: true,
        };
        let o = origin_of(&uri("http://a.test/"));
        let h = redirected(
            hop(Method::POST),
            StatusCode::FOUND,
            uri("http://a.test/2"),
            &o,
        );
        assert_eq!(
            (h.method, h.body.is_none(), h.own_headers),
            (Method::GET, true, true)
        );
        let h = redirected(
            hop(Method::PUT),
            StatusCode::TEMPORARY_REDIRECT,
            uri("http://b.test/"),
            &o,
        );
        assert_eq!(
            (h.method, h.body.is_some(), h.own_headers),
            (Method::PUT, true, false)
        );
    }
}
