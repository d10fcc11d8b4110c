//! moto in server mode on a free loopback port, through `tests/moto_harness.py` (run with the
//! project's `.venv`, which `make test` creates from `tests/requirements.txt`).

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

pub struct Moto {
    pub endpoint: String,
    child: Child,
    io: Mutex<(ChildStdin, BufReader<ChildStdout>)>,
}

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The project venv's python (`make venv` creates it).
pub fn venv_python() -> PathBuf {
    let py = root().join(".venv/bin/python");
    assert!(
        py.exists(),
        "{} is missing: run `make venv` (make test does) to install tests/requirements.txt",
        py.display()
    );
    py
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Moto {
    /// Starts moto and waits until it answers.
    pub fn start() -> Self {
        let port = free_port();
        let mut child = Command::new(venv_python())
            .arg(root().join("tests/moto_harness.py"))
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the moto harness");
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("harness output");
        assert!(
            line.contains("\"ready\""),
            "moto harness did not start: {line:?}"
        );
        Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
            io: Mutex::new((stdin, stdout)),
        }
    }

    /// One boto3 call: `call("ecs", "create_cluster", json!({"clusterName": "prod"}))`.
    pub fn call(&self, service: &str, method: &str, args: Value) -> Result<Value, String> {
        self.call_in(None, "us-east-1", service, method, args)
    }

    /// A call in `region` as `account` (none: the default 123456789012), through an
    /// AssumeRole of a role there: moto keeps a backend per account and region.
    pub fn call_in(
        &self,
        account: Option<&str>,
        region: &str,
        service: &str,
        method: &str,
        args: Value,
    ) -> Result<Value, String> {
        let mut io = self.io.lock().expect("harness lock");
        let req = json!({"service": service, "method": method, "args": args, "region": region, "account": account});
        writeln!(io.0, "{req}").map_err(|e| e.to_string())?;
        io.0.flush().map_err(|e| e.to_string())?;
        let mut line = String::new();
        io.1.read_line(&mut line).map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_str(&line).map_err(|e| format!("{e}: {line}"))?;
        match (v.get("ok"), v.get("error")) {
            (Some(ok), _) => Ok(ok.clone()),
            (_, Some(err)) => Err(err.as_str().unwrap_or_default().to_string()),
            _ => Err(format!("unexpected harness answer {line}")),
        }
    }

    /// `call_in` that must succeed.
    pub fn ok_in(
        &self,
        account: Option<&str>,
        region: &str,
        service: &str,
        method: &str,
        args: Value,
    ) -> Value {
        self.call_in(account, region, service, method, args)
            .unwrap_or_else(|e| panic!("{service}.{method} in {account:?}/{region} failed: {e}"))
    }

    /// `call` that must succeed.
    pub fn ok(&self, service: &str, method: &str, args: Value) -> Value {
        self.call(service, method, args)
            .unwrap_or_else(|e| panic!("{service}.{method} failed: {e}"))
    }

    /// Environment for a process that should talk to this moto.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// An SDK configuration for this moto, as the production code builds one from `env()`.
    pub async fn sdk(&self) -> aws_config::SdkConfig {
        sdk_at(&self.endpoint).await
    }
}

/// An SDK configuration for the AWS at `endpoint` (moto, or a proxy in front of it), from
/// the production loader (its retry policy included), as the test's administrator.
pub async fn sdk_at(endpoint: &str) -> aws_config::SdkConfig {
    sdk_as(endpoint, "test").await
}

/// The same, with the credentials of `principal`: a function of template.yaml
/// (`HealthCheckFunction`, `DiagnoseFunction`) is held to its policy by the strict layer.
pub async fn sdk_as(endpoint: &str, principal: &str) -> aws_config::SdkConfig {
    ecs_monitor::aws::sdk_loader("us-east-1")
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            principal, "test", None, None, "moto",
        ))
        .load()
        .await
}

/// The functions of template.yaml, as the strict layer knows their credentials.
pub const HEALTH_CHECK: &str = "HealthCheckFunction";
pub const DIAGNOSE: &str = "DiagnoseFunction";
pub const NOTIFIER: &str = "NotifierFunction";

impl Moto {
    /// Holds the functions' credentials to their policies in template.yaml, deployed with
    /// `parameters` (the others at their defaults) and these physical resources
    /// (`{"StateBucket": "b", "AlertTopic": "arn:…"}`).
    pub fn strict(&self, parameters: Value, physical: Value) {
        self.ok(
            "harness",
            "strict",
            json!({"parameters": parameters, "physical": physical}),
        );
    }

