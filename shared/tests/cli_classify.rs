//! `ecs-monitor classify` as users run it: the built binary, stdin and files, exit codes.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn ecs_monitor(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecs-monitor"));
    cmd.args(args)
        .env_remove("ECS_HEALTH_PATHS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("ecs-monitor starts");
    let mut child_stdin = child.stdin.take().expect("stdin");
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // The child may exit before reading everything (a usage error): ignore EPIPE.
        let _ = child_stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("ecs-monitor finishes");
    writer.join().expect("stdin writer");
    out
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .expect("utf-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

const SAMPLE: &str = "\
2026-11-29T14:35:27Z INFO server started on :8080
10.0.0.5 - - [29/Nov/2026:14:35:27 +0000] \"GET /health HTTP/1.1\" 200 2 \"-\" \"ELB-HealthChecker/2.0\"
10.0.0.6 - - [29/Nov/2026:14:35:28 +0000] \"GET /api/orders HTTP/1.1\" 502 12 \"-\" \"curl/8.5.0\"
panic: runtime error: invalid memory address or nil pointer dereference
{\"level\":\"error\",\"msg\":\"failed to reserve inventory\",\"order_id\":42}
java.lang.OutOfMemoryError: Java heap space
";

#[test]
fn json_from_stdin_one_object_per_line() {
    let out = ecs_monitor(&["classify", "--json"], SAMPLE.as_bytes(), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objs = json_lines(&out);
    assert_eq!(objs.len(), 6);
    let categories: Vec<&str> = objs
        .iter()
        .map(|o| o["category"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(
        categories,
        ["-", "-", "http_5xx", "panic", "structured_error", "oom"]
    );
    assert_eq!(objs[1]["health_noise"], true);
    assert_eq!(objs[2]["http_status"], 502);
    assert_eq!(objs[5]["line"], 6);
    for o in &objs {
        let keys: Vec<&String> = o.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 5, "{o}");
        for k in [
            "line",
            "category",
            "health_noise",
            "http_status",
            "fingerprint",
        ] {
            assert!(o.get(k).is_some(), "{k} missing in {o}");
        }
    }
}

#[test]
fn summary_from_files_in_order() {
    let dir = std::env::temp_dir().join(format!("ecs-monitor-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = dir.join("a.log");
    let b = dir.join("b.log");
    std::fs::write(&a, SAMPLE).unwrap();
    std::fs::write(
        &b,
        "ERROR dial tcp 10.0.0.9:5432: connect: connection refused\n",
    )
    .unwrap();
    let out = ecs_monitor(
        &["classify", a.to_str().unwrap(), b.to_str().unwrap()],
        b"",
        &[],
    );
    std::fs::remove_dir_all(&dir).ok();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(text.contains("Lines read               7"), "{text}");
    assert!(text.contains("Health-check noise       1"), "{text}");
    assert!(text.contains("Errors                   5"), "{text}");
    assert!(text.contains("  connection_error       1"), "{text}");
    assert!(
        !text.contains("  200 "),
        "health check not in histogram: {text}"
    );
    assert!(text.contains("Top errors"), "{text}");
}

#[test]
fn a_missing_file_is_exit_2_with_a_clear_message() {
    let out = ecs_monitor(&["classify", "/nonexistent/app.log"], b"", &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read /nonexistent/app.log"), "{err}");
    assert!(out.stdout.is_empty(), "no partial output");
}

#[test]
fn usage_errors_are_exit_2() {
    let out = ecs_monitor(&["classify", "--no-such-flag"], b"", &[]);
    assert_eq!(out.status.code(), Some(2));
    let out = ecs_monitor(&["frobnicate"], b"", &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_health_paths_name_the_variable() {
    let out = ecs_monitor(&["classify"], b"x\n", &[("ECS_HEALTH_PATHS", "health")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ECS_HEALTH_PATHS"), "{err}");
}

#[test]
fn custom_health_paths_from_the_environment() {
    let line =
        b"10.0.0.5 - - [29/Nov/2026:14:35:27 +0000] \"GET /up HTTP/1.1\" 500 2 \"-\" \"curl/8\"\n";
    let out = ecs_monitor(
        &["classify", "--json"],
        line,
        &[("ECS_HEALTH_PATHS", "/up")],
    );
    assert_eq!(json_lines(&out)[0]["health_noise"], true);
    let out = ecs_monitor(&["classify", "--json"], line, &[]);
    assert_eq!(json_lines(&out)[0]["category"], "http_5xx");
}

#[test]
fn invalid_utf8_and_huge_lines_never_panic() {
    let mut input = b"ERROR bad bytes \xff\xfe here\n".to_vec();
    input.extend(std::iter::repeat_n(b'a', 300 * 1024));
    input.extend_from_slice(b" panic: boom\n");
    input.extend(std::iter::repeat_n(b'x', 3 * 1024 * 1024));
    input.extend_from_slice(b"\nlast line\n");
    let out = ecs_monitor(&["classify", "--json"], &input, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objs = json_lines(&out);
    assert_eq!(objs.len(), 4);
    assert_eq!(objs[0]["category"], "error");
    assert_eq!(
        objs[1]["category"], "panic",
        "a 300 KB event is classified whole"
    );
    assert_eq!(objs[3]["line"], 4);
}
