//! Stores, teams and reps between proto and domain. Creates and updates parse into patches of
//! the fields they set, so one parser serves both and every bad field is reported at once.

use rapport_kit::names;
use rapport_proto::leads as pb;
use rapport_runtime::{clock::to_timestamp, validation::Violations};

use crate::domain::org::{
    self, AttrKind, CAPACITY, DAILY_CLAIM_LIMIT, DEFAULT_CAPACITY, DEFAULT_DAILY_CLAIM_LIMIT,
    DEFAULT_WEIGHT, REGION_MAX, Rep, RepStatus, Store, Team, WEIGHT,
};
use rapport_kit::mask::Rules;

/// What UpdateStore's mask accepts.
pub(crate) const STORE_MASK: Rules = Rules {
    updatable: &["display_name", "region"],
    immutable: &["name"],
    output_only: &["create_time", "update_time", "etag"],
    ..Rules::new("Store")
};

/// What UpdateTeam's mask accepts.
pub(crate) const TEAM_MASK: Rules = Rules {
    updatable: &["display_name", "store", "manager_id"],
    immutable: &["name"],
    output_only: &["create_time", "update_time", "etag"],
    ..Rules::new("Team")
};

/// What UpdateRep's mask accepts.
pub(crate) const REP_MASK: Rules = Rules {
    updatable: &[
        "display_name",
        "team",
        "store",
        "skills",
        "regions",
        "languages",
        "product_lines",
        "capacity",
        "daily_claim_limit",
        "weight",
        "status",
    ],
    immutable: &["name"],
    output_only: &["open_leads", "create_time", "update_time", "etag"],
    ..Rules::new("Rep")
};

/// A store as the API shows it.
pub(crate) fn store_to_proto(s: &Store) -> pb::Store {
    pb::Store {
        name: s.name(),
        display_name: s.display_name.clone(),
        region: s.region.clone(),
        create_time: Some(to_timestamp(s.create_time)),
        update_time: Some(to_timestamp(s.update_time)),
        etag: names::etag(s.name(), s.version),
    }
}

/// A team as the API shows it.
pub(crate) fn team_to_proto(t: &Team) -> pb::Team {
    pb::Team {
        name: t.name(),
        display_name: t.display_name.clone(),
        store: ref_name(org::store_name, &t.store_id),
        manager_id: t.manager_id.clone(),
        create_time: Some(to_timestamp(t.create_time)),
        update_time: Some(to_timestamp(t.update_time)),
        etag: names::etag(t.name(), t.version),
    }
}

/// A rep as the API shows it.
pub(crate) fn rep_to_proto(r: &Rep) -> pb::Rep {
    let status = match r.status {
        RepStatus::Active => pb::RepStatus::Active,
        RepStatus::Absent => pb::RepStatus::Absent,
        RepStatus::Inactive => pb::RepStatus::Inactive,
    };
    pb::Rep {
        name: r.name(),
        display_name: r.display_name.clone(),
        team: ref_name(org::team_name, &r.team_id),
        store: ref_name(org::store_name, &r.store_id),
        skills: r.skills.clone(),
        regions: r.regions.clone(),
        languages: r.languages.clone(),
        product_lines: r.product_lines.clone(),
        capacity: clamp(r.capacity),
        daily_claim_limit: clamp(r.daily_claim_limit),
        weight: clamp(r.weight),
        status: status.into(),
        open_leads: clamp(r.open_leads),
        create_time: Some(to_timestamp(r.create_time)),
        update_time: Some(to_timestamp(r.update_time)),
        etag: names::etag(r.name(), r.version),
    }
}

fn clamp(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX })
}

fn ref_name(name: fn(&str) -> String, key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        name(key)
    }
}

/// The key of an optional reference `collection/{key}` in `field` (empty: none).
pub(crate) fn parse_ref(collection: &str, raw: &str, field: &str, v: &mut Violations) -> String {
    let raw = raw.trim();
    if raw.is_empty() {
        return String::new();
    }
    match names::parse_key(collection, raw) {
        Ok(key) => key.to_owned(),
        Err(e) => {
            v.add(field, e);
            String::new()
        }
    }
}

/// The fields of a store a create or update sets.
#[derive(Debug, Default)]
pub(crate) struct StorePatch {
    display_name: Option<String>,
    region: Option<String>,
}

impl StorePatch {
    /// Parses the `fields` of `input`; violations are reported relative to the store.
    pub(crate) fn parse(input: &pb::Store, fields: &[&str], v: &mut Violations) -> Self {
        let mut patch = StorePatch::default();
        for field in fields {
            match *field {
                "display_name" => {
                    patch.display_name = Some(org::parse_display_name(
                        &input.display_name,
                        "display_name",
                        v,
                    ));
                }
                "region" => {
                    patch.region = Some(org::parse_short_text(
                        &input.region,
                        REGION_MAX,
                        "region",
                        v,
                    ));
                }
                _ => {}
            }
        }
        patch
    }

