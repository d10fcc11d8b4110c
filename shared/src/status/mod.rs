//! The status page: a rollup each health check updates (`rollup`), the page rendered from
//! it (`page`), the report index diagnose keeps for it, and what both pages share (`html`).

pub mod fleet;
pub mod html;
pub mod page;
pub mod rollup;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The report index's name beside the reports.
pub const INDEX_NAME: &str = "index.json";

/// Reports the index keeps (the page shows the newest ten).
pub const INDEX_REPORTS: usize = 50;

/// A report as the status page lists it (diagnose keeps the newest in `index.json` beside the
/// reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// The worst service status (`healthy`, `warning`, `critical`, `error`).
    pub status: String,
    /// The probable cause, or the first summary line.
    pub headline: String,
    /// The services that need attention.
    pub services: Vec<String>,
    /// The report's file names beside the index (`….json`, `….html`).
    pub json: String,
    pub html: String,
}

/// The index: newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportIndex {
    pub reports: Vec<ReportEntry>,
}

impl ReportIndex {
    /// Adds `entry`, newest first, keeping [`INDEX_REPORTS`].
    pub fn add(&mut self, entry: ReportEntry) {
        self.reports.retain(|r| r.json != entry.json);
        self.reports.insert(0, entry);
        self.reports
            .sort_by_key(|r| std::cmp::Reverse(r.generated_at));
        self.reports.truncate(INDEX_REPORTS);
    }
}

/// Conditional writes of the rollup tried before giving up (each loses only to another run
/// that just wrote it).
const ROLLUP_TRIES: u32 = 3;

/// Adds `state` to the rollup and renders the page from it: one read and one write of the
/// rollup, one read of the report index, one write of the page, whatever the history. Where
/// the page is, or why it could not be updated (never a reason to fail the health check: the
/// state and the alerts are saved already).
pub async fn update<S: crate::ports::StatusPages>(
    store: &S,
    state: &crate::health::model::State,
    now: OffsetDateTime,
) -> Result<String, String> {
    use crate::ports::StoreError;
    let mut tries = 0;
    let rollup = loop {
        tries += 1;
        let (mut rollup, version) = match store.load_rollup().await.map_err(|e| e.to_string())? {
            None => (rollup::Rollup::new(state.display_name(), now), None),
            Some((bytes, version)) => match serde_json::from_slice::<rollup::Rollup>(&bytes) {
                Ok(r) if r.schema_version == rollup::SCHEMA_VERSION => (r, Some(version)),
                // Unreadable (written by hand, or by a newer version): started again, and
                // said, rather than failing every run from now on.
                Ok(_) | Err(_) => {
                    tracing::warn!("the status rollup could not be read; it starts again");
                    (
                        rollup::Rollup::new(state.display_name(), now),
                        Some(version),
                    )
                }
            },
        };
        rollup.record(state);
        let body = serde_json::to_vec(&rollup).map_err(|e| e.to_string())?;
        match store.save_rollup(body, version.as_deref()).await {
            Ok(_) => break rollup,
            Err(StoreError::Conflict) if tries < ROLLUP_TRIES => continue,
            Err(e) => return Err(format!("the status rollup was not saved: {e}")),
        }
    };
    let reports = match store.load_report_index().await {
        Ok(Some(bytes)) => serde_json::from_slice::<ReportIndex>(&bytes)
            .map(|i| i.reports)
            .unwrap_or_else(|e| {
                tracing::warn!("the report index could not be read: {e}");
                Vec::new()
            }),
        Ok(None) => Vec::new(),
        Err(e) => {
            tracing::warn!("the report index could not be read: {e}");
            Vec::new()
        }
    };
    let links = store.report_links();
    let html = page::render(
        &rollup,
        state,
        &reports,
        &page::Links {
            reports: links.as_deref(),
        },
        now,
    );
    store.save_page(html).await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
