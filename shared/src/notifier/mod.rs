//! The notifier: each machine message of the alert topic delivered to the destinations of
//! `NOTIFY_DESTINATIONS` (PagerDuty, Slack, Microsoft Teams, generic webhooks) in the payload
//! each expects.

pub mod payload;
