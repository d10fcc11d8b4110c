//! HTTP and TLS probes against servers on 127.0.0.1 with certificates made in the test.

use ecs_monitor::config::{Endpoint, Expectation, Thresholds};
use ecs_monitor::health::probe::{PROBE_CONCURRENCY, Prober};
use ecs_monitor::health::{Context, Observations, Overall, ServicesObservation, Status, evaluate};
use ecs_monitor_e2e::certs::{Pki, days, self_signed};
use ecs_monitor_e2e::servers::{Misbehaviour, Route, TestServer, misbehaving, routes};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn ca_file(pki: &Pki) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "ecs-monitor-ca-{}-{:?}.pem",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&path, pki.ca_pem()).unwrap();
    path
}

fn prober(pki: &Pki, timeout_ms: u64) -> Prober {
    let ca = ca_file(pki);
    let p = Prober::new(Some(&ca), Duration::from_millis(timeout_ms)).unwrap();
    std::fs::remove_file(ca).ok();
    p
}

fn evaluate_tls(obs: ecs_monitor::health::TlsObservation) -> (Status, Option<String>, Option<i64>) {
    let o = Observations {
        services: Ok(ServicesObservation::default()),
        target_groups: vec![],
        http: vec![],
        tls: vec![obs],
    };
    let ctx = Context {
        cluster: "prod",
        label: None,
        account: None,
        region: "us-east-1",
        thresholds: Thresholds::default(),
    };
    let (state, _) = evaluate(&o, None, time::OffsetDateTime::now_utc(), &ctx);
    let t = &state.tls[0];
    (t.status, t.error.clone(), t.days_left)
}

