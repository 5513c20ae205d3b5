//! Pipelines (LE2): a tenant's ordered stages, each with a win probability and a normal dwell
//! time, and the rules a pipeline must follow. Every tenant has the example pipeline of
//! scenario S2 ("pipelines/real-estate"), kept here in code until the tenant changes it.

use rapport_kit::names;
use rapport_runtime::{
    clock::{DAY, Micros},
    validation::Violations,
};
use serde::{Deserialize, Serialize};

/// The collection of pipelines.
pub const PIPELINES: &str = "pipelines";
/// The id of the example pipeline every tenant has.
pub const EXAMPLE_ID: &str = "real-estate";
/// Most stages a pipeline may have; a funnel of more is no longer readable.
pub const MAX_STAGES: usize = 50;
/// Longest display name of a pipeline or stage, in characters.
pub const MAX_DISPLAY_NAME: usize = 200;
/// Longest stage id, in characters.
pub const MAX_STAGE_ID: usize = 63;

/// Whether a stage is open or closes an opportunity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StageKind {
    /// Still being worked.
    Open,
    /// Closes the opportunity as won.
    Won,
    /// Closes the opportunity as lost.
    Lost,
}

/// One stage of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// Key of the stage, lower_snake_case, unique in the pipeline.
    pub id: String,
    /// Shown to people.
    pub display_name: String,
    /// Chance of winning from this stage, 0..=100 percent.
    pub win_probability: i32,
    /// How long an opportunity normally stays; longer alerts the owner. Zero: never alerts.
    pub normal_dwell: Micros,
    /// As the pipeline's author gave it; zero means twice `normal_dwell`
    /// (see [`Stage::escalation_after`]).
    pub escalation_dwell: Micros,
    /// Open, won or lost.
    pub kind: StageKind,
}

impl Stage {
    /// Whether opportunities in this stage are still open.
    pub fn is_open(&self) -> bool {
        self.kind == StageKind::Open
    }

    /// After how long in the stage the owner is alerted, if ever (LE8).
    pub fn alert_after(&self) -> Option<Micros> {
        (self.is_open() && self.normal_dwell > 0).then_some(self.normal_dwell)
    }

    /// After how long in the stage the alert escalates to the manager, if ever.
    pub fn escalation_after(&self) -> Option<Micros> {
        self.alert_after().map(|normal| {
            if self.escalation_dwell > 0 {
                self.escalation_dwell
            } else {
                normal.saturating_mul(2)
            }
        })
    }
}

/// A pipeline, stored or the built-in example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    /// The key after "pipelines/".
    pub id: String,
    /// Shown to people.
    pub display_name: String,
    /// The stages in order; [`check_stages`] holds for them.
    pub stages: Vec<Stage>,
    /// When the tenant stored it; 0 for the built-in example.
    pub create_time: Micros,
    /// When the tenant last changed it; 0 for the built-in example.
    pub update_time: Micros,
    /// 0 for the built-in example (never stored); its first stored copy is version 1.
    pub version: i64,
}

impl Pipeline {
    /// `pipelines/{id}`.
    pub fn resource_name(&self) -> String {
        pipeline_name(&self.id)
    }

    /// The current etag.
    pub fn etag(&self) -> String {
        names::etag(self.resource_name(), self.version)
    }

    /// Whether this is the built-in example the tenant never changed.
    pub fn is_builtin(&self) -> bool {
        self.version == 0
    }

    /// The stage with id `id`.
    pub fn stage(&self, id: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == id)
    }

    /// The stage new opportunities start in (open, by [`check_stages`]).
    pub fn first_stage(&self) -> Option<&Stage> {
        self.stages.first()
    }

    /// Ids of this pipeline's stages that `next` no longer has.
    pub fn removed_stages(&self, next: &[Stage]) -> Vec<String> {
        self.stages
            .iter()
            .filter(|s| !next.iter().any(|n| n.id == s.id))
            .map(|s| s.id.clone())
            .collect()
    }
}

/// `pipelines/{id}`.
pub fn pipeline_name(id: &str) -> String {
    format!("{PIPELINES}/{id}")
}

