//! A fault-injecting HTTP proxy in front of moto: point the SDK at it and it answers chosen
//! calls with AWS's throttling or server errors (in each protocol's own format), forwarding
//! the rest. Every call is recorded by operation.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{Request, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// An injected failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// ThrottlingException / Throttling / SlowDown, as the service would send it.
    Throttle,
    /// A 500/503 InternalFailure / ServiceUnavailable / InternalError.
    ServerError,
    /// S3's 409 ConditionalRequestConflict: a conditional write to the key was in flight
    /// ("retry the request", PutObject, S3 API reference).
    Conflict,
}

/// One call as the policy sees it.
#[derive(Clone, Debug)]
pub struct Call {
    /// `DescribeServices`, `FilterLogEvents`, `Publish`, … or `s3:GET`, `s3:PUT`.
    pub op: String,
    /// The request path (the S3 bucket and key).
    pub path: String,
    /// Calls of this operation before this one.
    pub earlier: usize,
}

pub type Policy = Box<dyn FnMut(&Call) -> Option<Fault> + Send>;

/// Every operation's first attempt throttled and second answered with a 5xx; the third
/// (the SDK's last by default) goes through.
pub fn throttle_then_5xx() -> Policy {
    Box::new(|c: &Call| match c.earlier {
        0 => Some(Fault::Throttle),
        1 => Some(Fault::ServerError),
        _ => None,
    })
}

struct Inner {
    upstream: String,
    client: reqwest::Client,
    policy: Mutex<Policy>,
    /// (operation, injected fault) of every call, in order.
    log: Mutex<Vec<(String, Option<Fault>)>>,
}

/// The proxy; stops when dropped.
pub struct FaultProxy {
    pub endpoint: String,
    inner: Arc<Inner>,
    task: JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The operation of a request in the JSON (`X-Amz-Target`), query (`Action=`) or REST (S3)
/// protocols.
fn operation(req: &Parts, body: &[u8]) -> String {
    if let Some(target) = req
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        return target.rsplit('.').next().unwrap_or(target).to_string();
    }
    let form = String::from_utf8_lossy(body);
    if let Some(action) = form.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return action.to_string();
    }
    format!("s3:{}", req.method)
}

