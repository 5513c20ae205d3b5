//! Duplicate leads (LE1): a new lead, or a lead whose phone or email changes, is judged against
//! the open leads of the tenant holding the same phone or email. The tenant decides whether such
//! a lead is refused, naming who holds the other, or created and flagged; either way the caller
//! learns who holds it, as far as it may (`rapport_kit::duplicates`).

use rapport_kit::duplicates::{Disclosure, DuplicatePolicy, Holder};
use uuid::Uuid;

use super::lead::{LeadInput, lead_name};

/// The tenant's duplicate rules for leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Refuse or flag.
    pub policy: DuplicatePolicy,
    /// What a caller learns of a holder it may not see.
    pub disclosure: Disclosure,
}

/// An open lead holding contact data of another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The holder.
    pub id: Uuid,
    /// Its name, owner (empty in a public pool) and team; leads have no store.
    pub holder: Holder,
    /// What it shares, as `phone:+86…` or `email:…`.
    pub matched: Vec<String>,
}

impl Match {
    /// Lead `id`, named and owned as given, sharing `matched`.
    pub fn new(
        id: Uuid,
        display_name: String,
        owner_id: String,
        team_id: String,
        matched: Vec<String>,
    ) -> Self {
        Match {
            id,
            holder: Holder {
                name: lead_name(id),
                display_name,
                owner_id,
                team_id,
                store_id: String::new(),
            },
            matched,
        }
    }
}

/// The contact keys of `input` that duplicates are looked up by: its phone and email, as
/// normalized when the lead was parsed.
pub fn contact_keys(input: &LeadInput) -> Vec<String> {
    let mut keys = Vec::new();
    if !input.phone.is_empty() {
        keys.push(format!("phone:{}", input.phone));
    }
    if !input.email.is_empty() {
        keys.push(format!("email:{}", input.email));
    }
    keys
}

/// What `input` shares with a holder whose phone and email are these.
pub fn shared(input: &LeadInput, phone: &str, email: &str) -> Vec<String> {
    let mut out = Vec::new();
    if !input.phone.is_empty() && input.phone == phone {
        out.push(format!("phone:{phone}"));
    }
    if !input.email.is_empty() && input.email == email {
        out.push(format!("email:{email}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(phone: &str, email: &str) -> LeadInput {
        LeadInput {
            phone: phone.into(),
            email: email.into(),
            ..crate::domain::lead::tests_support::sample().input
        }
    }

    #[test]
    fn keys_are_the_phone_and_email_given() {
        assert_eq!(
            contact_keys(&input("+8613800000001", "a@x.cn")),
            ["phone:+8613800000001", "email:a@x.cn"]
        );
        assert_eq!(contact_keys(&input("", "a@x.cn")), ["email:a@x.cn"]);
    }

    #[test]
    fn shared_data_is_what_both_have() {
        let mine = input("+8613800000001", "a@x.cn");
        assert_eq!(
            shared(&mine, "+8613800000001", "b@x.cn"),
            ["phone:+8613800000001"]
        );
        assert_eq!(shared(&mine, "", "a@x.cn"), ["email:a@x.cn"]);
        assert!(shared(&input("", "a@x.cn"), "", "b@x.cn").is_empty());
    }

    #[test]
    fn a_match_is_named_as_a_lead_without_a_store() {
        let id = Uuid::from_u128(7);
        let m = Match::new(id, "李娜".into(), "rep-a".into(), "t1".into(), vec![]);
        assert_eq!(m.holder.name, lead_name(id));
        assert_eq!(m.holder.display_name, "李娜");
        assert_eq!(
            (m.holder.owner_id.as_str(), m.holder.team_id.as_str()),
            ("rep-a", "t1")
        );
        assert!(m.holder.store_id.is_empty());
    }
}
