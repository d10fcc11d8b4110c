//! One invocation of the diagnose Lambda: the event's trigger, the claims of an automatic
//! trigger (`claims`), the diagnosis, the report in S3, the summary to SNS, the answer.
//!
//! Lambda invokes the function asynchronously for SNS and EventBridge and retries a failed
//! invocation twice, timeouts included, before sending the event to the on-failure
//! destination (asynchronous invocation, Lambda developer guide). So whatever fails before
//! the summary is published fails the invocation, with the claims released: the retry
//! diagnoses the event again (writing a second report of it at worst) and nothing is lost.

use super::AppError;
use crate::aws::{
    self, ecs::Ecs, elb::Elb, logs::CloudWatchLogs, s3::ReportStore, sns::Sns, tasks::EcsTasks,
};
use crate::classify::Classifier;
use crate::config::{DiagnoseConfig, ProcessEnv};
use crate::diagnose::claims::{Admission, Claims, EventClaim, overwrite_record, read_record};
use crate::diagnose::deployment::{
    self, Completion, DeploymentEvent, Failure, NoticeContext, Phase, Started,
};
use crate::diagnose::render;
use crate::diagnose::report::Report;
use crate::diagnose::run::{Request, diagnose, resolve_services};
use crate::diagnose::trigger::Invocation;
use crate::diagnose::trigger::TaskStop;
use crate::ports::{
    EcsServices, LogEvents, OpenIncident, Publisher, Records, ReportWriter, Silences, StopLog,
    TargetHealth, TaskDefinitions, TaskHistory,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// Lambda answers at most 6 MB synchronously: past this, the summary and the S3 key.
pub const MAX_RESPONSE: usize = 5 * 1024 * 1024;

/// Diagnose, with the ports it runs on.
pub struct Diagnosis<L, E, H, T, S, P> {
    pub cfg: DiagnoseConfig,
    pub logs: L,
    pub ecs: E,
    pub history: H,
    /// The services' load balancer targets.
    pub targets: T,
    pub classifier: Classifier,
    /// Reports and claims; none for the CLI, which prints its reports.
    pub store: Option<S>,
    /// Where summaries go; none: no summaries.
    pub publisher: Option<P>,
}

/// What an invocation answers, and the metric lines (EMF) the Lambda writes to stdout.
#[derive(Debug, Clone)]
pub struct Answer {
    pub value: Value,
    pub metrics: Vec<String>,
}

/// The invocation: its id and its deadline (claims it holds lapse then).
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub request_id: &'a str,
    pub deadline: OffsetDateTime,
}

impl<'a> Context<'a> {
    /// From the runtime's request id and deadline (ms since the epoch; 0 or unreadable: 15
    /// minutes from `now`, Lambda's longest timeout).
    pub fn lambda(request_id: &'a str, deadline_ms: u64, now: OffsetDateTime) -> Self {
        let deadline = i64::try_from(deadline_ms)
            .ok()
            .filter(|ms| *ms > 0)
            .and_then(crate::timefmt::from_millis)
            .unwrap_or(now + time::Duration::minutes(15));
        Self {
            request_id,
            deadline,
        }
    }
}

impl Diagnosis<CloudWatchLogs, Ecs, EcsTasks, Elb, ReportStore, Sns> {
    /// The Lambda's: configuration from the process environment.
    pub async fn from_env() -> Result<Self, AppError> {
        let cfg = DiagnoseConfig::from_env(&ProcessEnv)?;
        let sdk = aws::sdk_config(&cfg.region).await;
        Self::lambda(cfg, &sdk)
    }

    /// Reports and claims in `s3://REPORT_BUCKET/REPORT_PREFIX<cluster>/` (required),
    /// summaries to `ALERT_TOPIC_ARN`, the open incident from the health state in
    /// `s3://STATE_BUCKET/STATE_PREFIX<cluster>/latest.json` (when `STATE_BUCKET` is set).
    pub fn lambda(cfg: DiagnoseConfig, sdk: &aws_config::SdkConfig) -> Result<Self, AppError> {
        Self::member(cfg, sdk, sdk)
    }