    /// The same, with S3 deciding 404-or-403 for a missing key without weighing a prefix
    /// condition (AWS does not document which it does): a prefix-limited ListBucket then
    /// gives 403.
    pub fn strict_without_prefix_on_missing_keys(&self, parameters: Value, physical: Value) {
        self.ok(
            "harness",
            "strict",
            json!({"parameters": parameters, "physical": physical, "missing_key_prefix": false}),
        );
    }

    /// The calls the strict layer denied so far.
    pub fn denials(&self) -> Vec<Value> {
        let report = self.ok("harness", "strict_report", json!({}));
        // A report without its list must not read as "nothing denied".
        report["denials"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("strict_report without denials: {report}"))
    }

    /// Fails the test, listing them, if the strict layer denied any call: the template's
    /// policies must grant every call the functions made.
    #[track_caller]
    pub fn assert_no_denials(&self) {
        assert_eq!(
            self.denials(),
            Vec::<Value>::new(),
            "the template grants every call"
        );
    }

    /// Requests made so far with any credentials but the harness's own, by operation
    /// (`ecs:ListServices`, `s3:PUT`, `sts:AssumeRole`, …).
    pub fn calls(&self) -> std::collections::BTreeMap<String, u64> {
        let report = self.ok("harness", "strict_report", json!({}));
        // As with denials: "no call" must come from the report, not from its absence.
        serde_json::from_value(report["calls"].clone())
            .unwrap_or_else(|e| panic!("strict_report without calls ({e}): {report}"))
    }

    /// What a function under `cargo lambda watch` needs to reach this moto as `principal`
    /// (held to its policy by the strict layer), with its logs at info.
    pub fn function_env(&self, principal: &str) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", principal.to_string()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
            ("RUST_LOG", "info".to_string()),
        ]
    }

    /// An SDK configuration for this moto with a function's credentials.
    pub async fn sdk_as(&self, principal: &str) -> aws_config::SdkConfig {
        sdk_as(&self.endpoint, principal).await
    }
}

impl Moto {
    /// Registers a task definition for `service` (family = its name) whose one container `app`
    /// sends its logs to `/ecs/<service>` with stream prefix `ecs` (so a task's stream is
    /// `ecs/app/<task id>`), and creates the service (EC2 launch type) on it.
    pub fn service_with_logs(&self, cluster: &str, service: &str, desired: i32) {
        self.service_with_logs_and(cluster, service, desired, json!({}));
    }

    /// The same, with `extra` CreateService arguments (tags for the harness, load balancers).
    pub fn service_with_logs_and(&self, cluster: &str, service: &str, desired: i32, extra: Value) {
        self.ok(
            "ecs",
            "register_task_definition",
            serde_json::json!({"family": service, "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128,
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": format!("/ecs/{service}"),
                    "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}}}]}),
        );
        let mut args = serde_json::json!({"cluster": cluster, "serviceName": service, "taskDefinition": service,
            "desiredCount": desired, "launchType": "EC2"});
        if let (Some(args), Some(extra)) = (args.as_object_mut(), extra.as_object()) {
            args.extend(extra.clone());
        }
        self.ok("ecs", "create_service", args);
    }

    /// Creates the SQS queue `name` and subscribes it to `topic_arn`; returns the queue URL.
    pub fn subscribe_queue(&self, topic_arn: &str, name: &str) -> String {
        let url = self.ok("sqs", "create_queue", json!({"QueueName": name}))["QueueUrl"]
            .as_str()
            .expect("queue URL")
            .to_string();
        let attrs = self.ok(
            "sqs",
            "get_queue_attributes",
            json!({"QueueUrl": url, "AttributeNames": ["QueueArn"]}),
        );
        self.ok(
            "sns",
            "subscribe",
            json!({"TopicArn": topic_arn, "Protocol": "sqs", "Endpoint": attrs["Attributes"]["QueueArn"]}),
        );
        url
    }

    /// Messages waiting in an SQS queue (removed), as SNS delivered them.
    pub fn drain_queue(&self, queue_url: &str) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let r = self.ok(
                "sqs",
                "receive_message",
                json!({"QueueUrl": queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0}),
            );
            let msgs = r
                .get("Messages")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if msgs.is_empty() {
                return out;
            }
            for m in msgs {
                self.ok(
                    "sqs",
                    "delete_message",
                    json!({"QueueUrl": queue_url, "ReceiptHandle": m["ReceiptHandle"]}),
                );
                let body: Value =
                    serde_json::from_str(m["Body"].as_str().unwrap_or("{}")).unwrap_or_default();
                out.push(body);
            }
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Closing stdin ends the harness; kill in case it hangs.
        if let Ok(mut io) = self.io.lock() {
            let _ = io.0.flush();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
