//! Diagnosis: CloudWatch log analysis and ECS evidence of restarts, into a report.

pub mod analyze;
pub mod cause;
pub mod change;
pub mod claims;
pub mod deployment;
pub mod fetch;
pub mod html;
pub mod logsource;
pub mod render;
pub mod report;
pub mod restarts;
pub mod run;
pub mod stoplog;
pub mod stops;
pub mod trigger;
