//! Merging the profile of a duplicate into the survivor's.

use std::collections::HashSet;

use super::consent::ConsentStatus;
use super::profile::{
    ContactKey, Demographics, MAX_ADDRESSES, MAX_CONTACTS, MAX_IMPORTANT_DATES, MAX_NEEDS,
    MAX_SHARED_TEAMS, MAX_TAGS, MAX_TRAITS, Profile, SocialTraits,
};

/// Merges `other` into `survivor`. The survivor keeps its own values and gains what it lacks:
/// empty names, source channel, grade and referrer are filled; contacts are unioned by
/// [`ContactKey`]; addresses, tags, needs, important dates, hobbies, habits and shared teams are
/// unioned (exact duplicates dropped); custom fields and demographics fill gaps; per consent
/// channel the more restrictive decision wins, do-not-disturb is ORed and the survivor's quiet
/// hours stay unless it has none.
///
/// Kind, display name, lifecycle stage and ownership stay the survivor's: ownership changes
/// only by transfer, which keeps its history. A referrer naming the survivor or a merged
/// customer is the caller's to clear, as only it knows the ids. Lists stay within the limits
/// a client is held to, so a merged profile can be updated and re-parsed.
pub fn merge_into(survivor: &mut Profile, other: &Profile) {
    fill(&mut survivor.family_name, &other.family_name);
    fill(&mut survivor.given_name, &other.given_name);
    fill(&mut survivor.organization_name, &other.organization_name);
    fill(&mut survivor.source_channel, &other.source_channel);
    fill(&mut survivor.grade, &other.grade);
    if survivor.referrer.is_none() {
        survivor.referrer = other.referrer;
    }

    let mut keys: HashSet<ContactKey> = survivor.contact_keys().into_iter().collect();
    for phone in &other.phones {
        if survivor.phones.len() < MAX_CONTACTS && keys.insert(ContactKey::phone(&phone.number)) {
            survivor.phones.push(phone.clone());
        }
    }
    for email in &other.emails {
        if survivor.emails.len() < MAX_CONTACTS && keys.insert(ContactKey::email(&email.address)) {
            survivor.emails.push(email.clone());
        }
    }
    for handle in &other.im_handles {
        if survivor.im_handles.len() < MAX_CONTACTS && keys.insert(ContactKey::im(handle)) {
            survivor.im_handles.push(handle.clone());
        }
    }

    union(&mut survivor.addresses, &other.addresses, MAX_ADDRESSES);
    union(&mut survivor.tags, &other.tags, MAX_TAGS);
    union(&mut survivor.needs, &other.needs, MAX_NEEDS);
    union(
        &mut survivor.important_dates,
        &other.important_dates,
        MAX_IMPORTANT_DATES,
    );
    union(
        &mut survivor.shared_team_ids,
        &other.shared_team_ids,
        MAX_SHARED_TEAMS,
    );

    for (key, value) in &other.custom_fields {
        survivor
            .custom_fields
            .entry(key.clone())
            .or_insert_with(|| value.clone());
    }

    merge_demographics(&mut survivor.demographics, &other.demographics);
    merge_traits(&mut survivor.traits, &other.traits);
    merge_consent(survivor, other);
}

fn fill(mine: &mut String, theirs: &str) {
    if mine.is_empty() {
        theirs.clone_into(mine);
    }
}

fn fill_option<T: Clone>(mine: &mut Option<T>, theirs: &Option<T>) {
    if mine.is_none() {
        mine.clone_from(theirs);
    }
}

/// Appends the items of `theirs` that `mine` lacks, keeping `mine` within `cap`.
fn union<T: Clone + PartialEq>(mine: &mut Vec<T>, theirs: &[T], cap: usize) {
    for item in theirs {
        if mine.len() >= cap {
            break;
        }
        if !mine.contains(item) {
            mine.push(item.clone());
        }
    }
}

fn merge_demographics(mine: &mut Demographics, theirs: &Demographics) {
    fill_option(&mut mine.gender, &theirs.gender);
    fill_option(&mut mine.birth_date, &theirs.birth_date);
    fill(&mut mine.occupation, &theirs.occupation);
    fill(&mut mine.title, &theirs.title);
    fill_option(&mut mine.income_band, &theirs.income_band);
    fill_option(&mut mine.education, &theirs.education);
    fill_option(&mut mine.marital_status, &theirs.marital_status);
}

fn merge_traits(mine: &mut SocialTraits, theirs: &SocialTraits) {
    union(&mut mine.hobbies, &theirs.hobbies, MAX_TRAITS);
    union(&mut mine.habits, &theirs.habits, MAX_TRAITS);
    fill_option(&mut mine.risk_tolerance, &theirs.risk_tolerance);
}

