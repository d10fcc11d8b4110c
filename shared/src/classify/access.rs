//! HTTP access-log lines: the status code and the request, from nginx/Apache combined,
//! ALB, Envoy, uvicorn/gunicorn, Gin's pipe format, morgan, Rails, ASP.NET Core, chi, and
//! JSON or logfmt `status`/`statusCode` fields.

use memchr::memmem::Finder;
use std::sync::LazyLock;

/// The substrings the parser looks for, each searcher built once (building one per call
/// cost more than the search).
static HTTP_VERSION: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"HTTP/"));
static SPACE_SLASH: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" /"));
static STARTED: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"Started "));
static COMPLETED: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"Completed "));
static GIN_BAR: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" | "));

/// What an access-log line says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Access<'a> {
    /// The response status (100–599), when the line has one.
    pub status: Option<u16>,
    pub method: Option<&'a str>,
    /// The request target without query string, scheme or host.
    pub path: Option<&'a str>,
    /// The line is a text access-log line (a request line with a status): its words are the
    /// request's, so only the status says whether it is an error (`GET /api/errors 200` is not).
    pub text_line: bool,
}

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

fn is_method(s: &str) -> bool {
    METHODS.contains(&s)
}

/// Strips `scheme://host` and the query string: ALB and ASP.NET log absolute URLs.
fn path_of(target: &str) -> &str {
    let target = target.trim_matches('"');
    // Most targets are already paths: no substring search for them.
    let absolute = if target.starts_with('/') {
        None
    } else {
        target.find("://")
    };
    let path = match absolute {
        Some(i) => {
            let rest = &target[i + 3..];
            rest.find('/').map_or("/", |j| &rest[j..])
        }
        None => target,
    };
    let end = memchr::memchr2(b'?', b'#', path.as_bytes()).unwrap_or(path.len());
    &path[..end]
}

/// A standalone three-digit status token (100–599) among the first few tokens of `s`:
/// the status after a request line, skipping `-`, `|`, quotes and chi's `from ip:port -`.
fn status_after(s: &str) -> Option<u16> {
    s.split([' ', '"', '|', '\t'])
        .filter(|t| !t.is_empty())
        .take(6)
        .find_map(parse_status)
}

fn parse_status(token: &str) -> Option<u16> {
    if token.len() != 3 || !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u16 = token.parse().ok()?;
    (100..=599).contains(&n).then_some(n)
}

/// An ALB access-log line: `type time elb client:port target:port t1 t2 t3 elb_status
/// target_status received sent "METHOD target HTTP/x.y" …` (ALB user guide, access log
/// entries), fields separated by single spaces. `elb_status_code` is the status.
fn alb(line: &str) -> Option<Access<'_>> {
    let mut rest = line;
    let mut tok = [""; 12];
    for t in tok.iter_mut() {
        let (a, b) = rest.split_once(' ')?;
        *t = a;
        rest = b;
    }
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let status = parse_status(tok[8])?;
    if !(parse_status(tok[9]).is_some() || tok[9] == "-") || !digits(tok[10]) || !digits(tok[11]) {
        return None;
    }
    let (method, after) = rest.strip_prefix('"')?.split_once(' ')?;
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let target = after.split([' ', '"']).next().filter(|t| !t.is_empty())?;
    Some(Access {
        status: Some(status),
        method: Some(method),
        path: Some(path_of(target)),
        text_line: true,
    })
}

/// The word ending just before `at` (after a space, quote, bracket or the line's start).
fn word_before(line: &str, at: usize) -> &str {
    let start = line[..at]
        .rfind([' ', '"', '[', '(', '\t'])
        .map_or(0, |i| i + 1);
    &line[start..at]
}

