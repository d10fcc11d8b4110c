//! The health state in S3: `s3://BUCKET/PREFIX<cluster>/latest.json` written with a
//! conditional PUT (If-Match the ETag read, or If-None-Match `*` when there was none), and a
//! dated copy under `history/`.

use super::describe;
use crate::diagnose::stoplog;
use crate::health::model::{Overall, SCHEMA_VERSION, State};
use crate::ports::{
    Loaded, OpenIncident, Records, ReportWriter, SilenceWriter, Silences, StateStore, StatusPages,
    StopLog, StoppedTaskInfo, StoreError,
};
use crate::silence::SilenceFile;
use aws_sdk_s3::primitives::ByteStream;
use futures_util::stream::{self, StreamExt};
use std::collections::BTreeMap;

/// An S3 client; path-style addressing with a custom endpoint (moto, LocalStack, MinIO),
/// which rarely resolves bucket subdomains.
fn client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// An unconditional PUT of a JSON object.
async fn put_json(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
) -> Result<(), StoreError> {
    put_typed(client, bucket, key, body, "application/json").await
}

/// An unconditional PUT with its content type (a page: `text/html; charset=utf-8`, which a
/// browser needs to render it rather than download it).
async fn put_typed(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    content_type: &str,
) -> Result<(), StoreError> {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| {
            StoreError::Failed(format!(
                "s3:PutObject s3://{bucket}/{key} failed: {}",
                describe(&e)
            ))
        })?;
    Ok(())
}

/// Tries of a conditional PUT that S3 answers with 409 ConditionalRequestConflict.
pub const CONFLICT_TRIES: u32 = 5;

/// A conditional PUT: If-Match `expected`, or If-None-Match `*` when `None`; returns the new
/// ETag. 412 Precondition Failed means another writer came first ([`StoreError::Conflict`]).
/// 409 ConditionalRequestConflict means a concurrent conditional write to the key was in
/// flight and the request should be retried (PutObject, S3 API reference): it is, with
/// backoff, and then ends in 200 or 412.
async fn put_conditional(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    expected: Option<&str>,
) -> Result<String, StoreError> {
    let mut tries = 0;
    loop {
        tries += 1;
        let put = client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body.clone()));
        let put = match expected {
            Some(etag) => put.if_match(etag),
            None => put.if_none_match("*"),
        };
        match put.send().await {
            Ok(out) => return Ok(out.e_tag().unwrap_or_default().to_string()),
            Err(e) => match e.raw_response().map(|r| r.status().as_u16()) {
                Some(412) => return Err(StoreError::Conflict),
                Some(409) if tries < CONFLICT_TRIES => {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << tries)).await;
                }
                _ => {
                    return Err(StoreError::Failed(format!(
                        "s3:PutObject s3://{bucket}/{key} failed: {}{}",
                        describe(&e),
                        if tries > 1 {
                            format!(" (after {tries} tries)")
                        } else {
                            String::new()
                        }
                    )));
                }
            },
        }
    }
}

/// The object at `key` and its ETag; `None` when it does not exist.
///
/// S3 answers a GetObject of a missing key with 404 only to a caller who may s3:ListBucket
/// the bucket, and with 403 to others (GetObject, S3 API reference). The template grants
/// ListBucket limited by `s3:prefix` to our prefix; AWS documents that condition for
/// ListObjects, not how it weighs it in the 404-or-403 decision. So a 403 is never taken for
/// "absent" by itself: it is checked with a ListObjectsV2 of exactly that key as the prefix,
/// which the grant allows in any case. Absent there: `None`; listed (a real denial) or the
/// listing refused: the 403 is the error.
async fn get_object(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<(Vec<u8>, Option<String>)>, StoreError> {
    let out = match client.get_object().bucket(bucket).key(key).send().await {
        Ok(o) => o,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
        Err(e) => {
            let denied = e.raw_response().map(|r| r.status().as_u16()) == Some(403);
            if denied && !listed(client, bucket, key).await.unwrap_or(true) {
                return Ok(None);
            }
            return Err(StoreError::Failed(format!(
                "s3:GetObject s3://{bucket}/{key} failed: {}",
                describe(&e)
            )));
        }
    };
    let version = out.e_tag().map(str::to_string);
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| StoreError::Failed(format!("reading s3://{bucket}/{key}: {e}")))?
        .into_bytes();
    Ok(Some((bytes.to_vec(), version)))
}

