//! HTTP and TLS probes. Every probe is bounded by the probe timeout, runs concurrently with
//! the others, and turns every failure into an observation with its reason.

use super::model::{CertInfo, HttpObservation, HttpResponse, TlsChain, TlsObservation};
use crate::config::{Endpoint, Expectation};
use crate::redact::redact;
use reqwest::Url;

use futures_util::{StreamExt, stream};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Redirects followed at most.
pub const MAX_REDIRECTS: u32 = 10;
/// HTTP and TLS probes in flight at most, each (a run of thousands of endpoints takes
/// `ceil(n / 100)` probe timeouts at worst).
pub const PROBE_CONCURRENCY: usize = 100;
/// Bytes of a body read at most to match the expected pattern.
pub const MAX_BODY: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ProbeSetupError {
    #[error("ECS_CA_BUNDLE={path:?}: {problem}")]
    CaBundle { path: String, problem: String },
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// The probes, with their HTTP client and trust roots built once.
#[derive(Clone)]
pub struct Prober {
    http: reqwest::Client,
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    timeout: Duration,
}

/// Mozilla's roots, plus the PEM certificates of `ca_bundle` (private CAs).
fn roots(ca_bundle: Option<&Path>) -> Result<RootCertStore, ProbeSetupError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_bundle {
        let bad = |problem: String| ProbeSetupError::CaBundle {
            path: path.display().to_string(),
            problem,
        };
        let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| bad(format!("not a PEM certificate bundle: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| bad(format!("unusable certificate: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(bad("holds no certificate".into()));
        }
    }
    Ok(roots)
}

/// The text of an error and its sources, without repeats.
fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// The TLS error somewhere in the sources of `e` (also inside I/O errors, which hide their
/// inner error from `source()`).
fn tls_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(t) = e.downcast_ref::<rustls::Error>() {
        return Some(t);
    }
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
        && let Some(t) = tls_cause(inner)
    {
        return Some(t);
    }
    e.source().and_then(tls_cause)
}

fn describe_http_error(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("timed out after {} ms", timeout.as_millis());
    }
    let text = chain_text(e);
    // reqwest prefixes the URL, which the state records beside the error anyway.
    let text = text
        .split_once(": ")
        .filter(|(head, _)| head.starts_with("error sending request"))
        .map_or(text.clone(), |(_, rest)| rest.to_string());
    if e.is_connect() && text.contains("dns error") {
        // The resolver's own words are the last part of the chain.
        let reason = text.rsplit(": ").next().unwrap_or(&text);
        let host = e.url().and_then(|u| u.host_str()).unwrap_or("the host");
        format!("cannot resolve {host}: {reason}")
    } else if let Some(t) = tls_cause(e) {
        let host = e.url().and_then(|u| u.host_str()).unwrap_or("the host");
        let what = if matches!(t, rustls::Error::InvalidCertificate(_)) {
            "certificate "
        } else {
            ""
        };
        format!(
            "TLS handshake failed: {what}{}",
            describe_cert_error(t, host)
        )
    } else if e.is_connect() {
        format!("cannot connect: {text}")
    } else {
        text
    }
}

/// Why a certificate chain does not validate, in words.
fn describe_cert_error(e: &rustls::Error, host: &str) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => "expired".into(),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "not valid yet".into()
            }
            CertificateError::UnknownIssuer => {
                "issued by an unknown authority (self-signed, or a private CA not in ECS_CA_BUNDLE)"
                    .into()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("not valid for {host}")
            }
            CertificateError::Revoked => "revoked".into(),
            other => format!("{other:?}"),
        },
        other => other.to_string(),
    }
}

/// Accepts any chain so the handshake completes and the chain can be read, and records the
/// verdict of the real verifier. Nothing is ever sent over such a connection.
#[derive(Debug)]
struct CaptureChain {
    inner: Arc<WebPkiServerVerifier>,
    seen: Mutex<Option<(Vec<CertificateDer<'static>>, Option<rustls::Error>)>>,
}

impl ServerCertVerifier for CaptureChain {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .err();
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some((chain, verdict));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

fn cert_info(der: &CertificateDer<'_>) -> Result<CertInfo, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|e| format!("cannot parse a presented certificate: {e}"))?;
    let validity = cert.validity();
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: validity.not_before.to_datetime(),
        not_after: validity.not_after.to_datetime(),
    })
}

