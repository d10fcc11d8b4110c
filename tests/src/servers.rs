//! A small HTTP/1.1 server (optionally over TLS) on 127.0.0.1 with canned routes.

use crate::certs::ServerCert;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the server answers on one path.
#[derive(Clone, Debug)]
pub struct Route {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
    /// Wait this long before answering.
    pub delay: Duration,
}

impl Route {
    pub fn ok(body: &str) -> Self {
        Self {
            status: 200,
            body: body.into(),
            headers: vec![],
            delay: Duration::ZERO,
        }
    }
    pub fn status(status: u16) -> Self {
        Self {
            status,
            body: String::new(),
            headers: vec![],
            delay: Duration::ZERO,
        }
    }
    pub fn redirect(to: &str) -> Self {
        Self {
            status: 301,
            body: String::new(),
            headers: vec![("Location".into(), to.into())],
            delay: Duration::ZERO,
        }
    }
    pub fn delayed(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

/// A running server; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
    /// Requests being answered now, and the most ever at once (`InFlight`).
    open: Arc<(AtomicUsize, AtomicUsize)>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Requests being answered now, and the most ever at once: counted from the moment a
/// request is read to the moment its answer starts, when the client is certainly still
/// waiting (a count of open sockets would also see the ones a client has finished with but
/// the server has not yet closed).
type InFlight = Arc<(AtomicUsize, AtomicUsize)>;

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    routes: &HashMap<String, Route>,
    counts: &InFlight,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65536 {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let now = counts.0.fetch_add(1, Ordering::SeqCst) + 1;
    counts.1.fetch_max(now, Ordering::SeqCst);
    let head = String::from_utf8_lossy(&buf);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let route = routes
        .get(&path)
        .cloned()
        .unwrap_or_else(|| Route::status(404));
    tokio::time::sleep(route.delay).await;
    let mut resp = format!(
        "HTTP/1.1 {} Test\r\nContent-Length: {}\r\nConnection: close\r\n",
        route.status,
        route.body.len()
    );
    for (k, v) in &route.headers {
        resp.push_str(&format!("{k}: {v}\r\n"));
    }
    resp.push_str("\r\n");
    resp.push_str(&route.body);
    counts.0.fetch_sub(1, Ordering::SeqCst);
    let _ = s.write_all(resp.as_bytes()).await;
    let _ = s.shutdown().await;
}

impl TestServer {
    /// Plain HTTP.
    pub async fn http(routes: HashMap<String, Route>) -> Self {
        Self::start(routes, None).await
    }

    /// HTTPS with the given certificate chain.
    pub async fn https(routes: HashMap<String, Route>, cert: ServerCert) -> Self {
        Self::start(routes, Some(cert)).await
    }

    async fn start(routes: HashMap<String, Route>, cert: Option<ServerCert>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let acceptor = cert.map(|c| {
            let config = rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_no_client_auth()
            .with_single_cert(c.chain, c.key)
            .expect("server certificate");
            tokio_rustls::TlsAcceptor::from(Arc::new(config))
        });
        let routes = Arc::new(routes);
        let open = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
        let counts = open.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let routes = routes.clone();
                let acceptor = acceptor.clone();
                let counts = counts.clone();
                tokio::spawn(async move {
                    match acceptor {
                        Some(a) => {
                            if let Ok(tls) = a.accept(tcp).await {
                                serve(tls, &routes, &counts).await;
                            }
                        }
                        None => serve(tcp, &routes, &counts).await,
                    }
                });
            }
        });
        Self { addr, task, open }
    }

    /// The most requests ever answered at once (each probe is one connection and one
    /// request: the most probes in flight at once).
    pub fn peak_connections(&self) -> usize {
        self.open.1.load(Ordering::SeqCst)
    }

    pub fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://{}{path}", self.addr)
    }
}

/// Routes from pairs.
pub fn routes<const N: usize>(pairs: [(&str, Route); N]) -> HashMap<String, Route> {
    pairs.into_iter().map(|(p, r)| (p.to_string(), r)).collect()
}

/// How a misbehaving server treats every connection.
#[derive(Clone, Copy, Debug)]
pub enum Misbehaviour {
    /// Reads the request, then resets the connection (RST, not FIN).
    Reset,
    /// Accepts and reads, and never answers.
    Silent,
    /// Sends the headers of a 1 MB body, then one byte every 50 ms.
    Trickle,
    /// Sends 200 and an endless body as fast as the client reads.
    Endless,
    /// Answers a TLS ClientHello with plain HTTP.
    NotTls,
}

/// A server that accepts on 127.0.0.1 and misbehaves; stops when dropped.
pub async fn misbehaving(how: Misbehaviour) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tcp.read(&mut buf).await;
                match how {
                    Misbehaviour::Reset => {
                        #[allow(deprecated)] // blocking on drop is harmless: the RST is the point
                        let _ = tcp.set_linger(Some(Duration::ZERO));
                        drop(tcp);
                    }
                    Misbehaviour::Silent => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    Misbehaviour::Trickle => {
                        let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n";
                        if tcp.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        while tcp.write_all(b"x").await.is_ok() {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                    Misbehaviour::Endless => {
                        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
                        if tcp.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        let chunk = vec![b'x'; 64 * 1024];
                        while tcp.write_all(&chunk).await.is_ok() {}
                    }
                    Misbehaviour::NotTls => {
                        let _ = tcp
                            .write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
                            .await;
                    }
                }
            });
        }
    });
    TestServer {
        addr,
        task,
        open: Arc::default(),
    }
}