/// Request lines without an HTTP version: morgan dev/tiny and many Go loggers
/// (`GET /api/users 200 1.2 ms`, `GET /x - 200`), Rails (`Started GET "/health" for 10.0.0.1`,
/// `Completed 500 Internal Server Error in 12ms`).
fn bare_request(line: &str) -> Option<Access<'_>> {
    let b = line.as_bytes();
    for at in SPACE_SLASH.find_iter(b) {
        let method = word_before(line, at);
        if !is_method(method) {
            continue;
        }
        let path_end = line[at + 1..].find(' ').map_or(line.len(), |i| at + 1 + i);
        let mut rest = line[path_end..].trim_start_matches(' ');
        if let Some(r) = rest.strip_prefix("- ") {
            rest = r.trim_start_matches(' ');
        }
        let status = rest
            .get(..3)
            .filter(|_| {
                rest.as_bytes()
                    .get(3)
                    .is_none_or(|c| c.is_ascii_whitespace())
            })
            .and_then(parse_status);
        if let Some(status) = status {
            return Some(Access {
                status: Some(status),
                method: Some(method),
                path: Some(path_of(&line[at + 1..path_end])),
                text_line: true,
            });
        }
    }
    if let Some(at) = STARTED.find(b)
        && (at == 0 || !b[at - 1].is_ascii_alphanumeric())
        && let Some((method, rest)) = line[at + 8..].split_once(' ')
        && is_method(method)
        && let Some(quoted) = rest.strip_prefix('"')
        && let Some((path, tail)) = quoted.split_once('"')
        && tail.starts_with(" for")
    {
        return Some(Access {
            status: None,
            method: Some(method),
            path: Some(path_of(path)),
            text_line: false,
        });
    }
    if let Some(at) = COMPLETED.find(b)
        && (at == 0 || !b[at - 1].is_ascii_alphanumeric())
        && let Some(code) = line.get(at + 10..at + 13)
        && line.as_bytes().get(at + 13) == Some(&b' ')
        && line
            .as_bytes()
            .get(at + 14)
            .is_some_and(u8::is_ascii_uppercase)
        && let Some(status) = parse_status(code)
    {
        return Some(Access {
            status: Some(status),
            method: None,
            path: None,
            text_line: true,
        });
    }
    None
}

// Status, method and path fields of JSON or logfmt access records: pino-http
// (`res.statusCode`), Envoy JSON (`response_code`), Caddy, ECS (`http.response.status_code`),
// nginx `log_format` JSON (`request`), OpenTelemetry (`http.target`): any depth, any order.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Status,
    Method,
    Path,
}

/// Which access field a key names, in any case. One `match` on the lower-cased key: every
/// key of every JSON record goes through here.
fn field_of(key: &str) -> Option<Field> {
    // Most keys of a record are none of these: rejected by their first letter.
    let first = *key.as_bytes().first()?;
    if !matches!(
        first | 0x20,
        b's' | b'h' | b'e' | b'r' | b'm' | b'v' | b'p' | b'u'
    ) {
        return None;
    }
    let mut buf = [0u8; 26];
    let k = buf.get_mut(..key.len())?;
    k.copy_from_slice(key.as_bytes());
    k.make_ascii_lowercase();
    Some(match &*k {
        b"status"
        | b"statuscode"
        | b"status_code"
        | b"http_status"
        | b"httpstatus"
        | b"http.status_code"
        | b"http.response.status_code"
        | b"response_status"
        | b"responsestatus"
        | b"response_code"
        | b"elb_status_code"
        | b"sc-status" => Field::Status,
        b"method"
        | b"http_method"
        | b"httpmethod"
        | b"request_method"
        | b"requestmethod"
        | b"verb"
        | b"http.method"
        | b"http.request.method" => Field::Method,
        b"path" | b"uri" | b"url" | b"request_uri" | b"requesturi" | b"requesturl"
        | b"request_url" | b"request_path" | b"url.path" | b"url.original" | b"http.target"
        | b"http.url" => Field::Path,
        _ => return None,
    })
}