    /// A cluster of a fleet: its logs, ECS and load balancers through `target` (its region,
    /// its account's member role); reports, claims, the health state and summaries through
    /// `home` (the deployment's).
    pub fn member(
        cfg: DiagnoseConfig,
        home: &aws_config::SdkConfig,
        target: &aws_config::SdkConfig,
    ) -> Result<Self, AppError> {
        let mut store = ReportStore::new(
            home,
            cfg.require_report_bucket()?,
            &cfg.report_prefix,
            &cfg.cluster,
        );
        if let Some(bucket) = &cfg.state_bucket {
            store = store.with_health_state(bucket, &cfg.state_prefix, &cfg.cluster);
        }
        let mut d = Self::cli(cfg, target);
        d.store = Some(store);
        d.publisher = d.cfg.alert_topic_arn.as_deref().map(|t| Sns::new(home, t));
        Ok(d)
    }

    /// The CLI's: it reads and prints; nothing is stored or published.
    pub fn cli(cfg: DiagnoseConfig, sdk: &aws_config::SdkConfig) -> Self {
        Self {
            logs: CloudWatchLogs::new(sdk),
            ecs: Ecs::new(sdk),
            history: EcsTasks::new(sdk),
            targets: Elb::new(sdk),
            classifier: Classifier::new(cfg.classifier.health_paths.clone()),
            store: None,
            publisher: None,
            cfg,
        }
    }
}

