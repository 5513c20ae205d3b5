//! Duplicate detection on create, FindDuplicates and MergeCustomers through the gRPC API, on
//! every backend (CU3).

use crate::common::*;
use rapport_proto::customers as pb;
use rapport_runtime::auth::Role;
use rapport_testkit::each_backend;
use tonic::Code;
use tonic_types::StatusExt;

fn email(address: &str) -> pb::Email {
    pb::Email {
        address: address.into(),
        label: String::new(),
    }
}

fn wechat(handle: &str) -> pb::ImHandle {
    pb::ImHandle {
        platform: pb::ImPlatform::Wechat.into(),
        handle: handle.into(),
    }
}

fn phone(number: &str) -> pb::Phone {
    pb::Phone {
        number: number.into(),
        ..Default::default()
    }
}

fn need(category: &str) -> pb::Need {
    pb::Need {
        category: category.into(),
        ..Default::default()
    }
}

fn names(customers: &[pb::Customer]) -> Vec<String> {
    customers.iter().map(|c| c.name.clone()).collect()
}

fn matches(r: pb::FindDuplicatesResponse) -> Vec<(String, Vec<String>)> {
    r.matches
        .into_iter()
        .map(|m| (m.customer, m.matched_on))
        .collect()
}

fn by_name(name: &str) -> pb::FindDuplicatesRequest {
    pb::FindDuplicatesRequest {
        name: name.into(),
        contacts: None,
    }
}

fn by_contacts(contacts: pb::Customer) -> pb::FindDuplicatesRequest {
    pb::FindDuplicatesRequest {
        name: String::new(),
        contacts: Some(contacts),
    }
}

fn merge_request(survivor: &str, merged: &[&str], request_id: &str) -> pb::MergeCustomersRequest {
    pb::MergeCustomersRequest {
        survivor: survivor.into(),
        merged: merged.iter().map(|m| m.to_string()).collect(),
        request_id: request_id.into(),
    }
}

async fn note(c: &mut Client, customer: &str, content: &str) -> pb::Activity {
    c.create_activity(pb::CreateActivityRequest {
        parent: customer.into(),
        activity: Some(pb::Activity {
            kind: pb::ActivityKind::Note.into(),
            content: content.into(),
            ..Default::default()
        }),
        request_id: String::new(),
    })
    .await
    .expect("create activity")
    .into_inner()
}

async fn link(
    c: &mut Client,
    customer: &str,
    related: &str,
    kind: pb::RelationshipType,
) -> pb::Relationship {
    c.create_relationship(pb::CreateRelationshipRequest {
        parent: customer.into(),
        relationship: Some(pb::Relationship {
            related_customer: related.into(),
            r#type: kind.into(),
            ..Default::default()
        }),
        request_id: String::new(),
    })
    .await
    .expect("create relationship")
    .into_inner()
}