/// `METHOD target HTTP/x.y` ending at `h` (where "HTTP/" starts): combined, Envoy, uvicorn,
/// chi; or `HTTP/x.y METHOD target` starting there (ASP.NET Core's "Request finished").
/// Returns the method, the target and where the request line ends.
fn request_line(line: &str, h: usize) -> Option<(&str, &str, usize)> {
    let after_version = h + line[h..]
        .bytes()
        .position(|b| b == b' ' || b == b'"')
        .unwrap_or(line.len() - h);
    let before = &line[..h];
    if let Some((head, target)) = before
        .strip_suffix(' ')
        .and_then(|b| b.trim_end().rsplit_once(' '))
        && let Some(method) = head.rsplit([' ', '"']).next()
        && is_method(method)
        && !target.is_empty()
    {
        let end = after_version + usize::from(line.as_bytes().get(after_version) == Some(&b'"'));
        return Some((method, target, end));
    }
    let mut tokens = line[after_version..].split(' ').filter(|t| !t.is_empty());
    let method = tokens.next()?;
    let target = tokens.next()?;
    if !is_method(method) {
        return None;
    }
    let end = line[after_version..].find(target)? + after_version + target.len();
    Some((method, target, end))
}

/// Gin's default format: `[GIN] 2026/11/29 - 14:35:27 | 200 | 1.2ms | 10.0.0.1 | GET "/path"`.
fn gin(line: &str) -> Option<Access<'_>> {
    let mut fields = line.split('|');
    let _time = fields.next()?;
    let status = parse_status(fields.next()?.trim())?;
    let last = fields.next_back()?.trim();
    let (method, path) = last.split_once(' ')?;
    if !is_method(method) {
        return None;
    }
    Some(Access {
        status: Some(status),
        method: Some(method),
        path: Some(path_of(path.trim())),
        text_line: true,
    })
}

fn is_alb(line: &str) -> bool {
    // Only the first bytes: this runs for every line that may be an access line.
    let b = line.as_bytes();
    let Some(space) = b.iter().take(6).position(|&c| c == b' ') else {
        return false;
    };
    matches!(
        &b[..space],
        b"http" | b"https" | b"h2" | b"grpcs" | b"ws" | b"wss"
    ) && b
        .get(space + 1..space + 6)
        .is_some_and(|d| d[..4].iter().all(u8::is_ascii_digit) && d[4] == b'-')
}

/// Which text forms a line may hold, from the keywords the classifier's scan found in it:
/// each search whose words are absent is skipped (most JSON records have only fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hints {
    /// "HTTP/" occurs.
    pub version: bool,
    /// "| " occurs.
    pub bar: bool,
    /// A method before a path (`GET /`, `GET "`), `Started ` or `Completed ` occurs.
    pub request: bool,
}

impl Hints {
    const ALL: Hints = Hints {
        version: true,
        bar: true,
        request: true,
    };
}

/// Parses the first line of an event as an access-log line. Returns `None` when it has
/// neither a request nor a status.
pub fn parse(line: &str) -> Option<Access<'_>> {
    parse_with(line, Hints::ALL)
}

/// [`parse`], skipping the forms that `hints` rule out.
pub(crate) fn parse_with(line: &str, hints: Hints) -> Option<Access<'_>> {
    if is_alb(line)
        && let Some(access) = alb(line)
    {
        return Some(access);
    }
    let json = line.trim_end().ends_with('}');
    let structured = json || memchr::memchr(b'=', line.as_bytes()).is_some();
    let versions = hints
        .version
        .then(|| HTTP_VERSION.find_iter(line.as_bytes()));
    for h in versions.into_iter().flatten().take(3) {
        let Some((method, target, end)) = request_line(line, h) else {
            continue;
        };
        let mut access = Access {
            status: status_after(&line[end..]),
            method: Some(method),
            path: Some(path_of(target)),
            text_line: false,
        };
        if access.status.is_some() && !json {
            access.text_line = true;
            return Some(access);
        }
        // A JSON or logfmt record whose `request` field holds the request line.
        if structured {
            fields(line, json, &mut access);
        }
        return Some(access);
    }
    if hints.bar
        && GIN_BAR.find(line.as_bytes()).is_some()
        && let Some(access) = gin(line)
    {
        return Some(access);
    }
    if hints.request
        && let Some(access) = bare_request(line)
    {
        return Some(access);
    }
    if structured {
        let mut access = Access::default();
        fields(line, json, &mut access);
        if access.status.is_some() || (access.method.is_some() && access.path.is_some()) {
            return Some(access);
        }
    }
    None
}

