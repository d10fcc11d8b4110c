//! One invocation of the notifier: each machine message of the alert topic delivered to each
//! destination that takes it, at most once per destination and message (the claims of
//! `diagnose::claims`, kept under `<StatePrefix>.notify/`), all destinations at once so that
//! one failing never blocks another. A destination that keeps failing fails the invocation:
//! Lambda retries it (twice, then the on-failure destination keeps the event), and the
//! retry skips the destinations already served.

use super::{AppError, Context};
use crate::aws::{s3::ReportStore, secrets::Secrets};
use crate::config::{Destination, Kind, NotifierConfig, ProcessEnv, SecretRef};
use crate::diagnose::claims::{Claims, EventClaim};
use crate::notifier::deliver::{Poster, Verdict, verdict, verdict_on_error};
use crate::notifier::{Incoming, payload};
use crate::notify::Message;
use crate::ports::{AwsError, Records, SecretSource};
use serde_json::{Value, json};
use std::collections::HashMap;
use time::OffsetDateTime;
use tokio::sync::Mutex;

/// The notifier, with the ports it runs on.
pub struct Delivery<S, R> {
    pub cfg: NotifierConfig,
    secrets: S,
    /// Secret values by name, read at the cold start and again after a 401, 403 or 404.
    cache: Mutex<HashMap<String, String>>,
    claims: R,
    poster: Poster,
}

impl Delivery<Secrets, ReportStore> {
    /// The Lambda's: configuration from the process environment, the secrets read.
    pub async fn from_env() -> Result<Self, AppError> {
        let cfg = NotifierConfig::from_env(&ProcessEnv)?;
        let sdk = crate::aws::sdk_config(&cfg.region).await;
        let d = Self::lambda(cfg, &sdk)?;
        d.warm().await;
        Ok(d)
    }

    /// Claims in `s3://STATE_BUCKET/<StatePrefix>.notify/` (a `.` no cluster name has).
    pub fn lambda(cfg: NotifierConfig, sdk: &aws_config::SdkConfig) -> Result<Self, AppError> {
        let claims = ReportStore::new(sdk, &cfg.state_bucket, &cfg.state_prefix, ".notify");
        Self::with(cfg, Secrets::new(sdk), claims)
    }
}

impl<S: SecretSource, R: Records> Delivery<S, R> {
    pub fn with(cfg: NotifierConfig, secrets: S, claims: R) -> Result<Self, AppError> {
        let poster = Poster::new(cfg.timeout).map_err(AppError::Delivery)?;
        Ok(Self {
            cfg,
            secrets,
            cache: Mutex::new(HashMap::new()),
            claims,
            poster,
        })
    }

    /// Reads every destination's secrets once (the cold start). One that cannot be read is
    /// logged by name and read again when a message needs it.
    pub async fn warm(&self) {
        for d in &self.cfg.destinations {
            for r in std::iter::once(&d.secret).chain(d.signing_secret.iter()) {
                if let Err(e) = self.secret(r, false).await {
                    tracing::warn!(destination = %d.name, "secret {} not read: {e}", r.name());
                }
            }
        }
    }

    /// The value of `r`, from the cache unless `fresh`.
    async fn secret(&self, r: &SecretRef, fresh: bool) -> Result<String, AwsError> {
        // The whole reference: two regions' secrets may share a name.
        let key = match r {
            SecretRef::Parameter(name) => name.clone(),
            SecretRef::Secret(arn) => arn.clone(),
        };
        if !fresh && let Some(v) = self.cache.lock().await.get(&key) {
            return Ok(v.clone());
        }
        let v = self.secrets.secret(r).await?;
        self.cache.lock().await.insert(key, v.clone());
        Ok(v)
    }

