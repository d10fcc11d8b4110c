//! The category rules. Each family has *strong* patterns, which describe an occurrence of the
//! failure whatever the line's level ("connection refused", `panic: `, a JVM frame), and
//! *weak* ones, bare words that count only in an error context ("ERROR … timeout" is a
//! timeout; "timeout 30s" in an INFO line is configuration).
//!
//! One case-insensitive Aho-Corasick scan over the event finds which families' keywords
//! occur; only those families' regexes run. Most lines of a healthy service contain none of
//! the keywords and cost that one scan.

use super::Category;
use super::keywords::Keywords;
use regex::bytes::{Regex, RegexBuilder};
use std::sync::LazyLock;

/// Families of rules, as bits of the prefilter's result.
pub(crate) mod fam {
    pub const OOM: u32 = 1 << 0;
    pub const PANIC: u32 = 1 << 1;
    pub const TIMEOUT: u32 = 1 << 2;
    pub const CONNECTION: u32 = 1 << 3;
    pub const AUTH: u32 = 1 << 4;
    pub const HTTP_5XX: u32 = 1 << 5;
    pub const PYTHON: u32 = 1 << 6;
    pub const FATAL: u32 = 1 << 7;
    pub const EXCEPTION: u32 = 1 << 8;
    pub const GENERIC: u32 = 1 << 9;
    /// A request line or status field may be present: run the access-log parser.
    pub const ACCESS: u32 = 1 << 10;
    /// `ELB-HealthChecker` (the ALB's user agent): noise whatever else the line says.
    pub const ELB_HEALTH: u32 = 1 << 11;
    /// Words that may head an exception line (`…Error:`, `…Exception`).
    pub const EXC_NAME: u32 = 1 << 12;
    /// A level word (`ERROR`, `[warn]`, `INF`): its position goes to level detection.
    pub const LEVEL_WORD: u32 = 1 << 13;
    /// A level key (`"level"`, `level=`): its position goes to level detection.
    pub const LEVEL_KEY: u32 = 1 << 14;
    /// A line may be one frame of a Go or Rust stack dump: checked by [`super::is_stack_frame`],
    /// not by a regex, because these keywords (`.go:`, `::`) are common in healthy lines too.
    pub const FRAME: u32 = 1 << 15;
    /// Words that only the weak http_5xx pattern needs (`status`, `http`): JSON access
    /// records are full of them, and its strong pattern cannot match without its own words.
    pub const HTTP_WEAK: u32 = 1 << 16;
    /// What the access-log parser may look for ([`super::access::Hints`]): an HTTP version,
    /// Gin's bars, a request without a version (a method before a path, Rails' Started and
    /// Completed). Without them a structured record's fields are all there is to read.
    pub const ACCESS_VERSION: u32 = 1 << 17;
    pub const ACCESS_BAR: u32 = 1 << 18;
    pub const ACCESS_REQUEST: u32 = 1 << 19;
}

