//! `ecs-monitor`: the checks and analyses of the Lambdas, from a laptop.

use clap::{Parser, Subcommand};
use ecs_monitor::classify::Classifier;
use ecs_monitor::cli::{self, CliError, exit};
use ecs_monitor::config::{ClassifierConfig, ProcessEnv};
use ecs_monitor::health::Overall;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ecs-monitor",
    version,
    about = "Health monitoring and log analysis for AWS ECS services"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Classify log lines (files, or standard input): error categories, health-check noise,
    /// HTTP statuses and fingerprints. Honours ECS_HEALTH_PATHS.
    Classify {
        /// One JSON object per input line instead of a summary.
        #[arg(long)]
        json: bool,
        /// How many error fingerprints the summary lists.
        #[arg(long, default_value_t = 10, value_name = "N")]
        top: usize,
        /// Log files to read; standard input when none (or "-").
        files: Vec<PathBuf>,
    },
    /// Analyse the services' CloudWatch logs (the log groups of each service's task
    /// definition, or ECS_LOG_PATTERN). Exit 0 no issues, 1 issues found, 2 error.
    Logs {
        #[arg(value_enum)]
        command: cli::logs::Command,
        /// A service name, or "all" (the configured services, or every service).
        #[arg(default_value = "all")]
        service: String,
        /// Window length in minutes.
        #[arg(long, default_value_t = 60)]
        minutes: u32,
        #[arg(long)]
        json: bool,
        /// Events per service: printed by pull (default 200), analysed by the others
        /// (default DIAGNOSE_EVENT_LIMIT, 100000).
        #[arg(long)]
        limit: Option<u64>,
        /// Whole samples (errors).
        #[arg(long)]
        verbose: bool,
        /// CloudWatch filter pattern (pull).
        #[arg(long, value_name = "PATTERN")]
        filter: Option<String>,
    },
    /// Check the cluster: ECS services, their ALB target groups, HTTP endpoints and TLS
    /// certificates. Writes ECS_HEALTH_STATE; alerts through ALERT_TOPIC_ARN when set.
    /// Exit 0 healthy, 1 degraded or unhealthy, 2 error.
    Health {
        /// Print the state JSON instead of the report.
        #[arg(long)]
        json: bool,
        /// Print nothing; only write the state file.
        #[arg(long)]
        quiet: bool,
    },
    /// Hold the health check's alerts about the whole cluster, or some services, for a
    /// while (a maintenance): the state is still recorded, and one summary tells what was
    /// held when the silence ends. Kept in the state bucket (STATE_BUCKET, STATE_PREFIX),
    /// else beside ECS_HEALTH_STATE. Exit 0 done, 2 error.
    Silence {
        /// How long: 2h, 90m, 1h30m, 1d (at most 14 days).
        #[arg(required_unless_present_any = ["list", "end"])]
        length: Option<String>,
        /// The services to silence; none: the whole cluster.
        services: Vec<String>,
        /// Why (shown in the state, the list and the summary).
        #[arg(long, required_unless_present_any = ["list", "end"])]
        reason: Option<String>,
        /// List the silences set and the maintenance windows configured.
        #[arg(long, conflicts_with_all = ["length", "end", "reason"])]
        list: bool,
        /// End the silence with this id now.
        #[arg(long, value_name = "ID", conflicts_with_all = ["length", "reason"])]
        end: Option<String>,
    },
    /// Print where to look at the status page: a presigned URL of the page in the state
    /// bucket (STATE_BUCKET; the bucket stays private) and of the newest report pages, else
    /// the page beside ECS_HEALTH_STATE. Exit 0 done, 2 error.
    Status {
        /// Open the page in the default browser too.
        #[arg(long)]
        open: bool,
        /// How long the URLs stay valid, in minutes (at most 7 days: 10080).
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=10_080))]
        expires: u64,
    },
}

fn classify(json: bool, top: usize, files: Vec<PathBuf>) -> Result<(), CliError> {
    let config = ClassifierConfig::from_env(&ProcessEnv)?;
    let classifier = Classifier::new(config.health_paths);
    // Open every file first, so a bad name fails before any output.
    let mut inputs: Vec<cli::classify::Input<Box<dyn BufRead>>> = Vec::new();
    if files.is_empty() {
        inputs.push(cli::classify::Input {
            name: "standard input".into(),
            reader: Box::new(io::stdin().lock()),
        });
    }
    for path in files {
        let name = path.display().to_string();
        let reader: Box<dyn BufRead> = if name == "-" {
            Box::new(io::stdin().lock())
        } else {
            let file = File::open(&path).map_err(|source| CliError::Read {
                name: name.clone(),
                source,
            })?;
            Box::new(BufReader::with_capacity(256 * 1024, file))
        };
        inputs.push(cli::classify::Input { name, reader });
    }
    let mut out = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let opts = cli::classify::Options { json, top };
    cli::classify::run(&classifier, inputs, &opts, &mut out).map(|_| ())
}

fn health(json: bool, quiet: bool) -> Result<u8, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            CliError::Write(io::Error::other(format!(
                "cannot start the async runtime: {e}"
            )))
        })?;
    let opts = cli::health::Options { json, quiet };
    let mut out = io::stdout().lock();
    let overall = runtime.block_on(cli::health::run(&ProcessEnv, &opts, &mut out))?;
    Ok(if overall == Overall::Healthy {
        exit::OK
    } else {
        exit::ISSUES
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            CliError::Write(io::Error::other(format!(
                "cannot start the async runtime: {e}"
            )))
        })
}

fn logs(opts: cli::logs::Options) -> Result<u8, CliError> {
    let mut out = io::stdout().lock();
    let issues = runtime()?.block_on(cli::logs::run(&ProcessEnv, &opts, &mut out))?;
    Ok(if issues { exit::ISSUES } else { exit::OK })
}

fn silence(action: cli::silence::Action) -> Result<u8, CliError> {
    let mut out = io::stdout().lock();
    runtime()?.block_on(cli::silence::run(&ProcessEnv, &action, &mut out))?;
    Ok(exit::OK)
}

fn status(open: bool, expires: u64) -> Result<u8, CliError> {
    let mut out = io::stdout().lock();
    let opts = cli::status::Options {
        open,
        expires: std::time::Duration::from_secs(expires * 60),
    };
    runtime()?.block_on(cli::status::run(&ProcessEnv, &opts, &mut out))?;
    Ok(exit::OK)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Command::Classify { json, top, files } => classify(json, top, files).map(|()| exit::OK),
        Command::Health { json, quiet } => health(json, quiet),
        Command::Status { open, expires } => status(open, expires),
        Command::Silence {
            length,
            services,
            reason,
            list,
            end,
        } => silence(match (list, end, length) {
            (true, _, _) => cli::silence::Action::List,
            (_, Some(id), _) => cli::silence::Action::End { id },
            (_, None, length) => cli::silence::Action::Add {
                length: length.unwrap_or_default(),
                services,
                reason: reason.unwrap_or_default(),
            },
        }),
        Command::Logs {
            command,
            service,
            minutes,
            json,
            limit,
            verbose,
            filter,
        } => logs(cli::logs::Options {
            command,
            target: service,
            minutes,
            json,
            limit,
            verbose,
            filter,
        }),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.is_broken_pipe() => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("ecs-monitor: {e}");
            ExitCode::from(exit::ERROR)
        }
    }
}
