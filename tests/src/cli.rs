//! The `ecs-monitor` binary as users run it, pointed at a moto.

use crate::moto::Moto;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The `ecs-monitor` binary. `cargo test --workspace` builds it (the CLI tests of the
/// `ecs-monitor` package need it); when only this package is tested it is built here once.
pub fn bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test's path");
        let bin = exe
            .parent()
            .and_then(|d| d.parent())
            .expect("target dir")
            .join("ecs-monitor");
        if !bin.exists() {
            let status = Command::new(env!("CARGO"))
                .args(["build", "-q", "-p", "ecs-monitor", "--bin", "ecs-monitor"])
                .status()
                .expect("cargo build");
            assert!(status.success());
        }
        bin
    })
    .clone()
}

/// Runs `ecs-monitor ARGS` with only PATH, the moto variables and `vars` in its
/// environment; returns (exit code, stdout, stderr).
pub fn run(moto: &Moto, args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("ecs-monitor runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