/// Whether `key` exists, by listing it as a prefix: keys come in UTF-8 binary order, so if it
/// exists it is the first key starting with itself.
async fn listed(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<bool, String> {
    let out = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(key)
        .max_keys(1)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    Ok(out.contents().first().and_then(|o| o.key()) == Some(key))
}

pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    /// Diagnose's reports of the cluster (bucket, `REPORT_PREFIX<cluster>/`): the status
    /// page lists them.
    reports: Option<(String, String)>,
}

impl S3Store {
    /// `prefix` ends with `/` (or is empty); the cluster's short name is added to it.
    pub fn new(sdk: &aws_config::SdkConfig, bucket: &str, prefix: &str, cluster: &str) -> Self {
        Self {
            client: client(sdk),
            bucket: bucket.to_string(),
            prefix: format!("{prefix}{}/", super::short_name(cluster)),
            reports: None,
        }
    }

    /// The reports the status page lists: `s3://bucket/prefix<cluster>/`.
    pub fn with_reports(mut self, bucket: &str, prefix: &str, cluster: &str) -> Self {
        self.reports = Some((
            bucket.to_string(),
            format!("{prefix}{}/", super::short_name(cluster)),
        ));
        self
    }

    pub fn status_key(&self, name: &str) -> String {
        format!("{}status/{name}", self.prefix)
    }

    pub fn latest_key(&self) -> String {
        format!("{}latest.json", self.prefix)
    }

    pub fn history_key(&self, state: &State) -> String {
        // history/2026/11/29/143500.123Z.json: a folder per day; milliseconds, since two runs
        // in one second (a duplicated schedule event) must not overwrite each other's copy.
        let c = crate::timefmt::compact(state.checked_at);
        format!(
            "{}history/{}/{}/{}/{}.{:03}Z.json",
            self.prefix,
            &c[0..4],
            &c[4..6],
            &c[6..8],
            &c[9..15],
            state.checked_at.millisecond()
        )
    }
}

impl StateStore for S3Store {
    async fn load(&self) -> Result<Loaded, StoreError> {
        let key = self.latest_key();
        Ok(match get_object(&self.client, &self.bucket, &key).await? {
            None => Loaded::default(),
            Some((bytes, version)) => {
                parse_state(&bytes, version, &format!("s3://{}/{key}", self.bucket))
            }
        })
    }

    async fn save(&self, state: &State, expected: Option<&str>) -> Result<String, StoreError> {
        let body =
            serde_json::to_vec_pretty(state).map_err(|e| StoreError::Failed(e.to_string()))?;
        let version = put_conditional(
            &self.client,
            &self.bucket,
            &self.latest_key(),
            body.clone(),
            expected,
        )
        .await?;
        put_json(&self.client, &self.bucket, &self.history_key(state), body).await?;
        Ok(version)
    }

    fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.latest_key())
    }
}

impl StatusPages for S3Store {
    async fn load_rollup(&self) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        Ok(
            get_object(&self.client, &self.bucket, &self.status_key("rollup.json"))
                .await?
                .map(|(b, v)| (b, v.unwrap_or_default())),
        )
    }

    async fn save_rollup(
        &self,
        body: Vec<u8>,
        expected: Option<&str>,
    ) -> Result<String, StoreError> {
        let key = self.status_key("rollup.json");
        put_conditional(&self.client, &self.bucket, &key, body, expected).await
    }

    async fn load_report_index(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let Some((bucket, dir)) = &self.reports else {
            return Ok(None);
        };
        let key = format!("{dir}{}", crate::status::INDEX_NAME);
        Ok(get_object(&self.client, bucket, &key)
            .await?
            .map(|(b, _)| b))
    }

    async fn save_page(&self, html: String) -> Result<String, StoreError> {
        let key = self.status_key("index.html");
        put_typed(
            &self.client,
            &self.bucket,
            &key,
            html.into_bytes(),
            "text/html; charset=utf-8",
        )
        .await?;
        Ok(format!("s3://{}/{key}", self.bucket))
    }

    /// From `<state prefix><cluster>/status/` up to the bucket's root, then down to the
    /// reports (same bucket only: a relative link cannot cross buckets).
    fn report_links(&self) -> Option<String> {
        let (bucket, dir) = self.reports.as_ref()?;
        if *bucket != self.bucket {
            return None;
        }
        let depth = self.status_key("").matches('/').count();
        Some(format!("{}{dir}", "../".repeat(depth)))
    }
}

impl S3Store {
    pub fn silences_key(&self) -> String {
        format!("{}silences.json", self.prefix)
    }
}

