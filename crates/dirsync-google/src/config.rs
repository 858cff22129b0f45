//! Plain configuration values: retry policy and mapping choices. All have sensible defaults.

use std::time::Duration;

/// How failed API calls are retried (see [`crate::retry::decide`]).
///
/// The defaults follow Google's documented backoff (reference §4.4): waits of 1, 2, 4, 8, 16 s
/// plus up to 1 s of random jitter each, capped at 32 s, at most 5 retries per call, and at
/// most 10 minutes of waiting per fetch or apply. Start from [`RetryConfig::default`],
/// [`RetryConfig::none`] or [`RetryConfig::immediate`] and change it with the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Retries after the first attempt; `0` disables retries.
    pub max_retries: u32,
    /// The first wait; each further wait doubles.
    pub base_delay: Duration,
    /// No single wait (before jitter) is longer than this.
    pub max_delay: Duration,
    /// Up to this much random time is added to each wait (Google: "≤ 1000 ms").
    pub max_jitter: Duration,
    /// The total time one fetch or one apply may spend waiting to retry (API calls and token
    /// requests alike): a retry that would end past it is not made, and the call fails.
    pub budget: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(32),
            max_jitter: Duration::from_secs(1),
            budget: Duration::from_secs(10 * 60),
        }
    }
}

impl RetryConfig {
    /// No retries at all (every failure is final).
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Short waits for tests: `max_retries` retries of 1 ms, no jitter.
    pub fn immediate(max_retries: u32) -> Self {
        Self {
            max_retries,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            max_jitter: Duration::ZERO,
            ..Self::default()
        }
    }

    /// At most `max_retries` retries after the first attempt.
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Waits start at `base` and double up to `max` (before jitter).
    pub fn with_delays(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max;
        self
    }

    /// Up to `max_jitter` of random time added to each wait.
    pub fn with_max_jitter(mut self, max_jitter: Duration) -> Self {
        self.max_jitter = max_jitter;
        self
    }

    /// At most `budget` of waiting between retries per fetch or apply.
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }
}

/// Where a user's employment type (employee or contractor) is read from.
///
/// The value found is matched case-insensitively: `employee` → employee, `contractor` →
/// contractor; anything else (e.g. `Full-time`) maps to no employment type, and the raw text is
/// still kept in the user's attributes as `employeeType`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EmploymentTypeSource {
    /// `organizations[primary].description` ("Type of employee" in the Admin console). The
    /// default.
    #[default]
    OrganizationDescription,
    /// `organizations[primary].customType`.
    OrganizationCustomType,
    /// A custom-schema field: `customSchemas.<schema>.<field>` (needs `projection=full`).
    CustomSchema {
        /// The schema name.
        schema: String,
        /// The field name.
        field: String,
    },
    /// Never set an employment type.
    Disabled,
}

/// How Google records are mapped to `dirsync-core` types. Start from
/// [`MappingConfig::default`] and change it with the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MappingConfig {
    /// Where the employment type comes from.
    pub employment_type: EmploymentTypeSource,
    /// Whether custom schemas are requested (`projection=full`) and copied into attributes.
    pub custom_schemas: bool,
}

impl Default for MappingConfig {
    fn default() -> Self {
        Self {
            employment_type: EmploymentTypeSource::default(),
            custom_schemas: true,
        }
    }
}

impl MappingConfig {
    /// Where the employment type comes from.
    pub fn with_employment_type(mut self, source: EmploymentTypeSource) -> Self {
        self.employment_type = source;
        self
    }

    /// Whether custom schemas are requested and copied into attributes.
    pub fn with_custom_schemas(mut self, custom_schemas: bool) -> Self {
        self.custom_schemas = custom_schemas;
        self
    }
}
