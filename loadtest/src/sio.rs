//! A lean Socket.IO v4 client over one websocket (engine.io v4 framing), enough for load:
//! open, namespace CONNECT, ping/pong, `42[event, data]` in both directions. A full client
//! library spends more CPU per event than the server under test, and both share this box.
//!
//! The hot events are decoded without building a `serde_json::Value`: a `battle:tick` frame is
//! recognised by its prefix and only its `tick` and `ts` fields are read (the rest is skipped
//! without allocating), and a `battle:tick_batch` reads only those of each tick. Every other
//! event is rare and arrives as a `Value`.

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::common::Error;

/// Outgoing half: emit events.
#[derive(Clone)]
pub struct Emitter(mpsc::UnboundedSender<String>);

impl Emitter {
    /// Emits `event` with `data`.
    pub fn emit(&self, event: &str, data: &Value) {
        let frame = format!(
            "42{}",
            Value::Array(vec![Value::String(event.into()), data.clone()])
        );
        let _ = self.0.send(frame);
    }
}

/// The two fields of a tick the load tool checks: its number and its server timestamp.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Tick {
    /// Tick number, from 1.
    pub tick: u64,
    /// Server wall clock at emission, unix ms.
    #[serde(default)]
    pub ts: Option<i64>,
}

#[derive(Deserialize)]
struct Batch {
    ticks: Vec<Tick>,
}

/// What a socket received.
#[derive(Debug)]
pub enum Payload {
    /// A live `battle:tick`.
    Tick(Tick),
    /// A `battle:tick_batch` (catch-up after a late join).
    Batch(Vec<Tick>),
    /// Any other event, with its name.
    Event(String, Value),
}

/// One received event: what, when (unix ms) and the websocket frame's size in bytes.
#[derive(Debug)]
pub struct Incoming {
    /// The event.
    pub payload: Payload,
    /// Receive time, unix ms.
    pub at_ms: i64,
    /// Size of the whole text frame (`42[...]`), bytes.
    pub bytes: u32,
}

const TICK: &str = "[\"battle:tick\",";
const BATCH: &str = "[\"battle:tick_batch\",";

/// Decodes the body of a `42` frame (`[event, data]`).
pub fn decode(body: &str) -> Option<Payload> {
    if let Some(rest) = body.strip_prefix(TICK) {
        let data = rest.strip_suffix(']')?;
        return serde_json::from_str(data).ok().map(Payload::Tick);
    }
    if let Some(rest) = body.strip_prefix(BATCH) {
        let data = rest.strip_suffix(']')?;
        return serde_json::from_str::<Batch>(data)
            .ok()
            .map(|b| Payload::Batch(b.ticks));
    }
    let Ok(Value::Array(mut a)) = serde_json::from_str::<Value>(body) else {
        return None;
    };
    if a.is_empty() {
        return None;
    }
    let data = if a.len() > 1 {
        a.swap_remove(1)
    } else {
        Value::Null
    };
    match a.swap_remove(0) {
        Value::String(name) => Some(Payload::Event(name, data)),
        _ => None,
    }
}

/// Connects to `/v2/ws` with `token` and returns the emitter plus a stream of events.
pub async fn connect(
    ws_base: &str,
    token: &str,
) -> Result<(Emitter, mpsc::UnboundedReceiver<Incoming>), Error> {
    let url = format!("{ws_base}/v2/ws/?EIO=4&transport=websocket&token={token}");
    // TCP_NODELAY on our side: a client measuring latency must not add Nagle's wait to what
    // it sends (the server's own sockets are the server's business).
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true).await?;
    let (mut sink, mut stream) = ws.split();
    // engine.io OPEN, then our namespace CONNECT and its ack.
    match stream.next().await {
        Some(Ok(Message::Text(t))) if t.starts_with('0') => {}
        other => return Err(format!("no engine.io open: {other:?}").into()),
    }
    sink.send(Message::text("40")).await?;
    loop {
        match stream.next().await {
            Some(Ok(Message::Text(t))) if t.starts_with("40") => break,
            Some(Ok(Message::Text(t))) if t.starts_with("44") => {
                return Err(format!("connect_error: {t}").into())
            }
            // The server pings at once; an unanswered first ping closes the socket 20 s later.
            Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                sink.send(Message::text("3")).await?;
            }
            Some(Ok(_)) => continue,
            other => return Err(format!("no CONNECT ack: {other:?}").into()),
        }
    }
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    let pong = out_tx.clone();
    tokio::spawn(async move {
        while let Some(f) = out_rx.recv().await {
            if sink.send(Message::text(f)).await.is_err() {
                break;
            }
        }
    });
    let debug = std::env::var_os("LT_DEBUG").is_some();
    let frames = std::env::var_os("LT_FRAMES").is_some();
    tokio::spawn(async move {
        loop {
            let msg = match stream.next().await {
                Some(Ok(m)) => m,
                other => {
                    if debug {
                        eprintln!("socket ended: {other:?}");
                    }
                    break;
                }
            };
            let Message::Text(t) = msg else {
                if debug {
                    eprintln!("non-text frame: {msg:?}");
                }
                continue;
            };
            if t.as_str() == "2" {
                let _ = pong.send("3".into());
            } else if let Some(body) = t.strip_prefix("42") {
                let at_ms = chrono_ms();
                if frames {
                    first_of_its_kind(&t);
                }
                if let Some(payload) = decode(body) {
                    let ev = Incoming {
                        payload,
                        at_ms,
                        bytes: t.len() as u32,
                    };
                    if in_tx.send(ev).is_err() {
                        break;
                    }
                }
            }
        }
    });
    Ok((Emitter(out_tx), in_rx))
}

/// `LT_FRAMES=1`: prints the first frame of each event name received in the run to stderr, to
/// see the payloads as sent.
fn first_of_its_kind(frame: &str) {
    static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let name = frame.split('"').nth(1).unwrap_or_default().to_string();
    let mut seen = SEEN.lock().expect("seen");
    if !seen.contains(&name) {
        eprintln!("frame {name} ({} bytes): {frame}", frame.len());
        seen.push(name);
    }
}

/// Wall clock in unix ms (the server stamps ticks with the same clock).
pub fn chrono_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_tick_without_the_rest() {
        let body = r#"["battle:tick",{"battle_id":"b","tick":7,"ts":1700000000123,"p1_state":{"hp":3,"x":[1,2]},"events":[]}]"#;
        match decode(body) {
            Some(Payload::Tick(t)) => {
                assert_eq!(t.tick, 7);
                assert_eq!(t.ts, Some(1_700_000_000_123));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decodes_a_batch_and_other_events() {
        let body =
            r#"["battle:tick_batch",{"battle_id":"b","ticks":[{"tick":1,"ts":5},{"tick":2}]}]"#;
        match decode(body) {
            Some(Payload::Batch(t)) => {
                assert_eq!(t.len(), 2);
                assert_eq!(
                    (t[0].tick, t[0].ts, t[1].tick, t[1].ts),
                    (1, Some(5), 2, None)
                );
            }
            other => panic!("{other:?}"),
        }
        match decode(r#"["battle:ended",{"total_ticks":30}]"#) {
            Some(Payload::Event(n, d)) => {
                assert_eq!(n, "battle:ended");
                assert_eq!(d["total_ticks"], 30);
            }
            other => panic!("{other:?}"),
        }
        assert!(decode("[]").is_none());
        assert!(decode("not json").is_none());
    }
}
