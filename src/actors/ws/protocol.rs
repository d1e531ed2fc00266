//! The `/ws` wire protocol: what clients send and what the server answers.

use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::domain::event::is_valid_topic;

/// A frame a client may send.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Replaces the session's subscriptions.
    Subscribe { subscriptions: Vec<String> },
    /// Removes some subscriptions.
    Unsubscribe { subscriptions: Vec<String> },
    /// Answered with `pong`.
    Ping,
}

/// Parses and validates a client text frame; the error text goes back in an `error` frame.
pub fn parse(text: &str) -> Result<ClientMessage, String> {
    let msg: ClientMessage = serde_json::from_str(text).map_err(|e| {
        format!("invalid message: {e} (expected {{\"type\": \"subscribe\" | \"unsubscribe\" | \"ping\", ...}})")
    })?;
    if let ClientMessage::Subscribe { subscriptions }
    | ClientMessage::Unsubscribe { subscriptions } = &msg
    {
        if let Some(bad) = subscriptions.iter().find(|s| !is_valid_topic(s)) {
            return Err(format!(
                "subscriptions: unknown topic `{bad}` (use executions, errors, schedules, output, schedule:<id>, execution:<id> or *)"
            ));
        }
    }
    Ok(msg)
}

/// `{"type": "connected", "sessionId": ...}`.
pub fn connected(session_id: Uuid) -> String {
    json!({ "type": "connected", "sessionId": session_id }).to_string()
}

/// `{"type": "subscribed", "subscriptions": [...]}`.
pub fn subscribed(subscriptions: &[String]) -> String {
    json!({ "type": "subscribed", "subscriptions": subscriptions }).to_string()
}

/// `{"type": "pong"}`.
pub fn pong() -> String {
    json!({ "type": "pong" }).to_string()
}

/// `{"type": "error", "message": ...}`.
pub fn error(message: &str) -> String {
    json!({ "type": "error", "message": message }).to_string()
}

/// `{"type": "server_shutdown", ...}`.
pub fn server_shutdown() -> String {
    json!({ "type": "server_shutdown", "data": {}, "timestamp": crate::domain::clock::now() })
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_client_messages() {
        assert_eq!(parse(r#"{"type":"ping"}"#), Ok(ClientMessage::Ping));
        assert_eq!(
            parse(r#"{"type":"subscribe","subscriptions":["errors","*"]}"#),
            Ok(ClientMessage::Subscribe {
                subscriptions: vec!["errors".into(), "*".into()]
            })
        );
        assert!(parse(r#"{"type":"unsubscribe","subscriptions":["executions"]}"#).is_ok());
    }

    #[test]
    fn rejects_bad_frames_with_a_reason() {
        assert!(parse("not json").is_err());
        assert!(parse(r#"{"type":"dance"}"#).is_err());
        assert!(parse(r#"{"type":"subscribe"}"#).is_err());
        let e = parse(r#"{"type":"subscribe","subscriptions":["bogus"]}"#).err();
        assert!(e.is_some_and(|m| m.contains("bogus")));
    }
}