/// Keywords (matched ASCII-case-insensitively) and the families they wake up.
pub(crate) const KEYWORDS: &[(&str, u32)] = {
    use fam::*;
    &[
        // oom
        ("memory", OOM),
        ("oom", OOM),
        ("alloc", OOM),
        ("exitcode", OOM),
        ("heap", OOM),
        ("killed process", OOM),
        ("scavenge", OOM),
        ("last few gcs", OOM),
        // panic
        ("panic", PANIC),
        ("goroutine", PANIC),
        ("[signal", PANIC),
        // Go tracebacks, one frame per event: runtime frames, `pkg.fn(0x…)`, file lines,
        // `created by`; Rust backtraces and unwrap panics.
        ("runtime", PANIC | FATAL),
        ("created by", PANIC),
        ("observed a panic", PANIC),
        ("backtrace", PANIC),
        ("unwrap", PANIC),
        ("(0x", FRAME),
        ("({0x", FRAME),
        (".func", FRAME),
        ("()", FRAME),
        (".go:", FRAME),
        (" 0x", FRAME),
        (".rs:", FRAME),
        // timeout
        ("timeout", TIMEOUT),
        ("timed out", TIMEOUT),
        ("timedout", TIMEOUT),
        ("time out", TIMEOUT),
        ("deadline", TIMEOUT),
        ("time limit", TIMEOUT),
        ("timelimit", TIMEOUT),
        ("expired", TIMEOUT | AUTH),
        // connection
        ("refused", CONNECTION),
        ("reset", CONNECTION),
        ("econn", CONNECTION),
        ("unreachable", CONNECTION),
        ("broken pipe", CONNECTION),
        ("epipe", CONNECTION),
        ("such host", CONNECTION),
        ("unknownhost", CONNECTION),
        ("resolve host", CONNECTION),
        ("resolution", CONNECTION),
        ("enotfound", CONNECTION),
        ("eai_again", CONNECTION),
        ("connect", CONNECTION),
        ("socket", CONNECTION),
        ("unavailable", CONNECTION | HTTP_5XX),
        ("handshake", CONNECTION),
        ("x509", CONNECTION),
        ("certificate", CONNECTION),
        ("ssl", CONNECTION),
        ("tls", CONNECTION),
        ("too many clients", CONNECTION),
        ("network", CONNECTION),
        ("communications link", CONNECTION),
        ("disconnect", CONNECTION),
        // auth
        ("denied", AUTH),
        ("unauthori", AUTH),
        ("forbidden", AUTH),
        ("pg_hba", AUTH),
        ("invalid user", AUTH),
        ("check pass", AUTH),
        ("token", AUTH),
        ("signature", AUTH),
        ("credential", AUTH),
        ("authenticat", AUTH),
        ("password", AUTH),
        ("permission", AUTH),
        ("not authorized", AUTH),
        ("login failed", AUTH),
        ("noauth", AUTH),
        ("wrongpass", AUTH),
        ("invalidaccesskeyid", AUTH),
        ("authfailure", AUTH),
        ("unrecognizedclient", AUTH),
        ("security", AUTH),
        ("invalid_grant", AUTH),
        ("invalid_client", AUTH),
        ("jwt", AUTH),
        ("api key", AUTH),
        ("apikey", AUTH),
        ("401", AUTH),
        ("403", AUTH),
        // http 5xx outside access lines
        ("internal server error", HTTP_5XX),
        ("server error", HTTP_5XX),
        ("bad gateway", HTTP_5XX),
        ("gateway", HTTP_WEAK | TIMEOUT),
        ("not implemented", HTTP_5XX),
        ("http version", HTTP_5XX),
        ("insufficient storage", HTTP_5XX),
        ("loop detected", HTTP_5XX),
        ("network authentication", HTTP_5XX),
        ("status", HTTP_WEAK | ACCESS),
        ("http", HTTP_WEAK),
        ("returned 5", HTTP_WEAK),
        ("response 5", HTTP_WEAK),
        ("non ok", HTTP_5XX),
        ("non-ok", HTTP_5XX),
        ("statuscodeerror", HTTP_5XX),
        // python
        ("traceback", PYTHON),
        ("file \"", PYTHON),
        ("file \\\"", PYTHON),
        ("above exception", PYTHON),
        ("raise ", PYTHON),
        // fatal
        ("fatal", FATAL),
        ("segmentation", FATAL),
        ("fault", FATAL),
        ("systemd", FATAL),
        ("core dump", FATAL),
        ("sigsegv", FATAL | PANIC),
        ("sigabrt", FATAL),
        ("sigbus", FATAL),
        ("sigill", FATAL),
        ("exited", FATAL),
        ("exit code", FATAL | OOM),
        ("exit status", FATAL | OOM),
        ("failed to start", FATAL),
        ("unrecoverable", FATAL),
        ("cannotpullcontainer", FATAL),
        ("cannotstartcontainer", FATAL),
        ("cannotcreatecontainer", FATAL),
        ("resourceinitialization", FATAL),
        ("task failed", FATAL | GENERIC),
        ("application run failed", FATAL),
        ("application failed to start", FATAL),
        // exception
        ("exception", EXCEPTION | EXC_NAME),
        ("error:", EXC_NAME),
        ("error (", EXCEPTION),
        ("error)", EXCEPTION),
        ("\tat ", EXCEPTION),
        ("   at ", EXCEPTION),
        ("caused by", EXCEPTION),
        (" more", EXCEPTION),
        ("frames omitted", EXCEPTION),
        ("uncaught", EXCEPTION),
        ("unhandled", EXCEPTION),
        ("stack trace", EXCEPTION),
        ("::", EXCEPTION | FRAME),
        (".rb:", EXCEPTION),
        ("** (", EXCEPTION),
        ("keyboardinterrupt", EXC_NAME),
        ("stopiteration", EXC_NAME),
        ("systemexit", EXC_NAME),
        (".errors.", EXC_NAME),
        (".exceptions.", EXC_NAME),
        (".exc.", EXC_NAME),
        // generic error words
        ("error", GENERIC),
        ("err", GENERIC),
        ("fail", GENERIC),
        ("unable to", GENERIC),
        ("could not", GENERIC),
        ("couldn't", GENERIC),
        ("cannot", GENERIC),
        ("unhealthy", GENERIC),
        ("can't", GENERIC),
        // JSON error fields without an error word in their name.
        ("\"exc_info\"", GENERIC),
        ("\"stack", GENERIC),
        ("unable to place", GENERIC),
        // access lines
        ("http/", ACCESS | ACCESS_VERSION),
        ("get /", ACCESS | ACCESS_REQUEST),
        ("head /", ACCESS | ACCESS_REQUEST),
        ("post /", ACCESS | ACCESS_REQUEST),
        ("put /", ACCESS | ACCESS_REQUEST),
        ("delete /", ACCESS | ACCESS_REQUEST),
        ("patch /", ACCESS | ACCESS_REQUEST),
        ("options /", ACCESS | ACCESS_REQUEST),
        ("get \"", ACCESS | ACCESS_REQUEST),
        ("head \"", ACCESS | ACCESS_REQUEST),
        ("post \"", ACCESS | ACCESS_REQUEST),
        ("completed ", ACCESS | ACCESS_REQUEST),
        ("| ", ACCESS | ACCESS_BAR),
        // Hints only: these requests are read when another word calls the parser.
        ("connect /", ACCESS_REQUEST),
        ("trace /", ACCESS_REQUEST),
        ("started ", ACCESS_REQUEST),
        ("elb-healthchecker", ELB_HEALTH),
        ("kube-probe/", ELB_HEALTH),
        // level words, by the prefix of every spelling (`err` finds ERROR, ERRO, ERR)
        ("trac", LEVEL_WORD),
        ("trc", LEVEL_WORD),
        ("verb", LEVEL_WORD),
        ("vrb", LEVEL_WORD),
        ("deb", LEVEL_WORD),
        ("dbg", LEVEL_WORD),
        ("dbug", LEVEL_WORD),
        ("inf", LEVEL_WORD),
        ("notice", LEVEL_WORD),
        ("log", LEVEL_WORD),
        ("warn", LEVEL_WORD),
        ("wrn", LEVEL_WORD),
        ("err", LEVEL_WORD),
        ("eror", LEVEL_WORD),
        ("severe", LEVEL_WORD),
        ("fata", LEVEL_WORD),
        ("ftl", LEVEL_WORD),
        ("crit", LEVEL_WORD),
        ("pani", LEVEL_WORD),
        ("dpanic", LEVEL_WORD),
        ("alert", LEVEL_WORD),
        ("emerg", LEVEL_WORD),
        // level keys of JSON and logfmt records
        ("\"level\"", LEVEL_KEY),
        ("\"levelname\"", LEVEL_KEY),
        ("\"level_name\"", LEVEL_KEY),
        ("\"log.level\"", LEVEL_KEY),
        ("\"loglevel\"", LEVEL_KEY),
        ("\"log_level\"", LEVEL_KEY),
        ("\"severity\"", LEVEL_KEY),
        ("\"lvl\"", LEVEL_KEY),
        ("\"@l\"", LEVEL_KEY),
        ("\"@level\"", LEVEL_KEY),
        ("level=", LEVEL_KEY),
        ("lvl=", LEVEL_KEY),
        ("severity=", LEVEL_KEY),
    ]
};

