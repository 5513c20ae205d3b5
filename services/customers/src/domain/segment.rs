//! Saved dynamic segments (CU13): a ListCustomers filter kept under a name. A segment stores
//! the filter's text, never its members: they are the live customers the filter matches
//! whenever they are asked for.

use rapport_runtime::clock::Micros;
use uuid::Uuid;

use super::{consent::Outgoing, names};

/// Longest display name of a segment.
pub const MAX_DISPLAY_NAME: usize = 200;
/// Longest description of a segment.
pub const MAX_DESCRIPTION: usize = 2000;
/// Most members in one batch of a stream: a batch is a few hundred kilobytes at most, well
/// under the message limit, and large enough that per-batch costs (a statement, a message)
/// stay a small share.
pub const MEMBERS_PER_BATCH: u32 = 1000;

/// What a client sets on a segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentFields {
    /// 1..200 characters.
    pub display_name: String,
    /// Up to 2000 characters.
    pub description: String,
    /// A ListCustomers filter, checked when it was set.
    pub filter: String,
}

/// A stored segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub id: Uuid,
    pub fields: SegmentFields,
    /// The subject who created it.
    pub creator: String,
    pub create_time: Micros,
    pub update_time: Micros,
    /// Set once deleted; a deleted segment is kept for reference and never changes again.
    pub delete_time: Option<Micros>,
    /// Incremented by every change; the etag is derived from it.
    pub version: i64,
}

impl Segment {
    /// `segments/{segment}`.
    pub fn resource_name(&self) -> String {
        names::segment_name(self.id)
    }

    /// Changes with every version.
    pub fn etag(&self) -> String {
        rapport_kit::names::etag(self.id.as_bytes(), self.version)
    }

    /// Whether the segment was deleted.
    pub fn is_deleted(&self) -> bool {
        self.delete_time.is_some()
    }

    /// The next version, changed at `now`.
    pub fn next_version(&self, now: Micros) -> Segment {
        Segment {
            update_time: now,
            version: self.version + 1,
            ..self.clone()
        }
    }
}

/// Whose members a count or a stream is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A saved segment's.
    Segment(Uuid),
    /// An ad-hoc filter's, as a segment with it would have them.
    Filter(String),
}

/// A StreamSegmentMembers request, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStream {
    pub source: Source,
    /// Start after this customer in id order; none: from the first.
    pub start_after: Option<Uuid>,
    /// The message each member is checked for, when the request named a channel.
    pub message: Option<Outgoing>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_has_its_own_etag() {
        let s = Segment {
            id: Uuid::now_v7(),
            fields: SegmentFields::default(),
            creator: "marketer-1".into(),
            create_time: 1,
            update_time: 1,
            delete_time: None,
            version: 1,
        };
        let next = s.next_version(5);
        assert_eq!(
            (next.version, next.update_time, next.create_time),
            (2, 5, 1)
        );
        assert_ne!(next.etag(), s.etag());
        assert_eq!(s.etag(), s.clone().etag());
        assert!(s.resource_name().starts_with("segments/"));
    }
}