/// The silences at `key`, or an empty file when there is none.
async fn load_silences(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<(SilenceFile, Option<String>), StoreError> {
    match get_object(client, bucket, key).await? {
        None => Ok((SilenceFile::default(), None)),
        Some((bytes, version)) => SilenceFile::parse(&bytes)
            .map(|f| (f, version))
            .map_err(|e| StoreError::Failed(format!("s3://{bucket}/{key}: {e}"))),
    }
}

impl Silences for S3Store {
    async fn load_silences(&self) -> Result<(SilenceFile, Option<String>), StoreError> {
        load_silences(&self.client, &self.bucket, &self.silences_key()).await
    }
}

impl SilenceWriter for S3Store {
    async fn save_silences(
        &self,
        file: &SilenceFile,
        expected: Option<&str>,
    ) -> Result<String, StoreError> {
        let body =
            serde_json::to_vec_pretty(file).map_err(|e| StoreError::Failed(e.to_string()))?;
        put_conditional(
            &self.client,
            &self.bucket,
            &self.silences_key(),
            body,
            expected,
        )
        .await
    }

    fn silences_location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.silences_key())
    }
}

/// A stored state, or a warning when it is not one this version can read.
pub fn parse_state(bytes: &[u8], version: Option<String>, location: &str) -> Loaded {
    match serde_json::from_slice::<State>(bytes) {
        Ok(s) if s.schema_version == SCHEMA_VERSION => Loaded {
            state: Some(s),
            version,
            warning: None,
        },
        Ok(s) => Loaded {
            state: None,
            version,
            warning: Some(format!(
                "{location} has schema_version {}, expected {SCHEMA_VERSION}: starting afresh",
                s.schema_version
            )),
        },
        Err(e) => Loaded {
            state: None,
            version,
            warning: Some(format!(
                "{location} is not a readable health state ({e}): starting afresh"
            )),
        },
    }
}

/// Diagnose reports: `s3://BUCKET/PREFIX<cluster>/<timestamp>-<trigger>.json`, and the
/// claims of `diagnose::claims` under `claims/`; the health state is read for its open
/// incident.
pub struct ReportStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    /// Where the health check keeps its state (bucket, `<prefix><cluster>/`), when diagnose
    /// knows.
    health_state: Option<(String, String)>,
}

impl ReportStore {
    pub fn new(sdk: &aws_config::SdkConfig, bucket: &str, prefix: &str, cluster: &str) -> Self {
        Self {
            client: client(sdk),
            bucket: bucket.to_string(),
            prefix: format!("{prefix}{}/", super::short_name(cluster)),
            health_state: None,
        }
    }

    /// Reads the open incident from the health state in `s3://bucket/prefix<cluster>/latest.json`
    /// and the silences beside it.
    pub fn with_health_state(mut self, bucket: &str, prefix: &str, cluster: &str) -> Self {
        let dir = format!("{prefix}{}/", super::short_name(cluster));
        self.health_state = Some((bucket.to_string(), dir));
        self
    }

    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// Writes `body` at `key` (under the cluster's prefix); returns its s3:// URL. A `.html`
    /// name is a page, anything else JSON.
    pub async fn put(&self, name: &str, body: Vec<u8>) -> Result<String, StoreError> {
        let key = self.key(name);
        let content_type = if name.ends_with(".html") {
            "text/html; charset=utf-8"
        } else {
            "application/json"
        };
        put_typed(&self.client, &self.bucket, &key, body, content_type).await?;
        Ok(self.url(&key))
    }
}

impl ReportWriter for ReportStore {
    async fn put_report(&self, name: &str, body: Vec<u8>) -> Result<String, StoreError> {
        self.put(name, body).await
    }
}

impl OpenIncident for ReportStore {
    async fn open_incident(&self) -> Result<Option<String>, StoreError> {
        let Some((bucket, dir)) = &self.health_state else {
            return Ok(None);
        };
        let key = &format!("{dir}latest.json");
        let Some((bytes, version)) = get_object(&self.client, bucket, key).await? else {
            return Ok(None);
        };
        let loaded = parse_state(&bytes, version, &format!("s3://{bucket}/{key}"));
        if let Some(w) = loaded.warning {
            return Err(StoreError::Failed(w));
        }
        Ok(loaded
            .state
            .filter(|s| s.alerting.announced != Overall::Healthy)
            .and_then(|s| s.alerting.incident_id))
    }
}

