//! The health check: model, pure evaluation and alerting; probes and AWS access live beside.

pub mod alert;
pub mod evaluate;
pub mod group;
pub mod hold;
pub mod model;
pub mod probe;
pub mod report;
pub mod run;
pub mod trigger;

pub use evaluate::{Context, evaluate};
pub use model::*;

#[cfg(test)]
mod tests;
