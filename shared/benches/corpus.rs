//! A deterministic, realistic mixed corpus for the classifier benchmarks, with each line's
//! kind: ~45 % JSON lines (zap, pino, logrus, structlog, Serilog, bunyan, Envoy JSON; info and
//! access records), ~25 % text access lines of several proxies and frameworks, ~8 % health
//! checks in both forms, ~17 % plain text of several languages, ~5 % errors of every
//! category (text and JSON).

/// xorshift64*: deterministic and dependency-free; the corpus must be the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// What a line is, for the per-kind figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)] // each bench uses what it needs
pub enum Kind {
    Plain,
    Json,
    Access,
    Health,
    Error,
}

#[allow(dead_code)]
impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Plain,
        Kind::Json,
        Kind::Access,
        Kind::Health,
        Kind::Error,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Plain => "plain",
            Kind::Json => "json",
            Kind::Access => "access",
            Kind::Health => "health",
            Kind::Error => "error",
        }
    }
}

const PLAIN: &[&str] = &[
    "{ts} INFO  1 --- [nio-8080-exec-{n}] c.e.orders.OrderController : Order {n} accepted for customer {n} in {ms}ms",
    "{ts} INFO orders/service.go:88 reserved inventory for order {n} sku=SKU-{n} qty={n}",
    "{ts} - billing - INFO - Invoice {n} generated for account {n} (total {n}.{n} EUR)",
    "time=\"{ts}\" level=info msg=\"message processed\" queue=orders offset={n} partition={n}",
    "[{ts}] INFO in app: worker {n} picked job {uuid} from queue default",
    "{ts} DEBUG sql: SELECT id, status FROM orders WHERE customer_id = {n} LIMIT 50 ({ms}ms)",
    "{ts} WARN  1 --- [scheduling-1] c.e.cache.Warmer : cache warm-up slower than expected: {ms}ms for {n} keys",
    "I1129 14:35:27.{n}       1 controller.go:{n}] Successfully synced 'default/orders-{n}'",
    "info: Microsoft.Hosting.Lifetime[0] Now listening on: http://[::]:8080",
    "[{ts}] [INFO] [worker-{n}] Processed batch {n} with {n} records in {ms}ms",
];

const JSON: &[&str] = &[
    r#"{"level":"info","ts":"{ts}","caller":"api/handler.go:{n}","msg":"request served","request_id":"{uuid}","duration_ms":{ms}}"#,
    r#"{"level":30,"time":{n},"pid":1,"hostname":"ip-10-0-1-{n}","req_id":"{uuid}","msg":"cache refreshed","entries":{n}}"#,
    r#"{"level":"info","msg":"order {n} shipped","time":"{ts}","order":{"id":{n},"items":[{"sku":"SKU-{n}","qty":{n}}]},"tags":["a","b"]}"#,
    r#"{"event": "payment captured", "level": "info", "logger": "billing.payments", "timestamp": "{ts}", "amount": "{n}.{n}", "currency": "EUR"}"#,
    r#"{"@t":"{ts}","@mt":"Processed {Count} messages from {Queue}","Count":{n},"Queue":"orders","SourceContext":"Orders.Worker"}"#,
    r#"{"name":"api","hostname":"ip-10-0-2-{n}","pid":1,"level":30,"msg":"listening on 8080 \"prod\" mode","time":"{ts}","v":0}"#,
    r#"{"level":"debug","ts":"{ts}","msg":"cache miss","key":"user:{n}","note":"said \"error\" in a quoted value is not an error"}"#,
    // Access records written as JSON (the most common slow path).
    r#"{"level":"info","ts":"{ts}","msg":"request","method":"GET","path":"/api/orders/{n}","status":200,"latency_ms":{ms},"remote_ip":"{ip}","user_agent":"Mozilla/5.0"}"#,
    r#"{"time":"{ts}","level":"INFO","msg":"http request","http":{"method":"POST","path":"/api/orders","status_code":201},"duration":{ms}}"#,
    r#"{"start_time":"{ts}","method":"GET","path":"/api/products/{n}","protocol":"HTTP/1.1","response_code":"200","bytes_sent":{n},"duration":{ms},"upstream_host":"{ip}:8080","x_forwarded_for":"{ip}"}"#,
    r#"{"level":30,"time":{n},"req":{"id":{n},"method":"GET","url":"/api/cart/{n}"},"res":{"statusCode":200},"responseTime":{ms},"msg":"request completed"}"#,
    r#"{"timestamp":"{ts}","level":"info","message":"GET /api/users/{n} 404","status":404,"statusCode":404,"durationMs":{ms}}"#,
];

const ACCESS: &[&str] = &[
    r#"{ip} - - [29/Nov/2026:14:35:27 +0000] "GET /api/orders/{n} HTTP/1.1" 200 {n} "-" "Mozilla/5.0 (X11; Linux x86_64)""#,
    r#"{ip} - - [29/Nov/2026:14:35:27 +0000] "POST /api/orders HTTP/1.1" 201 {n} "https://shop.example.com/cart" "Mozilla/5.0""#,
    r#"{ip} - - [29/Nov/2026:14:35:27 +0000] "GET /static/app.{n}.js HTTP/1.1" 304 0 "-" "Mozilla/5.0""#,
    r#"[GIN] 2026/11/29 - 14:35:27 | 200 |    {ms}.{n}ms |      {ip} | GET      "/api/products/{n}""#,
    r#"INFO:     {ip}:{n} - "GET /api/search?q=item{n} HTTP/1.1" 200 OK"#,
    r#"[{ts}] "GET /api/inventory/{n} HTTP/1.1" 200 - 0 {n} {ms} {ms} "{ip}" "okhttp/4.12.0" "{uuid}" "inventory:8080" "{ip}:8080""#,
    r#"https {ts} app/prod-alb/50dc6c495c0c9188 {ip}:{n} {ip}:8080 0.000 0.{n} 0.000 200 200 34 {n} "GET https://shop.example.com:443/api/orders/{n} HTTP/1.1" "Mozilla/5.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/73e2d6bc24d8a067 "Root=1-{n}" "shop.example.com" "-" 0 {ts} "forward" "-" "-" "{ip}:8080" "200" "-" "-""#,
    "GET /api/users/{n} 200 {ms}.{n} ms - {n}",
    r#"Completed 200 OK in {ms}ms (Views: {n}.1ms | ActiveRecord: {n}.2ms | Allocations: {n})"#,
    r#"{ip} - - [29/Nov/2026:14:35:27 +0000] "GET /api/users/{n} HTTP/1.1" 404 {n} "-" "okhttp/4.12.0""#,
];