/// Diagnose reads the silences beside the health state it reads (none without it).
impl Silences for ReportStore {
    async fn load_silences(&self) -> Result<(SilenceFile, Option<String>), StoreError> {
        let Some((bucket, dir)) = &self.health_state else {
            return Ok((SilenceFile::default(), None));
        };
        load_silences(&self.client, bucket, &format!("{dir}silences.json")).await
    }
}

impl Records for ReportStore {
    async fn get_record(&self, name: &str) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let key = self.key(name);
        Ok(get_object(&self.client, &self.bucket, &key)
            .await?
            .map(|(body, etag)| (body, etag.unwrap_or_default())))
    }

    async fn put_record(
        &self,
        name: &str,
        body: Vec<u8>,
        expected: Option<&str>,
    ) -> Result<String, StoreError> {
        put_conditional(&self.client, &self.bucket, &self.key(name), body, expected).await
    }
}

/// Recorded stops read at once.
const STOP_READS: usize = 16;

impl StopLog for ReportStore {
    async fn record_stop(
        &self,
        service: &str,
        task: &StoppedTaskInfo,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let key = self.key(&stoplog::name(service, task, now_ms));
        put_json(&self.client, &self.bucket, &key, stoplog::encode(task)).await
    }

    /// Lists the window's records by name (they start with their stop time), then reads the
    /// newest [`stoplog::MAX_RECORDED`] of them, a few at a time.
    async fn recorded_stops(
        &self,
        service: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<StoppedTaskInfo>, StoreError> {
        let prefix = self.key(&stoplog::prefix(service));
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&prefix)
            .start_after(format!("{prefix}{}", stoplog::stamp(start_ms)))
            .into_paginator()
            .send();
        'pages: while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                StoreError::Failed(format!(
                    "s3:ListObjectsV2 s3://{}/{prefix} failed: {}",
                    self.bucket,
                    describe(&e)
                ))
            })?;
            for key in page.contents().iter().filter_map(|o| o.key()) {
                if !stoplog::ends_by(&key[prefix.len().min(key.len())..], end_ms) {
                    break 'pages;
                }
                keys.push(key.to_string());
            }
        }
        let newest = keys.len().saturating_sub(stoplog::MAX_RECORDED);
        let reads = stream::iter(keys.into_iter().skip(newest))
            .map(|key| async move {
                let got = get_object(&self.client, &self.bucket, &key).await;
                got.map(|o| o.and_then(|(body, _)| stoplog::decode(&body)))
            })
            .buffered(STOP_READS)
            .collect::<Vec<_>>()
            .await;
        reads.into_iter().filter_map(Result::transpose).collect()
    }
}

/// A fleet run's outbox in the state bucket, `<StatePrefix>.fleet/runs/<run>/` (a `.` no
/// cluster name has): the alerts its clusters decided (`alerts/`), the invocations done with
/// it with their clusters' summaries (`done/<shard>`), and the claim of whoever sends its
/// alerts (`sent`, written with If-None-Match, then settled); and the fleet's overview page,
/// `<StatePrefix>.fleet/index.html`.
pub struct FleetRuns {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// `<StatePrefix>.fleet/runs/`.
    prefix: String,
    /// `<StatePrefix>.fleet/index.html`.
    page: String,
}

impl FleetRuns {
    pub fn new(sdk: &aws_config::SdkConfig, bucket: &str, state_prefix: &str) -> Self {
        Self {
            client: client(sdk),
            bucket: bucket.to_string(),
            prefix: format!("{state_prefix}.fleet/runs/"),
            page: format!("{state_prefix}.fleet/index.html"),
        }
    }

    fn key(&self, run: &str, rest: &str) -> String {
        format!("{}{run}/{rest}", self.prefix)
    }

    /// Every key under `prefix` (paginated), with its last-modified time in seconds.
    async fn list(&self, prefix: &str) -> Result<Vec<(String, i64)>, StoreError> {
        self.list_after(prefix, None).await
    }