    /// `store` with the patch applied.
    pub(crate) fn apply(self, store: Store) -> Store {
        Store {
            display_name: self.display_name.unwrap_or(store.display_name),
            region: self.region.unwrap_or(store.region),
            ..store
        }
    }
}

/// The fields of a team a create or update sets.
#[derive(Debug, Default)]
pub(crate) struct TeamPatch {
    display_name: Option<String>,
    store_id: Option<String>,
    manager_id: Option<String>,
}

impl TeamPatch {
    /// Parses the `fields` of `input`; violations are reported relative to the team.
    pub(crate) fn parse(input: &pb::Team, fields: &[&str], v: &mut Violations) -> Self {
        let mut patch = TeamPatch::default();
        for field in fields {
            match *field {
                "display_name" => {
                    patch.display_name = Some(org::parse_display_name(
                        &input.display_name,
                        "display_name",
                        v,
                    ));
                }
                "store" => patch.store_id = Some(parse_ref("stores", &input.store, "store", v)),
                "manager_id" => {
                    patch.manager_id = Some(org::parse_subject(&input.manager_id, "manager_id", v));
                }
                _ => {}
            }
        }
        patch
    }

    /// The store the patch sets, if it sets one (to check that it exists).
    pub(crate) fn store_id(&self) -> Option<&str> {
        self.store_id.as_deref().filter(|s| !s.is_empty())
    }

    /// `team` with the patch applied.
    pub(crate) fn apply(self, team: Team) -> Team {
        Team {
            display_name: self.display_name.unwrap_or(team.display_name),
            store_id: self.store_id.unwrap_or(team.store_id),
            manager_id: self.manager_id.unwrap_or(team.manager_id),
            ..team
        }
    }
}

/// The fields of a rep a create or update sets.
#[derive(Debug, Default)]
pub(crate) struct RepPatch {
    display_name: Option<String>,
    team_id: Option<String>,
    store_id: Option<String>,
    attrs: Vec<(AttrKind, Vec<String>)>,
    capacity: Option<i64>,
    daily_claim_limit: Option<i64>,
    weight: Option<i64>,
    status: Option<RepStatus>,
}

impl RepPatch {
    /// Parses the `fields` of `input`; violations are reported relative to the rep. On create
    /// (`create`), zero limits and an unset status take their defaults.
    pub(crate) fn parse(
        input: &pb::Rep,
        fields: &[&str],
        create: bool,
        v: &mut Violations,
    ) -> Self {
        let mut patch = RepPatch::default();
        let or_default = |value: i32, default: i64| {
            if create && value == 0 {
                default
            } else {
                i64::from(value)
            }
        };
        for field in fields {
            match *field {
                "display_name" => {
                    patch.display_name = Some(org::parse_display_name(
                        &input.display_name,
                        "display_name",
                        v,
                    ));
                }
                "team" => patch.team_id = Some(parse_ref("teams", &input.team, "team", v)),
                "store" => patch.store_id = Some(parse_ref("stores", &input.store, "store", v)),
                "skills" => patch.attr(AttrKind::Skill, &input.skills, v),
                "regions" => patch.attr(AttrKind::Region, &input.regions, v),
                "languages" => patch.attr(AttrKind::Language, &input.languages, v),
                "product_lines" => patch.attr(AttrKind::ProductLine, &input.product_lines, v),
                "capacity" => {
                    let n = or_default(input.capacity, DEFAULT_CAPACITY);
                    patch.capacity = Some(org::parse_in_range(n, CAPACITY, "capacity", v));
                }
                "daily_claim_limit" => {
                    let n = or_default(input.daily_claim_limit, DEFAULT_DAILY_CLAIM_LIMIT);
                    patch.daily_claim_limit = Some(org::parse_in_range(
                        n,
                        DAILY_CLAIM_LIMIT,
                        "daily_claim_limit",
                        v,
                    ));
                }
                "weight" => {
                    let n = or_default(input.weight, DEFAULT_WEIGHT);
                    patch.weight = Some(org::parse_in_range(n, WEIGHT, "weight", v));
                }
                "status" => patch.status = parse_status(input.status, create, v),
                _ => {}
            }
        }
        patch
    }

    fn attr(&mut self, kind: AttrKind, raw: &[String], v: &mut Violations) {
        let values = org::parse_attrs(kind, raw, v);
        self.attrs.push((kind, values));
    }

    /// The team and store the patch sets, if any (to check that they exist).
    pub(crate) fn refs(&self) -> (Option<&str>, Option<&str>) {
        fn set(s: &Option<String>) -> Option<&str> {
            s.as_deref().filter(|s| !s.is_empty())
        }
        (set(&self.team_id), set(&self.store_id))
    }

