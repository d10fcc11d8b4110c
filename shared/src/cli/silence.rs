//! `ecs-monitor silence 2h [SERVICE…] --reason TEXT`, `--list`, `--end ID`: silences kept
//! where the health check reads them (`silences.json` in the state bucket when
//! `STATE_BUCKET` is set, else beside the CLI's state file).

use super::CliError;
use crate::config::{CommonConfig, Source};
use crate::ports::{SilenceWriter, StoreError};
use crate::silence::{Silence, SilenceFile, Window, active, parse_length};
use crate::timefmt::{compact, rfc3339};
use std::io::Write;
use time::OffsetDateTime;

/// Conditional writes retried at most when another writer came first.
const TRIES: u32 = 5;

#[derive(Debug, Clone)]
pub enum Action {
    Add {
        length: String,
        services: Vec<String>,
        reason: String,
    },
    List,
    End {
        id: String,
    },
}

/// Runs `action` against the store the configuration names.
pub async fn run<W: Write>(
    source: &impl Source,
    action: &Action,
    out: &mut W,
) -> Result<(), CliError> {
    let cfg = CommonConfig::from_env(source)?;
    // Whole seconds: the times people read and type back.
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    let user = source.get("USER").ok().flatten();
    match &cfg.state_bucket {
        Some(bucket) => {
            let sdk = crate::aws::sdk_config(&cfg.region).await;
            let store = crate::aws::s3::S3Store::new(&sdk, bucket, &cfg.state_prefix, &cfg.cluster);
            apply(&store, action, &cfg.maintenance_windows, now, user, out).await
        }
        None => {
            let store = crate::aws::local::FileStore {
                path: cfg.state_file.clone(),
            };
            apply(&store, action, &cfg.maintenance_windows, now, user, out).await
        }
    }
}

fn failed(store: &impl SilenceWriter, e: StoreError) -> CliError {
    CliError::Failed(format!("{}: {e}", store.silences_location()))
}

/// Reads the silences, changes them with `change` (which answers what to print), and
/// writes them back conditionally, again on top of another writer's change.
async fn update<Z: SilenceWriter>(
    store: &Z,
    now: OffsetDateTime,
    mut change: impl FnMut(&mut SilenceFile) -> Result<String, CliError>,
) -> Result<String, CliError> {
    for _ in 0..TRIES {
        let (mut file, version) = store.load_silences().await.map_err(|e| failed(store, e))?;
        file.prune(now);
        let said = change(&mut file)?;
        match store.save_silences(&file, version.as_deref()).await {
            Ok(_) => return Ok(said),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(failed(store, e)),
        }
    }
    Err(CliError::Failed(format!(
        "{}: changed by someone else {TRIES} times in a row; try again",
        store.silences_location()
    )))
}