fn fields<'a>(line: &'a str, json: bool, access: &mut Access<'a>) {
    // Returns whether all three are known, so the scan can stop.
    let mut take = |key: &str, value: &'a str| {
        match field_of(key) {
            Some(Field::Status) if access.status.is_none() => access.status = parse_status(value),
            Some(Field::Method) if access.method.is_none() && is_method(value) => {
                access.method = Some(value)
            }
            Some(Field::Path) if access.path.is_none() && !value.is_empty() => {
                access.path = Some(path_of(value))
            }
            _ => {}
        }
        access.status.is_some() && access.method.is_some() && access.path.is_some()
    };
    if json {
        for (key, value) in super::json::pairs(line) {
            if let Some(v) = value.text()
                && take(key, v)
            {
                break;
            }
        }
    } else {
        for (key, value) in super::json::logfmt(line) {
            if take(key, value) {
                break;
            }
        }
    }
}

/// The paths whose GET/HEAD requests are health checks, not traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthPaths(Vec<String>);

impl Default for HealthPaths {
    fn default() -> Self {
        Self::new(["/health", "/healthz", "/ping", "/ready", "/live"])
    }
}

impl HealthPaths {
    /// Each path matches itself and everything under it (`/health` matches `/health/db`).
    pub fn new<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self(
            paths
                .into_iter()
                .map(|p| p.into().trim_end_matches('/').to_string())
                .collect(),
        )
    }

    pub fn paths(&self) -> &[String] {
        &self.0
    }

    pub fn matches(&self, path: &str) -> bool {
        let path = path.trim_end_matches('/');
        self.0.iter().any(|p| {
            path == p
                || (path.starts_with(p.as_str()) && path.as_bytes().get(p.len()) == Some(&b'/'))
        })
    }
}