/// (related customer, type) of every relationship of `customer`.
async fn links(c: &mut Client, customer: &str) -> Vec<(String, pb::RelationshipType)> {
    let mut out: Vec<_> = c
        .list_relationships(pb::ListRelationshipsRequest {
            parent: customer.into(),
            r#type: 0,
        })
        .await
        .expect("list relationships")
        .into_inner()
        .relationships
        .into_iter()
        .map(|r| (r.related_customer.clone(), r.r#type()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The contents of `customer`'s timeline, newest first, with the customer each entry is named
/// under.
async fn timeline(c: &mut Client, customer: &str) -> Vec<(String, String)> {
    c.list_activities(pb::ListActivitiesRequest {
        parent: customer.into(),
        page_size: 100,
        page_token: String::new(),
    })
    .await
    .expect("list activities")
    .into_inner()
    .activities
    .into_iter()
    .map(|a| {
        let owner = a.name.split("/activities/").next().unwrap_or("").to_owned();
        (owner, a.content)
    })
    .collect()
}

#[tokio::test]
async fn create_refuses_the_same_phone_email_or_im_handle_written_differently() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mut first = person("张伟", "138 1234 5678");
        first.emails.push(email("Wei.Zhang@Example.com"));
        first.im_handles.push(wechat("ZhangWei88"));
        let first = create(&mut c, first).await;

        let mut same_email = person("Zhang Wei", "13900000001");
        same_email.emails.push(email("WEI.ZHANG@example.COM"));
        let mut same_handle = person("小张", "13900000002");
        same_handle.im_handles.push(wechat(" zhangwei88 "));
        for (what, dup) in [
            ("phone", person("张伟 (门店2)", "+86 138-1234-5678")),
            ("email", same_email),
            ("im handle", same_handle),
        ] {
            let status = assert_code(
                c.create_customer(create_request(dup)).await,
                Code::AlreadyExists,
            );
            assert_eq!(reason(&status), "DUPLICATE_CUSTOMER", "{what}");
            assert_eq!(existing_resource(&status), first.name, "{what}");
        }
        assert_eq!(
            names(&list_all_customers(&mut c, "").await),
            [first.name.as_str()]
        );

        // Another tenant may hold the same phone; its customers are not duplicates.
        let theirs = create(&mut stranger(s), person("张伟", "13812345678")).await;
        assert_eq!(theirs.phones[0].number, "+8613812345678");
        assert!(theirs.possible_duplicates.is_empty());

        // Only live customers count: once the first is deleted the phone is free again.
        c.delete_customer(pb::DeleteCustomerRequest {
            name: first.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap();
        let again = create(&mut c, person("张伟", "+8613812345678")).await;
        assert!(again.possible_duplicates.is_empty());
        assert_ne!(again.name, first.name);
    })
    .await;
}

#[tokio::test]
async fn flag_policy_accepts_duplicates_and_names_the_existing_ones() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        set_duplicate_policy(&mut c, pb::DuplicatePolicy::Flag).await;
        let mut first = person("李娜", "13911112222");
        first.emails.push(email("li.na@example.com"));
        let first = create(&mut c, first).await;
        let mut second = person("李娜", "13933334444");
        second.emails.push(email("Li.Na@Example.com"));
        let second = create(&mut c, second).await;
        let third = create(&mut c, person("Li Na", "139 1111 2222")).await;

        assert!(first.possible_duplicates.is_empty());
        assert_eq!(second.possible_duplicates, [first.name.as_str()]);
        assert_eq!(
            third.possible_duplicates,
            [first.name.as_str()],
            "only customers sharing a contact are flagged"
        );
        assert_eq!(fetch_customer(&mut c, &second.name).await, second);
        assert_eq!(
            names(&list_all_customers(&mut c, "phone = \"+8613911112222\"").await),
            [first.name.clone(), third.name.clone()]
        );
    })
    .await;
}