#[tokio::test]
async fn http_status_redirects_and_body() {
    let server = TestServer::http(routes([
        ("/ok", Route::ok(r#"{"status":"ok"}"#)),
        ("/down", Route::status(503)),
        ("/old", Route::redirect("/ok")),
        ("/loop", Route::redirect("/loop")),
    ]))
    .await;
    let p = prober(&Pki::new(), 2000);
    let plain = Expectation::default();
    let ok = p
        .http("ok", &server.url("http", "/ok"), &plain)
        .await
        .result
        .unwrap();
    assert_eq!((ok.status, ok.redirects, ok.body_matched), (200, 0, None));
    let down = p
        .http("down", &server.url("http", "/down"), &plain)
        .await
        .result
        .unwrap();
    assert_eq!(down.status, 503);
    let moved = p
        .http("old", &server.url("http", "/old"), &plain)
        .await
        .result
        .unwrap();
    assert_eq!(
        (moved.status, moved.redirects),
        (200, 1),
        "redirects are followed"
    );
    let looping = p
        .http("loop", &server.url("http", "/loop"), &plain)
        .await
        .result
        .unwrap_err();
    assert_eq!(looping, "more than 10 redirects");
    let expect_ok = Expectation {
        body: Some(regex::Regex::new(r#""status":"ok""#).unwrap()),
        ..plain.clone()
    };
    let matched = p
        .http("ok", &server.url("http", "/ok"), &expect_ok)
        .await
        .result
        .unwrap();
    assert_eq!(matched.body_matched, Some(true));
    let expect_other = Expectation {
        body: Some(regex::Regex::new("ready").unwrap()),
        ..plain
    };
    let missed = p
        .http("ok", &server.url("http", "/ok"), &expect_other)
        .await
        .result
        .unwrap();
    assert_eq!(missed.body_matched, Some(false));
}

#[tokio::test]
async fn http_timeouts_and_refused_connections_are_bounded_failures() {
    let server = TestServer::http(routes([(
        "/slow",
        Route::ok("late").delayed(Duration::from_secs(5)),
    )]))
    .await;
    let p = prober(&Pki::new(), 300);
    let start = Instant::now();
    let slow = p
        .http(
            "slow",
            &server.url("http", "/slow"),
            &Expectation::default(),
        )
        .await;
    assert_eq!(slow.result.unwrap_err(), "timed out after 300 ms");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "bounded by the probe timeout"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let refused = p
        .http(
            "gone",
            &format!("http://127.0.0.1:{port}/"),
            &Expectation::default(),
        )
        .await;
    let err = refused.result.unwrap_err();
    assert!(err.starts_with("cannot connect"), "{err}");
    let tls = p.tls(&format!("127.0.0.1:{port}")).await;
    assert!(tls.result.unwrap_err().contains("cannot connect"));
}

#[tokio::test]
async fn https_with_a_trusted_private_ca_and_an_untrusted_one() {
    let pki = Pki::new();
    let good = TestServer::https(routes([("/", Route::ok("hi"))]), pki.leaf(days(90))).await;
    let bad = TestServer::https(routes([("/", Route::ok("hi"))]), self_signed(days(90))).await;
    let p = prober(&pki, 2000);
    let ok = p
        .http("good", &good.url("https", "/"), &Expectation::default())
        .await;
    assert_eq!(ok.result.unwrap().status, 200);
    let err = p
        .http("bad", &bad.url("https", "/"), &Expectation::default())
        .await
        .result
        .unwrap_err();
    assert!(
        err.starts_with("TLS handshake failed: certificate issued by an unknown authority"),
        "{err}"
    );
}

#[tokio::test]
async fn tls_chains_read_even_when_they_do_not_validate() {
    let pki = Pki::new();
    let p = prober(&pki, 2000);
    let serve = |cert| TestServer::https(routes([("/", Route::ok("hi"))]), cert);

    let valid = serve(pki.leaf(days(41))).await;
    let (status, error, left) = evaluate_tls(p.tls(&valid.addr.to_string()).await);
    assert_eq!((status, error, left), (Status::Healthy, None, Some(41)));

    let soon = serve(pki.leaf(days(5))).await;
    let (status, error, left) = evaluate_tls(p.tls(&soon.addr.to_string()).await);
    assert_eq!(status, Status::Unhealthy, "under the critical days");
    assert_eq!(left, Some(5));
    assert_eq!(error.as_deref(), Some("certificate expires in 5 days"));

    let expired = serve(pki.leaf(days(-3))).await;
    let obs = p.tls(&expired.addr.to_string()).await;
    assert_eq!(
        obs.result.as_ref().unwrap().verify_error.as_deref(),
        Some("expired")
    );
    let (status, error, _) = evaluate_tls(obs);
    assert_eq!(status, Status::Unhealthy);
    assert!(error.unwrap().starts_with("certificate expired on"));

    let own = serve(self_signed(days(300))).await;
    let obs = p.tls(&own.addr.to_string()).await;
    let chain = obs.result.as_ref().unwrap();
    assert_eq!(chain.certs.len(), 1);
    assert!(
        chain
            .verify_error
            .as_deref()
            .unwrap()
            .contains("unknown authority")
    );
    assert_eq!(evaluate_tls(obs).0, Status::Unhealthy);

    let wrong_name = serve(pki.leaf_for(&["api.example.com"], days(300))).await;
    let obs = p.tls(&wrong_name.addr.to_string()).await;
    assert_eq!(
        obs.result.as_ref().unwrap().verify_error.as_deref(),
        Some("not valid for 127.0.0.1")
    );

    let chained = serve(pki.leaf_via_intermediate(days(9), days(200))).await;
    let obs = p.tls(&chained.addr.to_string()).await;
    assert_eq!(
        obs.result.as_ref().unwrap().certs.len(),
        2,
        "the whole presented chain"
    );
    let (status, error, left) = evaluate_tls(obs);
    assert_eq!(
        (status, left),
        (Status::Degraded, Some(9)),
        "the intermediate expires first"
    );
    assert!(error.unwrap().contains("ecs-monitor test intermediate"));
}

#[tokio::test]
async fn twenty_slow_endpoints_are_probed_concurrently() {
    let pki = Pki::new();
    let server = TestServer::https(
        routes([("/slow", Route::ok("ok").delayed(Duration::from_millis(300)))]),
        pki.leaf(days(90)),
    )
    .await;
    let endpoints: Vec<Endpoint> = (0..20)
        .map(|i| Endpoint {
            name: format!("e{i}"),
            url: server.url("https", "/slow"),
            expect: Expectation::default(),
        })
        .collect();
    let p = prober(&pki, 5000);
    let start = Instant::now();
    let (http, tls) = p
        .probe_all(Some(&server.addr.to_string()), &endpoints)
        .await;
    let elapsed = start.elapsed();
    println!(
        "21 HTTP probes of 300 ms each and 1 TLS probe: {} ms",
        elapsed.as_millis()
    );
    assert_eq!(http.len(), 21);
    assert_eq!(tls.len(), 1, "one TLS check per distinct host");
    assert!(
        http[1..]
            .iter()
            .all(|h| h.result.as_ref().unwrap().status == 200)
    );
    assert_eq!(http[1].name, "e0", "results in configuration order");
    // Sequentially this would take over 6 s.
    assert!(elapsed < Duration::from_millis(2000), "{elapsed:?}");
    let o = Observations {
        services: Ok(ServicesObservation::default()),
        target_groups: vec![],
        http,
        tls,
    };
    let ctx = Context {
        cluster: "prod",
        label: None,
        account: None,
        region: "us-east-1",
        thresholds: Thresholds::default(),
    };
    let (state, _) = evaluate(&o, None, time::OffsetDateTime::now_utc(), &ctx);
    assert_eq!(
        state.overall,
        Overall::Unhealthy,
        "the domain's / answers 404"
    );
    assert_eq!(state.issues.len(), 1, "{:?}", state.issues);
}

fn expect_body(pattern: &str) -> Expectation {
    Expectation {
        body: Some(regex::Regex::new(pattern).unwrap()),
        ..Expectation::default()
    }
}

/// Every way a server or the network can fail ends as an observation with its reason, within
/// the probe timeout (500 ms here), and reads at most `MAX_BODY` of a body.
#[tokio::test]
async fn misbehaving_servers_are_bounded_failures() {
    let p = prober(&Pki::new(), 500);
    let bound = Duration::from_millis(1500);

    // A 64-letter label cannot be resolved: the resolver rejects it without a query leaving.
    let unresolvable = format!("http://{}.invalid/", "a".repeat(64));
    let start = Instant::now();
    let err = p.http("dns", &unresolvable, &Expectation::default()).await;
    let err = err.result.unwrap_err();
    assert!(err.starts_with("cannot resolve"), "{err}");
    assert!(start.elapsed() < bound);

    let reset = misbehaving(Misbehaviour::Reset).await;
    let err = p
        .http("reset", &reset.url("http", "/"), &Expectation::default())
        .await
        .result
        .unwrap_err();
    assert!(
        err.contains("reset") || err.contains("closed"),
        "names the reset: {err}"
    );

    let silent = misbehaving(Misbehaviour::Silent).await;
    let start = Instant::now();
    let err = p
        .http("silent", &silent.url("http", "/"), &Expectation::default())
        .await
        .result
        .unwrap_err();
    assert_eq!(err, "timed out after 500 ms");
    assert!(start.elapsed() < bound);
    let start = Instant::now();
    let err = p.tls(&silent.addr.to_string()).await.result.unwrap_err();
    assert_eq!(err, "timed out after 500 ms", "a TLS probe too");
    assert!(start.elapsed() < bound);

    let trickle = misbehaving(Misbehaviour::Trickle).await;
    let start = Instant::now();
    let err = p
        .http("trickle", &trickle.url("http", "/"), &expect_body("ok"))
        .await
        .result
        .unwrap_err();
    assert!(err.ends_with("timed out after 500 ms"), "cut off: {err}");
    assert!(start.elapsed() < bound);

    // An endless body: read up to MAX_BODY, then judged (not read until the timeout).
    let endless = misbehaving(Misbehaviour::Endless).await;
    let huge = p
        .http(
            "huge",
            &endless.url("http", "/"),
            &expect_body("never-there"),
        )
        .await
        .result
        .expect("answered after MAX_BODY bytes");
    assert_eq!((huge.status, huge.body_matched), (200, Some(false)));

    let not_tls = misbehaving(Misbehaviour::NotTls).await;
    let err = p.tls(&not_tls.addr.to_string()).await.result.unwrap_err();
    assert!(err.starts_with("TLS handshake failed"), "{err}");
    let err = p
        .http("https", &not_tls.url("https", "/"), &Expectation::default())
        .await
        .result
        .unwrap_err();
    assert!(err.starts_with("TLS handshake failed"), "{err}");
}

/// Thousands of endpoints: all probed, in order, never more than PROBE_CONCURRENCY sockets
/// at once (Lambda's limit is 1,024 open files).
#[tokio::test(flavor = "multi_thread")]
async fn thousands_of_endpoints_are_probed_with_bounded_sockets() {
    let server = TestServer::http(routes([(
        "/health",
        Route::ok("ok").delayed(Duration::from_millis(20)),
    )]))
    .await;
    let endpoints: Vec<Endpoint> = (0..3000)
        .map(|i| Endpoint {
            name: format!("e{i}"),
            url: server.url("http", "/health"),
            expect: Expectation::default(),
        })
        .collect();
    let p = prober(&Pki::new(), 10_000);
    let start = Instant::now();
    let (http, _) = p.probe_all(None, &endpoints).await;
    println!(
        "3000 endpoints: {} ms, at most {} connections at once",
        start.elapsed().as_millis(),
        server.peak_connections()
    );
    assert_eq!(http.len(), 3000);
    assert!(
        http.iter()
            .enumerate()
            .all(|(i, h)| h.name == format!("e{i}"))
    );
    assert!(
        http.iter()
            .all(|h| h.result.as_ref().unwrap().status == 200),
        "{:?}",
        http.iter().find(|h| h.result.is_err())
    );
    assert!(server.peak_connections() <= PROBE_CONCURRENCY);
    assert!(server.peak_connections() > 1, "still concurrent");
}
