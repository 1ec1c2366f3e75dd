//! This node's Socket.IO server over either adapter: socketioxide's `LocalAdapter` on a single
//! node (zero overhead), the Redis adapter in multi-node mode, where every room op and emit
//! also reaches the sockets of the other nodes. It implements [`Rooms`] for the actors and
//! [`SioEntry`] for the transports.

use std::sync::Arc;

use bytes::Bytes;
use engineioxide::service::NotFoundService;
use futures_util::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use socketioxide::{adapter::Adapter, service::SocketIoService, socket::Sid, SocketIo};
use tokio::net::TcpStream;
use tower::ServiceExt;
use uuid::Uuid;

use super::emit::{count, count_adapter, root, run_inline};
use super::sio::SioEntry;
use crate::actors::rooms::Rooms;
use crate::realtime::admission::Admission;
use crate::realtime::prefixed::PrefixedIo;

/// One node's Socket.IO server.
pub(crate) struct SioNode<A: Adapter> {
    pub(super) svc: SocketIoService<NotFoundService, A>,
    pub(super) io: SocketIo<A>,
    pub(super) admission: Arc<Admission>,
}

impl<A: Adapter> Rooms for SioNode<A> {
    fn to_room(&self, room: String, except: Vec<String>, event: &'static str, data: Value) {
        let io = self.io.clone();
        run_inline(async move {
            let Some(root) = root(&io) else { return };
            let mut op = root.to(room);
            if !except.is_empty() {
                op = op.except(except);
            }
            count(op.emit(event, &data).await);
        });
    }

    fn to_room_raw(
        &self,
        room: String,
        event: &'static str,
        data: Box<serde_json::value::RawValue>,
    ) {
        let io = self.io.clone();
        run_inline(async move {
            let Some(root) = root(&io) else { return };
            count(root.to(room).emit(event, &data).await);
        });
    }

    fn join_room(&self, from: String, to: String) {
        let io = self.io.clone();
        run_inline(async move {
            if let Some(root) = root(&io) {
                count_adapter(root.to(from).join(to).await);
            }
        });
    }

    fn leave_room(&self, from: String, to: String) {
        let io = self.io.clone();
        run_inline(async move {
            if let Some(root) = root(&io) {
                count_adapter(root.to(from).leave(to).await);
            }
        });
    }

    fn join_now(&self, from: String, to: String) -> BoxFuture<'static, ()> {
        let io = self.io.clone();
        Box::pin(async move {
            if let Some(root) = root(&io) {
                count_adapter(root.to(from).join(to).await);
            }
        })
    }

    fn emit_now(&self, room: String, event: String, data: Value) -> BoxFuture<'static, ()> {
        let io = self.io.clone();
        Box::pin(async move {
            if let Some(root) = root(&io) {
                count(root.to(room).emit(&event, &data).await);
            }
        })
    }

    fn disconnect(&self, room: String) -> BoxFuture<'static, ()> {
        let io = self.io.clone();
        Box::pin(async move {
            if let Some(root) = root(&io) {
                count(root.to(room).disconnect().await);
            }
        })
    }

    fn close_socket(&self, sid: Sid, event: &'static str, data: Value) -> bool {
        let Some(socket) = root(&self.io).and_then(|root| root.get_socket(sid)) else {
            return false;
        };
        let _ = socket.emit(event, &data);
        let _ = socket.disconnect();
        true
    }

    fn user_online(&self, user: Uuid) -> BoxFuture<'static, bool> {
        let io = self.io.clone();
        Box::pin(async move {
            let Some(root) = root(&io) else { return false };
            // With the Redis adapter this asks every node (bounded by the request timeout).
            count_adapter(root.to(format!("user:{user}")).fetch_sockets().await)
                .is_some_and(|s| !s.is_empty())
        })
    }
}

impl<A: Adapter> SioEntry for SioNode<A> {
    fn polling(
        &self,
        req: http::Request<Full<Bytes>>,
    ) -> BoxFuture<'static, http::Response<Bytes>> {
        let svc = self.svc.clone();
        Box::pin(async move {
            match svc.oneshot(req).await {
                Ok(res) => {
                    let (parts, body) = res.into_parts();
                    let bytes = body
                        .collect()
                        .await
                        .map(|c| c.to_bytes())
                        .unwrap_or_default();
                    http::Response::from_parts(parts, bytes)
                }
                Err(_) => {
                    let mut r = http::Response::new(Bytes::from_static(b"bad request"));
                    *r.status_mut() = http::StatusCode::BAD_REQUEST;
                    r
                }
            }
        })
    }

    fn upgraded(&self, io: PrefixedIo<TcpStream>, req: http::Request<()>) {
        use hyper::service::Service as _;
        let fut = self.svc.call((io, req));
        if let Err(e) = futures_util::FutureExt::now_or_never(fut).unwrap_or(Ok(())) {
            tracing::debug!(error = %e, "socket.io websocket refused");
        }
    }

    fn close(&self) -> BoxFuture<'static, ()> {
        let io = self.io.clone();
        // Disconnect this node's clients but keep the "/" namespace: actors still ticking
        // during shutdown emit through it. Local only: the other nodes keep serving.
        Box::pin(async move {
            if let Some(root) = root(&io) {
                let _ = root.local().disconnect().await;
            }
        })
    }

    fn admission(&self) -> &Admission {
        &self.admission
    }
}
