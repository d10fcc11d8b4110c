//! Deep links into the AWS console for a message's reader: the Logs Insights query of a
//! service's errors over an incident's window, the ECS console's pages of a service, and a
//! report object in the S3 console. Built from the region and names alone (no AWS call), so
//! every alert can carry them. Pure.
//!
//! The console's URLs are not an AWS API and AWS documents none of them; the forms here are
//! the console's own, as AWS's `amazon-ecs-deploy-task-definition` action and Grafana's
//! CloudWatch data links build them (the Logs Insights one in the console's JSURL encoding).

use time::OffsetDateTime;
use time::macros::format_description;
use url::Url;

/// The query a Logs Insights link opens with: the newest events that read like errors.
/// Only a prefilter: the classifier decides what an error is, this finds the same lines fast.
pub const ERROR_QUERY: &str = "fields @timestamp, @logStream, @message\n\
| filter @message like /(?i)(error|exception|panic|fatal|critical|traceback|timed? ?out|refused|denied|oom|killed)/\n\
| sort @timestamp desc\n\
| limit 200";

/// A page of a service in the ECS console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcsPage {
    /// Health and metrics: running vs desired tasks, the deployments.
    Health,
    /// The service's event messages ("unable to place a task", "has reached a steady state").
    Events,
    /// Its tasks, filtered to the stopped ones: each with its stop reason.
    StoppedTasks,
    Deployments,
}

fn console(region: &str, path: &[&str]) -> Url {
    let mut url = Url::parse(&format!("https://{region}.console.aws.amazon.com/"))
        .unwrap_or_else(|_| Url::parse("https://console.aws.amazon.com/").expect("a valid URL"));
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().extend(path);
    }
    url
}

/// The name in a cluster ARN (`arn:aws:ecs:us-east-1:123:cluster/prod` → `prod`); a name as it is.
fn cluster_name(cluster: &str) -> &str {
    cluster.rsplit('/').next().unwrap_or(cluster)
}

/// A page of `service` in the ECS console (its v2 pages: `/ecs/v2/clusters/C/services/S/…`).
pub fn ecs_service(region: &str, cluster: &str, service: &str, page: EcsPage) -> String {
    let tab = match page {
        EcsPage::Health => "health",
        EcsPage::Events => "events",
        EcsPage::StoppedTasks => "tasks",
        EcsPage::Deployments => "deployments",
    };
    let mut url = console(
        region,
        &[
            "ecs",
            "v2",
            "clusters",
            cluster_name(cluster),
            "services",
            service,
            tab,
        ],
    );
    {
        let mut q = url.query_pairs_mut();
        if page == EcsPage::StoppedTasks {
            q.append_pair("status", "STOPPED");
        }
        q.append_pair("region", region);
    }
    url.into()
}

/// A report in the S3 console, from its `s3://bucket/key` URL; `None` for any other URL.
pub fn s3_object(region: &str, s3_url: &str) -> Option<String> {
    let (bucket, key) = s3_url.strip_prefix("s3://")?.split_once('/')?;
    if bucket.is_empty() || key.is_empty() {
        return None;
    }
    let mut url = console(region, &["s3", "object", bucket]);
    url.query_pairs_mut()
        .append_pair("region", region)
        .append_pair("prefix", key);
    Some(url.into())
}

/// A string in the console's JSURL encoding: letters, digits, `-`, `_` and `.` as they are,
/// `$` as `!`, every other UTF-16 unit as `*xx` (below 0x100) or `**xxxx`.
fn jsurl_string(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 1);
    o.push('\'');
    for unit in s.encode_utf16() {
        match char::from_u32(u32::from(unit)) {
            Some(c) if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') => o.push(c),
            Some('$') => o.push('!'),
            _ if unit < 0x100 => o.push_str(&format!("*{unit:02x}")),
            _ => o.push_str(&format!("**{unit:04x}")),
        }
    }
    o
}

/// `2026-12-02T10:00:00.000Z`: UTC with milliseconds, as the console writes its own links.
fn iso(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
        .unwrap_or_default()
}