static PREFILTER: LazyLock<Keywords> = LazyLock::new(|| {
    // One entry per keyword: a keyword listed twice gets the union of its flags.
    let mut merged: Vec<(String, u32)> = Vec::new();
    for (k, f) in KEYWORDS {
        let k = k.to_ascii_lowercase();
        match merged.iter_mut().find(|(m, _)| *m == k) {
            Some((_, flags)) => *flags |= f,
            None => merged.push((k, *f)),
        }
    }
    let refs: Vec<(&str, u32)> = merged.iter().map(|(k, f)| (k.as_str(), *f)).collect();
    Keywords::new(&refs, fam::LEVEL_WORD | fam::LEVEL_KEY)
});

/// Level words are looked for only near the start of a line, where loggers put them; further
/// on, the same words are part of the message.
pub(crate) const LEVEL_PREFIX: usize = 200;
const MAX_POSITIONS: usize = 8;

/// What one pass over an event found: the families whose keywords occur, and where the
/// level words and level keys of its first line are.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Scan {
    pub bits: u32,
    level_words: [u32; MAX_POSITIONS],
    n_level_words: usize,
    level_keys: [u32; MAX_POSITIONS],
    n_level_keys: usize,
}

impl Scan {
    /// Start offsets of level words within the first line's prefix, in order.
    pub fn level_words(&self) -> &[u32] {
        &self.level_words[..self.n_level_words]
    }

    /// Start offsets of level keys within the first line, in order.
    pub fn level_keys(&self) -> &[u32] {
        &self.level_keys[..self.n_level_keys]
    }
}

/// Scans `event` once (every keyword occurrence, overlapping ones too, ASCII
/// case-insensitive).
pub(crate) fn scan(event: &str) -> Scan {
    scan_lines(
        event,
        memchr::memchr(b'\n', event.as_bytes()).unwrap_or(event.len()),
    )
}

/// [`scan`] of an event whose first line is `event[..first_line]`.
pub(crate) fn scan_lines(event: &str, first_line: usize) -> Scan {
    let mut s = Scan::default();
    s.bits = PREFILTER.scan(event.as_bytes(), |start, p| {
        if p.flags & fam::LEVEL_WORD != 0 && start < LEVEL_PREFIX.min(first_line) {
            keep_leftmost(&mut s.level_words, &mut s.n_level_words, start as u32);
        }
        if p.flags & fam::LEVEL_KEY != 0 && start < first_line {
            keep_leftmost(&mut s.level_keys, &mut s.n_level_keys, start as u32);
        }
    });
    // Occurrences come in no particular order; level detection wants the leftmost first.
    s.level_words[..s.n_level_words].sort_unstable();
    s.level_keys[..s.n_level_keys].sort_unstable();
    s
}

/// Adds `start` to the positions, keeping the [`MAX_POSITIONS`] leftmost whatever the order
/// they come in (the scan reports the parts of a line interleaved).
fn keep_leftmost(positions: &mut [u32; MAX_POSITIONS], n: &mut usize, start: u32) {
    if *n < MAX_POSITIONS {
        positions[*n] = start;
        *n += 1;
    } else if let Some(last) = positions.iter_mut().max()
        && start < *last
    {
        *last = start;
    }
}

/// A compiled family: strong patterns count anywhere, weak ones only in an error context.
pub(crate) struct Rule {
    /// The keywords that wake both patterns.
    pub family: u32,
    /// Keywords that wake only the weak one.
    pub weak_family: u32,
    pub category: Category,
    /// Compiled at first use: a line compiles only the families its keywords wake.
    pub strong: LazyLock<Matcher>,
    pub weak: Option<LazyLock<Matcher>>,
}

/// Compiles a pattern over bytes with Unicode off: `\b`, `\w`, `\d`, `\s` and `(?i)` are
/// ASCII. Log words are ASCII, and the Unicode forms cost twice: a Unicode `\b` makes the
/// regex crate's lazy DFA give up on any line with a non-ASCII byte ("12.9µs", "→") and fall
/// back to a much slower engine, and compiling Unicode classes and case folding (hundreds of
/// ranges each) was most of the cost of classifying a short input: 12 ms of a one-line
/// `ecs-monitor classify`.
fn re(pattern: &str) -> Regex {
    RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .unwrap_or_else(|e| panic!("invalid rule pattern: {e}"))
}

/// A rule's pattern, only ever asked whether it matches.
pub(crate) type Matcher = regex_automata::meta::Regex;

/// A rule's pattern as [`re`] compiles it, for matching only: no capture groups and no
/// literal prefilter. A rule runs only on lines that hold its family's keywords, so a
/// prefilter seldom skips anything, while extracting the literals of the large
/// case-insensitive alternations was half of compiling them (5.6 ms to 2.8 ms for all the
/// rules; the same time per matched line on the benchmark's corpus).
fn matcher(pattern: &str) -> Matcher {
    use regex_automata::{meta, nfa::thompson::WhichCaptures, util::syntax};
    meta::Builder::new()
        .configure(
            meta::Config::new()
                .which_captures(WhichCaptures::None)
                .auto_prefilter(false),
        )
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .build(pattern)
        .unwrap_or_else(|e| panic!("invalid rule pattern: {e}"))
}

