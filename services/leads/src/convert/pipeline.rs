//! Pipelines, opportunities and stage changes between proto and domain. Parsing collects every
//! bad field; output-only fields of requests are ignored.

use prost_types::Duration;
use rapport_kit::names;
use rapport_kit::validate::{full_date, money, money_to_proto};
use rapport_proto::{leads as pb, types as pt};
use rapport_runtime::{
    clock::{Micros, to_timestamp},
    validation::Violations,
};
use uuid::Uuid;

use crate::domain::{
    opportunity::{MAX_LOST_REASON, Money, Opportunity, StageChange, State, opportunity_name},
    pipeline::{self, PIPELINES, Pipeline, Stage, StageKind},
};
use rapport_kit::mask::Rules;

/// What UpdatePipeline's mask may name.
pub(crate) const PIPELINE_MASK: Rules = Rules {
    updatable: &["display_name", "stages"],
    immutable: &["name"],
    output_only: &["create_time", "update_time", "etag"],
    ..Rules::new("Pipeline")
};

/// What UpdateOpportunity's mask may name.
pub(crate) const OPPORTUNITY_MASK: Rules = Rules {
    updatable: &["display_name", "amount", "expected_close_date"],
    immutable: &["lead", "customer", "pipeline", "owner_id"],
    output_only: &[
        "name",
        "stage",
        "state",
        "team_id",
        "source",
        "stage_enter_time",
        "close_time",
        "lost_reason",
        "create_time",
        "update_time",
        "etag",
    ],
    ..Rules::new("Opportunity")
};

/// Longest subject (owner id) accepted, as tokens carry them.
const MAX_SUBJECT: usize = 128;

/// A duration of a request as microseconds; absent is zero, negative or huge is reported.
pub(crate) fn duration_from_proto(d: Option<&Duration>, field: &str, v: &mut Violations) -> Micros {
    let Some(d) = d else { return 0 };
    let micros = d
        .seconds
        .checked_mul(1_000_000)
        .and_then(|s| s.checked_add(i64::from(d.nanos) / 1000));
    match micros {
        Some(m) if m >= 0 => m,
        Some(_) => {
            v.add(field, "must not be negative");
            0
        }
        None => {
            v.add(field, "is out of range");
            0
        }
    }
}

/// A proto duration of microseconds.
pub(crate) fn duration_to_proto(micros: Micros) -> Duration {
    Duration {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
    }
}

fn optional_duration(micros: Micros) -> Option<Duration> {
    (micros != 0).then(|| duration_to_proto(micros))
}

fn stage_kind_from_proto(raw: i32, field: &str, v: &mut Violations) -> StageKind {
    match pb::StageKind::try_from(raw) {
        Ok(pb::StageKind::Unspecified | pb::StageKind::Open) => StageKind::Open,
        Ok(pb::StageKind::Won) => StageKind::Won,
        Ok(pb::StageKind::Lost) => StageKind::Lost,
        Err(_) => {
            v.add(field, format!("{raw} is not a StageKind"));
            StageKind::Open
        }
    }
}

fn stage_kind_to_proto(k: StageKind) -> pb::StageKind {
    match k {
        StageKind::Open => pb::StageKind::Open,
        StageKind::Won => pb::StageKind::Won,
        StageKind::Lost => pb::StageKind::Lost,
    }
}

/// The stages of a request, checked by the pipeline rules; fields under `stages[i]`.
pub(crate) fn parse_stages(stages: &[pb::Stage], v: &mut Violations) -> Vec<Stage> {
    let parsed: Vec<Stage> = stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            v.nested(format!("stages[{i}]"), |v| Stage {
                id: s.id.trim().to_owned(),
                display_name: s.display_name.clone(),
                win_probability: s.win_probability,
                normal_dwell: duration_from_proto(s.normal_dwell.as_ref(), "normal_dwell", v),
                escalation_dwell: duration_from_proto(
                    s.escalation_dwell.as_ref(),
                    "escalation_dwell",
                    v,
                ),
                kind: stage_kind_from_proto(s.kind, "kind", v),
            })
        })
        .collect();
    pipeline::check_stages(v, parsed)
}

/// The key of a `pipelines/{id}` name, reported on `field`.
pub(crate) fn pipeline_key(name: &str, field: &str, v: &mut Violations) -> String {
    match names::parse_key(PIPELINES, name) {
        Ok(k) => k.to_owned(),
        Err(e) => {
            v.add(field, e);
            String::new()
        }
    }
}

/// The proto of a pipeline.
pub(crate) fn pipeline_to_proto(p: &Pipeline) -> pb::Pipeline {
    // The built-in example was never stored: it has no times.
    let time = |t: Micros| (!p.is_builtin()).then(|| to_timestamp(t));
    pb::Pipeline {
        name: p.resource_name(),
        display_name: p.display_name.clone(),
        stages: p
            .stages
            .iter()
            .map(|s| pb::Stage {
                id: s.id.clone(),
                display_name: s.display_name.clone(),
                win_probability: s.win_probability,
                normal_dwell: optional_duration(s.normal_dwell),
                escalation_dwell: optional_duration(s.escalation_dwell),
                kind: stage_kind_to_proto(s.kind).into(),
            })
            .collect(),
        create_time: time(p.create_time),
        update_time: time(p.update_time),
        etag: p.etag(),
    }
}

