//! Stand-ins for PagerDuty, Slack, Teams and a generic webhook receiver on 127.0.0.1: every
//! request is recorded (path, headers, JSON body); each path answers from a script, then
//! as the real service does (PagerDuty 202 with its JSON, the others 200). One path can
//! verify the webhook signature as a receiver would, answering 401 when it is wrong.

use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Value,
    /// For the verifying path: whether the signature held.
    pub verified: Option<bool>,
}

/// An answer: status and headers.
type Answer = (u16, Vec<(String, String)>);

#[derive(Default)]
struct Inner {
    log: Mutex<Vec<Received>>,
    script: Mutex<HashMap<String, VecDeque<Answer>>>,
    /// The path that verifies signatures, and its key.
    verify: Option<(String, Vec<u8>)>,
}

pub struct Receivers {
    pub addr: std::net::SocketAddr,
    inner: Arc<Inner>,
    task: JoinHandle<()>,
}

impl Drop for Receivers {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(inner: Arc<Inner>, req: Request<Incoming>) -> Response<Full<bytes::Bytes>> {
    let path = req.uri().path().to_string();
    let headers: HashMap<String, String> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let verified = inner
        .verify
        .as_ref()
        .filter(|(p, _)| *p == path)
        .map(|(_, key)| {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            headers
                .get("x-ecs-monitor-signature")
                .is_some_and(|h| ecs_monitor::notifier::payload::verify(key, h, &bytes, now, 300))
        });
    inner.log.lock().unwrap().push(Received {
        path: path.clone(),
        headers,
        body: body.clone(),
        verified,
    });
    let scripted = inner
        .script
        .lock()
        .unwrap()
        .get_mut(&path)
        .and_then(VecDeque::pop_front);
    let (status, extra, text) = match (scripted, verified) {
        (Some((s, h)), _) => (s, h, String::new()),
        (None, Some(false)) => (401, vec![], "bad signature".to_string()),
        (None, _) if path == "/v2/enqueue" => (
            202,
            vec![],
            json!({"status": "success", "message": "Event processed", "dedup_key": body["dedup_key"]})
                .to_string(),
        ),
        (None, _) => (200, vec![], "ok".to_string()),
    };
    let mut resp = Response::builder().status(status);
    for (k, v) in extra {
        resp = resp.header(k, v);
    }
    resp.body(Full::new(bytes::Bytes::from(text)))
        .expect("a response")
}

/// Serves HTTP/1.1 on `listener` until the task is aborted, each request answered by
/// `handle` with the shared `state`.
pub fn serve<S, F, Fut>(listener: TcpListener, state: Arc<S>, handle: F) -> JoinHandle<()>
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Request<Incoming>) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Full<bytes::Bytes>>> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(handle(state, req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    })
}

impl Receivers {
    /// Listens on a free loopback port; `verify`: the path that checks signatures, with the
    /// key.
    pub async fn start(verify: Option<(&str, &[u8])>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let inner = Arc::new(Inner {
            verify: verify.map(|(p, k)| (p.to_string(), k.to_vec())),
            ..Default::default()
        });
        let task = serve(listener, inner.clone(), handle);
        Self { addr, inner, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next answers of `path`, in order (status and headers); then the default.
    pub fn script(&self, path: &str, answers: &[(u16, &[(&str, &str)])]) {
        let mut script = self.inner.script.lock().unwrap();
        let q = script.entry(path.to_string()).or_default();
        for (status, headers) in answers {
            q.push_back((
                *status,
                headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ));
        }
    }

    /// The requests `path` received so far.
    pub fn received(&self, path: &str) -> Vec<Received> {
        self.inner
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Every request received so far.
    pub fn count(&self) -> usize {
        self.inner.log.lock().unwrap().len()
    }
}