impl<L, E, H, T, S, P> Diagnosis<L, E, H, T, S, P>
where
    L: LogEvents,
    E: EcsServices + TaskDefinitions,
    H: TaskHistory,
    T: TargetHealth,
    S: Records + ReportWriter + OpenIncident + StopLog + Silences,
    P: Publisher,
{
    /// The report of `req` over the window ending at `now` (nothing stored; the recorded
    /// task stops are read when there is a store).
    pub async fn report(&self, req: &Request, now: OffsetDateTime) -> Result<Report, AppError> {
        Ok(diagnose(
            &self.cfg,
            &self.logs,
            &self.ecs,
            &self.history,
            &self.targets,
            self.store.as_ref(),
            &self.classifier,
            req,
            now,
        )
        .await?)
    }

    /// One invocation for `invocation`: claims (automatic triggers), diagnosis, report,
    /// summary; the answer, and the metrics of the report when there is one and metrics are
    /// on.
    pub async fn run(
        &self,
        invocation: Invocation,
        ctx: &Context<'_>,
        now: OffsetDateTime,
    ) -> Result<Answer, AppError> {
        let mut metrics = Vec::new();
        // Boxed: a diagnosis's future nests deep enough to overflow the compiler's layout
        // query in the Lambda's main (a clean build fails; an incremental one may not).
        let value = Box::pin(self.answer(invocation, ctx, now, &mut metrics)).await?;
        Ok(Answer { value, metrics })
    }

    async fn answer(
        &self,
        invocation: Invocation,
        ctx: &Context<'_>,
        now: OffsetDateTime,
        metrics: &mut Vec<String>,
    ) -> Result<Value, AppError> {
        let Some(store) = &self.store else {
            return Err(crate::config::invalid(
                crate::config::REPORT_BUCKET,
                "",
                "is required (or STATE_BUCKET): the bucket that keeps the reports",
            )
            .into());
        };
        let (services, minutes, mut trigger, key, notice) = match invocation {
            Invocation::Ignore(reason) => return Ok(json!({"ignored": reason})),
            Invocation::Deployment(ev) => {
                if !self.cfg.deployment_notices {
                    return Ok(json!({"ignored": "deployment notices are off"}));
                }
                if !self.watches(&ev.service) {
                    return Ok(
                        json!({"ignored": format!("{} is not a watched service", ev.service)}),
                    );
                }
                // Boxed: the notice's future inside the diagnosis's would be one deep type.
                return Box::pin(self.deployment_notice(store, &ev, ctx, now)).await;
            }
            Invocation::RecordStop { stop, reason } => {
                let recorded = self.record_stop(store, &stop, now).await?;
                return Ok(json!({"ignored": reason, "recorded": recorded}));
            }
            Invocation::Diagnose {
                services,
                minutes,
                trigger,
                dedupe_key,
                notice,
                stop,
            } => {
                if let Some(stop) = &stop {
                    // Kept before anything else: a retry records it again, harmlessly.
                    self.record_stop(store, stop, now).await?;
                }
                (services, minutes, trigger, dedupe_key, notice)
            }
        };
        let mut noticed = None;
        if let Some(ev) = &notice
            && self.cfg.deployment_notices
            && self.watches(&ev.service)
        {
            // A failed deployment: its notice first, then the diagnosis, in the same thread.
            noticed = Some(Box::pin(self.deployment_notice(store, ev, ctx, now)).await?);
            if trigger.incident_id.is_none() {
                trigger.thread = Some(deployment::thread_id(
                    self.cfg.display_name(),
                    &ev.service,
                    None,
                    now,
                ));
            }
        }
        if trigger.kind == "ecs_event" && trigger.incident_id.is_none() {
            // An ECS event during an open incident belongs to it. Not knowing is no reason to
            // lose the diagnosis: it then posts in a thread of its own.
            match store.open_incident().await {
                Ok(incident) => trigger.incident_id = incident,
                Err(e) => tracing::warn!("could not read the open incident: {e}"),
            }
        }
        let mut services = resolve_services(&self.cfg, &self.ecs, services).await?;
        if key.is_some() {
            // An ECS event names any service of the cluster: diagnose only the watched ones.
            if let Some(watched) = &self.cfg.services {
                services.retain(|s| watched.contains(s));
            }
            if services.is_empty() {
                return Ok(json!({"ignored": "no watched service to diagnose"}));
            }
        }
        let claims = Claims {
            store,
            by: ctx.request_id,
            until: ctx.deadline,
            window: time::Duration::minutes(i64::from(self.cfg.coalesce_minutes)),
        };
        let (services, covered, held) = match &key {
            None => (services, Vec::new(), None),
            Some(key) => match claims
                .admit(key, &services, now)
                .await
                .map_err(AppError::Claims)?
            {
                Admission::Duplicate { record } => {
                    return Ok(with_notice(
                        json!({"duplicate": key, "state": record.state, "report": record.report}),
                        noticed,
                    ));
                }
                Admission::Coalesced { covered } => {
                    return Ok(with_notice(
                        json!({"coalesced": key, "covered_by": covered}),
                        noticed,
                    ));
                }
                Admission::Go {
                    services,
                    covered,
                    held,
                } => (services, covered, Some(held)),
            },
        };
        let req = Request {
            services: Some(services),
            minutes: minutes.unwrap_or(self.cfg.minutes),
            limit: self.cfg.event_limit,
            trigger,
        };
        match self.report_and_publish(store, &req, ctx, now).await {
            Ok((report, url, published, held_by)) => {
                if let Some(held) = held
                    && let Err(e) = claims.settle(held, Some(&url), now).await
                {
                    // The report and its summary are out: a redelivery may diagnose again.
                    tracing::warn!("could not mark the event diagnosed: {e}");
                }
                if let Some(cfg) = &self.cfg.metrics {
                    *metrics = crate::metrics::diagnose(&report, cfg);
                }
                let worst = report.worst();
                tracing::info!(cluster = %report.cluster, status = worst.as_str(), report = %url, published, "diagnosis done");
                let body = serde_json::to_vec(&report).unwrap_or_default();
                let mut answer = if body.len() <= MAX_RESPONSE {
                    serde_json::to_value(&report).unwrap_or_default()
                } else {
                    json!({
                        "status": worst.as_str(),
                        "summary": render::summary_lines(&report),
                        "note": "the report is larger than a Lambda response; read it from S3",
                    })
                };
                answer["report_url"] = json!(url);
                answer["published"] = json!(published);
                if let Some(h) = held_by {
                    answer["held"] = json!(h);
                }
                let mut answer = with_notice(answer, noticed);
                if !covered.is_empty() {
                    answer["covered_by"] = json!(covered);
                }
                Ok(answer)
            }
            Err(e) => {
                if let Some(held) = held {
                    claims.release(held, now).await;
                }
                Err(e)
            }
        }
    }

    /// Records a watched service's task stop, so that diagnoses of later windows still see
    /// it after ECS forgets the task (about an hour). Whether it was recorded.
    async fn record_stop(
        &self,
        store: &S,
        stop: &TaskStop,
        now: OffsetDateTime,
    ) -> Result<bool, AppError> {
        if !self.watches(&stop.service) {
            return Ok(false);
        }
        store
            .record_stop(&stop.service, &stop.task, crate::timefmt::to_millis(now))
            .await
            .map_err(AppError::StopLog)?;
        Ok(true)
    }

    /// Whether `service` is one this deployment watches (every service without ECS_SERVICES).
    fn watches(&self, service: &str) -> bool {
        self.cfg
            .services
            .as_ref()
            .is_none_or(|watched| watched.iter().any(|s| s == service))
    }

    /// A deployment's notice, once per event (EventBridge delivers at least once): what it
    /// says of the deployment is remembered for the events after it, the ECS evidence and
    /// the open incident are read, and the notice is published in the incident's thread.
    async fn deployment_notice(
        &self,
        store: &S,
        ev: &DeploymentEvent,
        ctx: &Context<'_>,
        now: OffsetDateTime,
    ) -> Result<Value, AppError> {
        let claims = Claims {
            store,
            by: ctx.request_id,
            until: ctx.deadline,
            window: time::Duration::ZERO,
        };
        let key = ev.notice_key();
        let held = match claims
            .admit_event(&key, now)
            .await
            .map_err(AppError::Claims)?
        {
            EventClaim::Duplicate(record) => {
                return Ok(json!({"duplicate": key, "state": record.state}));
            }
            EventClaim::Go(held) => held,
        };
        match self.send_notice(store, ev, now).await {
            Ok(answer) => {
                if let Err(e) = claims.settle(held, None, now).await {
                    // The notice is out: a redelivery may send it again.
                    tracing::warn!("could not mark the notice {key} sent: {e}");
                }
                Ok(answer)
            }
            Err(e) => {
                claims.release(held, now).await;
                Err(e)
            }
        }
    }

    async fn send_notice(
        &self,
        store: &S,
        ev: &DeploymentEvent,
        now: OffsetDateTime,
    ) -> Result<Value, AppError> {
        let cluster = &self.cfg.cluster;
        let service = &ev.service;
        let last_failure: Option<Failure> =
            read_record(store, &deployment::failure_record(service))
                .await
                .map_err(AppError::Claims)?;
        let mut completion = Completion::Succeeded;
        match &ev.phase {
            Phase::Started | Phase::RollingBack { .. } => {
                let rollback_to = match &ev.phase {
                    Phase::RollingBack { to } => Some(to.clone()),
                    _ => None,
                };
                let started = Started {
                    deployment: ev.deployment_id.clone(),
                    rollback_to,
                    at: ev.at.unwrap_or(now),
                };
                overwrite_record(
                    store,
                    &deployment::started_record(service, &ev.deployment_id),
                    &started,
                )
                .await
                .map_err(AppError::Claims)?;
            }
            Phase::Failed => {
                let failure = Failure {
                    deployment: ev.deployment_id.clone(),
                    reason: ev.reason.clone(),
                    at: ev.at.unwrap_or(now),
                };
                overwrite_record(store, &deployment::failure_record(service), &failure)
                    .await
                    .map_err(AppError::Claims)?;
            }
            Phase::Completed => {
                let started: Option<Started> = read_record(
                    store,
                    &deployment::started_record(service, &ev.deployment_id),
                )
                .await
                .map_err(AppError::Claims)?;
                completion = deployment::completion(
                    &ev.deployment_id,
                    started.as_ref(),
                    last_failure.as_ref(),
                    ev.at.unwrap_or(now),
                );
            }
        }
        // The failed deployment whose tasks the notice names: this one, or the service's
        // last failure when this rolls it back.
        let failed = match (&ev.phase, &completion) {
            (Phase::Failed, _) => Some(ev.deployment_id.clone()),
            (Phase::RollingBack { .. }, _) => last_failure
                .as_ref()
                .filter(|f| ev.at.unwrap_or(now) - f.at <= deployment::ROLLBACK_WINDOW)
                .map(|f| f.deployment.clone()),
            (_, Completion::RolledBack { failed, .. }) => failed.clone(),
            _ => None,
        };
        // Evidence and the incident are worth a try, never worth losing the notice.
        let primary = match self
            .ecs
            .describe_services(cluster, std::slice::from_ref(service))
            .await
        {
            Ok(obs) => obs
                .found
                .into_iter()
                .next()
                .and_then(|s| Some((s.primary_deployment?, s.task_definition?))),
            Err(e) => {
                tracing::warn!("no revision for the notice: {e}");
                None
            }
        };
        let stopped = if ev.phase == Phase::Started {
            Vec::new()
        } else {
            self.history
                .stopped_tasks(cluster, service)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!("no failing tasks for the notice: {e}");
                    Vec::new()
                })
        };
        let evidence = deployment::evidence(
            ev,
            primary.as_ref().map(|(id, td)| (id.as_str(), td.as_str())),
            &stopped,
            failed.as_deref(),
        );
        let incident = store.open_incident().await.unwrap_or_else(|e| {
            tracing::warn!("could not read the open incident: {e}");
            None
        });
        let n = deployment::notice(
            ev,
            &NoticeContext {
                cluster,
                label: self.cfg.label.as_deref(),
                account: self.cfg.account.as_deref(),
                region: &self.cfg.region,
                incident_id: incident.as_deref(),
                completion,
                evidence: &evidence,
            },
            now,
        );
        let event = n.message.event.as_str();
        let thread = n.card.metadata.thread_id.clone();
        let held = self
            .silenced(store, std::slice::from_ref(service), now)
            .await;
        let published = match &self.publisher {
            Some(_) if held.is_some() => false,
            Some(p) => {
                p.publish_json(&n.subject, n.document())
                    .await
                    .map_err(AppError::PublishNotice)?;
                true
            }
            None => false,
        };
        tracing::info!(service = %service, deployment = %ev.deployment_id, event, published, "deployment notice");
        let mut answer = json!({
            "notice": event,
            "service": service,
            "deployment": ev.deployment_id,
            "subject": n.subject,
            "thread": thread,
            "published": published,
        });
        if let Some(h) = held {
            answer["held"] = json!(h);
        }
        Ok(answer)
    }

    /// Why publishing about `services` is held: every one of them is covered by an active
    /// silence or maintenance window (`None`: publish). Silences that cannot be read hold
    /// nothing.
    async fn silenced(
        &self,
        store: &S,
        services: &[String],
        now: OffsetDateTime,
    ) -> Option<String> {
        let silences = match store.load_silences().await {
            Ok((file, _)) => file.silences,
            Err(e) => {
                tracing::warn!("the silences could not be read, none applies: {e}");
                Vec::new()
            }
        };
        let active = crate::silence::active(&silences, &self.cfg.maintenance_windows, now);
        let mut why: Vec<String> = Vec::new();
        for service in services {
            let covering = crate::silence::covering(&active, Some(service));
            let first = covering.first()?;
            let line = format!(
                "{} silenced until {}: {}",
                first.scope(),
                crate::timefmt::rfc3339(first.until),
                first.reason
            );
            if !why.contains(&line) {
                why.push(line);
            }
        }
        (!why.is_empty()).then(|| why.join("; "))
    }

    /// The report, stored, and its summary published when a service is not healthy and not
    /// every such service is silenced (then why it is held).
    async fn report_and_publish(
        &self,
        store: &S,
        req: &Request,
        ctx: &Context<'_>,
        now: OffsetDateTime,
    ) -> Result<(Report, String, bool, Option<String>), AppError> {
        let report = self.report(req, now).await?;
        let body = serde_json::to_vec_pretty(&report).unwrap_or_default();
        // Several events can arrive in one second: the invocation's id keeps their reports apart.
        let unique: String = match ctx.request_id {
            "" => format!("{:09}", now.nanosecond()),
            id => id
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(8)
                .collect(),
        };
        let name = format!(
            "{}-{}-{unique}.json",
            crate::timefmt::compact(now),
            report.trigger.kind
        );
        let url = store
            .put_report(&name, body)
            .await
            .map_err(AppError::ReportStore)?;
        // The page and the index are renderings of the stored report: a failure is logged,
        // never a reason to fail (and retry) the diagnosis.
        if let Err(e) = self.publish_page(store, &report, &name).await {
            tracing::warn!("the report's page or the report index was not written: {e}");
        }
        let mut published = false;
        let problems: Vec<String> = report
            .services
            .iter()
            .filter(|s| s.status.is_problem())
            .map(|s| s.service.clone())
            .collect();
        let held = if problems.is_empty() {
            None
        } else {
            self.silenced(store, &problems, now).await
        };
        if report.worst().is_problem()
            && held.is_none()
            && let Some(p) = &self.publisher
        {
            let n = render::notification(&report, &url);
            p.publish_json(&n.subject, n.document())
                .await
                .map_err(|error| AppError::Publish {
                    report: url.clone(),
                    error,
                })?;
            published = true;
        }
        Ok((report, url, published, held))
    }
}