#[tokio::test]
async fn find_duplicates_by_customer_and_by_contacts() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        set_duplicate_policy(&mut c, pb::DuplicatePolicy::Flag).await;
        let mut a = person("王芳", "13800000001");
        a.emails.push(email("Fang.Wang@example.com"));
        a.owner_id = "rep-1".into();
        a.team_id = "team-a".into();
        let a = create(&mut c, a).await;
        let mut b = person("王芳 (门店2)", "+86 138 0000 0001");
        b.im_handles.push(wechat("wangfang"));
        let b = create(&mut c, b).await;
        let mut d = person("Fang W.", "13800000009");
        d.im_handles.push(wechat("WangFang"));
        let d = create(&mut c, d).await;
        create(&mut c, person("Unrelated", "13800000005")).await;

        let found = c
            .find_duplicates(by_name(&a.name))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(found.matches.len(), 1);
        assert_eq!(found.matches[0].display_name, "王芳 (门店2)");
        assert_eq!(
            matches(found),
            [(b.name.clone(), vec!["phone:+8613800000001".to_owned()])]
        );
        let found = c
            .find_duplicates(by_name(&b.name))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            matches(found),
            [
                (a.name.clone(), vec!["phone:+8613800000001".to_owned()]),
                (d.name.clone(), vec!["im:wechat:wangfang".to_owned()]),
            ]
        );

        let contacts = pb::Customer {
            phones: vec![phone("138-0000-0009")],
            emails: vec![email("FANG.WANG@EXAMPLE.COM")],
            ..Default::default()
        };
        let found = c
            .find_duplicates(by_contacts(contacts.clone()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            matches(found),
            [
                (
                    a.name.clone(),
                    vec!["email:fang.wang@example.com".to_owned()]
                ),
                (d.name.clone(), vec!["phone:+8613800000009".to_owned()]),
            ]
        );

        // A rep of another store finds the customer another rep serves, and by whom, without
        // seeing it: the name comes masked.
        let mut other_rep = rep(s, "rep-7", "team-z");
        let found = other_rep
            .find_duplicates(by_contacts(pb::Customer {
                emails: vec![email("fang.wang@example.com")],
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(found.matches.len(), 1);
        assert_eq!(found.matches[0].customer, a.name);
        assert_eq!(found.matches[0].display_name, "王*");
        assert_eq!(found.matches[0].owner_id, "rep-1");
        assert_eq!(found.matches[0].team_id, "team-a");
        assert!(!found.matches[0].visible);
        assert_code(
            other_rep.find_duplicates(by_name(&a.name)).await,
            Code::NotFound,
        );

        // Deleted customers are no duplicates.
        c.delete_customer(pb::DeleteCustomerRequest {
            name: d.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap();
        let found = c
            .find_duplicates(by_name(&b.name))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            matches(found),
            [(a.name.clone(), vec!["phone:+8613800000001".to_owned()])]
        );

        // Another tenant sees neither the customer nor its contacts.
        let mut them = stranger(s);
        let status = assert_code(them.find_duplicates(by_name(&a.name)).await, Code::NotFound);
        assert_eq!(reason(&status), "NOT_FOUND");
        let found = them
            .find_duplicates(by_contacts(contacts))
            .await
            .unwrap()
            .into_inner();
        assert!(found.matches.is_empty(), "{found:?}");
    })
    .await;
}

#[tokio::test]
async fn find_duplicates_refuses_bad_input_and_unauthorized_callers() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let bad = pb::Customer {
            phones: vec![phone("12")],
            emails: vec![email("not-an-email")],
            im_handles: vec![pb::ImHandle {
                platform: 0,
                handle: "x".into(),
            }],
            ..Default::default()
        };
        let status = assert_code(
            c.find_duplicates(by_contacts(bad)).await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            [
                "contacts.phones[0].number",
                "contacts.emails[0].address",
                "contacts.im_handles[0].platform",
            ]
        );

        let neither = assert_code(
            c.find_duplicates(pb::FindDuplicatesRequest::default())
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&neither), ["name"]);
        let empty = assert_code(
            c.find_duplicates(by_contacts(pb::Customer::default()))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&empty), ["contacts"]);
        let bad_name = assert_code(
            c.find_duplicates(by_name("people/1")).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&bad_name), ["name"]);

        let contacts = pb::Customer {
            phones: vec![phone("13800000001")],
            ..Default::default()
        };
        assert_code(
            anonymous(s, None)
                .find_duplicates(by_contacts(contacts.clone()))
                .await,
            Code::Unauthenticated,
        );
        assert_code(
            client(s, "t1", "partner-1", &[Role::Partner])
                .find_duplicates(by_contacts(contacts))
                .await,
            Code::PermissionDenied,
        );
    })
    .await;
}