/// The Logs Insights console with `log_groups`, the window `start`..`end` (absolute, UTC)
/// and `query` filled in: one click runs it.
pub fn logs_insights(
    region: &str,
    log_groups: &[&str],
    start: OffsetDateTime,
    end: OffsetDateTime,
    query: &str,
) -> String {
    let sources: String = log_groups
        .iter()
        .map(|g| format!("~{}", jsurl_string(g)))
        .collect();
    let detail = format!(
        "~(end~{}~start~{}~timeType~'ABSOLUTE~tz~'UTC~editorString~{}~source~({sources}))",
        jsurl_string(&iso(end)),
        jsurl_string(&iso(start)),
        jsurl_string(query),
    );
    let mut url = console(region, &["cloudwatch", "home"]);
    url.query_pairs_mut().append_pair("region", region);
    // The console reads its route from the fragment; `?` and `=` of the route are written
    // `$3F` and `$3D` there. JSURL's output needs no further escaping.
    url.set_fragment(Some(&format!(
        "logsV2:logs-insights$3FqueryDetail$3D{detail}"
    )));
    url.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn jsurl_strings_escape_what_the_console_escapes() {
        for (input, want) in [
            ("prod", "'prod"),
            ("/ecs/api", "'*2fecs*2fapi"),
            ("a-b_c.d", "'a-b_c.d"),
            ("fields @timestamp", "'fields*20*40timestamp"),
            ("x | y\n", "'x*20*7c*20y*0a"),
            ("$1", "'!1"),
            ("é", "'*e9"),
            ("→", "'**2192"),
            ("😀", "'**d83d**de00"),
            ("", "'"),
        ] {
            assert_eq!(jsurl_string(input), want, "{input:?}");
        }
    }

    #[test]
    fn a_logs_insights_link_holds_the_groups_the_window_and_the_query() {
        let url = logs_insights(
            "eu-west-1",
            &["/ecs/api", "/ecs/api-sidecar"],
            datetime!(2026-12-02 10:00:00 UTC),
            datetime!(2026-12-02 11:00:30.25 UTC),
            "fields @message\n| limit 5",
        );
        assert_eq!(
            url,
            "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1\
             #logsV2:logs-insights$3FqueryDetail$3D~(end~'2026-12-02T11*3a00*3a30.250Z\
             ~start~'2026-12-02T10*3a00*3a00.000Z~timeType~'ABSOLUTE~tz~'UTC\
             ~editorString~'fields*20*40message*0a*7c*20limit*205\
             ~source~(~'*2fecs*2fapi~'*2fecs*2fapi-sidecar))"
        );
        // Every character is one a URL carries as it is.
        assert!(
            url.bytes()
                .all(|b| b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b)),
            "{url}"
        );
    }

    #[test]
    fn window_times_in_any_offset_are_written_in_utc() {
        let url = logs_insights(
            "us-east-1",
            &["g"],
            datetime!(2026-12-02 12:00:00 +02:00),
            datetime!(2026-12-02 13:00:00 +02:00),
            "q",
        );
        assert!(
            url.contains("end~'2026-12-02T11*3a00*3a00.000Z~start~'2026-12-02T10*3a00*3a00.000Z"),
            "{url}"
        );
    }

    #[test]
    fn ecs_pages_of_a_service() {
        let base = "https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/api";
        for (page, want) in [
            (EcsPage::Health, format!("{base}/health?region=us-east-1")),
            (EcsPage::Events, format!("{base}/events?region=us-east-1")),
            (
                EcsPage::StoppedTasks,
                format!("{base}/tasks?status=STOPPED&region=us-east-1"),
            ),
            (
                EcsPage::Deployments,
                format!("{base}/deployments?region=us-east-1"),
            ),
        ] {
            assert_eq!(ecs_service("us-east-1", "prod", "api", page), want);
        }
        assert_eq!(
            ecs_service(
                "us-east-1",
                "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
                "api",
                EcsPage::Health
            ),
            format!("{base}/health?region=us-east-1"),
            "a cluster ARN links by its name"
        );
        assert_eq!(
            ecs_service("us-east-1", "prod", "a b/c?", EcsPage::Events),
            "https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/a%20b%2Fc%3F/events?region=us-east-1",
            "a name is one path segment whatever it holds"
        );
    }

    #[test]
    fn s3_console_links_of_report_urls() {
        assert_eq!(
            s3_object(
                "ap-southeast-2",
                "s3://ops-bucket/ecs-monitor/reports/prod/20261202T100000Z-sns-1a2b.json"
            )
            .as_deref(),
            Some(
                "https://ap-southeast-2.console.aws.amazon.com/s3/object/ops-bucket?region=ap-southeast-2&prefix=ecs-monitor%2Freports%2Fprod%2F20261202T100000Z-sns-1a2b.json"
            )
        );
        for not_s3 in [
            "https://example.com/r.json",
            "s3://bucket-only",
            "s3:///key",
            "s3://b/",
            "",
        ] {
            assert_eq!(s3_object("us-east-1", not_s3), None, "{not_s3:?}");
        }
    }
}