/// `action` on `store` at `now`.
pub async fn apply<Z: SilenceWriter, W: Write>(
    store: &Z,
    action: &Action,
    windows: &[Window],
    now: OffsetDateTime,
    user: Option<String>,
    out: &mut W,
) -> Result<(), CliError> {
    let text = match action {
        Action::Add {
            length,
            services,
            reason,
        } => {
            let length = parse_length(length).map_err(CliError::Failed)?;
            if reason.trim().is_empty() {
                return Err(CliError::Failed(
                    "--reason must say why (a silence without one is how silences get forgotten)"
                        .into(),
                ));
            }
            if let Some(bad) = services.iter().find(|s| s.trim().is_empty() || s.contains(',')) {
                return Err(CliError::Failed(format!(
                    "{bad:?} is not a service name (give several as separate arguments)"
                )));
            }
            let scope = if services.is_empty() {
                "the whole cluster".to_string()
            } else {
                services.join(", ")
            };
            let ends_at = now + length;
            update(store, now, |file| {
                let mut id = format!("{}-{}", compact(now), file.silences.len() + 1);
                while file.silences.iter().any(|s| s.id == id) {
                    id.push('x');
                }
                file.silences.push(Silence {
                    id: id.clone(),
                    services: services.clone(),
                    starts_at: now,
                    ends_at,
                    reason: reason.trim().to_string(),
                    created_by: user.clone(),
                });
                Ok(format!(
                    "Silenced {scope} until {} (silence {id}): {}\nAlerts about it are held and told in one summary when it ends (end it early with `ecs-monitor silence --end {id}`).\nStored in {}.\n",
                    rfc3339(ends_at),
                    reason.trim(),
                    store.silences_location()
                ))
            })
            .await?
        }
        Action::End { id } => {
            update(store, now, |file| {
                let before = file.silences.len();
                file.silences.retain(|s| &s.id != id);
                if file.silences.len() == before {
                    return Err(CliError::Failed(format!(
                        "no silence {id} (see `ecs-monitor silence --list`)"
                    )));
                }
                Ok(format!(
                    "Silence {id} ended: alerts are no longer held for it; the next health check tells what it held.\n"
                ))
            })
            .await?
        }
        Action::List => {
            let (mut file, _) = store.load_silences().await.map_err(|e| failed(store, e))?;
            file.prune(now);
            let mut o = String::new();
            if file.silences.is_empty() {
                o.push_str("No silence set.\n");
            }
            for s in &file.silences {
                let scope = if s.services.is_empty() {
                    "the whole cluster".to_string()
                } else {
                    s.services.join(", ")
                };
                let when = if s.starts_at > now {
                    format!("from {} ", rfc3339(s.starts_at))
                } else {
                    String::new()
                };
                o.push_str(&format!(
                    "{}  {scope}  {when}until {}  {}{}\n",
                    s.id,
                    rfc3339(s.ends_at),
                    s.reason,
                    s.created_by
                        .as_deref()
                        .map(|u| format!(" (by {u})"))
                        .unwrap_or_default()
                ));
            }
            for w in windows {
                let now_active = active(&[], std::slice::from_ref(w), now);
                o.push_str(&format!(
                    "maintenance window {}{}\n",
                    w.text,
                    if now_active.is_empty() {
                        String::new()
                    } else {
                        format!(" (active until {})", rfc3339(now_active[0].until))
                    }
                ));
            }
            o
        }
    };
    out.write_all(text.as_bytes()).map_err(CliError::Write)?;
    out.flush().map_err(CliError::Write)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Silences;
    use crate::ports::fakes::MemStore;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-06 12:00 UTC);

    async fn exec(store: &MemStore, action: Action) -> Result<String, CliError> {
        let mut out = Vec::new();
        let windows = crate::silence::parse_windows("sun 11:00-13:00").unwrap();
        apply(store, &action, &windows, NOW, Some("jane".into()), &mut out).await?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn add(length: &str, services: &[&str], reason: &str) -> Action {
        Action::Add {
            length: length.into(),
            services: services.iter().map(|s| s.to_string()).collect(),
            reason: reason.into(),
        }
    }

    #[tokio::test]
    async fn add_list_and_end() {
        let store = MemStore::default();
        let said = exec(&store, add("2h", &["api"], "migrating orders"))
            .await
            .unwrap();
        assert!(said.starts_with("Silenced api until 2026-12-06T14:00:00Z (silence 20261206T120000Z-1): migrating orders"), "{said}");
        exec(&store, add("30m", &[], "failover test"))
            .await
            .unwrap();
        let (file, _) = store.load_silences().await.unwrap();
        assert_eq!(file.silences.len(), 2);
        assert_eq!(file.silences[0].created_by.as_deref(), Some("jane"));
        assert!(file.silences[1].services.is_empty(), "the whole cluster");
        let list = exec(&store, Action::List).await.unwrap();
        assert!(
            list.contains(
                "20261206T120000Z-1  api  until 2026-12-06T14:00:00Z  migrating orders (by jane)"
            ),
            "{list}"
        );
        assert!(list.contains("the whole cluster"), "{list}");
        assert!(
            list.contains("maintenance window sun 11:00-13:00 (active until 2026-12-06T13:00:00Z)"),
            "{list}"
        );
        exec(
            &store,
            Action::End {
                id: "20261206T120000Z-1".into(),
            },
        )
        .await
        .unwrap();
        assert_eq!(store.load_silences().await.unwrap().0.silences.len(), 1);
        let e = exec(&store, Action::End { id: "nope".into() })
            .await
            .unwrap_err();
        assert!(e.to_string().contains("no silence nope"), "{e}");
    }

    #[tokio::test]
    async fn bad_silences_are_refused_with_the_reason() {
        let store = MemStore::default();
        for (action, why) in [
            (add("forever", &["api"], "x"), "not a length"),
            (add("30d", &["api"], "x"), "longer than 14 days"),
            (add("2h", &["api"], "  "), "--reason"),
            (add("2h", &["api,web"], "x"), "separate arguments"),
        ] {
            let e = exec(&store, action).await.unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
        assert!(
            store.load_silences().await.unwrap().0.silences.is_empty(),
            "nothing written"
        );
    }

    /// Expired silences are dropped on the next write, which goes over the version read.
    #[tokio::test]
    async fn writes_drop_the_expired() {
        let store = MemStore::default();
        let old = Silence {
            id: "old".into(),
            services: vec![],
            starts_at: NOW - time::Duration::hours(3),
            ends_at: NOW - time::Duration::hours(1),
            reason: "done".into(),
            created_by: None,
        };
        *store.silences.lock().unwrap() = Some((
            SilenceFile {
                schema_version: 1,
                silences: vec![old],
            },
            7,
        ));
        exec(&store, add("1h", &["web"], "cache flush"))
            .await
            .unwrap();
        let (file, version) = store.load_silences().await.unwrap();
        assert_eq!(
            file.silences
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>(),
            ["20261206T120000Z-1"]
        );
        assert_eq!(
            version.as_deref(),
            Some("8"),
            "written over the version read"
        );
    }
}
