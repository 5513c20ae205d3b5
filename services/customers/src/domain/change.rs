//! A change BatchUpdateCustomers applies to many customers alike.

use rapport_runtime::validation::Violations;
use serde_json::{Map, Value};

use super::{
    custom_fields,
    profile::{self, LifecycleStage, Profile},
    settings::Settings,
};

/// A validated change: each field is left alone unless set.
#[derive(Debug, Default)]
pub struct Change {
    pub owner_id: Option<String>,
    pub team_id: Option<String>,
    pub store_id: Option<String>,
    pub lifecycle_stage: Option<LifecycleStage>,
    pub grade: Option<String>,
    pub add_tags: Vec<String>,
    pub remove_tags: Vec<String>,
    /// Custom fields to set; null removes one.
    pub custom_fields: Map<String, Value>,
}

impl Change {
    /// Whether the change leaves every field alone.
    pub fn is_empty(&self) -> bool {
        self.owner_id.is_none()
            && self.team_id.is_none()
            && self.store_id.is_none()
            && self.lifecycle_stage.is_none()
            && self.grade.is_none()
            && self.add_tags.is_empty()
            && self.remove_tags.is_empty()
            && self.custom_fields.is_empty()
    }

    /// Applies the change to `profile`; an error names why this customer cannot take it.
    pub fn apply(&self, profile: &mut Profile, settings: &Settings) -> Result<(), String> {
        if let Some(o) = &self.owner_id {
            profile.owner_id = o.clone();
        }
        if let Some(t) = &self.team_id {
            profile.team_id = t.clone();
        }
        if let Some(s) = &self.store_id {
            profile.store_id = s.clone();
        }
        if let Some(stage) = self.lifecycle_stage {
            profile.lifecycle_stage = stage;
        }
        if let Some(g) = &self.grade {
            profile.grade = g.clone();
        }
        profile.remove_tags(&self.remove_tags);
        if !profile.add_tags(self.add_tags.iter().cloned()) {
            return Err(format!("would have more than {} tags", profile::MAX_TAGS));
        }
        for (key, value) in &self.custom_fields {
            if value.is_null() {
                profile.custom_fields.remove(key);
            } else {
                profile.custom_fields.insert(key.clone(), value.clone());
            }
        }
        let mut v = Violations::new();
        let values: Map<_, _> = profile.custom_fields.clone().into_iter().collect();
        custom_fields::check_values(
            &settings.custom_fields,
            &values,
            (custom_fields::LIST, false),
            &mut v,
        );
        match v.into_vec().first() {
            Some(problem) => Err(problem.to_string()),
            None => Ok(()),
        }
    }

    /// The top-level fields of a customer the change touches, for the updated events.
    pub fn changed_fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut add = |set: bool, name: &str| {
            if set {
                out.push(name.to_owned());
            }
        };
        add(self.owner_id.is_some(), "owner_id");
        add(self.team_id.is_some(), "team_id");
        add(self.store_id.is_some(), "store_id");
        add(self.lifecycle_stage.is_some(), "lifecycle_stage");
        add(self.grade.is_some(), "grade");
        add(
            !self.add_tags.is_empty() || !self.remove_tags.is_empty(),
            "tags",
        );
        add(!self.custom_fields.is_empty(), "custom_fields");
        out
    }
}
