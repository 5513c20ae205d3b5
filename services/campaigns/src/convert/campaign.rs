//! Campaigns, their costs and members: parsing what a caller sends and building answers and
//! event payloads.

use prost::UnknownEnumValue;
use rapport_kit::{
    enums::{read, write},
    mask::Rules,
    names, validate,
};
use rapport_proto::campaigns as pb;
use rapport_runtime::{
    clock::{Micros, to_timestamp},
    validation::Violations,
};

use crate::domain::{
    campaign::{Campaign, Cost, Refusal, State, Type},
    member::{Member, Response, Standing},
};

const TYPES: [(pb::CampaignType, Type); 10] = [
    (pb::CampaignType::StoreOpening, Type::StoreOpening),
    (pb::CampaignType::Anniversary, Type::Anniversary),
    (pb::CampaignType::HolidayPromotion, Type::HolidayPromotion),
    (pb::CampaignType::ProductPromotion, Type::ProductPromotion),
    (pb::CampaignType::Lottery, Type::Lottery),
    (pb::CampaignType::Advertising, Type::Advertising),
    (pb::CampaignType::DirectMail, Type::DirectMail),
    (pb::CampaignType::Edm, Type::Edm),
    (pb::CampaignType::ShowRoom, Type::ShowRoom),
    (pb::CampaignType::MemberClubEvent, Type::MemberClubEvent),
];

const STATES: [(pb::CampaignState, State); 7] = [
    (pb::CampaignState::Draft, State::Draft),
    (pb::CampaignState::PendingApproval, State::PendingApproval),
    (pb::CampaignState::Approved, State::Approved),
    (pb::CampaignState::Rejected, State::Rejected),
    (pb::CampaignState::Running, State::Running),
    (pb::CampaignState::Completed, State::Completed),
    (pb::CampaignState::Cancelled, State::Cancelled),
];

const STANDINGS: [(pb::MemberState, Standing); 4] = [
    (pb::MemberState::Invited, Standing::Invited),
    (pb::MemberState::Accepted, Standing::Accepted),
    (pb::MemberState::Declined, Standing::Declined),
    (pb::MemberState::Attended, Standing::Attended),
];

const RESPONSES: [(pb::MemberResponse, Response); 2] = [
    (pb::MemberResponse::Accepted, Response::Accepted),
    (pb::MemberResponse::Declined, Response::Declined),
];

/// A campaign type from its proto number.
pub fn campaign_type(raw: i32) -> Result<Option<Type>, UnknownEnumValue> {
    read(&TYPES, raw)
}

/// A campaign state from its proto number.
pub fn campaign_state(raw: i32) -> Result<Option<State>, UnknownEnumValue> {
    read(&STATES, raw)
}

/// A member state from its proto number.
pub fn member_state(raw: i32) -> Result<Option<Standing>, UnknownEnumValue> {
    read(&STANDINGS, raw)
}

/// A member's answer from its proto number.
pub fn member_response(raw: i32) -> Result<Option<Response>, UnknownEnumValue> {
    read(&RESPONSES, raw)
}

/// What UpdateCampaign accepts.
pub const CAMPAIGN_MASK: Rules = Rules {
    updatable: &[
        "display_name",
        "type",
        "description",
        "owner_id",
        "team_id",
        "store",
        "start_time",
        "end_time",
        "budget",
    ],
    immutable: &["name"],
    explained: &[
        (
            "state",
            "changes through SubmitCampaign, ApproveCampaign, RejectCampaign, StartCampaign, \
             CompleteCampaign and CancelCampaign",
        ),
        ("cost", "grows with RecordCampaignCost"),
        ("results", "are kept as members are invited and answer"),
    ],
    output_only: &[
        "over_budget",
        "state_reason",
        "state_change_time",
        "creator",
        "approved_by",
        "approve_time",
        "create_time",
        "update_time",
        "etag",
    ],
    ..Rules::new("Campaign")
};

/// The fields of the plan, which change only while a campaign is a DRAFT or REJECTED.
pub const PLAN_FIELDS: &[&str] = &["type", "store", "start_time", "end_time", "budget"];

/// Longest display name.
const MAX_NAME: usize = 200;
/// Longest description.
const MAX_DESCRIPTION: usize = 2000;

/// A "stores/{store}" name, or empty; a bad one is reported on `field`.
fn store(v: &mut Violations, field: &str, name: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        return String::new();
    }
    names::parse_key("stores", name)
        .map(|key| format!("stores/{key}"))
        .map_err(|e| v.add(field, e))
        .unwrap_or_default()
}

/// A time a request must give in `field`.
fn required_time(
    v: &mut Violations,
    field: &str,
    ts: Option<&prost_types::Timestamp>,
) -> Option<Micros> {
    if ts.is_none() {
        v.add(field, "is required");
    }
    validate::optional_time(ts, field, v)
}