const HEALTH: &[&str] = &[
    r#"{ip} - - [29/Nov/2026:14:35:27 +0000] "GET /health HTTP/1.1" 200 2 "-" "ELB-HealthChecker/2.0""#,
    r#"[GIN] 2026/11/29 - 14:35:27 | 200 |      {n}µs |      {ip} | GET      "/healthz""#,
    r#"INFO:     {ip}:{n} - "GET /ready HTTP/1.1" 200 OK"#,
    r#"{"level":"info","ts":"{ts}","msg":"request","method":"GET","path":"/health","status":200,"latency_ms":1,"user_agent":"ELB-HealthChecker/2.0"}"#,
    r#"{"time":"{ts}","level":"INFO","msg":"http request","http":{"method":"GET","path":"/healthz","status_code":200},"duration":0}"#,
];

const ERRORS: &[&str] = &[
    "java.lang.OutOfMemoryError: Java heap space",
    "fatal error: runtime: out of memory",
    "panic: runtime error: invalid memory address or nil pointer dereference",
    "thread 'tokio-runtime-worker' panicked at src/handlers/orders.rs:{n}:9:",
    "{ts} ERROR orders: failed to fetch customer {n}: context deadline exceeded",
    "java.net.SocketTimeoutException: Read timed out",
    "{ts} ERROR dial tcp {ip}:5432: connect: connection refused",
    "Error: connect ECONNREFUSED {ip}:6379",
    "botocore.exceptions.ClientError: An error occurred (AccessDeniedException) when calling the GetSecretValue operation: User is not authorized",
    r#"FATAL:  password authentication failed for user "app""#,
    r#"{ip} - - [29/Nov/2026:14:35:27 +0000] "GET /api/orders/{n} HTTP/1.1" 502 157 "-" "Mozilla/5.0""#,
    "Traceback (most recent call last):",
    r#"  File "/app/handlers/orders.py", line {n}, in create_order"#,
    "KeyError: 'customer_id'",
    "Exception in thread \"main\" java.lang.IllegalStateException: order {n} in unexpected state",
    "\tat com.example.orders.OrderService.place(OrderService.java:{n})",
    r#"{"level":"error","ts":"{ts}","msg":"failed to reserve inventory","order_id":{n},"error":"rpc error: code = Unavailable desc = connection refused"}"#,
    r#"{"level":50,"time":{n},"msg":"payment failed","err":{"type":"Error","message":"card declined","stack":"Error: card declined\n    at charge (/app/pay.js:12:9)"}}"#,
    r#"{"level":"info","ts":"{ts}","msg":"request","method":"POST","path":"/api/checkout","status":503,"latency_ms":{ms}}"#,
    "{ts} ERROR billing: invoice {n} rejected by validator",
];

fn fill(rng: &mut Rng, template: &str) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let (value, len) = if tail.starts_with("{ts}") {
            let (m, s, ms) = (rng.below(60), rng.below(60), rng.below(1000));
            (format!("2026-11-29T14:{m:02}:{s:02}.{ms:03}Z"), 4)
        } else if tail.starts_with("{ip}") {
            (format!("10.0.{}.{}", rng.below(255), rng.below(255)), 4)
        } else if tail.starts_with("{n}") {
            (rng.below(100_000).to_string(), 3)
        } else if tail.starts_with("{ms}") {
            (rng.below(2000).to_string(), 4)
        } else if tail.starts_with("{uuid}") {
            let (a, b) = (rng.next(), rng.next());
            (
                format!(
                    "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                    a >> 32,
                    a & 0xffff,
                    b >> 48,
                    (b >> 32) & 0xffff,
                    b & 0xffff_ffff_ffff
                ),
                6,
            )
        } else {
            ("{".to_string(), 1)
        };
        out.push_str(&value);
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// `lines` events with their kinds.
#[allow(dead_code)] // each bench uses one of these
pub fn generate_kinds(lines: usize) -> Vec<(Kind, String)> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..lines).map(|_| next(&mut rng)).collect()
}

fn next(rng: &mut Rng) -> (Kind, String) {
    let (kind, set) = match rng.below(100) {
        0..45 => (Kind::Json, JSON),
        45..70 => (Kind::Access, ACCESS),
        70..78 => (Kind::Health, HEALTH),
        78..95 => (Kind::Plain, PLAIN),
        _ => (Kind::Error, ERRORS),
    };
    let t = rng.pick(set);
    (kind, fill(rng, t))
}

/// The events alone.
#[allow(dead_code)]
pub fn generate(lines: usize) -> Vec<String> {
    stream(lines).collect()
}

/// The same events, made one at a time (nothing held).
#[allow(dead_code)]
pub fn stream(lines: usize) -> impl Iterator<Item = String> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..lines).map(move |_| next(&mut rng).1)
}