#[tokio::test]
async fn merge_keeps_the_union_and_moves_timeline_relationships_and_history() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        set_duplicate_policy(&mut c, pb::DuplicatePolicy::Flag).await;
        let mut survivor = person("陈静", "13700000001");
        survivor.tags = vec!["vip".into()];
        survivor.needs = vec![need("sofa")];
        let survivor = create(&mut c, survivor).await;
        let mut m1 = person("陈静 (门店2)", "+86 137 0000 0001");
        m1.phones.push(phone("13700000002"));
        m1.emails.push(email("chen.jing@example.com"));
        m1.tags = vec!["new".into(), "vip".into()];
        m1.needs = vec![need("bed"), need("sofa")];
        m1.owner_id = "rep-1".into();
        let m1 = create(&mut c, m1).await;
        let mut m2 = person("Chen Jing", "13700000003");
        m2.emails.push(email("jing@example.org"));
        m2.tags = vec!["north".into()];
        let m2 = create(&mut c, m2).await;
        let spouse = create(&mut c, person("刘洋", "13700000010")).await;
        let child = create(&mut c, person("刘小洋", "13700000011")).await;
        let friend = create(&mut c, person("赵敏", "13700000012")).await;
        assert_eq!(m1.possible_duplicates, [survivor.name.as_str()]);

        note(&mut c, &survivor.name, "survivor note").await;
        note(&mut c, &m1.name, "m1 first note").await;
        note(&mut c, &m2.name, "m2 note").await;
        note(&mut c, &m1.name, "m1 second note").await;
        // The survivor and m1 both have `spouse` as spouse: after the merge the link is kept once.
        link(
            &mut c,
            &survivor.name,
            &spouse.name,
            pb::RelationshipType::Spouse,
        )
        .await;
        link(&mut c, &m1.name, &spouse.name, pb::RelationshipType::Spouse).await;
        link(&mut c, &child.name, &m1.name, pb::RelationshipType::Parent).await;
        link(
            &mut c,
            &m2.name,
            &friend.name,
            pb::RelationshipType::Referrer,
        )
        .await;
        // A link between the survivor and a merged customer disappears.
        link(
            &mut c,
            &survivor.name,
            &m2.name,
            pb::RelationshipType::HouseholdMember,
        )
        .await;
        c.transfer_customer_ownership(pb::TransferCustomerOwnershipRequest {
            name: m1.name.clone(),
            new_owner_id: "rep-2".into(),
            reason: "rep-1 left".into(),
            ..Default::default()
        })
        .await
        .unwrap();

        let merged = c
            .merge_customers(merge_request(
                &survivor.name,
                &[&m1.name, &m2.name],
                "merge-chen-jing",
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(merged.name, survivor.name);
        assert_eq!(merged.display_name, "陈静");
        let numbers: Vec<&str> = merged.phones.iter().map(|p| p.number.as_str()).collect();
        assert_eq!(
            numbers,
            ["+8613700000001", "+8613700000002", "+8613700000003"]
        );
        let emails: Vec<&str> = merged.emails.iter().map(|e| e.address.as_str()).collect();
        assert_eq!(emails, ["chen.jing@example.com", "jing@example.org"]);
        assert_eq!(merged.tags, ["vip", "new", "north"]);
        let needs: Vec<&str> = merged.needs.iter().map(|n| n.category.as_str()).collect();
        assert_eq!(needs, ["sofa", "bed"]);
        assert!(merged.delete_time.is_none());
        assert!(merged.merged_into.is_empty());
        assert_ne!(merged.etag, survivor.etag);
        assert_eq!(fetch_customer(&mut c, &survivor.name).await, merged);

        for gone in [&m1, &m2] {
            let got = fetch_customer(&mut c, &gone.name).await;
            assert_eq!(got.merged_into, survivor.name);
            assert!(got.delete_time.is_some());
        }
        // Only the survivor is live with the merged contacts.
        assert_eq!(
            names(&list_all_customers(&mut c, "phone = \"+8613700000002\"").await),
            [survivor.name.as_str()]
        );
        assert_eq!(
            names(&list_all_customers(&mut c, "email = \"jing@example.org\"").await),
            [survivor.name.as_str()]
        );

        // The timeline of all three is now the survivor's, newest first.
        let entries = timeline(&mut c, &survivor.name).await;
        let contents: Vec<&str> = entries.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            contents,
            [
                "m1 second note",
                "m2 note",
                "m1 first note",
                "survivor note"
            ]
        );
        assert!(entries.iter().all(|(owner, _)| *owner == survivor.name));
        assert!(timeline(&mut c, &m1.name).await.is_empty());

        // Relationships now belong to the survivor, seen from both sides.
        let mut expected = vec![
            (spouse.name.clone(), pb::RelationshipType::Spouse),
            (child.name.clone(), pb::RelationshipType::Child),
            (friend.name.clone(), pb::RelationshipType::Referrer),
        ];
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(links(&mut c, &survivor.name).await, expected);
        assert_eq!(
            links(&mut c, &child.name).await,
            [(survivor.name.clone(), pb::RelationshipType::Parent)]
        );
        assert_eq!(
            links(&mut c, &spouse.name).await,
            [(survivor.name.clone(), pb::RelationshipType::Spouse)]
        );
        assert_eq!(
            links(&mut c, &friend.name).await,
            [(survivor.name.clone(), pb::RelationshipType::Referred)]
        );
        assert!(links(&mut c, &m1.name).await.is_empty());
        assert!(links(&mut c, &m2.name).await.is_empty());

        // So does m1's ownership history.
        let history = c
            .list_ownership_transfers(pb::ListOwnershipTransfersRequest {
                parent: survivor.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(history.transfers.len(), 1);
        assert_eq!(history.transfers[0].reason, "rep-1 left");
        assert_eq!(history.transfers[0].to_owner_id, "rep-2");

        // Merged customers cannot come back.
        for gone in [&m1, &m2] {
            let status = assert_code(
                c.undelete_customer(pb::UndeleteCustomerRequest {
                    name: gone.name.clone(),
                })
                .await,
                Code::FailedPrecondition,
            );
            assert_eq!(reason(&status), "CUSTOMER_MERGED");
        }

        // A retry with the same request id answers the same survivor and does nothing again.
        let retried = c
            .merge_customers(merge_request(
                &survivor.name,
                &[&m1.name, &m2.name],
                "merge-chen-jing",
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(retried, merged);
        assert_eq!(
            fetch_customer(&mut c, &survivor.name).await.etag,
            merged.etag
        );
        assert_eq!(timeline(&mut c, &survivor.name).await.len(), 4);

        // Without it, merging an already merged customer is refused: it is deleted.
        let status = assert_code(
            c.merge_customers(merge_request(&survivor.name, &[&m1.name], ""))
                .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "CUSTOMER_DELETED");
    })
    .await;
}

#[tokio::test]
async fn merge_refuses_deleted_customers() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let survivor = create(&mut c, person("周杰", "13600000001")).await;
        let live = create(&mut c, person("周杰 2", "13600000002")).await;
        let deleted = create(&mut c, person("周杰 3", "13600000003")).await;
        c.delete_customer(pb::DeleteCustomerRequest {
            name: deleted.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap();

        let status = assert_code(
            c.merge_customers(merge_request(
                &survivor.name,
                &[&live.name, &deleted.name],
                "",
            ))
            .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "CUSTOMER_DELETED");
        let status = assert_code(
            c.merge_customers(merge_request(&deleted.name, &[&live.name], ""))
                .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "CUSTOMER_DELETED");
        // Nothing changed.
        assert_eq!(fetch_customer(&mut c, &survivor.name).await, survivor);
        assert_eq!(fetch_customer(&mut c, &live.name).await, live);
    })
    .await;
}

#[tokio::test]
async fn merge_names_every_bad_field_in_one_error() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let survivor = create(&mut c, person("孙丽", "13500000001")).await;
        let other = create(&mut c, person("孙丽 2", "13500000002")).await;

        let status = assert_code(
            c.merge_customers(merge_request("survivor-1", &[], ""))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["survivor", "merged"]);

        let status = assert_code(
            c.merge_customers(merge_request(
                &survivor.name,
                &[
                    &survivor.name,
                    &other.name,
                    &other.name,
                    "customers/not-a-uuid",
                ],
                "",
            ))
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["merged[0]", "merged[2]", "merged[3]"]);

        let fifty_one: Vec<String> = (0..51)
            .map(|_| format!("customers/{}", uuid::Uuid::now_v7()))
            .collect();
        let refs: Vec<&str> = fifty_one.iter().map(String::as_str).collect();
        let status = assert_code(
            c.merge_customers(merge_request(&survivor.name, &refs, ""))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["merged"]);

        assert_eq!(fetch_customer(&mut c, &survivor.name).await, survivor);
        assert_eq!(fetch_customer(&mut c, &other.name).await, other);
    })
    .await;
}