/// The example pipeline of scenario S2: online viewing → first visit → second visit → revisit
/// → deal, or lost. Dwell times are what an agency expects between viewings; a customer who
/// stays longer is followed up.
pub fn example() -> Pipeline {
    let open = |id: &str, name: &str, p: i32, days: i64| Stage {
        id: id.to_owned(),
        display_name: name.to_owned(),
        win_probability: p,
        normal_dwell: days * DAY,
        escalation_dwell: 0,
        kind: StageKind::Open,
    };
    let closed = |id: &str, name: &str, kind: StageKind| Stage {
        id: id.to_owned(),
        display_name: name.to_owned(),
        win_probability: if kind == StageKind::Won { 100 } else { 0 },
        normal_dwell: 0,
        escalation_dwell: 0,
        kind,
    };
    Pipeline {
        id: EXAMPLE_ID.to_owned(),
        display_name: "Real estate".to_owned(),
        stages: vec![
            open("online_viewing", "Online viewing", 10, 3),
            open("first_visit", "First visit", 25, 7),
            open("second_visit", "Second visit", 50, 14),
            open("revisit", "Revisit", 70, 14),
            closed("deal", "Deal", StageKind::Won),
            closed("lost", "Lost", StageKind::Lost),
        ],
        create_time: 0,
        update_time: 0,
        version: 0,
    }
}

