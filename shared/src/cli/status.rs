//! `ecs-monitor status [--open]`: where to look at the status page without making anything
//! public. With `STATE_BUCKET`, presigned URLs of the page and of the newest report pages
//! (the bucket stays private); without, the page the CLI writes beside its state file.

use super::CliError;
use crate::config::{HealthConfig, Source};
use std::io::Write;
use std::time::Duration;

/// Report pages listed besides the status page.
const REPORTS: usize = 5;

#[derive(Debug, Clone)]
pub struct Options {
    /// Open the page in the default browser too.
    pub open: bool,
    /// How long the URLs stay valid.
    pub expires: Duration,
}

/// Prints the page's address (and the newest reports'); opens it when asked.
pub async fn run<W: Write>(
    source: &impl Source,
    opts: &Options,
    out: &mut W,
) -> Result<(), CliError> {
    let cfg = HealthConfig::from_env(source)?;
    if opts.expires.is_zero() || opts.expires > Duration::from_secs(7 * 24 * 3600) {
        return Err(CliError::Failed(
            "--expires must be between 1 minute and 7 days (the longest a presigned URL lasts)"
                .into(),
        ));
    }
    let short = crate::aws::short_name(&cfg.cluster);
    let page = match &cfg.state_bucket {
        Some(bucket) => {
            let sdk = crate::aws::sdk_config(&cfg.region).await;
            let key = format!("{}{short}/status/index.html", cfg.state_prefix);
            let url = crate::aws::s3::presigned_get(&sdk, bucket, &key, opts.expires)
                .await
                .map_err(|e| {
                    CliError::Failed(format!(
                        "{e} (the health check writes the page at each run)"
                    ))
                })?;
            writeln!(out, "{url}").map_err(CliError::Write)?;
            if let Some(reports) = &cfg.report_bucket {
                let dir = format!("{}{short}/", cfg.report_prefix);
                let index = crate::aws::s3::report_index(
                    &sdk,
                    reports,
                    &format!("{dir}{}", crate::status::INDEX_NAME),
                )
                .await
                .map_err(|e| CliError::Failed(e.to_string()))?;
                for r in index.reports.iter().take(REPORTS) {
                    let url = crate::aws::s3::presigned_get(
                        &sdk,
                        reports,
                        &format!("{dir}{}", r.html),
                        opts.expires,
                    )
                    .await
                    .map_err(|e| CliError::Failed(e.to_string()))?;
                    writeln!(
                        out,
                        "\nreport {} ({}, {}): {}\n{url}",
                        crate::timefmt::rfc3339(r.generated_at),
                        r.status,
                        r.services.join(", "),
                        r.headline
                    )
                    .map_err(CliError::Write)?;
                }
            }
            url
        }
        None => {
            let store = crate::aws::local::FileStore {
                path: cfg.state_file.clone(),
            };
            let path = store.status_dir().join("index.html");
            let path = std::path::absolute(&path).unwrap_or(path);
            if !path.exists() {
                return Err(CliError::Failed(format!(
                    "{} does not exist yet: `ecs-monitor health` writes it",
                    path.display()
                )));
            }
            let url = format!("file://{}", path.display());
            writeln!(out, "{url}").map_err(CliError::Write)?;
            url
        }
    };
    if opts.open {
        open(&page)?;
    }
    Ok(())
}

/// Opens `url` with the desktop's opener (`open` on macOS, `xdg-open` elsewhere).
fn open(url: &str) -> Result<(), CliError> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let status = std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| {
            CliError::Failed(format!(
                "cannot run {opener} to open the page: {e} (the URL is above)"
            ))
        })?;
    if !status.success() {
        return Err(CliError::Failed(format!(
            "{opener} could not open the page ({status}); the URL is above"
        )));
    }
    Ok(())
}