impl<L, E, H, T, S, P> Diagnosis<L, E, H, T, S, P>
where
    S: Records + ReportWriter,
{
    /// The report's page beside its JSON, and the report in the index the status page lists
    /// (a conditional write, retried when another diagnosis wrote it first).
    async fn publish_page(
        &self,
        store: &S,
        report: &Report,
        json_name: &str,
    ) -> Result<(), crate::ports::StoreError> {
        use crate::status::{INDEX_NAME, ReportEntry, ReportIndex};
        let html_name = format!("{}.html", json_name.trim_end_matches(".json"));
        store
            .put_report(
                &html_name,
                crate::diagnose::html::render(report).into_bytes(),
            )
            .await?;
        let headline = report
            .probable_causes
            .first()
            .map(|c| c.sentence.clone())
            .or_else(|| render::summary_lines(report).into_iter().next())
            .unwrap_or_default();
        let entry = ReportEntry {
            generated_at: report.generated_at,
            status: report.worst().as_str().to_string(),
            headline,
            services: report
                .services
                .iter()
                .filter(|s| s.status.is_problem())
                .map(|s| s.service.clone())
                .collect(),
            json: json_name.to_string(),
            html: html_name,
        };
        let mut tries = 0;
        loop {
            tries += 1;
            let (mut index, version) = match store.get_record(INDEX_NAME).await? {
                None => (ReportIndex::default(), None),
                // An index that cannot be read is started again: it only lists reports.
                Some((bytes, v)) => {
                    let index = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                        tracing::warn!("the report index is unreadable, started again: {e}");
                        ReportIndex::default()
                    });
                    (index, Some(v))
                }
            };
            index.add(entry.clone());
            let body = serde_json::to_vec(&index).unwrap_or_default();
            match store.put_record(INDEX_NAME, body, version.as_deref()).await {
                Err(crate::ports::StoreError::Conflict) if tries < 3 => continue,
                other => return other.map(|_| ()),
            }
        }
    }
}

/// The answer, with the notice that went before it (a failed deployment's).
fn with_notice(mut answer: Value, notice: Option<Value>) -> Value {
    if let Some(notice) = notice {
        answer["notice"] = notice;
    }
    answer
}
