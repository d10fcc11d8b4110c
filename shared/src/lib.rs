//! ecs-monitor: health monitoring and CloudWatch log analysis for AWS ECS services.
//!
//! The library behind the `health-check` and `diagnose` Lambdas and the `ecs-monitor` CLI.
//! Domain logic here is pure: it takes time as a parameter and never sees Lambda or SDK types.

pub mod app;
pub mod aws;
pub mod classify;
pub mod cli;
pub mod config;
pub mod diagnose;
pub mod health;
pub mod links;
pub mod metrics;
pub mod notifier;
pub mod notify;
pub mod ports;
pub mod redact;
pub mod silence;
pub mod status;
pub mod timefmt;

/// The version of ecs-monitor, as the crate was built.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