fn merge_consent(survivor: &mut Profile, other: &Profile) {
    let mine = &mut survivor.consent;
    let theirs = &other.consent;
    for decision in &theirs.channels {
        match mine
            .channels
            .iter_mut()
            .find(|c| c.channel == decision.channel)
        {
            // An opt-out anywhere must hold after the merge, or the merge would re-enable
            // messages the customer refused.
            Some(kept)
                if kept.status == ConsentStatus::OptedIn
                    && decision.status == ConsentStatus::OptedOut =>
            {
                *kept = decision.clone();
            }
            Some(_) => {}
            None => mine.channels.push(decision.clone()),
        }
    }
    mine.channels.sort_by_key(|c| c.channel);
    mine.do_not_disturb |= theirs.do_not_disturb;
    fill_option(&mut mine.quiet_hours, &theirs.quiet_hours);
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use uuid::Uuid;

    use super::*;
    use crate::domain::consent::{Channel, ChannelConsent, Consent, QuietHours};
    use crate::domain::profile::{
        Address, Date, Email, EmailAddress, Gender, ImHandle, ImPlatform, ImportantDate,
        ImportantDateKind, Need, Phone, PhoneKind, PhoneNumber,
    };

    fn phone(raw: &str, label: &str) -> Phone {
        Phone {
            number: PhoneNumber::parse(raw, "CN").unwrap(),
            kind: Some(PhoneKind::Mobile),
            label: label.into(),
        }
    }

    fn email(raw: &str) -> Email {
        Email {
            address: EmailAddress::parse(raw).unwrap(),
            label: String::new(),
        }
    }

    fn decision(channel: Channel, status: ConsentStatus, source: &str) -> ChannelConsent {
        ChannelConsent {
            channel,
            status,
            source: source.into(),
            update_time: 1,
        }
    }

    fn address(city: &str) -> Address {
        Address {
            country_code: "CN".into(),
            city: city.into(),
            ..Address::default()
        }
    }

    #[test]
    fn survivor_keeps_its_scalars_and_fills_gaps() {
        let referrer = Uuid::now_v7();
        let mut survivor = Profile {
            display_name: "张伟".into(),
            family_name: "张".into(),
            grade: "A".into(),
            owner_id: "rep-1".into(),
            ..Profile::default()
        };
        let other = Profile {
            display_name: "Zhang Wei".into(),
            family_name: "Zhang".into(),
            given_name: "伟".into(),
            grade: "B".into(),
            source_channel: "web_form".into(),
            owner_id: "rep-2".into(),
            referrer: Some(referrer),
            ..Profile::default()
        };
        merge_into(&mut survivor, &other);
        assert_eq!(survivor.display_name, "张伟");
        assert_eq!(survivor.family_name, "张");
        assert_eq!(survivor.given_name, "伟");
        assert_eq!(survivor.grade, "A");
        assert_eq!(survivor.source_channel, "web_form");
        assert_eq!(survivor.owner_id, "rep-1");
        assert_eq!(survivor.referrer, Some(referrer));
    }

    #[test]
    fn contacts_are_unioned_by_key() {
        let mut survivor = Profile {
            phones: vec![phone("13812345678", "mine")],
            emails: vec![email("wei@example.com")],
            ..Profile::default()
        };
        let other = Profile {
            phones: vec![
                phone("+86 138 1234 5678", "theirs"),
                phone("13912345678", ""),
            ],
            emails: vec![email("WEI@example.com"), email("zw@example.cn")],
            im_handles: vec![ImHandle::parse(ImPlatform::Qq, "10001").unwrap()],
            ..Profile::default()
        };
        merge_into(&mut survivor, &other);
        let phones: Vec<(&str, &str)> = survivor
            .phones
            .iter()
            .map(|p| (p.number.as_str(), p.label.as_str()))
            .collect();
        assert_eq!(phones, [("+8613812345678", "mine"), ("+8613912345678", "")]);
        let emails: Vec<&str> = survivor.emails.iter().map(|e| e.address.as_str()).collect();
        assert_eq!(emails, ["wei@example.com", "zw@example.cn"]);
        assert_eq!(survivor.im_handles.len(), 1);
    }

    #[test]
    fn lists_are_unioned_without_exact_duplicates() {
        let need = Need {
            category: "sofa".into(),
            ..Need::default()
        };
        let date = ImportantDate {
            kind: ImportantDateKind::Anniversary,
            label: String::new(),
            date: Date::new(2015, 10, 1).unwrap(),
        };
        let mut survivor = Profile {
            addresses: vec![address("深圳市")],
            tags: vec!["vip".into(), "sofa".into()],
            needs: vec![need.clone()],
            important_dates: vec![date.clone()],
            shared_team_ids: vec!["t1".into()],
            ..Profile::default()
        };
        let other = Profile {
            addresses: vec![address("深圳市"), address("广州市")],
            tags: vec!["sofa".into(), "new".into()],
            needs: vec![
                need.clone(),
                Need {
                    category: "bed".into(),
                    ..Need::default()
                },
            ],
            important_dates: vec![date.clone()],
            shared_team_ids: vec!["t2".into(), "t1".into()],
            ..Profile::default()
        };
        merge_into(&mut survivor, &other);
        assert_eq!(survivor.addresses.len(), 2);
        assert_eq!(survivor.tags, ["vip", "sofa", "new"]);
        assert_eq!(survivor.needs.len(), 2);
        assert_eq!(survivor.important_dates, [date]);
        assert_eq!(survivor.shared_team_ids, ["t1", "t2"]);
    }

    #[test]
    fn custom_fields_and_demographics_fill_gaps() {
        let mut survivor = Profile {
            custom_fields: [("size".to_owned(), json!("M"))].into(),
            demographics: Demographics {
                occupation: "teacher".into(),
                ..Demographics::default()
            },
            traits: SocialTraits {
                hobbies: vec!["tea".into()],
                ..SocialTraits::default()
            },
            ..Profile::default()
        };
        let other = Profile {
            custom_fields: [
                ("size".to_owned(), json!("L")),
                ("rooms".to_owned(), json!(3)),
            ]
            .into(),
            demographics: Demographics {
                occupation: "engineer".into(),
                gender: Some(Gender::Male),
                birth_date: Some(Date::new(1988, 5, 4).unwrap()),
                ..Demographics::default()
            },
            traits: SocialTraits {
                hobbies: vec!["golf".into(), "tea".into()],
                habits: vec!["early riser".into()],
                ..SocialTraits::default()
            },
            ..Profile::default()
        };
        merge_into(&mut survivor, &other);
        assert_eq!(survivor.custom_fields["size"], json!("M"));
        assert_eq!(survivor.custom_fields["rooms"], json!(3));
        assert_eq!(survivor.demographics.occupation, "teacher");
        assert_eq!(survivor.demographics.gender, Some(Gender::Male));
        assert!(survivor.demographics.birth_date.is_some());
        assert_eq!(survivor.traits.hobbies, ["tea", "golf"]);
        assert_eq!(survivor.traits.habits, ["early riser"]);
    }

    #[test]
    fn the_most_restrictive_consent_wins() {
        let quiet = QuietHours {
            start_minute: 1320,
            end_minute: 480,
            utc_offset_minutes: 480,
        };
        let mut survivor = Profile {
            consent: Consent {
                channels: vec![
                    decision(Channel::Sms, ConsentStatus::OptedIn, "mine"),
                    decision(Channel::Phone, ConsentStatus::OptedOut, "mine"),
                ],
                do_not_disturb: false,
                quiet_hours: None,
            },
            ..Profile::default()
        };
        let other = Profile {
            consent: Consent {
                channels: vec![
                    decision(Channel::Im, ConsentStatus::OptedIn, "theirs"),
                    decision(Channel::Phone, ConsentStatus::OptedIn, "theirs"),
                    decision(Channel::Sms, ConsentStatus::OptedOut, "theirs"),
                ],
                do_not_disturb: true,
                quiet_hours: Some(quiet),
            },
            ..Profile::default()
        };
        merge_into(&mut survivor, &other);
        let got: Vec<(Channel, ConsentStatus, &str)> = survivor
            .consent
            .channels
            .iter()
            .map(|c| (c.channel, c.status, c.source.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (Channel::Sms, ConsentStatus::OptedOut, "theirs"),
                (Channel::Phone, ConsentStatus::OptedOut, "mine"),
                (Channel::Im, ConsentStatus::OptedIn, "theirs"),
            ]
        );
        assert!(survivor.consent.do_not_disturb);
        assert_eq!(survivor.consent.quiet_hours, Some(quiet));
    }

    #[test]
    fn survivors_quiet_hours_stay() {
        let mine = QuietHours {
            start_minute: 60,
            end_minute: 120,
            utc_offset_minutes: 0,
        };
        let theirs = QuietHours {
            start_minute: 1320,
            end_minute: 480,
            utc_offset_minutes: 480,
        };
        let mut survivor = Profile {
            consent: Consent {
                quiet_hours: Some(mine),
                ..Consent::default()
            },
            ..Profile::default()
        };
        let other = Profile {
            consent: Consent {
                quiet_hours: Some(theirs),
                ..Consent::default()
            },
            ..Profile::default()
        };
        merge_into(&mut survivor, &other);
        assert_eq!(survivor.consent.quiet_hours, Some(mine));
    }

    #[test]
    fn merged_lists_stay_within_limits() {
        let mut survivor = Profile {
            tags: (0..MAX_TAGS).map(|i| format!("a{i}")).collect(),
            ..Profile::default()
        };
        let other = Profile {
            tags: vec!["b".into()],
            ..Profile::default()
        };
        merge_into(&mut survivor, &other);
        assert_eq!(survivor.tags.len(), MAX_TAGS);
    }
}