/// The rules, in priority order (the same order as [`Category::PRIORITY`]).
pub(crate) static RULES: [Rule; 9] = [
    // oom: the process or container ran out of memory.
    Rule {
        family: fam::OOM,
        weak_family: 0,
        category: Category::Oom,
        strong: LazyLock::new(|| {
            matcher(
                r#"(?xi)
                  \bout \s? of \s? memory                          # Go, Linux, Node, PostgreSQL, java.lang.OutOfMemoryError (not …OnOutOfMemoryError flags)
                | \boom[-\s]?kill(?:ed|er|ing)?\b                    # OOMKilled, oom-killer, "OOM killed"
                | (?-i:\bOOM\b)                                      # the capitalised acronym only: "room", oom_score_adj are not
                | \bmemory \s allocation \s of \s \d+ \s bytes \s failed   # Rust allocation failure
                | \b(?:failed \s to \s allocate|allocation \s failed|cannot \s allocate \s memory|could \s not \s allocate)\b
                | \bENOMEM\b | \bstd::bad_alloc\b | \bbad_alloc\b
                | \b(?:No)?MemoryError\b                             # Python MemoryError, Ruby NoMemoryError
                | \b(?:reached \s)?heap \s limit\b                    # V8 "Reached heap limit"
                | \bmemory \s limit \s (?:exceeded|reached)\b | \bexceeded \s (?:the \s)?memory \s limit\b
                | \bkilled \s due \s to \s memory \b                 # ECS stopped reason
                | \bAllowed \s memory \s size \s of \s \d+ \s bytes \s exhausted   # PHP
                | \bmemory \s quota \s exceeded\b
                | \bKilled \s process \s \d+                          # kernel OOM killer
                | out_of_memory\b                                   # its call trace: mem_cgroup_out_of_memory+0x13a/0x150
                | <--- \s Last \s few \s GCs \s --->                   # V8 prints its last GCs only when the heap is exhausted
                | \bscavenge \s might \s not \s succeed\b              # V8 GC trace line at the heap limit
                | \b(?:FatalProcessOutOfMemory|ReportOOMFailure|OOMErrorHandler)\b   # V8/Node native frames of an OOM abort
                | \bexit(?:ed)? \s? (?:with \s)? (?:code|status)[\s:=]*137\b   # SIGKILL, how ECS reports an OOM kill
                | \bexitCode"?[\s:=]+137\b
            "#,
            )
        }),
        weak: None,
    },
    // panic: a runtime panic and its stack dump (Go, Rust), recovered panics.
    Rule {
        family: fam::PANIC,
        weak_family: 0,
        category: Category::Panic,
        strong: LazyLock::new(|| {
            matcher(
                r#"(?xm)
                  (?:^|[\s:\]]) panic: \s                            # Go: "panic: runtime error: …"
                | \bpanicked \s at\b                                 # Rust: "thread 'main' panicked at src/main.rs:4:5"
                | \bgoroutine \s \d+ (?: \s gp=0x[0-9a-f]+ \s m=(?:\d+|nil) (?:\s mp=0x[0-9a-f]+)? )? \s \[ [^\]\n]+ \]: \s* $   # Go stack dump header (gp= m= since Go 1.23)
                | \[signal \s (?:SIG[A-Z]+: | 0x[0-9a-f]+ \s code=)   # Go fault line under a panic (Unix, Windows)
                | ^ \s* runtime \s stack: \s* $                       # the runtime's own stack in a fatal error
                | ^ \s* created \s by \s [\w/-]*\.[\w./*()-]+ (?:\s in \s goroutine \s \d+)? \s* $
                | \bpanic \s during \s panic\b | \bObserved \s a \s panic\b   # Go; Kubernetes' HandleCrash logs it at any level
                | ^ \s* stack \s backtrace: \s* $ | \bRUST_BACKTRACE=     # Rust
                | \bcalled \s `(?:Option|Result)::(?:unwrap|expect)(?:_err)?\(\)` \s on \s an? \s `(?:None|Err|Ok)` \s value
                | \bhttp: \s panic \s serving\b                      # net/http recovered a handler panic
                | (?i:\bpanic \s recovered\b | \brecovered \s (?:from \s)?(?:a \s)?panic\b | \bcaught \s panic\b)
                | \bPANIC: \s                                        # PostgreSQL
            "#,
            )
        }),
        weak: Some(LazyLock::new(|| matcher(r"(?i)\bpanic(?:ked|king)?\b"))),
    },
    // timeout: an operation ran out of time.
    Rule {
        family: fam::TIMEOUT,
        weak_family: 0,
        category: Category::Timeout,
        strong: LazyLock::new(|| {
            matcher(
                r#"(?xi)
                  \btimed \s? out\b                                  # "Read timed out", "Task timed out after 3.00 seconds"
                | \bdeadline \s? exceeded\b | \bDEADLINE_EXCEEDED\b  # Go context, gRPC
                | \bE(?:SOCKET)?TIMEDOUT\b                           # Node
                | \bi/o \s timeout\b                                 # Go net
                | \b\w*Timeout(?:Error|Exception)\b                  # SocketTimeoutException, ReadTimeoutError, asyncio.TimeoutError …
                | \bNet::(?:Read|Open|Write)Timeout\b | \bTimeout::Error\b | \bexecution \s expired\b   # Ruby
                | \btime-?out \s (?:exceeded|expired|occurred|reached|error|elapsed)\b
                | \b(?:gateway|upstream \s request|lock \s wait|statement) \s time-?out\b   # 504, Envoy, MySQL, PostgreSQL
                | \bHttpClient\.Timeout\b                            # .NET
                | \bqueue \s timeout\b | \bpool \s timeout\b
                | \btime \s? limit \s? exceeded\b | \bSoftTimeLimitExceeded\b   # Celery
            "#,
            )
        }),
        weak: Some(LazyLock::new(|| {
            matcher(
                r#"(?xi)
                  \btime-?outs?\b (?: \s*$ | [^_=:\d] | :\s*[^\d\s] )   # the word, but not "timeout=30", "timeout: 5"
                | \btook \s too \s long\b
            "#,
            )
        })),
    },
    // connection_error: a connection could not be made, or broke.
    Rule {
        family: fam::CONNECTION,
        weak_family: 0,
        category: Category::ConnectionError,
        strong: LazyLock::new(|| {
            matcher(
                r#"(?xi)
                  \bconnection \s (?:was \s)? (?:refused|reset|aborted|lost|dropped|failure|failed|error|terminated|closed \s (?:by \s (?:peer|remote)|unexpectedly))\b
                | \bE(?:CONNREFUSED|CONNRESET|CONNABORTED|HOSTUNREACH|NETUNREACH|PIPE|NOTFOUND|AI_AGAIN)\b
                | \bbroken \s pipe\b | \bsocket \s hang \s up\b
                | \bno \s route \s to \s host\b | \b(?:network|host) \s is \s unreachable\b | \bhost \s unreachable\b
                | \bno \s such \s host\b | \bName \s or \s service \s not \s known\b | \bTemporary \s failure \s in \s name \s resolution\b
                | \bnodename \s nor \s servname\b | \bcould \s not \s resolve \s host\b | \bUnknownHost(?:Exception)?\b
                | \b(?:could \s not|couldn't|can't|cannot|unable \s to|failed \s to) \s (?:establish \s (?:a \s)?connection|connect|open \s (?:a \s|TCP \s)?connection|reach)\b
                | \b\w*(?:Connect|Connection|Socket|NoRouteToHost|HostUnreachable)(?:Refused|Reset|Aborted|Closed|Failure)?(?:Error|Exception)\b
                | \bCommunications \s link \s failure\b             # MySQL JDBC
                | \bconnection \b .{0,80}? \bcould \s not \s be \s established\b   # Kafka clients
                | \bserver \s closed \s the \s connection \s unexpectedly\b   # PostgreSQL
                | \blost \s connection\b | \bconnection \s (?:is \s)?not \s available\b
                | \bupstream \s connect \s error\b | \bdisconnect/reset \s before \s headers\b   # Envoy
                | \bconnect\(\) \s failed\b                          # nginx
                | \bcode \s? = \s? Unavailable\b | \bUNAVAILABLE: | \bStatusCode\.Unavailable\b   # gRPC
                | \b(?:SSL|TLS) \s? (?:handshake \s)? (?:error|failed|failure|alert)\b | \bhandshake \s (?:failed|failure|timeout)\b
                | \bx509: \s | \bcertificate \s (?:verify \s failed|has \s expired|is \s not \s trusted)\b | \bSSLHandshakeException\b
                | \b(?:CERT_HAS_EXPIRED|UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\b
                | \btoo \s many \s (?:connections|clients)\b | \bremaining \s connection \s slots \s are \s reserved\b
                | \bnetwork \s (?:error|is \s down)\b
            "#,
            )
        }),
        weak: Some(LazyLock::new(|| {
            matcher(r"(?i)\b(?:disconnected|unreachable|connection (?:problem|issue))\b")
        })),
    },
    // auth_error: credentials missing, wrong, expired, or not allowed.
    Rule {
        family: fam::AUTH,
        weak_family: 0,
        category: Category::AuthError,
        strong: LazyLock::new(|| {
            matcher(
                r#"(?xi)
                  \bAccessDenied(?:Exception|Error)?\b | \baccess \s denied\b | \bpermission \s denied\b | \bPERMISSION_DENIED\b
                | \b(?:is \s )?not \s authorized \s to\b | \bnot \s authorized\b
                | \bUnauthorized(?:Operation|Access|Exception|Error)\b | \bUnauthenticated\b | \bcode \s? = \s? PermissionDenied\b
                | \bExpiredToken(?:Exception)?\b | \bsecurity \s token \s included \s in \s the \s request \s is \s (?:expired|invalid)\b
                | \b(?:InvalidClientTokenId|SignatureDoesNotMatch|InvalidAccessKeyId|UnrecognizedClientException|AuthFailure|InvalidSignatureException|IncompleteSignature|MissingAuthenticationToken|NotAuthorizedException|TokenRefreshRequired)\b
                | \brequest \s signature \s we \s calculated \s does \s not \s match\b | \bsignature \s (?:has \s )?expired\b
                | \bUnable \s to \s locate \s credentials\b | \bNoCredential(?:sError|Providers)\b | \bCredentials?Error\b
                | \b(?:could \s not|failed \s to|unable \s to) \s (?:load|retrieve|find|refresh) \s (?:any \s )?credentials\b
                | \b(?:invalid|bad|wrong|expired) \s credentials\b | \bBadCredentialsException\b
                | \bpassword \s authentication \s failed\b | \bauthenticat(?:ion|e) \s (?:failed|failures?|error|required)\b | \bauth \s (?:failed|failure|error)\b
                | \bLogin \s failed\b | \bNOAUTH\b | \bWRONGPASS\b | \b(?:invalid|incorrect|wrong) \s (?:password|username \s or \s password)\b
                | \b(?:jwt|token) \s (?:expired|malformed|is \s expired|has \s expired|is \s invalid)\b | \binvalid \s (?:token|signature|jwt|api \s ?key|access \s token|bearer \s token)\b
                | \b(?:TokenExpiredError|JsonWebTokenError|ExpiredJwtException|SecurityTokenExpiredException)\b | \binvalid_(?:grant|client|token)\b
                | \b(?:Authentication|Authorization|Security|Forbidden|Unauthorized)(?:Exception|Error)\b | \bPermissionError\b
                | \b401 \s Unauthorized\b | \b403 \s Forbidden\b
                | \bFailed \s (?:password|publickey|keyboard-interactive/pam|none) \s for\b | \bInvalid \s user \s \S+ \s from\b   # sshd
                | \bcheck \s pass; \s user \s unknown\b | \bpassword \s does \s not \s match\b   # PAM, PostgreSQL
                | \bpg_hba\.conf(?:ig)? \s rejects \b | \bno \s pg_hba\.conf \s entry\b   # PostgreSQL refused by its host rules
            "#,
            )
        }),
        weak: Some(LazyLock::new(|| {
            matcher(r"(?i)\b(?:unauthorized|forbidden|status(?: code)?[ :=]*40[13])\b")
        })),
    },
    // http_5xx outside access lines (access lines are decided by their status alone).
    Rule {
        family: fam::HTTP_5XX,
        weak_family: fam::HTTP_WEAK,
        category: Category::Http5xx,
        strong: LazyLock::new(|| {
            matcher(
                r#"(?xi)
                  \bnon[\s-]ok \s (?:status \s )?code:? \s 5\d\d\b            # fortio and other HTTP clients
                | \bStatusCodeError\b .{0,80}? \b5\d\d\b | \b5\d\d\b .{0,80}? \bStatusCodeError\b   # request-promise
                | \b5\d\d \s (?:Internal \s Server \s Error|Server \s Error|Bad \s Gateway|Service \s Unavailable|Not \s Implemented|HTTP \s Version|Insufficient \s Storage|Loop \s Detected|Network \s Authentication)
            "#,
            )
        }),
        weak: Some(LazyLock::new(|| {
            matcher(
                r#"(?xi)
                  \b(?:status(?:[\s_]?code)?|http(?:\s?status)?|response(?:\s?code)?|returned|got|received|with) [\s:=]* "? 5\d\d\b
                | \bInternal \s Server \s Error\b | \bBad \s Gateway\b | \bService \s Unavailable\b
            "#,
            )
        })),
    },
    // python_traceback: the header, frame lines, and the chained-exception banners; the
    // final "SomeError: message" line is recognised by name in `exception_head`.
    Rule {
        family: fam::PYTHON,
        weak_family: 0,
        category: Category::PythonTraceback,
        strong: LazyLock::new(|| {
            matcher(
                r#"(?xm)
                  \bTraceback \s \(most \s recent \s call \s last\)
                | \bFile \s \\?"[^"\\]+\\?", \s line \s \d+
                | \bDuring \s handling \s of \s the \s above \s exception\b
                | \bThe \s above \s exception \s was \s the \s direct \s cause\b
                | ^ \s+ raise \s [A-Za-z_][\w.]*(?:Error|Exception)\b
            "#,
            )
        }),
        weak: None,
    },
    // fatal: the process cannot go on, or is gone.
    Rule {
        family: fam::FATAL,
        weak_family: 0,
        category: Category::Fatal,
        strong: LazyLock::new(|| {
            matcher(
                r#"(?xm)
                  (?i:\bfatal \s error\b)                            # Go "fatal error: …", Node "FATAL ERROR:", PHP "Fatal error:"
                | \bFatal \s Python \s error\b
                | ^ \s* fatal: \s                                    # git and C tools
                | \bFATAL: \s                                        # PostgreSQL
                | (?i:\bsegmentation \s (?:fault|violation)\b | \bcore \s dumped\b)
                | \bSIG(?:SEGV|ABRT|BUS|ILL)\b
                | \bEssential \s container \s in \s task \s exited\b  # ECS stopped reason
                | (?i:\bexited \s (?:with \s )?(?:code|status) \s [1-9]\d*\b)
                | \b(?:CannotPullContainerError|CannotStartContainerError|CannotCreateContainerError|ResourceInitializationError)\b
                | \bTask \s failed \s to \s start\b
                | \bAPPLICATION \s FAILED \s TO \s START\b | \bApplication \s run \s failed\b
                | (?i:\bunrecoverable \s error\b)
                | ^ \s* runtime: \s (?:goroutine \s stack \s exceeds \s \d+-byte \s limit | sp=0x[0-9a-f]+ \s stack=\[)   # Go stack overflow
                | \bunexpected \s fault \s address \s 0x
                | \bsystemd\[\d+\]: \s (?:Failed \s to \s start \s | \S+: \s (?:Main \s process \s exited, \s code=\w+, \s status=[1-9A-Z] | Unit \s entered \s failed \s state | Failed \s with \s result))
            "#,
            )
        }),
        weak: Some(LazyLock::new(|| matcher(r"(?i)\bfatal\b"))),
    },
    // exception: stack traces and uncaught exceptions of the JVM, .NET, Node.js, Ruby, Elixir.
    Rule {
        family: fam::EXCEPTION,
        weak_family: 0,
        category: Category::Exception,
        strong: LazyLock::new(|| {
            matcher(
                r#"(?xm)
                  \bException \s in \s thread \s "                   # JVM uncaught
                | ^ \s* at \s [\w$.<>/`\[\],+-]+ \( [^()]* \) \s* (?: in \s \S+:line \s \d+ | ~?\[[^\]]*\] )? \s* $   # JVM and .NET frames
                | ^ \s* at \s (?:.+ \s \()? \S+:\d+:\d+ \)? \s* \{? \s* $   # Node frames (a "{" opens the error's fields)
                | ^ \s* Caused \s by: \s
                | ^ \s* \.\.\. \s \d+ \s (?:more|common \s frames \s omitted)\b
                | ---\s End \s of \s (?:inner \s exception \s )?stack \s trace
                | \bUnhandled \s (?:exception|rejection)[.:] | \bUnhandledPromiseRejection\w*\b | \bunhandledRejection\b | \buncaughtException\b
                | \bUncaught \s (?:exception|\w*Error|\w*Exception)\b
                | \b(?:java|javax|jakarta|org|com|io|net|kotlin|kotlinx|scala|akka|reactor|software|System|Microsoft)\.(?:[\w$]+\.)*[A-Z][\w$]*(?:Exception|Error)\b
                | ^ \S+\.rb:\d+:in \s [`']                           # Ruby frame
                | ^ \s* from \s \S+:\d+:in \s [`']
                | \b[A-Z]\w*(?:::[A-Z]\w*)*::[A-Z]\w*(?:Error|Exception|NotFound|Invalid|Missing|NotUnique|Unknown)\b \s? [(:]   # Rails: ActiveRecord::RecordNotFound (…)
                | \b[A-Z]\w*(?:Error|Exception) \s \( | \( (?:[A-Z]\w*::)* [A-Z]\w*(?:Error|Exception) \) \s* $   # Ruby "NoMethodError (…)", "… (NoMethodError)"
                | ^ \*\* \s \( [A-Z][\w.]* \)                        # Elixir "** (RuntimeError) boom"
                | \b[A-Z]\w*Exception\b :                             # Foo.BarException: …
            "#,
            )
        }),
        weak: Some(LazyLock::new(|| {
            matcher(r"(?i)\b(?:exception|[A-Z]\w*Exception|stack ?trace|traceback)\b")
        })),
    },
];

/// A failure recorded by ECS or an ALB rather than by the application: an error, though no
/// error word is present.
pub(crate) static GENERIC_STRONG: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"(?x)
          \bTask \s failed \s (?:ELB|container) \s health \s checks\b
        | \bis \s unhealthy \s in \s \(target-group\b
        | \bwas \s unable \s to \s place \s a \s task\b
        | \bis \s unable \s to \s consistently \s start \s tasks \s successfully\b
        | \bSERVICE_DEPLOYMENT_FAILED\b | \bSERVICE_TASK_START_IMPAIRED\b
    "#)
});

/// An error word in a line without a level, with the ordinary mentions excluded:
/// `error_count=0` and `errors: []` (not the word), `error=null`, `err=<nil>`, `failed=0`,
/// "no errors", "0 failed", "error handler".
static ERROR_WORD: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"(?xi)
          (?P<pre> \b(?:no|0|zero|without|ignore|ignoring|on|if|any) \s )?
          (?:
              \berr(?:or)?\b
              (?P<empty> \s* [=:] \s* (?: (?:0|null|nil|<nil>|false|""|''|\[\]|\{\}) (?:[\s,;)]|$) | none (?:[,;)]|$) ) )?
            | \bfail(?:ed|ure|ures|s)?\b (?P<zero> \s* [=:] \s* 0\b )?
            | \b(?:unable \s to|could \s not|couldn't|cannot|can't) \s
            | \bunhealthy\b
          )
          (?P<benign> \s (?:handler|handlers|handling|page|pages|reporting|reporter|tracking|tracker|rate|budget|level|log|logs|boundary|callback|listener|hook|middleware|metrics|counter|threshold|code \s? = \s? 0)\b )?
    "#)
});

/// Whether `text` (a message without a level) says something went wrong.
pub(crate) fn has_error_word(text: &str) -> bool {
    ERROR_WORD.captures_iter(text.as_bytes()).any(|c| {
        c.name("pre").is_none()
            && c.name("empty").is_none()
            && c.name("zero").is_none()
            && c.name("benign").is_none()
    })
}

/// Python's built-in exceptions and warnings that are printed as the last line of a traceback.
const PYTHON_BUILTINS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BlockingIOError",
    "BrokenPipeError",
    "BufferError",
    "ChildProcessError",
    "ConnectionAbortedError",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "EOFError",
    "Exception",
    "BaseException",
    "FileExistsError",
    "FileNotFoundError",
    "FloatingPointError",
    "GeneratorExit",
    "ImportError",
    "IndentationError",
    "IndexError",
    "InterruptedError",
    "IsADirectoryError",
    "KeyError",
    "KeyboardInterrupt",
    "LookupError",
    "MemoryError",
    "ModuleNotFoundError",
    "NameError",
    "NotADirectoryError",
    "NotImplementedError",
    "OSError",
    "IOError",
    "OverflowError",
    "PermissionError",
    "ProcessLookupError",
    "RecursionError",
    "ReferenceError",
    "RuntimeError",
    "StopAsyncIteration",
    "StopIteration",
    "SyntaxError",
    "SystemError",
    "SystemExit",
    "TabError",
    "TimeoutError",
    "TypeError",
    "UnboundLocalError",
    "UnicodeDecodeError",
    "UnicodeEncodeError",
    "UnicodeError",
    "ValueError",
    "ZeroDivisionError",
    "ExceptionGroup",
    "BaseExceptionGroup",
];

/// JavaScript's built-in errors, printed by Node.js for uncaught errors.
const JS_BUILTINS: &[&str] = &[
    "TypeError",
    "ReferenceError",
    "SyntaxError",
    "RangeError",
    "EvalError",
    "URIError",
    "AggregateError",
    "InternalError",
];

/// Package roots of the JVM and .NET, whose dotted exception names are not Python modules.
const JVM_DOTNET_ROOTS: &[&str] = &[
    "java",
    "javax",
    "jakarta",
    "org",
    "com",
    "io",
    "net",
    "kotlin",
    "kotlinx",
    "scala",
    "akka",
    "reactor",
    "software",
    "dev",
    "System",
    "Microsoft",
    "Newtonsoft",
    "Npgsql",
    "Amazon",
    "Grpc",
];

/// Errors that ECS and AWS print with a Python-like `Name: message` head; other rules
/// (fatal, auth_error) classify them.
const NOT_PYTHON: &[&str] = &[
    "CannotPullContainerError",
    "CannotStartContainerError",
    "CannotCreateContainerError",
    "CannotInspectContainerError",
    "ResourceInitializationError",
    "OutOfMemoryError",
    "ContainerRuntimeError",
    "InternalError",
    "ReplyError",
    "MongoServerError",
    "MongoError",
];

/// Python modules whose members are all exceptions (`psycopg2.errors.UniqueViolation`,
/// `django.core.exceptions.ImproperlyConfigured`).
const PYTHON_EXCEPTION_MODULES: &[&str] = &["errors", "exceptions", "exc", "error"];

/// Messages that mark a `TypeError` or `SyntaxError` as Python's rather than JavaScript's.
static PYTHONIC_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"(?x)
          'NoneType' | \bobject \s is \s not \b | \bpositional \s argument | \bkeyword \s argument
        | \bunsupported \s operand | \bcan \s only \s concatenate | \bmust \s be \s (?:str|int|real \s number)
        | \binvalid \s syntax\b | \bunexpected \s EOF \s while \s parsing
    "#)
});

/// A line that starts with an exception's name followed by a colon: the last line of a Python
/// traceback (`KeyError: 'user_id'`, `botocore.exceptions.ClientError: …`), a JVM or .NET
/// exception (`java.lang.IllegalStateException: …`, `System.InvalidOperationException: …`),
/// or a Node.js error (`TypeError: Cannot read properties of undefined`).
static EXCEPTION_HEAD: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"(?xm)
        ^ \s* (?:Uncaught \s)?
        (?P<name> (?:[A-Za-z_][\w$]*\.)* [A-Z][\w$]* )
        : (?:\s (?P<msg>.*))? $
    "#)
});

/// Decides the category of exception-name heads in `text`, if any line has one.
pub(crate) fn exception_head(text: &str, node_frames: bool) -> Option<Category> {
    let mut found = None;
    for c in EXCEPTION_HEAD.captures_iter(text.as_bytes()).take(8) {
        // The name is ASCII by its pattern; the message is only matched against.
        let Ok(name) = std::str::from_utf8(&c["name"]) else {
            continue;
        };
        let msg = c.name("msg").map_or(&b""[..], |m| m.as_bytes());
        let last = name.rsplit('.').next().unwrap_or(name);
        let in_exception_module = name
            .rsplit('.')
            .skip(1)
            .any(|m| PYTHON_EXCEPTION_MODULES.contains(&m));
        if NOT_PYTHON.contains(&name) {
            continue;
        }
        let is_exc_name = in_exception_module
            || last.ends_with("Error")
            || last.ends_with("Exception")
            || matches!(
                last,
                "KeyboardInterrupt" | "StopIteration" | "SystemExit" | "GeneratorExit"
            );
        if !is_exc_name || last == "Error" {
            continue;
        }
        let category = if let Some((root, _)) = name.split_once('.') {
            if JVM_DOTNET_ROOTS.contains(&root)
                || root.starts_with(|c: char| c.is_ascii_uppercase())
            {
                Category::Exception
            } else {
                Category::PythonTraceback
            }
        } else if JS_BUILTINS.contains(&name) {
            let python =
                PYTHON_BUILTINS.contains(&name) && !node_frames && PYTHONIC_MESSAGE.is_match(msg);
            if python {
                Category::PythonTraceback
            } else {
                Category::Exception
            }
        } else if PYTHON_BUILTINS.contains(&name) {
            Category::PythonTraceback
        } else if name.ends_with("Exception") || node_frames {
            Category::Exception
        } else {
            // A custom `SomethingError:` without frames: Python prints the last line of a
            // traceback this way; Node.js would have printed its frames with it.
            Category::PythonTraceback
        };
        // Prefer the more specific of several heads (a chained traceback).
        found = Some(found.map_or(category, |f: Category| f.min(category)));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rules compile at first use: each must compile, and its order must be the priority.
    #[test]
    fn every_rule_compiles_in_priority_order() {
        let mut last = None;
        for rule in &RULES {
            assert!(last < Some(rule.category), "{:?}", rule.category);
            last = Some(rule.category);
            LazyLock::force(&rule.strong);
            rule.weak.as_ref().map(LazyLock::force);
        }
        for rx in [
            &GENERIC_STRONG,
            &ERROR_WORD,
            &PYTHONIC_MESSAGE,
            &EXCEPTION_HEAD,
        ] {
            LazyLock::force(rx);
        }
    }

    /// ASCII semantics: no Unicode case folding or classes (and no slower engine on
    /// non-ASCII lines), while non-ASCII text around a match changes nothing.
    #[test]
    fn rules_are_ascii_and_work_on_any_text() {
        let timeout = &RULES[2];
        assert_eq!(timeout.category, Category::Timeout);
        assert!(
            timeout
                .strong
                .is_match("12.9µs → Read timed out →".as_bytes())
        );
        let connection = &RULES[3];
        assert_eq!(connection.category, Category::ConnectionError);
        assert!(connection.strong.is_match(b"write: BROKEN PIPE"));
        // The Kelvin sign folds to "k" under Unicode case folding only.
        assert!(
            !connection
                .strong
                .is_match("write: bro\u{212a}en pipe".as_bytes())
        );
        assert!(has_error_word("→ échec: error while saving"));
        assert_eq!(
            exception_head("KeyError: 'clé'", false),
            Some(Category::PythonTraceback)
        );
    }

    #[test]
    fn error_words_and_the_ordinary_mentions() {
        let positive = [
            "error processing message 42",
            "Error: invalid payload",
            "failed to decode message: unexpected EOF",
            "upload failure for object x",
            "could not open /data/cache",
            "unable to parse config",
            "err=\"timeout talking to db\"",
            "error: something broke",
            "target is unhealthy",
        ];
        let negative = [
            "error_count=0",
            "0 errors",
            "errors: []",
            "err=<nil>",
            "error=null",
            "failed=0 succeeded=12",
            "no error in the last batch",
            "retried 3 times without error",
            "error handler registered",
            "on error resume next",
            "errorPage configured",
        ];
        for t in positive {
            assert!(has_error_word(t), "{t:?} should be an error");
        }
        for t in negative {
            assert!(!has_error_word(t), "{t:?} should not be an error");
        }
    }

    #[test]
    fn exception_heads_by_language() {
        let cases = [
            ("KeyError: 'id'", Some(Category::PythonTraceback)),
            (
                "requests.exceptions.HTTPError: 500 Server Error",
                Some(Category::PythonTraceback),
            ),
            (
                "java.lang.IllegalStateException: boom",
                Some(Category::Exception),
            ),
            (
                "System.InvalidOperationException: boom",
                Some(Category::Exception),
            ),
            (
                "TypeError: Cannot read properties of undefined (reading 'id')",
                Some(Category::Exception),
            ),
            (
                "TypeError: 'NoneType' object is not subscriptable",
                Some(Category::PythonTraceback),
            ),
            (
                "ValidationError: bad input",
                Some(Category::PythonTraceback),
            ),
            ("OrderNotFoundException: 42", Some(Category::Exception)),
            ("CannotPullContainerError: not found", None),
            ("Error: plain", None),
            ("Note: nothing here", None),
        ];
        for (line, expected) in cases {
            assert_eq!(exception_head(line, false), expected, "{line}");
        }
    }

    #[test]
    fn scan_finds_families_and_level_positions() {
        let s = scan("2026-11-29T14:35:27Z ERROR dial tcp: connection refused");
        assert_ne!(s.bits & fam::CONNECTION, 0);
        assert_ne!(s.bits & fam::GENERIC, 0);
        assert_eq!(s.bits & fam::OOM, 0);
        assert!(s.level_words().contains(&21), "{:?}", s.level_words());
        let json = scan(r#"{"msg":"x","level":"error"}"#);
        assert_eq!(json.level_keys(), [11]);
        let plain = scan("nothing to see");
        assert_eq!(plain.bits, 0);
    }

    /// More level words than are kept: the leftmost are kept, wherever the scan's parts
    /// found them.
    #[test]
    fn the_leftmost_level_words_are_kept() {
        let line = format!(
            "{} ERROR {}",
            "log ".repeat(MAX_POSITIONS),
            "inf ".repeat(30)
        );
        let s = scan(&line);
        let want: Vec<u32> = (0..MAX_POSITIONS as u32).map(|i| 4 * i).collect();
        assert_eq!(s.level_words(), want);
        let line = format!("ERROR {}", "log ".repeat(60));
        assert_eq!(scan(&line).level_words()[0], 0);
    }
}
