//! How an owner change came about, as stored in the assignment history.

/// Every kind, as stored.
pub const ALL: [&str; 10] = [
    ROUND_ROBIN,
    WEIGHTED,
    LEAST_LOADED,
    RULE,
    SKILLS_MATCH,
    MANUAL,
    CLAIM,
    RELEASE,
    RECLAIM,
    HANDOVER,
];

pub const ROUND_ROBIN: &str = "ROUND_ROBIN";
pub const WEIGHTED: &str = "WEIGHTED";
pub const LEAST_LOADED: &str = "LEAST_LOADED";
pub const RULE: &str = "RULE";
pub const SKILLS_MATCH: &str = "SKILLS_MATCH";
pub const MANUAL: &str = "MANUAL";
pub const CLAIM: &str = "CLAIM";
pub const RELEASE: &str = "RELEASE";
pub const RECLAIM: &str = "RECLAIM";
pub const HANDOVER: &str = "HANDOVER";

/// The stored kind equal to `s`.
pub fn parse(s: &str) -> Option<&'static str> {
    ALL.into_iter().find(|k| *k == s)
}