/// Applies the fields `fields` names from `c` to `into`.
pub fn apply_campaign(c: &pb::Campaign, fields: &[&str], into: &mut Campaign, v: &mut Violations) {
    for field in fields {
        match *field {
            "display_name" => {
                into.display_name =
                    validate::required_text(v, "campaign.display_name", &c.display_name, MAX_NAME)
            }
            "type" => {
                if let Some(t) = validate::required_enum(
                    v,
                    "campaign.type",
                    c.r#type,
                    campaign_type,
                    "CampaignType",
                ) {
                    into.kind = t;
                }
            }
            "description" => {
                into.description = validate::multiline_text(
                    v,
                    "campaign.description",
                    &c.description,
                    MAX_DESCRIPTION,
                )
            }
            "owner_id" => {
                into.owner_id = validate::id(v, "campaign.owner_id", &c.owner_id);
                if into.owner_id.is_empty() {
                    v.add(
                        "campaign.owner_id",
                        "is required: the subject who runs the campaign",
                    );
                }
            }
            "team_id" => into.team_id = validate::id(v, "campaign.team_id", &c.team_id),
            "store" => into.store = store(v, "campaign.store", &c.store),
            "start_time" => {
                if let Some(t) = required_time(v, "campaign.start_time", c.start_time.as_ref()) {
                    into.start_time = t;
                }
            }
            "end_time" => {
                if let Some(t) = required_time(v, "campaign.end_time", c.end_time.as_ref()) {
                    into.end_time = t;
                }
            }
            "budget" => match validate::money(v, "campaign.budget", c.budget.as_ref()) {
                Some(m) => into.budget = m,
                None if c.budget.as_ref().is_none_or(|b| *b == Default::default()) => {
                    v.add("campaign.budget", "is required: a currency and an amount")
                }
                None => {}
            },
            _ => {}
        }
    }
}

/// A new campaign from CreateCampaign: every field it may set, checked; an empty owner is the
/// caller's to fill in.
pub fn parse_campaign(c: Option<&pb::Campaign>, v: &mut Violations) -> Campaign {
    let mut out = Campaign::empty();
    let Some(c) = c else {
        v.add("campaign", "is required");
        return out;
    };
    let fields: Vec<&str> = CAMPAIGN_MASK
        .updatable
        .iter()
        .copied()
        .filter(|f| *f != "owner_id")
        .collect();
    apply_campaign(c, &fields, &mut out, v);
    out.owner_id = validate::id(v, "campaign.owner_id", &c.owner_id);
    let times_read = !v
        .items()
        .iter()
        .any(|i| i.field == "campaign.start_time" || i.field == "campaign.end_time");
    if times_read {
        check_plan(&out, v);
    }
    out
}

/// Reports a plan that does not hold together on its own.
pub fn check_plan(c: &Campaign, v: &mut Violations) {
    if let Err(r @ Refusal::EndBeforeStart) = c.check_plan() {
        v.add("campaign.end_time", r.to_string());
    }
}

/// What RecordCampaignCost asks to record.
pub struct NewCost {
    pub amount: validate::Money,
    pub category: String,
    pub note: String,
}

/// Parses a cost, reporting every bad field under `cost.`.
pub fn parse_cost(c: Option<&pb::CampaignCost>, v: &mut Violations) -> Option<NewCost> {
    let Some(c) = c else {
        v.add("cost", "is required");
        return None;
    };
    let amount = validate::money(v, "cost.amount", c.amount.as_ref());
    match &amount {
        Some(m) if m.minor_units == 0 => v.add("cost.amount.minor_units", "must be more than zero"),
        Some(_) => {}
        None if c.amount.as_ref().is_none_or(|a| *a == Default::default()) => {
            v.add("cost.amount", "is required: a currency and an amount")
        }
        None => {}
    }
    let category = validate::required_text(v, "cost.category", &c.category, 100);
    let note = validate::multiline_text(v, "cost.note", &c.note, 500);
    Some(NewCost {
        amount: amount?,
        category,
        note,
    })
}

fn money(currency: &str, minor_units: i64) -> Option<rapport_proto::types::Money> {
    Some(rapport_proto::types::Money {
        currency_code: currency.to_owned(),
        minor_units,
    })
}

/// The answer for `c`.
pub fn campaign_to_proto(c: &Campaign) -> pb::Campaign {
    pb::Campaign {
        name: c.name(),
        display_name: c.display_name.clone(),
        r#type: write(&TYPES, c.kind),
        description: c.description.clone(),
        owner_id: c.owner_id.clone(),
        team_id: c.team_id.clone(),
        store: c.store.clone(),
        start_time: Some(to_timestamp(c.start_time)),
        end_time: Some(to_timestamp(c.end_time)),
        budget: Some(validate::money_to_proto(&c.budget)),
        cost: money(&c.budget.currency_code, c.cost),
        over_budget: c.over_budget(),
        state: write(&STATES, c.state),
        state_reason: c.state_reason.clone(),
        state_change_time: Some(to_timestamp(c.state_change_time)),
        creator: c.creator.clone(),
        approved_by: c.approved_by.clone(),
        approve_time: c.approve_time.map(to_timestamp),
        results: Some(pb::CampaignResults {
            invited: c.results.invited,
            responded: c.results.responded,
            accepted: c.results.accepted,
            attended: c.results.attended,
        }),
        create_time: Some(to_timestamp(c.create_time)),
        update_time: Some(to_timestamp(c.update_time)),
        etag: names::etag(c.id.as_bytes(), c.version),
    }
}

/// The answer for `cost`, recorded in `currency`.
pub fn cost_to_proto(cost: &Cost, currency: &str) -> pb::CampaignCost {
    pb::CampaignCost {
        name: cost.name(),
        amount: money(currency, cost.amount),
        category: cost.category.clone(),
        note: cost.note.clone(),
        recorded_by: cost.recorded_by.clone(),
        create_time: Some(to_timestamp(cost.create_time)),
    }
}

/// The answer for `m`.
pub fn member_to_proto(m: &Member) -> pb::CampaignMember {
    pb::CampaignMember {
        name: m.name(),
        customer: names::format_id("customers", m.customer_id),
        state: write(&STANDINGS, m.standing()),
        response: m.response.map_or(0, |r| write(&RESPONSES, r)),
        attended: m.attended,
        invited_by: m.invited_by.clone(),
        invite_time: Some(to_timestamp(m.invite_time)),
        respond_time: m.respond_time.map(to_timestamp),
        attend_time: m.attend_time.map(to_timestamp),
    }
}