    /// `rep` with the patch applied; counters are left as they are.
    pub(crate) fn apply(self, mut rep: Rep) -> Rep {
        for (kind, values) in self.attrs {
            match kind {
                AttrKind::Skill => rep.skills = values,
                AttrKind::Region => rep.regions = values,
                AttrKind::Language => rep.languages = values,
                AttrKind::ProductLine => rep.product_lines = values,
            }
        }
        Rep {
            display_name: self.display_name.unwrap_or(rep.display_name),
            team_id: self.team_id.unwrap_or(rep.team_id),
            store_id: self.store_id.unwrap_or(rep.store_id),
            capacity: self.capacity.unwrap_or(rep.capacity),
            daily_claim_limit: self.daily_claim_limit.unwrap_or(rep.daily_claim_limit),
            weight: self.weight.unwrap_or(rep.weight),
            status: self.status.unwrap_or(rep.status),
            ..rep
        }
    }
}

fn parse_status(raw: i32, create: bool, v: &mut Violations) -> Option<RepStatus> {
    match pb::RepStatus::try_from(raw) {
        Ok(pb::RepStatus::Unspecified) if create => Some(RepStatus::Active),
        Ok(pb::RepStatus::Unspecified) => {
            v.add("status", "must be ACTIVE, ABSENT or INACTIVE");
            None
        }
        Ok(pb::RepStatus::Active) => Some(RepStatus::Active),
        Ok(pb::RepStatus::Absent) => Some(RepStatus::Absent),
        Ok(pb::RepStatus::Inactive) => Some(RepStatus::Inactive),
        Err(_) => {
            v.add("status", format!("{raw} is not a RepStatus"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: &Violations) -> Vec<&str> {
        v.items().iter().map(|i| i.field.as_str()).collect()
    }

    fn blank_rep() -> Rep {
        Rep {
            id: "rep-1".into(),
            display_name: String::new(),
            team_id: String::new(),
            store_id: String::new(),
            skills: Vec::new(),
            regions: Vec::new(),
            languages: Vec::new(),
            product_lines: Vec::new(),
            capacity: 0,
            daily_claim_limit: 0,
            weight: 0,
            status: RepStatus::Active,
            open_leads: 7,
            create_time: 0,
            update_time: 0,
            version: 1,
        }
    }

    #[test]
    fn a_new_rep_takes_the_defaults() {
        let input = pb::Rep {
            display_name: "张伟".into(),
            skills: vec!["Villa".into()],
            ..Default::default()
        };
        let mut v = Violations::with_prefix("rep");
        let rep = RepPatch::parse(&input, REP_MASK.updatable, true, &mut v).apply(blank_rep());
        assert!(v.is_empty(), "{v:?}");
        assert_eq!(rep.capacity, DEFAULT_CAPACITY);
        assert_eq!(rep.daily_claim_limit, DEFAULT_DAILY_CLAIM_LIMIT);
        assert_eq!(rep.weight, DEFAULT_WEIGHT);
        assert_eq!(rep.status, RepStatus::Active);
        assert_eq!(rep.skills, ["villa"]);
        assert_eq!(rep.open_leads, 7, "counters are not the patch's business");
    }

    #[test]
    fn an_update_sets_zero_and_refuses_an_unset_status() {
        let input = pb::Rep {
            capacity: 0,
            daily_claim_limit: 0,
            weight: 0,
            ..Default::default()
        };
        let mut v = Violations::with_prefix("rep");
        let patch = RepPatch::parse(
            &input,
            &["capacity", "daily_claim_limit", "weight", "status"],
            false,
            &mut v,
        );
        assert_eq!(fields(&v), ["rep.weight", "rep.status"]);
        let rep = patch.apply(Rep {
            capacity: 50,
            daily_claim_limit: 5,
            ..blank_rep()
        });
        assert_eq!((rep.capacity, rep.daily_claim_limit), (0, 0));
    }

    #[test]
    fn every_bad_rep_field_is_reported() {
        let input = pb::Rep {
            display_name: " ".into(),
            team: "teams/North".into(),
            store: "shops/x".into(),
            skills: vec![String::new()],
            capacity: -1,
            daily_claim_limit: 20_000,
            weight: 101,
            status: 42,
            ..Default::default()
        };
        let mut v = Violations::with_prefix("rep");
        RepPatch::parse(&input, REP_MASK.updatable, true, &mut v);
        assert_eq!(
            fields(&v),
            [
                "rep.display_name",
                "rep.team",
                "rep.store",
                "rep.skills[0]",
                "rep.capacity",
                "rep.daily_claim_limit",
                "rep.weight",
                "rep.status",
            ]
        );
    }

    #[test]
    fn references_round_trip() {
        let team = Team {
            id: "north".into(),
            display_name: "North".into(),
            store_id: "s1".into(),
            manager_id: "mgr".into(),
            create_time: 0,
            update_time: 0,
            version: 3,
        };
        let out = team_to_proto(&team);
        assert_eq!(out.name, "teams/north");
        assert_eq!(out.store, "stores/s1");
        let mut v = Violations::new();
        assert_eq!(parse_ref("stores", &out.store, "store", &mut v), "s1");
        assert_eq!(parse_ref("stores", "", "store", &mut v), "");
        assert!(v.is_empty());
        let rep = rep_to_proto(&blank_rep());
        assert_eq!((rep.team.as_str(), rep.store.as_str()), ("", ""));
        assert_eq!(rep.open_leads, 7);
    }
}