    /// The same, from the first key after `after` (keys list in UTF-8 binary order).
    async fn list_after(
        &self,
        prefix: &str,
        after: Option<String>,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .set_start_after(after)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                StoreError::Failed(format!(
                    "s3:ListObjectsV2 s3://{}/{prefix} failed: {}",
                    self.bucket,
                    describe(&e)
                ))
            })?;
            keys.extend(page.contents().iter().filter_map(|o| {
                Some((
                    o.key()?.to_string(),
                    o.last_modified().map_or(0, |t| t.secs()),
                ))
            }));
        }
        Ok(keys)
    }

    /// Keeps an alert of `run` (its name unique per cluster and decision).
    pub async fn put_alert(&self, run: &str, name: &str, body: Vec<u8>) -> Result<(), StoreError> {
        put_json(
            &self.client,
            &self.bucket,
            &self.key(run, &format!("alerts/{name}.json")),
            body,
        )
        .await
    }

    /// Marks shard `index` of `run` done, with its clusters' summaries; the number of shards
    /// done so far.
    pub async fn done(
        &self,
        run: &str,
        index: usize,
        summary: Vec<u8>,
    ) -> Result<usize, StoreError> {
        put_json(
            &self.client,
            &self.bucket,
            &self.key(run, &format!("done/{index}")),
            summary,
        )
        .await?;
        Ok(self.list(&self.key(run, "done/")).await?.len())
    }

    /// The summaries the shards of `run` left.
    pub async fn summaries(&self, run: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        self.read_all(run, "done/").await
    }

    /// Every object of `run` under `dir`.
    async fn read_all(&self, run: &str, dir: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self
            .read_named(run, dir)
            .await?
            .into_iter()
            .map(|(_, b)| b)
            .collect())
    }

    /// The same with each object's name (its key after `dir`, without `.json`).
    async fn read_named(&self, run: &str, dir: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let prefix = self.key(run, dir);
        let mut out = Vec::new();
        for (key, _) in self.list(&prefix).await? {
            if let Some((bytes, _)) = get_object(&self.client, &self.bucket, &key).await? {
                let name = key[prefix.len()..].trim_end_matches(".json").to_string();
                out.push((name, bytes));
            }
        }
        Ok(out)
    }

    /// Writes the fleet's overview page; where it is.
    pub async fn put_page(&self, html: String) -> Result<String, StoreError> {
        put_typed(
            &self.client,
            &self.bucket,
            &self.page,
            html.into_bytes(),
            "text/html; charset=utf-8",
        )
        .await?;
        Ok(format!("s3://{}/{}", self.bucket, self.page))
    }

    /// Claims sending `run`'s alerts: `Conflict` when another invocation has. `expected`: the
    /// version of a failed attempt's claim, taken over.
    pub async fn claim(&self, run: &str, expected: Option<&str>) -> Result<String, StoreError> {
        put_conditional(
            &self.client,
            &self.bucket,
            &self.key(run, "sent"),
            br#"{"sending":true}"#.to_vec(),
            expected,
        )
        .await
    }

    /// Settles the claim: what was sent, or why not (a later run retries a failed one).
    pub async fn settle(
        &self,
        run: &str,
        version: &str,
        outcome: &serde_json::Value,
    ) -> Result<(), StoreError> {
        put_conditional(
            &self.client,
            &self.bucket,
            &self.key(run, "sent"),
            outcome.to_string().into_bytes(),
            Some(version),
        )
        .await
        .map(|_| ())
    }

    /// The alerts kept for `run`, each with its name.
    pub async fn alerts(&self, run: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.read_named(run, "alerts/").await
    }

    /// Runs with alerts not sent: their claim is missing while their newest object is older
    /// than `before` (unix seconds: its invocations are over); or it says the sending failed,
    /// or its sender died (still "sending" when the run is over); or it was settled without
    /// an alert that came later (a shard Lambda retried after the run's alerts went out).
    /// The last three with the claim's version, to take it over, and the alerts it sent.
    /// Only runs named after `since` (a run's name starts with its time) are looked at, so
    /// the listing stays small however many runs the bucket keeps.
    pub async fn unsent(&self, before: i64, since: &str) -> Result<Vec<Unsent>, StoreError> {
        #[derive(Default)]
        struct Seen {
            alerts: Vec<String>,
            newest: i64,
            sent: Option<String>,
        }
        let mut runs: BTreeMap<String, Seen> = BTreeMap::new();
        let after = Some(format!("{}{since}", self.prefix));
        for (key, modified) in self.list_after(&self.prefix, after).await? {
            let rest = &key[self.prefix.len()..];
            let Some((run, what)) = rest.split_once('/') else {
                continue;
            };
            let e = runs.entry(run.to_string()).or_default();
            e.newest = e.newest.max(modified);
            if let Some(name) = what.strip_prefix("alerts/") {
                e.alerts.push(name.trim_end_matches(".json").to_string());
            }
            if what == "sent" {
                e.sent = Some(key.clone());
            }
        }
        let mut out = Vec::new();
        for (run, seen) in runs {
            if seen.alerts.is_empty() {
                continue;
            }
            let Some(key) = seen.sent else {
                if seen.newest < before {
                    out.push(Unsent {
                        run,
                        version: None,
                        sent: Vec::new(),
                    });
                }
                continue;
            };
            let Some((bytes, Some(version))) = get_object(&self.client, &self.bucket, &key).await?
            else {
                continue;
            };
            let claim = match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(c) => c,
                Err(e) => {
                    // Left alone rather than sent twice; said, since its alerts may be unsent.
                    tracing::warn!(run = %run, "the run's send claim is unreadable, its alerts are not looked at again: {e}");
                    continue;
                }
            };
            let sent = sent_alerts(&claim);
            let takeover = claim.get("failed").is_some()
                || (claim.get("sending").is_some() && seen.newest < before)
                // A claim from before the sent alerts were recorded lists none: left alone.
                || (claim.get("sent_alerts").is_some()
                    && seen.alerts.iter().any(|a| !sent.contains(a)));
            if takeover {
                out.push(Unsent {
                    run,
                    version: Some(version),
                    sent,
                });
            }
        }
        Ok(out)
    }
}