fn date_to_proto(d: time::Date) -> pt::Date {
    pt::Date {
        year: d.year(),
        month: i32::from(u8::from(d.month())),
        day: i32::from(d.day()),
    }
}

/// The proto value of a stored lead source (`FORM`, …); unspecified when empty.
pub(crate) fn source_to_proto(source: &str) -> pb::LeadSource {
    pb::LeadSource::from_str_name(&format!("LEAD_SOURCE_{source}"))
        .filter(|_| !source.is_empty())
        .unwrap_or(pb::LeadSource::Unspecified)
}

fn state_to_proto(s: State) -> pb::OpportunityState {
    match s {
        State::Open => pb::OpportunityState::Open,
        State::Won => pb::OpportunityState::Won,
        State::Lost => pb::OpportunityState::Lost,
    }
}

/// The proto of an opportunity.
pub(crate) fn opportunity_to_proto(o: &Opportunity) -> pb::Opportunity {
    pb::Opportunity {
        name: o.resource_name(),
        display_name: o.display_name.clone(),
        lead: o
            .lead_id
            .map(|l| names::format_id("leads", l))
            .unwrap_or_default(),
        customer: o
            .customer_id
            .map(|c| names::format_id("customers", c))
            .unwrap_or_default(),
        pipeline: pipeline::pipeline_name(&o.pipeline_id),
        stage: o.stage.clone(),
        state: state_to_proto(o.state).into(),
        amount: o.amount.as_ref().map(money_to_proto),
        expected_close_date: o.expected_close.map(date_to_proto),
        owner_id: o.owner_id.clone(),
        team_id: o.team_id.clone(),
        source: source_to_proto(&o.source).into(),
        stage_enter_time: Some(to_timestamp(o.stage_enter_time)),
        close_time: o.close_time.map(to_timestamp),
        lost_reason: o.lost_reason.clone(),
        create_time: Some(to_timestamp(o.create_time)),
        update_time: Some(to_timestamp(o.update_time)),
        etag: o.etag(),
    }
}

/// The proto of a stage change.
pub(crate) fn stage_change_to_proto(c: &StageChange) -> pb::StageChange {
    pb::StageChange {
        name: c.resource_name(),
        from_stage: c.from_stage.clone(),
        to_stage: c.to_stage.clone(),
        dwell: Some(duration_to_proto(c.dwell)),
        actor: c.actor.clone(),
        create_time: Some(to_timestamp(c.create_time)),
    }
}

/// What CreateOpportunity asks for; the owner is empty when the caller left it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpportunityDraft {
    pub display_name: String,
    pub lead_id: Option<Uuid>,
    /// `customers/{id}` or empty.
    pub customer: String,
    pub pipeline_id: String,
    pub amount: Option<Money>,
    pub expected_close: Option<time::Date>,
    pub owner_id: String,
}

/// Parses the opportunity of CreateOpportunity; fields relative to `v`'s prefix.
pub(crate) fn parse_draft(o: &pb::Opportunity, v: &mut Violations) -> OpportunityDraft {
    let id_of = |v: &mut Violations, field: &str, collection: &str, raw: &str| {
        if raw.is_empty() {
            return None;
        }
        names::parse_id(collection, raw)
            .map_err(|e| v.add(field, e))
            .ok()
    };
    let lead_id = id_of(v, "lead", "leads", &o.lead);
    let customer = id_of(v, "customer", "customers", &o.customer)
        .map(|c| names::format_id("customers", c))
        .unwrap_or_default();
    let owner_id = o.owner_id.trim().to_owned();
    let n = owner_id.chars().count();
    if n > MAX_SUBJECT {
        v.add(
            "owner_id",
            format!("must be at most {MAX_SUBJECT} characters, got {n}"),
        );
    } else if owner_id.chars().any(|c| c.is_control() || c == '/') {
        v.add("owner_id", "must not contain \"/\" or control characters");
    }
    OpportunityDraft {
        display_name: pipeline::display_name(v, "display_name", &o.display_name),
        lead_id,
        customer,
        pipeline_id: pipeline_key(&o.pipeline, "pipeline", v),
        amount: money(v, "amount", o.amount.as_ref()),
        expected_close: full_date(v, "expected_close_date", o.expected_close_date.as_ref()),
        owner_id,
    }
}

/// The changes of UpdateOpportunity: for each selected field, its new value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OpportunityPatch {
    display_name: Option<String>,
    amount: Option<Option<Money>>,
    expected_close: Option<Option<time::Date>>,
}

