//! A deterministic, realistic mixed corpus for the classifier benchmark: mostly info and
//! access lines, some health checks, a few percent errors of every category.

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

const INFO: &[&str] = &[
    "{ts} INFO  1 --- [nio-8080-exec-{n}] c.e.orders.OrderController : Order {n} accepted for customer {n} in {ms}ms",
    "{ts} INFO orders/service.go:88 reserved inventory for order {n} sku=SKU-{n} qty={n}",
    r#"{"level":"info","ts":"{ts}","caller":"api/handler.go:{n}","msg":"request served","request_id":"{uuid}","duration_ms":{ms}}"#,
    r#"{"level":30,"time":{n},"pid":1,"hostname":"ip-10-0-1-{n}","req_id":"{uuid}","msg":"cache refreshed","entries":{n}}"#,
    "{ts} - billing - INFO - Invoice {n} generated for account {n} (total {n}.{n} EUR)",
    "time=\"{ts}\" level=info msg=\"message processed\" queue=orders offset={n} partition={n}",
    "[{ts}] INFO in app: worker {n} picked job {uuid} from queue default",
    "{ts} INFO scheduler: next run of job cleanup in {ms}ms, {n} items pending",
    "{ts} DEBUG sql: SELECT id, status FROM orders WHERE customer_id = {n} LIMIT 50 ({ms}ms)",
    "{ts} WARN  1 --- [scheduling-1] c.e.cache.Warmer : cache warm-up slower than expected: {ms}ms for {n} keys",
];

const ACCESS: &[&str] = &[
    r#"{ip} - - [29/Nov/2026:14:35:27 +0000] "GET /api/orders/{n} HTTP/1.1" 200 {n} "-" "Mozilla/5.0 (X11; Linux x86_64)""#,
    r#"{ip} - - [29/Nov/2026:14:35:27 +0000] "POST /api/orders HTTP/1.1" 201 {n} "https://shop.example.com/cart" "Mozilla/5.0""#,
    r#"{ip} - - [29/Nov/2026:14:35:27 +0000] "GET /static/app.{n}.js HTTP/1.1" 304 0 "-" "Mozilla/5.0""#,
    r#"[GIN] 2026/11/29 - 14:35:27 | 200 |    {ms}.{n}ms |      {ip} | GET      "/api/products/{n}""#,
    r#"INFO:     {ip}:{n} - "GET /api/search?q=item{n} HTTP/1.1" 200 OK"#,
    r#"{ip} - - [29/Nov/2026:14:35:27 +0000] "GET /api/users/{n} HTTP/1.1" 404 {n} "-" "okhttp/4.12.0""#,
];

const HEALTH: &[&str] = &[
    r#"{ip} - - [29/Nov/2026:14:35:27 +0000] "GET /health HTTP/1.1" 200 2 "-" "ELB-HealthChecker/2.0""#,
    r#"[GIN] 2026/11/29 - 14:35:27 | 200 |      {n}µs |      {ip} | GET      "/healthz""#,
    r#"INFO:     {ip}:{n} - "GET /ready HTTP/1.1" 200 OK"#,
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
    "fatal error: concurrent map writes",
    "Exception in thread \"main\" java.lang.IllegalStateException: order {n} in unexpected state",
    "\tat com.example.orders.OrderService.place(OrderService.java:{n})",
    r#"{"level":"error","ts":"{ts}","msg":"failed to reserve inventory","order_id":{n}}"#,
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

/// `lines` events: 62 % info/debug/warn, 25 % access, 8 % health checks, 5 % errors.
#[allow(dead_code)] // each bench uses one of the two
pub fn generate(lines: usize) -> Vec<String> {
    stream(lines).collect()
}

/// The same events, made one at a time (nothing held).
pub fn stream(lines: usize) -> impl Iterator<Item = String> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..lines).map(move |_| {
        let roll = rng.below(100);
        let set = match roll {
            0..62 => INFO,
            62..87 => ACCESS,
            87..95 => HEALTH,
            _ => ERRORS,
        };
        let t = rng.pick(set);
        fill(&mut rng, t)
    })
}