/// A run whose alerts are not all sent (`FleetRuns::unsent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsent {
    pub run: String,
    /// The version of the claim to take over; none: nobody claimed the run.
    pub version: Option<String>,
    /// The alerts already sent, by name: not sent again.
    pub sent: Vec<String>,
}

/// The names of the alerts a settled claim says were sent.
pub fn sent_alerts(claim: &serde_json::Value) -> Vec<String> {
    claim
        .get("sent_alerts")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A presigned GET of `s3://bucket/key`, valid for `expires` (SigV4 presigned URLs last at
/// most seven days, and no longer than the credentials that sign them: "Sharing objects with
/// presigned URLs", S3 user guide). The object is first checked to exist, so a URL is never
/// handed out for a page that is not there.
pub async fn presigned_get(
    sdk: &aws_config::SdkConfig,
    bucket: &str,
    key: &str,
    expires: std::time::Duration,
) -> Result<String, StoreError> {
    let client = client(sdk);
    if let Err(e) = client.head_object().bucket(bucket).key(key).send().await {
        let missing = e.raw_response().map(|r| r.status().as_u16()) == Some(404);
        return Err(StoreError::Failed(if missing {
            format!("s3://{bucket}/{key} does not exist yet")
        } else {
            format!("s3:HeadObject s3://{bucket}/{key} failed: {}", describe(&e))
        }));
    }
    let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(expires)
        .map_err(|e| StoreError::Failed(format!("cannot presign for {expires:?}: {e}")))?;
    let req = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .presigned(config)
        .await
        .map_err(|e| {
            StoreError::Failed(format!(
                "cannot presign s3://{bucket}/{key}: {}",
                describe(&e)
            ))
        })?;
    Ok(req.uri().to_string())
}

/// The newest reports of the index at `s3://bucket/key` (none when there is no index).
pub async fn report_index(
    sdk: &aws_config::SdkConfig,
    bucket: &str,
    key: &str,
) -> Result<crate::status::ReportIndex, StoreError> {
    match get_object(&client(sdk), bucket, key).await? {
        None => Ok(Default::default()),
        Some((bytes, _)) => serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::Failed(format!("s3://{bucket}/{key}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::model::{Alerting, Overall, SCHEMA_VERSION};

    #[tokio::test]
    async fn history_keys_of_runs_in_one_second_differ() {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let store = S3Store::new(&sdk, "bucket", "ecs-health/", "prod");
        let state = |t| State {
            schema_version: SCHEMA_VERSION,
            checked_at: t,
            cluster: "prod".into(),
            region: "us-east-1".into(),
            overall: Overall::Healthy,
            services: vec![],
            target_groups: vec![],
            http: vec![],
            tls: vec![],
            issues: vec![],
            alerting: Alerting::default(),
            silenced: vec![],
            label: None,
            account: None,
        };
        let a = time::macros::datetime!(2026-11-29 14:35:00.120 UTC);
        let b = time::macros::datetime!(2026-11-29 14:35:00.470 UTC);
        assert_eq!(
            store.history_key(&state(a)),
            "ecs-health/prod/history/2026/11/29/143500.120Z.json"
        );
        assert_ne!(store.history_key(&state(a)), store.history_key(&state(b)));
    }
}