#[tokio::test]
async fn merge_with_another_tenants_customer_is_not_found_and_changes_nothing() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mut them = stranger(s);
        let ours = create(&mut c, person("吴刚", "13400000001")).await;
        let ours_too = create(&mut c, person("吴刚 2", "13400000002")).await;
        let theirs = create(&mut them, person("吴刚", "13400000003")).await;

        for (survivor, merged) in [
            (
                &ours.name,
                vec![ours_too.name.as_str(), theirs.name.as_str()],
            ),
            (&theirs.name, vec![ours.name.as_str()]),
        ] {
            let status = assert_code(
                c.merge_customers(merge_request(survivor, &merged, ""))
                    .await,
                Code::NotFound,
            );
            assert_eq!(reason(&status), "NOT_FOUND");
        }
        assert_code(
            them.merge_customers(merge_request(&theirs.name, &[&ours.name], ""))
                .await,
            Code::NotFound,
        );
        assert_eq!(fetch_customer(&mut c, &ours.name).await, ours);
        assert_eq!(fetch_customer(&mut c, &ours_too.name).await, ours_too);
        assert_eq!(fetch_customer(&mut them, &theirs.name).await, theirs);
    })
    .await;
}

#[tokio::test]
async fn merge_is_for_managers_and_needs_a_credential() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mut a = person("郑爽", "13300000001");
        a.owner_id = "rep-1".into();
        let a = create(&mut c, a).await;
        let mut b = person("郑爽 2", "13300000002");
        b.owner_id = "rep-1".into();
        let b = create(&mut c, b).await;
        let request = merge_request(&a.name, &[&b.name], "");

        assert_code(
            anonymous(s, None).merge_customers(request.clone()).await,
            Code::Unauthenticated,
        );
        for mut denied in [
            rep(s, "rep-1", "team-a"),
            client(s, "t1", "partner-1", &[Role::Partner]),
            client(s, "t1", "marketer-1", &[Role::Marketer]),
        ] {
            assert_code(
                denied.merge_customers(request.clone()).await,
                Code::PermissionDenied,
            );
        }
        assert_eq!(fetch_customer(&mut c, &b.name).await, b);

        let mut manager = client(s, "t1", "manager-1", &[Role::Manager]);
        let merged = manager.merge_customers(request).await.unwrap().into_inner();
        assert_eq!(merged.name, a.name);
        assert_eq!(fetch_customer(&mut c, &b.name).await.merged_into, a.name);
    })
    .await;
}

