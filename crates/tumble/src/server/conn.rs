//! TCP connections before they are WebSocket clients: every accepted socket gets `TCP_NODELAY`
//! (a reply must not wait ~40 ms behind a telemetry frame for Nagle's algorithm), at most
//! `max` are open at once (more are closed at once, so idle sockets cannot eat the process's
//! descriptors), and one that has not sent a complete request within `timeout` is closed.
//!
//! The request timeout is tracked on the socket itself: it starts at accept, moves on each time
//! the server writes (a long download is not cut off; a keep-alive connection gets `timeout`
//! for its next request) and ends for good when the server answers `101 Switching Protocols`
//! (a WebSocket may stay quiet for as long as it likes; telemetry goes the other way). A socket
//! that never sends a complete request gets no answer, so nothing moves its deadline.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

use super::log;

/// The listener `axum::serve` takes connections from.
pub struct Guarded {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    max: usize,
    timeout: Duration,
}

impl Guarded {
    pub fn new(listener: TcpListener, max: usize, timeout: Duration) -> Self {
        Guarded {
            listener,
            slots: Arc::new(Semaphore::new(max)),
            max,
            timeout,
        }
    }

    /// The next connection that may stay: past the limit, a connection is closed as it comes.
    async fn next(&mut self) -> (Connection, SocketAddr) {
        let mut refused = 0u64;
        loop {
            let (stream, peer) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or memory: wait instead of spinning on the error.
                    log::now('W', "server", format_args!("accept: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                refused += 1;
                if refused == 1 {
                    log::now(
                        'W',
                        "server",
                        format_args!("{peer}: refused, {} connections open already", self.max),
                    );
                }
                continue;
            };
            // Only fails on a socket that is already gone; hyper will find out.
            let _ = stream.set_nodelay(true);
            return (Connection::new(stream, slot, self.timeout), peer);
        }
    }
}

impl Listener for Guarded {
    type Io = Connection;
    type Addr = SocketAddr;

    fn accept(&mut self) -> impl Future<Output = (Connection, SocketAddr)> + Send {
        self.next()
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// The client's address, as handlers see it (`ConnectInfo<Peer>`).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, Guarded>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Guarded>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// An accepted socket, its slot, and the request deadline while one applies.
pub struct Connection {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    timeout: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
    /// The first bytes the server wrote, to see a `101` however the write was split.
    head: heapless::Vec<u8, 12>,
}

impl Connection {
    fn new(stream: TcpStream, slot: OwnedSemaphorePermit, timeout: Duration) -> Self {
        Connection {
            stream,
            _slot: slot,
            timeout,
            deadline: Some(Box::pin(tokio::time::sleep(timeout))),
            head: heapless::Vec::new(),
        }
    }

    #[cfg(test)]
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// What the server writes tells where the connection is: a response starts the wait for
    /// the next request, a switch to WebSocket ends the request deadline.
    fn wrote(&mut self, bytes: &[u8]) {
        let room = self.head.capacity() - self.head.len();
        let _ = self.head.extend_from_slice(&bytes[..bytes.len().min(room)]);
        if bytes.starts_with(b"HTTP/1.1 101") || self.head.as_slice() == b"HTTP/1.1 101" {
            self.deadline = None;
        } else if let Some(d) = self.deadline.as_mut() {
            d.as_mut().reset(Instant::now() + self.timeout);
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(d) = self.deadline.as_mut()
            && d.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no complete request in time",
            )));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written {
            self.wrote(&buf[..n]);
        }
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if let (Poll::Ready(Ok(n)), Some(first)) = (&written, bufs.iter().find(|b| !b.is_empty())) {
            let n = (*n).min(first.len());
            self.wrote(&first[..n]);
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    async fn guarded(max: usize, timeout_ms: u64) -> (Guarded, SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        (
            Guarded::new(listener, max, Duration::from_millis(timeout_ms)),
            addr,
        )
    }

    #[tokio::test]
    async fn accepted_sockets_have_nodelay() {
        let (mut g, addr) = guarded(4, 10_000).await;
        let _client = TcpStream::connect(addr).await.unwrap();
        let (conn, _) = g.next().await;
        assert!(conn.stream().nodelay().unwrap());
    }

    #[tokio::test]
    async fn connections_past_the_limit_are_closed_at_once() {
        let (mut g, addr) = guarded(2, 10_000).await;
        let mut clients = Vec::new();
        for _ in 0..3 {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        let (_a, _) = g.next().await;
        let (_b, _) = g.next().await;
        // The third is accepted and closed while the listener waits for a fourth.
        let accept = tokio::time::timeout(Duration::from_millis(300), g.next()).await;
        assert!(accept.is_err(), "no fourth connection came");
        let mut byte = [0u8; 1];
        let n = clients[2].read(&mut byte).await.unwrap_or(0);
        assert_eq!(n, 0, "the third connection is closed");
    }

    #[tokio::test]
    async fn a_silent_connection_times_out_and_a_websocket_does_not() {
        let (mut g, addr) = guarded(4, 200).await;
        let _client = TcpStream::connect(addr).await.unwrap();
        let (mut conn, _) = g.next().await;
        let mut buf = [0u8; 16];
        let err = conn.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);

        let _client = TcpStream::connect(addr).await.unwrap();
        let (mut conn, _) = g.next().await;
        conn.wrote(b"HTTP/1.1 101 Switching Protocols\r\n");
        let quiet = tokio::time::timeout(Duration::from_millis(400), conn.read(&mut buf)).await;
        assert!(
            quiet.is_err(),
            "an upgraded connection has no request deadline"
        );

        // The same when the status line comes out in pieces.
        let _client = TcpStream::connect(addr).await.unwrap();
        let (mut conn, _) = g.next().await;
        for piece in [&b"HTTP/1."[..], b"1 1", b"01 Switching"] {
            conn.wrote(piece);
        }
        let quiet = tokio::time::timeout(Duration::from_millis(400), conn.read(&mut buf)).await;
        assert!(
            quiet.is_err(),
            "a 101 written in pieces ends the deadline too"
        );
    }
}