/// `host:port` → (host, port); `[::1]:8443` for IPv6.
pub fn split_host_port(target: &str, default_port: u16) -> (String, u16) {
    if let Some(rest) = target.strip_prefix('[')
        && let Some((host, tail)) = rest.split_once(']')
    {
        let port = tail
            .strip_prefix(':')
            .and_then(|p| p.parse().ok())
            .unwrap_or(default_port);
        return (host.to_string(), port);
    }
    match target.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => {
            (host.to_string(), port.parse().unwrap_or(default_port))
        }
        _ => (target.to_string(), default_port),
    }
}

impl Prober {
    pub fn new(ca_bundle: Option<&Path>, timeout: Duration) -> Result<Self, ProbeSetupError> {
        let roots = Arc::new(roots(ca_bundle)?);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ProbeSetupError::Tls(e.to_string()))?
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ecs-monitor/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProbeSetupError::Client(chain_text(&e)))?;
        Ok(Self {
            http,
            roots,
            provider,
            timeout,
        })
    }

    /// GET `url`, following up to [`MAX_REDIRECTS`] redirects.
    /// The observation records the URL and errors with credentials masked (`user:[REDACTED]@`,
    /// `token=[REDACTED]`): they end up in the state, alerts and logs.
    pub async fn http(&self, name: &str, url: &str, expect: &Expectation) -> HttpObservation {
        let result = tokio::time::timeout(self.timeout, self.http_inner(url, expect))
            .await
            .unwrap_or_else(|_| Err(format!("timed out after {} ms", self.timeout.as_millis())))
            .map_err(|e| redact(&e).into_owned());
        HttpObservation {
            name: name.to_string(),
            url: redact(url).into_owned(),
            expect: expect.clone(),
            result,
        }
    }

    async fn http_inner(&self, url: &str, expect: &Expectation) -> Result<HttpResponse, String> {
        let start = Instant::now();
        let mut current = Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
        let mut redirects = 0;
        loop {
            let mut resp = self
                .http
                .get(current.clone())
                .send()
                .await
                .map_err(|e| describe_http_error(&e, self.timeout))?;
            let status = resp.status();
            if status.is_redirection()
                && let Some(location) = resp.headers().get(reqwest::header::LOCATION)
            {
                if redirects >= MAX_REDIRECTS {
                    return Err(format!("more than {MAX_REDIRECTS} redirects"));
                }
                let location = location
                    .to_str()
                    .map_err(|_| "redirect with an unreadable Location header".to_string())?;
                current = current
                    .join(location)
                    .map_err(|e| format!("redirect to an invalid location {location:?}: {e}"))?;
                redirects += 1;
                continue;
            }
            let latency_ms = start.elapsed().as_millis() as u64;
            let body_matched = match &expect.body {
                None => None,
                Some(re) => {
                    let mut body = Vec::new();
                    while body.len() < MAX_BODY {
                        match resp.chunk().await {
                            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                            Ok(None) => break,
                            Err(e) => {
                                return Err(format!(
                                    "reading the body: {}",
                                    describe_http_error(&e, self.timeout)
                                ));
                            }
                        }
                    }
                    body.truncate(MAX_BODY);
                    Some(re.is_match(&String::from_utf8_lossy(&body)))
                }
            };
            return Ok(HttpResponse {
                status: status.as_u16(),
                latency_ms,
                redirects,
                body_matched,
            });
        }
    }

    /// The certificate chain `target` (host or host:port) presents, valid or not.
    pub async fn tls(&self, target: &str) -> TlsObservation {
        let (host, port) = split_host_port(target, 443);
        let result = tokio::time::timeout(self.timeout, self.tls_inner(&host, port))
            .await
            .unwrap_or_else(|_| Err(format!("timed out after {} ms", self.timeout.as_millis())));
        TlsObservation {
            host: format!("{host}:{port}"),
            result,
        }
    }

    async fn tls_inner(&self, host: &str, port: u16) -> Result<TlsChain, String> {
        let server_name = ServerName::try_from(host.to_string())
            .map_err(|e| format!("{host:?} is not a valid host name: {e}"))?;
        let inner =
            WebPkiServerVerifier::builder_with_provider(self.roots.clone(), self.provider.clone())
                .build()
                .map_err(|e| format!("cannot build the verifier: {e}"))?;
        let capture = Arc::new(CaptureChain {
            inner,
            seen: Mutex::new(None),
        });
        let config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(capture.clone())
            .with_no_client_auth();
        let addrs: Vec<_> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect();
        let tcp = TcpStream::connect(&addrs[..])
            .await
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        let handshake = TlsConnector::from(Arc::new(config))
            .connect(server_name, tcp)
            .await;
        let seen = capture.seen.lock().ok().and_then(|mut s| s.take());
        match (seen, handshake) {
            (Some((chain, verdict)), _) => Ok(TlsChain {
                certs: chain.iter().map(cert_info).collect::<Result<_, _>>()?,
                verify_error: verdict.map(|e| describe_cert_error(&e, host)),
            }),
            (None, Err(e)) => Err(format!("TLS handshake failed: {}", chain_text(&e))),
            (None, Ok(_)) => Err("the server presented no certificate".into()),
        }
    }

    /// Probes the domain (`https://DOMAIN/`) and every endpoint over HTTP, and the TLS chain
    /// of every distinct https host, all at once. Results come in configuration order.
    pub async fn probe_all(
        &self,
        domain: Option<&str>,
        endpoints: &[Endpoint],
    ) -> (Vec<HttpObservation>, Vec<TlsObservation>) {
        let mut targets: Vec<(String, String, Expectation)> = Vec::new();
        if let Some(d) = domain {
            targets.push((
                d.to_string(),
                format!("https://{d}/"),
                Expectation::default(),
            ));
        }
        targets.extend(
            endpoints
                .iter()
                .map(|e| (e.name.clone(), e.url.clone(), e.expect.clone())),
        );
        let mut tls_hosts: Vec<String> = Vec::new();
        for (_, url, _) in &targets {
            if let Ok(u) = Url::parse(url)
                && u.scheme() == "https"
                && let Some(host) = u.host()
            {
                let port = u.port().unwrap_or(443);
                let target = match host {
                    url::Host::Ipv6(a) => format!("[{a}]:{port}"),
                    other => format!("{other}:{port}"),
                };
                if !tls_hosts.contains(&target) {
                    tls_hosts.push(target);
                }
            }
        }
        // At most PROBE_CONCURRENCY at once (Lambda allows 1,024 open files), results in
        // order: every probe yields an observation, none is lost.
        let http = stream::iter(
            targets
                .iter()
                .map(|(name, url, expect)| self.http(name, url, expect)),
        )
        .buffered(PROBE_CONCURRENCY)
        .collect::<Vec<_>>();
        let tls = stream::iter(tls_hosts.iter().map(|host| self.tls(host)))
            .buffered(PROBE_CONCURRENCY)
            .collect::<Vec<_>>();
        tokio::join!(http, tls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port() {
        assert_eq!(
            split_host_port("api.example.com", 443),
            ("api.example.com".into(), 443)
        );
        assert_eq!(
            split_host_port("127.0.0.1:8443", 443),
            ("127.0.0.1".into(), 8443)
        );
        assert_eq!(split_host_port("[::1]:8443", 443), ("::1".into(), 8443));
        assert_eq!(split_host_port("[::1]", 443), ("::1".into(), 443));
    }

    #[test]
    fn a_bad_ca_bundle_names_the_variable() {
        let dir = std::env::temp_dir().join(format!("ecs-monitor-ca-{}", std::process::id()));
        std::fs::write(&dir, "not a certificate").unwrap();
        let err = Prober::new(Some(&dir), Duration::from_secs(1))
            .err()
            .unwrap()
            .to_string();
        std::fs::remove_file(&dir).ok();
        assert!(err.starts_with("ECS_CA_BUNDLE="), "{err}");
        assert!(err.contains("holds no certificate"), "{err}");
        let err = Prober::new(
            Some(Path::new("/nonexistent/ca.pem")),
            Duration::from_secs(1),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("cannot read"), "{err}");
    }
}
