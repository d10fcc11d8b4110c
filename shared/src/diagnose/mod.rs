//! Diagnosis: CloudWatch log analysis and ECS evidence of restarts, into a report.

pub mod redact;
pub mod analyze;
pub mod report;