impl Access<'_> {
    /// A GET or HEAD request for a health path.
    pub fn is_health_check(&self, paths: &HealthPaths) -> bool {
        matches!(self.method, Some("GET" | "HEAD")) && self.path.is_some_and(|p| paths.matches(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// line, status, method, path, text_line
    type Case<'a> = (&'a str, Option<u16>, Option<&'a str>, Option<&'a str>, bool);

    /// The first-letter shortcut keeps every field name, in any case.
    #[test]
    fn every_field_name_is_known() {
        let names = [
            "status",
            "statusCode",
            "status_code",
            "http_status",
            "httpStatus",
            "http.status_code",
            "http.response.status_code",
            "response_status",
            "responseStatus",
            "response_code",
            "elb_status_code",
            "sc-status",
            "method",
            "http_method",
            "httpMethod",
            "request_method",
            "requestMethod",
            "verb",
            "http.method",
            "http.request.method",
            "path",
            "uri",
            "url",
            "request_uri",
            "requestUri",
            "requestUrl",
            "request_url",
            "request_path",
            "url.path",
            "url.original",
            "http.target",
            "http.url",
        ];
        for name in names {
            assert!(field_of(name).is_some(), "{name}");
            assert!(field_of(&name.to_ascii_uppercase()).is_some(), "{name}");
        }
        for other in ["", "level", "msg", "@t", "statusx", "Path2", "é"] {
            assert!(field_of(other).is_none(), "{other}");
        }
    }

    #[test]
    fn status_and_request_from_real_formats() {
        let cases: &[Case] = &[
            (
                r#"10.0.1.5 - - [29/Nov/2026:14:35:27 +0000] "GET /api/users?id=3 HTTP/1.1" 502 157 "-" "curl/8.5.0""#,
                Some(502),
                Some("GET"),
                Some("/api/users"),
                true,
            ),
            (
                r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "POST /login HTTP/1.0" 401 2326"#,
                Some(401),
                Some("POST"),
                Some("/login"),
                true,
            ),
            (
                r#"h2 2026-11-29T14:35:27.123456Z app/prod-alb/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 503 - 34 366 "GET https://api.example.com:443/orders HTTP/2.0" "Mozilla/5.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2026-11-29T14:35:27.000000Z "forward" "-" "-" "10.0.0.1:80" "-" "-" "-""#,
                Some(503),
                Some("GET"),
                Some("/orders"),
                true,
            ),
            (
                r#"[2026-11-29T14:35:27.310Z] "POST /api/v1/locations HTTP/2" 504 UT 154 0 15000 - "10.0.35.28" "nsq2http" "cc21d9b0" "locations" "tcp://10.0.2.1:80""#,
                Some(504),
                Some("POST"),
                Some("/api/v1/locations"),
                true,
            ),
            (
                r#"INFO:     10.0.0.2:51234 - "GET /health HTTP/1.1" 200 OK"#,
                Some(200),
                Some("GET"),
                Some("/health"),
                true,
            ),
            (
                r#"[GIN] 2026/11/29 - 14:35:27 | 500 |    1.234567ms |      10.0.0.1 | GET      "/api/orders""#,
                Some(500),
                Some("GET"),
                Some("/api/orders"),
                true,
            ),
            (
                "GET /api/users 500 12.345 ms - 57",
                Some(500),
                Some("GET"),
                Some("/api/users"),
                true,
            ),
            (
                "Completed 500 Internal Server Error in 12ms (ActiveRecord: 1.2ms)",
                Some(500),
                None,
                None,
                true,
            ),
            (
                r#"Started GET "/healthz" for 10.0.0.9 at 2026-11-29 14:35:27 +0000"#,
                None,
                Some("GET"),
                Some("/healthz"),
                false,
            ),
            (
                "info: Microsoft.AspNetCore.Hosting.Diagnostics[2] Request finished HTTP/1.1 GET http://localhost:8080/health - 200 - text/plain 0.4ms",
                Some(200),
                Some("GET"),
                Some("/health"),
                true,
            ),
            (
                r#""GET http://localhost:3333/ HTTP/1.1" from 127.0.0.1:52312 - 503 12B in 30µs"#,
                Some(503),
                Some("GET"),
                Some("/"),
                true,
            ),
            (
                r#"{"level":30,"req":{"method":"GET","url":"/api/orders"},"res":{"statusCode":500},"msg":"request completed"}"#,
                Some(500),
                Some("GET"),
                Some("/api/orders"),
                false,
            ),
            (
                r#"{"time":"2026-11-29T14:35:27Z","request":"GET /ping HTTP/1.1","status":200,"ua":"kube-probe/1.29"}"#,
                Some(200),
                Some("GET"),
                Some("/ping"),
                false,
            ),
            (
                "level=info method=HEAD path=/ready status=200 duration=1ms",
                Some(200),
                Some("HEAD"),
                Some("/ready"),
                false,
            ),
        ];
        for (line, status, method, path, text_line) in cases {
            let a = parse(line).unwrap_or_else(|| panic!("no access parsed from {line:?}"));
            assert_eq!(a.status, *status, "status of {line:?}");
            assert_eq!(a.method, *method, "method of {line:?}");
            assert_eq!(a.path, *path, "path of {line:?}");
            assert_eq!(a.text_line, *text_line, "text_line of {line:?}");
        }
    }

    #[test]
    fn lines_that_are_not_requests() {
        for line in [
            "ERROR health check GET /health failed: connection refused",
            "INFO started in 1234 ms",
            r#"{"status":"ok","uptime":12}"#,
            "status=1 retries=3",
            "processed 200 items",
        ] {
            let a = parse(line);
            assert!(
                a.is_none_or(|a| a.status.is_none() && !a.text_line),
                "{line:?} parsed as {a:?}"
            );
        }
    }

    #[test]
    fn health_paths_match_themselves_and_below() {
        let paths = HealthPaths::default();
        for p in [
            "/health",
            "/health/",
            "/health/db",
            "/healthz",
            "/ping",
            "/ready",
            "/live",
        ] {
            assert!(paths.matches(p), "{p}");
        }
        for p in [
            "/healthcheck-report",
            "/api/health",
            "/",
            "/pingdom",
            "/readyz",
            "/liveness",
        ] {
            assert!(!paths.matches(p), "{p}");
        }
        let custom = HealthPaths::new(["/status/alive/"]);
        assert!(custom.matches("/status/alive"));
        assert!(!custom.matches("/health"));
    }
}