impl OpportunityPatch {
    /// Reads the `fields` selected by the mask from `patch`; bad values are reported under
    /// `opportunity`.
    pub(crate) fn parse(patch: &pb::Opportunity, fields: &[&str], v: &mut Violations) -> Self {
        let mut out = OpportunityPatch::default();
        v.nested("opportunity", |v| {
            for field in fields {
                match *field {
                    "display_name" => {
                        out.display_name = Some(pipeline::display_name(
                            v,
                            "display_name",
                            &patch.display_name,
                        ))
                    }
                    "amount" => out.amount = Some(money(v, "amount", patch.amount.as_ref())),
                    "expected_close_date" => {
                        out.expected_close = Some(full_date(
                            v,
                            "expected_close_date",
                            patch.expected_close_date.as_ref(),
                        ))
                    }
                    _ => {}
                }
            }
        });
        out
    }

    /// `o` with the changes applied.
    pub(crate) fn apply(&self, o: &Opportunity) -> Opportunity {
        let mut out = o.clone();
        if let Some(name) = &self.display_name {
            out.display_name.clone_from(name);
        }
        if let Some(amount) = &self.amount {
            out.amount.clone_from(amount);
        }
        if let Some(date) = self.expected_close {
            out.expected_close = date;
        }
        out
    }
}

/// Checks a lost reason against the stage moved to: required for LOST, refused otherwise.
pub(crate) fn check_lost_reason(kind: StageKind, reason: &str, v: &mut Violations) {
    let n = reason.chars().count();
    match kind {
        StageKind::Lost if reason.trim().is_empty() => {
            v.add("lost_reason", "is required when moving to a LOST stage")
        }
        StageKind::Lost if n > MAX_LOST_REASON => v.add(
            "lost_reason",
            format!("must be at most {MAX_LOST_REASON} characters, got {n}"),
        ),
        StageKind::Lost => {}
        _ if !reason.is_empty() => v.add("lost_reason", "is only for moves to a LOST stage"),
        _ => {}
    }
}

/// `opportunities/{id}` of a request, reported on `field`.
pub(crate) fn opportunity_id(name: &str, field: &str, v: &mut Violations) -> Option<Uuid> {
    names::parse_id(crate::domain::opportunity::OPPORTUNITIES, name)
        .map_err(|e| v.add(field, e))
        .ok()
}

/// The name of an opportunity, for messages.
pub(crate) fn name_of(id: Uuid) -> String {
    opportunity_name(id)
}

pub(crate) use rapport_kit::validate::optional_time;

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: Violations) -> Vec<String> {
        v.into_vec().into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn durations_round_trip_and_refuse_negatives() {
        let mut v = Violations::new();
        let d = duration_to_proto(3 * 86_400_000_000 + 5);
        assert_eq!(
            duration_from_proto(Some(&d), "d", &mut v),
            3 * 86_400_000_000 + 5
        );
        let neg = Duration {
            seconds: -1,
            nanos: 0,
        };
        duration_from_proto(Some(&neg), "neg", &mut v);
        let huge = Duration {
            seconds: i64::MAX,
            nanos: 0,
        };
        duration_from_proto(Some(&huge), "huge", &mut v);
        assert_eq!(fields(v), ["neg", "huge"]);
    }

    #[test]
    fn drafts_name_every_bad_field() {
        let mut v = Violations::with_prefix("opportunity");
        let bad = pb::Opportunity {
            lead: "leads/x".into(),
            customer: "people/1".into(),
            pipeline: "pipelines/Bad".into(),
            amount: Some(pt::Money {
                currency_code: "cny".into(),
                minor_units: -1,
            }),
            expected_close_date: Some(pt::Date {
                year: 2024,
                month: 2,
                day: 30,
            }),
            owner_id: "a/b".into(),
            ..Default::default()
        };
        parse_draft(&bad, &mut v);
        assert_eq!(
            fields(v),
            [
                "opportunity.lead",
                "opportunity.customer",
                "opportunity.owner_id",
                "opportunity.display_name",
                "opportunity.pipeline",
                "opportunity.amount.currency_code",
                "opportunity.amount.minor_units",
                "opportunity.expected_close_date",
            ]
        );
    }

    #[test]
    fn sources_map_to_the_proto_enum() {
        assert_eq!(source_to_proto("WALK_IN"), pb::LeadSource::WalkIn);
        assert_eq!(source_to_proto(""), pb::LeadSource::Unspecified);
        assert_eq!(source_to_proto("NOPE"), pb::LeadSource::Unspecified);
    }

    #[test]
    fn lost_reasons_follow_the_stage() {
        let mut v = Violations::new();
        check_lost_reason(StageKind::Lost, "", &mut v);
        check_lost_reason(StageKind::Open, "why", &mut v);
        check_lost_reason(StageKind::Lost, &"x".repeat(501), &mut v);
        check_lost_reason(StageKind::Lost, "price", &mut v);
        check_lost_reason(StageKind::Won, "", &mut v);
        assert_eq!(fields(v).len(), 3);
    }
}
