//! Duplicate checks: what a tenant makes of a record whose contact data another already holds,
//! and what the check tells a caller about that holder when the caller may not see it.
//!
//! A duplicate check answers for the whole tenant: at a store chain, the rep at the counter must
//! learn within seconds that a walk-in is already served, and by whom. It must not also turn a
//! phone number into a name lookup. So a caller who sees the holder learns everything the check
//! found; one who does not learns the holder's resource name, owner rep, team and store, with its
//! name masked (`张*`). A tenant that wants even less chooses [`Disclosure::Hidden`]: then only
//! that a holder exists, and which of the caller's own contact data it holds.

use serde::{Deserialize, Serialize};

use rapport_runtime::error::Error;

/// What to do with a record whose contact data another already holds. Each service has its own
/// default: a customer is refused (one person, one record), a lead flagged (a lead that comes in
/// twice is worth keeping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicatePolicy {
    /// Refuse it with ALREADY_EXISTS naming the oldest holder.
    Reject,
    /// Accept it and list the holders as its possible duplicates.
    Flag,
}

/// How much a duplicate check tells a caller about a holder it may not see.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disclosure {
    /// Resource name, owner, team and store; the name masked.
    #[default]
    Masked,
    /// Nothing but that a holder exists.
    Hidden,
}

/// A record holding contact data, as the check found it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holder {
    /// Its resource name, e.g. `customers/…`.
    pub name: String,
    /// Its display name.
    pub display_name: String,
    /// The rep who owns it.
    pub owner_id: String,
    /// Its team.
    pub team_id: String,
    /// Its store.
    pub store_id: String,
}

/// A holder as one caller may learn of it: every field empty that the caller may not learn, the
/// display name masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosed {
    /// What the caller learns of the holder.
    pub holder: Holder,
    /// Whether the caller may see the whole record (nothing is masked).
    pub visible: bool,
}

/// What a caller learns of `holder`: everything when `visible`, else what `disclosure` allows.
pub fn disclose(holder: &Holder, visible: bool, disclosure: Disclosure) -> Disclosed {
    let holder = match (visible, disclosure) {
        (true, _) => holder.clone(),
        (false, Disclosure::Masked) => Holder {
            display_name: mask_name(&holder.display_name),
            ..holder.clone()
        },
        (false, Disclosure::Hidden) => Holder::default(),
    };
    Disclosed { holder, visible }
}

impl Disclosed {
    /// Who holds the data, in words for an error message: `customers/… (张*), owner rep-a, team
    /// s04, store store-04`, or `a record you may not see` when hidden.
    pub fn describe(&self, hidden: &str) -> String {
        let h = &self.holder;
        if h.name.is_empty() {
            return hidden.to_owned();
        }
        let mut parts = vec![format!("{} ({})", h.name, h.display_name)];
        if !self.visible {
            for (label, value) in [
                ("owner", &h.owner_id),
                ("team", &h.team_id),
                ("store", &h.store_id),
            ] {
                if !value.is_empty() {
                    parts.push(format!("{label} {value}"));
                }
            }
        }
        parts.join(", ")
    }

    /// The ALREADY_EXISTS refusing a record whose `matched` contact data (as `phone:…`) this
    /// holder has: `reason` is stable, e.g. `DUPLICATE_CUSTOMER`; `hidden` stands for the holder
    /// where the caller may not learn even its name.
    pub fn already_exists(&self, reason: &'static str, hidden: &str, matched: &[String]) -> Error {
        Error::AlreadyExists {
            reason,
            message: format!(
                "{} already has {}",
                self.describe(hidden),
                matched.join(", ")
            ),
            existing: self.holder.name.clone(),
            metadata: self.metadata(),
        }
    }