#[tokio::test]
async fn concurrent_creates_with_one_phone_make_exactly_one_customer() {
    each_backend(&services(), async |s| {
        let formats = [
            "13987654321",
            "139 8765 4321",
            "+86 139 8765 4321",
            "+86-139-8765-4321",
        ];
        let calls = (0..16).map(|i| {
            let mut c = admin(s);
            let customer = person(&format!("客户 {i}"), formats[i % formats.len()]);
            async move { c.create_customer(create_request(customer)).await }
        });
        let results = futures::future::join_all(calls).await;
        let created: Vec<pb::Customer> = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|r| r.get_ref().clone())
            .collect();
        assert_eq!(created.len(), 1, "{results:?}");
        for r in &results {
            if let Err(status) = r {
                assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
                assert_eq!(existing_resource(status), created[0].name);
            }
        }
        let mut c = admin(s);
        let listed = list_all_customers(&mut c, "phone = \"+8613987654321\"").await;
        assert_eq!(names(&listed), [created[0].name.as_str()]);
    })
    .await;
}

#[tokio::test]
async fn merge_never_leaves_the_survivor_referred_by_itself_or_a_merged_customer() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let referrer = create(&mut c, person("介绍人", "13200000001")).await;
        let survivor = create(&mut c, person("林峰", "13200000002")).await;
        // m1 was referred by the survivor, m2 by a real referrer.
        let m1 = create(
            &mut c,
            pb::Customer {
                referrer: survivor.name.clone(),
                ..person("林峰 2", "13200000003")
            },
        )
        .await;
        let m2 = create(
            &mut c,
            pb::Customer {
                referrer: referrer.name.clone(),
                ..person("林峰 3", "13200000004")
            },
        )
        .await;
        let merged = c
            .merge_customers(merge_request(&survivor.name, &[&m1.name, &m2.name], ""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(merged.referrer, referrer.name);

        // A survivor referred by the customer merged into it has no referrer left.
        let survivor = create(
            &mut c,
            pb::Customer {
                referrer: m2.name.clone(),
                ..person("黄蓉", "13200000005")
            },
        )
        .await;
        let other = create(
            &mut c,
            pb::Customer {
                referrer: survivor.name.clone(),
                ..person("黄蓉 2", "13200000006")
            },
        )
        .await;
        let merged = c
            .merge_customers(merge_request(&survivor.name, &[&other.name], ""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(merged.referrer, m2.name, "its own referrer is kept");
        let gone = create(&mut c, person("郭靖", "13200000007")).await;
        let survivor2 = create(
            &mut c,
            pb::Customer {
                referrer: gone.name.clone(),
                ..person("郭芙", "13200000008")
            },
        )
        .await;
        let merged = c
            .merge_customers(merge_request(&survivor2.name, &[&gone.name], ""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(merged.referrer, "", "no referrer naming a merged customer");
        assert_eq!(fetch_customer(&mut c, &survivor2.name).await, merged);
    })
    .await;
}

#[tokio::test]
async fn merge_drops_the_merged_customers_from_the_survivors_possible_duplicates() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        set_duplicate_policy(&mut c, pb::DuplicatePolicy::Flag).await;
        let older = create(&mut c, person("黄药师", "13100000001")).await;
        let mut other = person("黄药师 (旧)", "13100000002");
        other.emails.push(email("huang@example.com"));
        let other = create(&mut c, other).await;
        let mut survivor = person("黄药师", "+86 131 0000 0001");
        survivor.emails.push(email("Huang@Example.com"));
        let survivor = create(&mut c, survivor).await;
        assert_eq!(
            survivor.possible_duplicates,
            [older.name.clone(), other.name.clone()]
        );
        let merged = c
            .merge_customers(merge_request(&survivor.name, &[&older.name], ""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(merged.possible_duplicates, [other.name.as_str()]);
        assert_eq!(fetch_customer(&mut c, &survivor.name).await, merged);
    })
    .await;
}

#[tokio::test]
async fn concurrent_retries_of_one_merge_all_answer_the_same_survivor() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let survivor = create(&mut c, person("欧阳锋", "13000000001")).await;
        let gone = create(&mut c, person("欧阳锋 2", "13000000002")).await;
        let calls = (0..4).map(|_| {
            let mut c = admin(s);
            let request = merge_request(&survivor.name, &[&gone.name], "merge-ouyang");
            async move { c.merge_customers(request).await.map(|r| r.into_inner()) }
        });
        let answers = answered_alike(calls).await;
        assert_eq!(fetch_customer(&mut c, &survivor.name).await, answers[0]);
        assert_eq!(
            fetch_customer(&mut c, &gone.name).await.merged_into,
            survivor.name
        );
    })
    .await;
}

