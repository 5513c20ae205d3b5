//! Duplicate judgement: which live customers a new customer's contact keys match, and
//! what the tenant's policy makes of it. A write judges several new customers at once (an import
//! message, or creates written together), each against the stored customers and the new ones
//! before it.

use std::collections::HashMap;

use rapport_kit::duplicates::{DuplicatePolicy, Holder};
use rapport_runtime::clock::Micros;
use uuid::Uuid;

use super::{
    contact::ContactKey,
    names::customer_name,
    profile::{Customer, Profile},
};

/// A live customer sharing a contact key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateHit {
    /// The customer.
    pub customer_id: Uuid,
    /// Its name and who serves it: what a caller who may not see it still learns of it (see
    /// `rapport_kit::duplicates`).
    pub holder: Holder,
    /// The keys it shares.
    pub matched: Vec<ContactKey>,
}

impl DuplicateHit {
    /// Customer `id`, named and served as given, sharing `matched`.
    pub fn new(
        id: Uuid,
        display_name: String,
        [owner_id, team_id, store_id]: [String; 3],
        matched: Vec<ContactKey>,
    ) -> Self {
        DuplicateHit {
            customer_id: id,
            holder: Holder {
                name: customer_name(id),
                display_name,
                owner_id,
                team_id,
                store_id,
            },
            matched,
        }
    }

    /// What it shares, as `phone:+86…`.
    pub fn matched_on(&self) -> Vec<String> {
        self.matched.iter().map(ToString::to_string).collect()
    }
}

/// The live holders of contact keys as a write sees them, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Holders {
    /// Each holder with the keys it holds, oldest first.
    holders: Vec<DuplicateHit>,
    /// The index in `holders` of each key's holders, oldest first.
    by_key: HashMap<ContactKey, Vec<usize>>,
}

impl Holders {
    /// The holders found by a lookup, oldest first.
    pub fn new(hits: Vec<DuplicateHit>) -> Self {
        let mut out = Self::default();
        for hit in hits {
            out.push(hit);
        }
        out
    }

    /// Whether nobody holds any key.
    pub fn is_empty(&self) -> bool {
        self.holders.is_empty()
    }

    fn push(&mut self, hit: DuplicateHit) {
        for key in &hit.matched {
            self.by_key
                .entry(key.clone())
                .or_default()
                .push(self.holders.len());
        }
        self.holders.push(hit);
    }

    /// The holders of any of `keys`, oldest first, each with the keys of `keys` it holds.
    pub fn of(&self, keys: &[ContactKey]) -> Vec<DuplicateHit> {
        let mut found: Vec<usize> = keys
            .iter()
            .filter_map(|k| self.by_key.get(k))
            .flatten()
            .copied()
            .collect();
        if found.is_empty() {
            return Vec::new();
        }
        found.sort_unstable();
        found.dedup();
        found
            .into_iter()
            .map(|i| {
                let h = &self.holders[i];
                DuplicateHit {
                    customer_id: h.customer_id,
                    holder: h.holder.clone(),
                    matched: keys
                        .iter()
                        .filter(|k| self.by_key.get(*k).is_some_and(|is| is.contains(&i)))
                        .cloned()
                        .collect(),
                }
            })
            .collect()
    }
}

/// What the policy made of one new customer.
#[derive(Debug)]
pub enum Verdict {
    /// Create it; under FLAG it lists the customers it shares keys with.
    Create(Customer),
    /// Refused under REJECT: it shares keys with this customer, the oldest such.
    Duplicate(DuplicateHit, Profile),
}

/// Judges `profile` against `holders` under `policy`. A customer to create is added to
/// `holders`, so the next new customer of the same write is judged against it too.
pub fn judge(
    policy: DuplicatePolicy,
    profile: Profile,
    holders: &mut Holders,
    now: Micros,
) -> Verdict {
    let keys = profile.contact_keys();
    let mut hits = holders.of(&keys);
    if policy == DuplicatePolicy::Reject && !hits.is_empty() {
        return Verdict::Duplicate(hits.swap_remove(0), profile);
    }
    let c = Customer {
        id: Uuid::now_v7(),
        possible_duplicates: hits.iter().map(|h| h.customer_id).collect(),
        merged_into: None,
        create_time: now,
        update_time: now,
        delete_time: None,
        version: 1,
        profile,
        value: None,
    };
    let p = &c.profile;
    holders.push(DuplicateHit::new(
        c.id,
        p.display_name.clone(),
        [p.owner_id.clone(), p.team_id.clone(), p.store_id.clone()],
        keys,
    ));
    Verdict::Create(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(v: &str) -> ContactKey {
        ContactKey::email(&crate::domain::contact::EmailAddress::parse(v).unwrap())
    }

    fn with_email(name: &str, email: &str) -> Profile {
        Profile {
            display_name: name.into(),
            emails: vec![crate::domain::profile::Email {
                address: crate::domain::contact::EmailAddress::parse(email).unwrap(),
                label: String::new(),
            }],
            ..Profile::default()
        }
    }

    fn hit(id: u128, name: &str, keys: &[&str]) -> DuplicateHit {
        DuplicateHit::new(
            Uuid::from_u128(id),
            name.into(),
            Default::default(),
            keys.iter().map(|k| key(k)).collect(),
        )
    }

    #[test]
    fn holders_of_keys_come_oldest_first_with_the_keys_they_share() {
        let h = Holders::new(vec![
            hit(1, "old", &["a@x.cn", "b@x.cn"]),
            hit(2, "new", &["b@x.cn", "c@x.cn"]),
        ]);
        let got = h.of(&[key("c@x.cn"), key("b@x.cn")]);
        assert_eq!(
            got,
            vec![
                hit(1, "old", &["b@x.cn"]),
                hit(2, "new", &["c@x.cn", "b@x.cn"])
            ]
        );
        assert!(h.of(&[key("d@x.cn")]).is_empty());
    }

    #[test]
    fn reject_names_the_oldest_holder_and_leaves_holders_alone() {
        let mut h = Holders::new(vec![hit(1, "old", &["a@x.cn"])]);
        let before = h.clone();
        match judge(
            DuplicatePolicy::Reject,
            with_email("n", "A@x.cn"),
            &mut h,
            5,
        ) {
            Verdict::Duplicate(first, profile) => {
                assert_eq!(first, hit(1, "old", &["a@x.cn"]));
                assert_eq!(profile.display_name, "n");
            }
            v => panic!("{v:?}"),
        }
        assert_eq!(h, before);
    }

    #[test]
    fn a_created_customer_holds_its_keys_for_the_next() {
        let mut h = Holders::default();
        let Verdict::Create(first) =
            judge(DuplicatePolicy::Flag, with_email("a", "a@x.cn"), &mut h, 5)
        else {
            panic!("a first customer is created");
        };
        assert!(first.possible_duplicates.is_empty());
        assert_eq!((first.create_time, first.version), (5, 1));
        let Verdict::Create(second) =
            judge(DuplicatePolicy::Flag, with_email("b", "a@x.cn"), &mut h, 6)
        else {
            panic!("FLAG creates");
        };
        assert_eq!(second.possible_duplicates, vec![first.id]);
        match judge(
            DuplicatePolicy::Reject,
            with_email("c", "a@x.cn"),
            &mut h,
            7,
        ) {
            Verdict::Duplicate(hit, _) => assert_eq!(hit.customer_id, first.id),
            v => panic!("{v:?}"),
        }
    }
}