    /// Delivers each message to each destination that takes it. The answer lists what each
    /// destination did; an error names the destinations that failed (the others are
    /// claimed: a retry skips them).
    pub async fn run(
        &self,
        messages: &[Incoming],
        ctx: &Context<'_>,
        now: OffsetDateTime,
    ) -> Result<Value, AppError> {
        let mut answers = Vec::new();
        let mut failed = Vec::new();
        for inc in messages {
            let outcomes = futures_util::future::join_all(
                self.cfg
                    .destinations
                    .iter()
                    .map(|d| self.one(d, inc, ctx, now)),
            )
            .await;
            let mut per = serde_json::Map::new();
            for (d, outcome) in self.cfg.destinations.iter().zip(outcomes) {
                let v = match outcome {
                    Ok(done) => json!(done),
                    Err(e) => {
                        tracing::error!(destination = %d.name, message = %inc.id, "not delivered: {e}");
                        failed.push(format!("{}: {e}", d.name));
                        json!({"failed": e})
                    }
                };
                per.insert(d.name.clone(), v);
            }
            answers.push(json!({
                "message": inc.id,
                "event": inc.message.event.as_str(),
                "destinations": per,
            }));
        }
        if !failed.is_empty() {
            return Err(AppError::Delivery(format!(
                "not delivered (a retry skips the destinations served): {}",
                failed.join("; ")
            )));
        }
        Ok(json!({"delivered": answers}))
    }

    /// One destination and one message: what happened (`delivered`, `duplicate`,
    /// `filtered`, `nothing to send`), or why it failed.
    async fn one(
        &self,
        d: &Destination,
        inc: &Incoming,
        ctx: &Context<'_>,
        now: OffsetDateTime,
    ) -> Result<String, String> {
        let m = &inc.message;
        if !payload::accepts(d, m) {
            return Ok("filtered".into());
        }
        // Good news pages no one, and a resolve without an incident resolves nothing.
        if d.kind == Kind::Pagerduty && payload::pagerduty(m, "").is_none() {
            return Ok("nothing to send".into());
        }
        let claims = Claims {
            store: &self.claims,
            by: ctx.request_id,
            until: ctx.deadline,
            window: time::Duration::ZERO,
        };
        // The claim's key: the destination, then the message (its id made key-safe).
        let id: String = inc
            .id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let held = match claims
            .admit_event(&format!("{}/{id}", d.name), now)
            .await
            .map_err(|e| format!("cannot claim the delivery: {e}"))?
        {
            EventClaim::Duplicate(_) => return Ok("duplicate".into()),
            EventClaim::Go(held) => held,
        };
        match self.send(d, m).await {
            Ok(attempts) => {
                if let Err(e) = claims.settle(held, None, now).await {
                    tracing::warn!(destination = %d.name, "delivered, not marked so ({e}): a retry may deliver it again");
                }
                Ok(format!("delivered in {attempts} attempt(s)"))
            }
            Err(e) => {
                claims.release(held, now).await;
                Err(e)
            }
        }
    }

    /// Posts the message's payload until it is taken or given up; the attempts it took.
    async fn send(&self, d: &Destination, m: &Message) -> Result<u32, String> {
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let secret = self
                .secret(&d.secret, false)
                .await
                .map_err(|e| e.to_string())?;
            let (url, key) = match d.kind {
                Kind::Pagerduty => (d.pagerduty_endpoint().to_string(), secret),
                _ => (secret, String::new()),
            };
            let Some(body) = payload::body(d, m, &key) else {
                return Ok(0);
            };
            let body = serde_json::to_vec(&body).unwrap_or_default();
            let mut headers = Vec::new();
            if let Some(s) = &d.signing_secret {
                let k = self.secret(s, false).await.map_err(|e| e.to_string())?;
                let t = OffsetDateTime::now_utc().unix_timestamp();
                headers.push((
                    "x-ecs-monitor-signature",
                    payload::signature(k.as_bytes(), t, &body),
                ));
            }
            let v = match self.poster.post(&url, &headers, body).await {
                Ok(a) => {
                    let v = verdict(a.status, a.retry_after.as_deref(), attempt, refreshed);
                    if let Verdict::Fail(why) = v {
                        // The destination's own words help (PagerDuty says what is invalid).
                        Verdict::Fail(format!("{why}: {}", crate::redact::redact(&a.body)))
                    } else {
                        v
                    }
                }
                Err(e) => verdict_on_error(&e, attempt),
            };
            match v {
                Verdict::Delivered => return Ok(attempt),
                Verdict::Retry(wait) => tokio::time::sleep(wait).await,
                Verdict::Refresh => {
                    // The URL or key may have been rotated: read it again, once.
                    refreshed = true;
                    self.secret(&d.secret, true)
                        .await
                        .map_err(|e| e.to_string())?;
                    if let Some(s) = &d.signing_secret {
                        self.secret(s, true).await.map_err(|e| e.to_string())?;
                    }
                }
                Verdict::Fail(why) => return Err(why),
            }
        }
    }
}