#[tokio::test]
async fn merge_moves_the_customers_a_merged_one_referred_to_the_survivor() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let survivor = create(&mut c, person("张伟", "13800002001")).await;
        let merged = create(&mut c, person("张伟 (old)", "13800002002")).await;
        let mut referred = person("李娜", "13800002003");
        referred.referrer = merged.name.clone();
        let referred = create(&mut c, referred).await;
        let mut elsewhere = person("王芳", "13800002004");
        elsewhere.referrer = survivor.name.clone();
        let elsewhere = create(&mut c, elsewhere).await;

        c.merge_customers(merge_request(&survivor.name, &[&merged.name], ""))
            .await
            .expect("merge");

        let moved = fetch_customer(&mut c, &referred.name).await;
        assert_eq!(moved.referrer, survivor.name);
        assert_ne!(moved.etag, referred.etag, "the move is a change");
        let kept = fetch_customer(&mut c, &elsewhere.name).await;
        assert_eq!(kept.referrer, survivor.name);
        assert_eq!(
            kept.etag, elsewhere.etag,
            "a customer the survivor referred is untouched"
        );
        let found = list_all_customers(&mut c, "display_name:\"李娜\"").await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].referrer, survivor.name);
    })
    .await;
}

/// A phone number is not a name lookup: a rep who may not see the customer holding a phone
/// learns who serves it (resource name, owner, team, store) with the name masked, in
/// FindDuplicates and in a refused create alike; a rep who may see it, and the admin, learn it
/// all; and a tenant that hides even that tells only that the phone is taken.
#[tokio::test]
async fn a_hidden_holder_is_told_masked_or_not_at_all() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mut li = person("李娜", "13900001111");
        li.owner_id = "rep-s04-a".into();
        li.team_id = "s04".into();
        li.store_id = "store-04".into();
        let li = create(&mut c, li).await;
        let asking = pb::Customer {
            phones: vec![phone("139 0000 1111")],
            ..Default::default()
        };

        // Rep of store 01: masked in FindDuplicates and in ALREADY_EXISTS.
        let mut stranger_rep = rep(s, "rep-s01-a", "s01");
        let found = stranger_rep
            .find_duplicates(by_contacts(asking.clone()))
            .await
            .expect("find")
            .into_inner();
        let m = &found.matches[0];
        assert_eq!(
            (
                m.customer.as_str(),
                m.display_name.as_str(),
                m.owner_id.as_str(),
                m.team_id.as_str(),
                m.store_id.as_str(),
                m.visible
            ),
            (
                li.name.as_str(),
                "李*",
                "rep-s04-a",
                "s04",
                "store-04",
                false
            )
        );
        assert_eq!(m.matched_on, ["phone:+8613900001111"]);
        let status = assert_code(
            stranger_rep
                .create_customer(create_request(person("Walk-in", "13900001111")))
                .await,
            Code::AlreadyExists,
        );
        assert!(!status.message().contains("李娜"), "{}", status.message());
        assert!(status.message().contains("李*"), "{}", status.message());
        assert!(
            status.message().contains("rep-s04-a"),
            "{}",
            status.message()
        );
        assert_eq!(existing_resource(&status), li.name);
        let info = status.get_error_details();
        let metadata = &info.error_info().expect("error info").metadata;
        assert_eq!(
            metadata.get("owner_id").map(String::as_str),
            Some("rep-s04-a")
        );
        assert_eq!(
            metadata.get("store_id").map(String::as_str),
            Some("store-04")
        );
        assert!(
            !format!("{:?}", status.details()).contains("李娜"),
            "the name is in no detail either"
        );

        // A rep of store 04 and the admin see it: nothing masked.
        let found = rep(s, "rep-s04-b", "s04")
            .find_duplicates(by_contacts(asking.clone()))
            .await
            .expect("find")
            .into_inner();
        assert_eq!(found.matches[0].display_name, "李娜");
        assert!(found.matches[0].visible);
        let status = assert_code(
            c.create_customer(create_request(person("Walk-in", "13900001111")))
                .await,
            Code::AlreadyExists,
        );
        assert!(status.message().contains("李娜"), "{}", status.message());

        // Hidden: only that the phone is held.
        update_settings(
            &mut c,
            pb::CustomerSettings {
                duplicate_disclosure: rapport_proto::types::DuplicateDisclosure::Hidden.into(),
                ..Default::default()
            },
            &["duplicate_disclosure"],
        )
        .await
        .expect("hide holders");
        let found = stranger_rep
            .find_duplicates(by_contacts(asking))
            .await
            .expect("find")
            .into_inner();
        let m = &found.matches[0];
        assert_eq!(
            (
                m.customer.as_str(),
                m.display_name.as_str(),
                m.owner_id.as_str(),
                m.visible
            ),
            ("", "", "", false)
        );
        assert_eq!(m.matched_on, ["phone:+8613900001111"]);
        let status = assert_code(
            stranger_rep
                .create_customer(create_request(person("Walk-in", "13900001111")))
                .await,
            Code::AlreadyExists,
        );
        let text = format!("{} {:?}", status.message(), status.details());
        for secret in ["李", &li.name, "rep-s04-a", "s04"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    })
    .await;
}
