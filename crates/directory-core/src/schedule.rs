//! TEMPORARY stand-in, replaced by the schedule module.
#![allow(missing_docs)]
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Schedule {
    Manual,
    Daily { at: TimeOfDay },
}
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeOfDay {
    h: u32,
    m: u32,
}
impl TimeOfDay {
    pub fn utc(h: u32, m: u32) -> Result<Self, crate::Error> {
        Ok(Self { h, m })
    }
}
impl Schedule {
    pub fn daily(at: TimeOfDay) -> Self {
        Self::Daily { at }
    }
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Manual => None,
            Self::Daily { .. } => Some(after + chrono::Duration::days(1)),
        }
    }
}
