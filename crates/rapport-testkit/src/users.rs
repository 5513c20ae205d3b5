//! The callers every service's tests act as: the admin, managers and reps of tenant `t1`, the
//! admin of tenant `t2` (who must never see anything of `t1`), and callers without a valid
//! credential. Each service's tests wrap these bearers in clients of that service.

use rapport_runtime::auth::Role;

use crate::{Bearer, TestServer};

/// The tenant the tests work in.
pub const TENANT: &str = "t1";
/// Another tenant, to show that tenants never see each other.
pub const OTHER_TENANT: &str = "t2";

impl TestServer {
    /// `admin-1`, the admin of tenant `t1`.
    pub fn admin(&self) -> Bearer {
        self.auth(TENANT, "admin-1", &[Role::Admin])
    }

    /// `admin-2`, the admin of tenant `t2`.
    pub fn stranger(&self) -> Bearer {
        self.auth(OTHER_TENANT, "admin-2", &[Role::Admin])
    }

    /// `subject`, a manager of `team` in tenant `t1`.
    pub fn manager(&self, subject: &str, team: &str) -> Bearer {
        self.auth_in_team(TENANT, subject, &[Role::Manager], team)
    }

    /// `subject`, a rep of `team` in tenant `t1`.
    pub fn rep(&self, subject: &str, team: &str) -> Bearer {
        self.auth_in_team(TENANT, subject, &[Role::Rep], team)
    }
}

impl Bearer {
    /// No credential at all (`None`), or this garbled authorization value.
    pub fn anonymous(authorization: Option<&str>) -> Bearer {
        match authorization {
            None => Bearer::none(),
            Some(v) => Bearer::raw(v),
        }
    }
}
