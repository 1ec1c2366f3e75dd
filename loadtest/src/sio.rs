//! A lean Socket.IO v4 client over one websocket (engine.io v4 framing), enough for load:
//! open, namespace CONNECT, ping/pong, `42[event, data]` in both directions. A full client
//! library spends more CPU per event than the server under test, and both share this box.

use futures_util::{SinkExt, StreamExt};
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

/// Connects to `/v2/ws` with `token` and returns the emitter plus a stream of
/// `(event, data, received_at_unix_ms)`.
pub async fn connect(
    ws_base: &str,
    token: &str,
) -> Result<(Emitter, mpsc::UnboundedReceiver<(String, Value, i64)>), Error> {
    let url = format!("{ws_base}/v2/ws/?EIO=4&transport=websocket&token={token}");
    let (ws, _) = tokio_tungstenite::connect_async(url).await?;
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
    tokio::spawn(async move {
        loop {
            let msg = match stream.next().await {
                Some(Ok(m)) => m,
                other => {
                    if std::env::var_os("LT_DEBUG").is_some() {
                        eprintln!("socket ended: {other:?}");
                    }
                    break;
                }
            };
            let Message::Text(t) = msg else {
                if std::env::var_os("LT_DEBUG").is_some() {
                    eprintln!("non-text frame: {msg:?}");
                }
                continue;
            };
            let now = chrono_ms();
            if t.as_str() == "2" {
                let _ = pong.send("3".into());
            } else if let Some(body) = t.strip_prefix("42") {
                if let Ok(Value::Array(mut a)) = serde_json::from_str::<Value>(body) {
                    if a.is_empty() {
                        continue;
                    }
                    let data = if a.len() > 1 {
                        a.remove(1)
                    } else {
                        Value::Null
                    };
                    if let Value::String(name) = a.remove(0) {
                        if in_tx.send((name, data, now)).is_err() {
                            break;
                        }
                    }
                }
            }
        }
    });
    Ok((Emitter(out_tx), in_rx))
}

/// Wall clock in unix ms (the server stamps ticks with the same clock).
pub fn chrono_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
