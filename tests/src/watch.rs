//! A function of this workspace under `cargo lambda watch` (the Lambda invoke API on
//! 127.0.0.1), with exactly the environment a test gives it, stopped on drop.

use crate::moto::{free_port, root};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What cargo needs to build and run the function; nothing else of the test's environment.
const BUILD_ENV: &[&str] = &[
    "HOME",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "CARGO_TARGET_DIR",
    "TMPDIR",
    "LANG",
];

pub struct Watch {
    child: Child,
    /// `http://127.0.0.1:PORT`: the Lambda endpoint (`AWS_ENDPOINT_URL_LAMBDA`).
    pub endpoint: String,
}

impl Watch {
    /// Starts `cargo lambda watch` with `env` (plus what cargo needs) and waits until it
    /// listens. Its log goes to `target/watch-<port>.log`.
    pub fn start(env: &[(&str, String)]) -> Self {
        let port = free_port();
        let bin = root().join(".venv/bin");
        assert!(
            bin.join("cargo-lambda").exists(),
            "cargo-lambda is missing: run `make test` (it installs tests/requirements-build.txt)"
        );
        let log = std::fs::File::create(root().join(format!("target/watch-{port}.log")))
            .expect("the watch log");
        let mut cmd = Command::new("cargo");
        cmd.args([
            "lambda",
            "watch",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
        ])
        .arg(port.to_string())
        .current_dir(root())
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log));
        for k in BUILD_ENV {
            if let Ok(v) = std::env::var(k) {
                cmd.env(k, v);
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("cargo lambda watch starts");
        let deadline = Instant::now() + Duration::from_secs(120);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "cargo lambda watch did not listen in 120 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // cargo lambda runs the function as its child: stop the whole group.
        let _ = Command::new("pkill")
            .args(["-TERM", "-P", &self.child.id().to_string()])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