fn fault_response(fault: Fault, req: &Parts) -> Response<Full<Bytes>> {
    let json = req.headers.contains_key("x-amz-target");
    let query = req
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if fault == Fault::Conflict {
        return Response::builder()
            .status(409)
            .header("content-type", "application/xml")
            .body(Full::new(Bytes::from(
                "<Error><Code>ConditionalRequestConflict</Code><Message>A conflicting conditional operation is currently in progress against this resource. Please try again.</Message><RequestId>fault</RequestId></Error>",
            )))
            .expect("a response");
    }
    let (status, code, content_type, body) = match (fault, json, query) {
        (Fault::Throttle, true, _) => (
            400,
            "ThrottlingException",
            "application/x-amz-json-1.1",
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_string(),
        ),
        (_, true, _) => (
            503,
            "ServiceUnavailableException",
            "application/x-amz-json-1.1",
            r#"{"__type":"ServiceUnavailableException","message":"injected"}"#.to_string(),
        ),
        (f, false, true) => {
            let (status, code, kind) = match f {
                Fault::Throttle => (400, "Throttling", "Sender"),
                _ => (500, "InternalFailure", "Receiver"),
            };
            (
                status,
                code,
                "text/xml",
                format!(
                    "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>injected</Message></Error><RequestId>fault</RequestId></ErrorResponse>"
                ),
            )
        }
        (f, false, false) => {
            let (status, code) = match f {
                Fault::Throttle => (503, "SlowDown"),
                _ => (500, "InternalError"),
            };
            (
                status,
                code,
                "application/xml",
                format!(
                    "<Error><Code>{code}</Code><Message>injected</Message><RequestId>fault</RequestId></Error>"
                ),
            )
        }
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-errortype", code)
        .body(Full::new(Bytes::from(body)))
        .expect("a response")
}

const HOP_BY_HOP: &[&str] = &["connection", "content-length", "transfer-encoding", "host"];

async fn handle(inner: Arc<Inner>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (req, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return proxy_error(format!("reading the request: {e}")),
    };
    let op = operation(&req, &body);
    let fault = {
        let mut log = inner.log.lock().expect("log");
        let call = Call {
            op: op.clone(),
            path: req.uri.path().to_string(),
            earlier: log.iter().filter(|(o, _)| *o == op).count(),
        };
        let fault = (inner.policy.lock().expect("policy"))(&call);
        log.push((op, fault));
        fault
    };
    if let Some(f) = fault {
        return fault_response(f, &req);
    }
    let url = format!(
        "{}{}",
        inner.upstream,
        req.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut fwd = inner.client.request(req.method.clone(), url).body(body);
    for (k, v) in &req.headers {
        if !HOP_BY_HOP.contains(&k.as_str()) {
            fwd = fwd.header(k, v);
        }
    }
    match fwd.send().await {
        Ok(resp) => {
            let mut out = Response::builder().status(resp.status());
            for (k, v) in resp.headers() {
                if !HOP_BY_HOP.contains(&k.as_str()) {
                    out = out.header(k, v);
                }
            }
            match resp.bytes().await {
                Ok(bytes) => out.body(Full::new(bytes)).expect("a response"),
                Err(e) => proxy_error(format!("reading moto's answer: {e}")),
            }
        }
        Err(e) => proxy_error(format!("forwarding to moto: {e}")),
    }
}

/// A 502 that says what went wrong in the proxy itself (never mistaken for a fault it injected).
fn proxy_error(what: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(502)
        .body(Full::new(Bytes::from(format!("fault proxy: {what}"))))
        .expect("a response")
}

impl FaultProxy {
    /// A proxy on a free loopback port forwarding to `upstream` (moto's endpoint).
    pub async fn start(upstream: &str, policy: Policy) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let endpoint = format!("http://{}", listener.local_addr().expect("local addr"));
        let inner = Arc::new(Inner {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::new(),
            policy: Mutex::new(policy),
            log: Mutex::new(Vec::new()),
        });
        let task = crate::receivers::serve(listener, inner.clone(), handle);
        Self {
            endpoint,
            inner,
            task,
        }
    }

    /// Replaces the policy (and forgets nothing of the log).
    pub fn set_policy(&self, policy: Policy) {
        *self.inner.policy.lock().expect("policy") = policy;
    }

    /// Per operation: (calls, faults injected).
    pub fn calls(&self) -> HashMap<String, (usize, usize)> {
        let mut out: HashMap<String, (usize, usize)> = HashMap::new();
        for (op, fault) in self.inner.log.lock().expect("log").iter() {
            let e = out.entry(op.clone()).or_default();
            e.0 += 1;
            e.1 += usize::from(fault.is_some());
        }
        out
    }

    /// Faults of one kind injected into `op`.
    pub fn faults(&self, op: &str, kind: Fault) -> usize {
        self.inner
            .log
            .lock()
            .expect("log")
            .iter()
            .filter(|(o, f)| o == op && *f == Some(kind))
            .count()
    }

    /// Asserts that each of `ops` was called, and that every call made (these and any other)
    /// met one throttle and one 5xx before it went through, as [`throttle_then_5xx`] does.
    pub fn assert_every_call_faulted(&self, ops: &[&str]) {
        let calls = self.calls();
        println!("calls (made, faulted) through the fault proxy: {calls:?}");
        for op in ops {
            assert_eq!(self.faults(op, Fault::Throttle), 1, "{op}: {calls:?}");
            assert_eq!(self.faults(op, Fault::ServerError), 1, "{op}: {calls:?}");
        }
        assert!(
            calls.values().all(|(_, faulted)| *faulted == 2),
            "no call went unfaulted: {calls:?}"
        );
    }
}