/// Whether `id` is a valid stage id: lower_snake_case, 1..63 characters, starting with a letter.
pub fn is_stage_id(id: &str) -> bool {
    let b = id.as_bytes();
    (1..=MAX_STAGE_ID).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

/// Checks a display name of 1..200 characters without control characters; returns it trimmed.
pub fn display_name(v: &mut Violations, field: &str, raw: &str) -> String {
    let value = raw.trim();
    let n = value.chars().count();
    if n == 0 {
        v.add(field, "is required");
    } else if n > MAX_DISPLAY_NAME {
        v.add(
            field,
            format!("must be at most {MAX_DISPLAY_NAME} characters, got {n}"),
        );
    } else if value.chars().any(char::is_control) {
        v.add(field, "must not contain control characters");
    }
    value.to_owned()
}

/// Checks the stages of a pipeline, reporting under `stages[i]` of `v`, and returns them
/// normalized: WON stages win with 100 percent and LOST ones with 0, and closed stages have no
/// dwell times (nothing waits in them).
pub fn check_stages(v: &mut Violations, stages: Vec<Stage>) -> Vec<Stage> {
    if stages.is_empty() {
        v.add(
            "stages",
            "is required: at least one open stage and one WON stage",
        );
        return stages;
    }
    if stages.len() > MAX_STAGES {
        v.add(
            "stages",
            format!(
                "must have at most {MAX_STAGES} stages, got {}",
                stages.len()
            ),
        );
    }
    let mut out: Vec<Stage> = Vec::with_capacity(stages.len());
    for (i, stage) in stages.into_iter().enumerate() {
        let stage = v.nested(format!("stages[{i}]"), |v| check_stage(v, stage, &out));
        out.push(stage);
    }
    let won = out.iter().filter(|s| s.kind == StageKind::Won).count();
    if won != 1 {
        v.add(
            "stages",
            format!("must have exactly one WON stage, got {won}"),
        );
    }
    if !out.iter().any(Stage::is_open) {
        v.add("stages", "must have at least one open stage");
    } else if !out[0].is_open() {
        v.add(
            "stages[0].kind",
            "the first stage must be open: new opportunities start in it",
        );
    }
    out
}

fn check_stage(v: &mut Violations, mut s: Stage, before: &[Stage]) -> Stage {
    if s.id.is_empty() {
        v.add("id", "is required");
    } else if !is_stage_id(&s.id) {
        v.add(
            "id",
            format!(
                "{:?} must be lower_snake_case: 1..{MAX_STAGE_ID} lower-case letters, digits \
                 and \"_\", starting with a letter",
                s.id
            ),
        );
    } else if before.iter().any(|b| b.id == s.id) {
        v.add("id", format!("{:?} is used by an earlier stage", s.id));
    }
    s.display_name = display_name(v, "display_name", &s.display_name);
    if !(0..=100).contains(&s.win_probability) {
        v.add(
            "win_probability",
            format!("must be 0..100 percent, got {}", s.win_probability),
        );
    }
    if s.normal_dwell < 0 {
        v.add("normal_dwell", "must not be negative");
    }
    if s.escalation_dwell < 0 {
        v.add("escalation_dwell", "must not be negative");
    } else if s.escalation_dwell > 0 && s.escalation_dwell < s.normal_dwell {
        v.add(
            "escalation_dwell",
            "must not be shorter than normal_dwell: the manager hears after the owner",
        );
    } else if s.escalation_dwell > 0 && s.normal_dwell == 0 && s.is_open() {
        v.add(
            "escalation_dwell",
            "needs a normal_dwell: without one the stage never alerts",
        );
    }
    match s.kind {
        StageKind::Open => {}
        StageKind::Won | StageKind::Lost => {
            s.win_probability = if s.kind == StageKind::Won { 100 } else { 0 };
            s.normal_dwell = 0;
            s.escalation_dwell = 0;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(id: &str, kind: StageKind) -> Stage {
        Stage {
            id: id.into(),
            display_name: id.into(),
            win_probability: 10,
            normal_dwell: DAY,
            escalation_dwell: 0,
            kind,
        }
    }

    fn fields(stages: Vec<Stage>) -> Vec<String> {
        let mut v = Violations::new();
        check_stages(&mut v, stages);
        v.into_vec().into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn the_example_is_valid() {
        let p = example();
        let mut v = Violations::new();
        let checked = check_stages(&mut v, p.stages.clone());
        assert!(v.is_empty(), "{:?}", v.items());
        assert_eq!(checked, p.stages);
        assert!(p.is_builtin());
        assert_eq!(
            p.first_stage().map(|s| s.id.as_str()),
            Some("online_viewing")
        );
        let ids: Vec<_> = p.stages.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "online_viewing",
                "first_visit",
                "second_visit",
                "revisit",
                "deal",
                "lost"
            ]
        );
    }

    #[test]
    fn closed_stages_are_normalized() {
        let mut v = Violations::new();
        let out = check_stages(
            &mut v,
            vec![
                stage("a", StageKind::Open),
                stage("won", StageKind::Won),
                stage("lost", StageKind::Lost),
            ],
        );
        assert!(v.is_empty());
        assert_eq!((out[1].win_probability, out[1].normal_dwell), (100, 0));
        assert_eq!((out[2].win_probability, out[2].normal_dwell), (0, 0));
        assert_eq!(out[0].win_probability, 10);
    }

    #[test]
    fn every_bad_stage_field_is_named() {
        let mut bad = stage("Bad Id", StageKind::Open);
        bad.display_name = " ".into();
        bad.win_probability = 101;
        bad.normal_dwell = -1;
        bad.escalation_dwell = -1;
        let dup = stage("a", StageKind::Open);
        assert_eq!(
            fields(vec![
                stage("a", StageKind::Open),
                bad,
                dup,
                stage("w", StageKind::Won)
            ]),
            [
                "stages[1].id",
                "stages[1].display_name",
                "stages[1].win_probability",
                "stages[1].normal_dwell",
                "stages[1].escalation_dwell",
                "stages[2].id",
            ]
        );
    }

    #[test]
    fn shape_rules() {
        assert_eq!(fields(vec![]), ["stages"]);
        // No WON stage, and then two.
        assert_eq!(fields(vec![stage("a", StageKind::Open)]), ["stages"]);
        assert_eq!(
            fields(vec![
                stage("a", StageKind::Open),
                stage("b", StageKind::Won),
                stage("c", StageKind::Won)
            ]),
            ["stages"]
        );
        // No open stage.
        assert_eq!(fields(vec![stage("w", StageKind::Won)]), ["stages"]);
        // Starting closed.
        assert_eq!(
            fields(vec![
                stage("w", StageKind::Won),
                stage("a", StageKind::Open)
            ]),
            ["stages[0].kind"]
        );
    }

    #[test]
    fn escalation_defaults_to_twice_normal() {
        let mut s = stage("a", StageKind::Open);
        assert_eq!(s.alert_after(), Some(DAY));
        assert_eq!(s.escalation_after(), Some(2 * DAY));
        s.escalation_dwell = 5 * DAY;
        assert_eq!(s.escalation_after(), Some(5 * DAY));
        s.normal_dwell = 0;
        assert_eq!(s.alert_after(), None);
        assert_eq!(s.escalation_after(), None);
        let mut short = stage("a", StageKind::Open);
        short.escalation_dwell = DAY / 2;
        assert_eq!(
            fields(vec![short, stage("w", StageKind::Won)]),
            ["stages[0].escalation_dwell"]
        );
    }

    #[test]
    fn stage_ids() {
        assert!(is_stage_id("first_visit"));
        assert!(is_stage_id("a1"));
        assert!(!is_stage_id("1a"));
        assert!(!is_stage_id("first-visit"));
        assert!(!is_stage_id(""));
        assert!(!is_stage_id(&"a".repeat(64)));
    }

    #[test]
    fn removed_stages_are_listed() {
        let p = example();
        let next: Vec<Stage> = p
            .stages
            .iter()
            .filter(|s| s.id != "revisit")
            .cloned()
            .collect();
        assert_eq!(p.removed_stages(&next), ["revisit"]);
    }
}