    /// The `ErrorInfo` metadata of an ALREADY_EXISTS about this holder: who serves it.
    pub fn metadata(&self) -> Vec<(&'static str, String)> {
        let h = &self.holder;
        [
            ("owner_id", &h.owner_id),
            ("team_id", &h.team_id),
            ("store_id", &h.store_id),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, v.clone()))
        .collect()
    }
}

/// A name with all but its first character masked, as Chinese services print names: `张伟` →
/// `张*`, `欧阳娜娜` → `欧***`. At most three stars, so the length of a long name (an
/// organization's) is not told either.
pub fn mask_name(name: &str) -> String {
    let name = name.trim();
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let rest = chars.filter(|c| !c.is_whitespace()).count().clamp(1, 3);
    let mut out = String::with_capacity(first.len_utf8() + rest);
    out.push(first);
    out.extend(std::iter::repeat_n('*', rest));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder() -> Holder {
        Holder {
            name: "customers/1".into(),
            display_name: "李娜".into(),
            owner_id: "rep-a".into(),
            team_id: "s01".into(),
            store_id: "store-1".into(),
        }
    }

    #[test]
    fn names_keep_their_first_character() {
        assert_eq!(mask_name("张伟"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("Li Na"), "L***");
        assert_eq!(mask_name("王"), "王*");
        assert_eq!(mask_name("  "), "");
    }

    #[test]
    fn a_visible_holder_is_told_in_full() {
        let d = disclose(&holder(), true, Disclosure::Hidden);
        assert_eq!(d.holder, holder());
        assert!(d.visible);
        assert_eq!(d.describe("x"), "customers/1 (李娜)");
    }

    #[test]
    fn an_invisible_holder_is_masked_or_hidden() {
        let masked = disclose(&holder(), false, Disclosure::Masked);
        assert_eq!(masked.holder.display_name, "李*");
        assert_eq!(masked.holder.owner_id, "rep-a");
        assert_eq!(masked.holder.name, "customers/1");
        assert!(!masked.visible);
        assert_eq!(
            masked.describe("x"),
            "customers/1 (李*), owner rep-a, team s01, store store-1"
        );
        assert_eq!(masked.metadata().len(), 3);

        let hidden = disclose(&holder(), false, Disclosure::Hidden);
        assert_eq!(hidden.holder, Holder::default());
        assert_eq!(hidden.describe("someone"), "someone");
        assert!(hidden.metadata().is_empty());
    }

    #[test]
    fn a_refusal_names_what_the_caller_may_learn() {
        let matched = ["phone:+8613800000001".to_owned(), "email:a@x.cn".to_owned()];
        let Error::AlreadyExists {
            reason,
            message,
            existing,
            metadata,
        } = disclose(&holder(), false, Disclosure::Masked).already_exists("DUP", "x", &matched)
        else {
            panic!("not ALREADY_EXISTS");
        };
        assert_eq!(reason, "DUP");
        assert_eq!(
            message,
            "customers/1 (李*), owner rep-a, team s01, store store-1 already has \
             phone:+8613800000001, email:a@x.cn"
        );
        assert_eq!(existing, "customers/1");
        assert_eq!(metadata.len(), 3);

        let Error::AlreadyExists {
            message, existing, ..
        } = disclose(&holder(), false, Disclosure::Hidden).already_exists(
            "DUP",
            "a record",
            &matched[..1],
        )
        else {
            panic!("not ALREADY_EXISTS");
        };
        assert_eq!(message, "a record already has phone:+8613800000001");
        assert!(existing.is_empty());
    }

    #[test]
    fn policy_names_are_stable() {
        for (p, name) in [
            (DuplicatePolicy::Reject, "reject"),
            (DuplicatePolicy::Flag, "flag"),
        ] {
            assert_eq!(serde_json::to_value(p).unwrap(), name);
            assert_eq!(
                serde_json::from_value::<DuplicatePolicy>(name.into()).unwrap(),
                p
            );
        }
        assert!(serde_json::from_value::<DuplicatePolicy>("REJECT".into()).is_err());
    }
}
