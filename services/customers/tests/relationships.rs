//! CreateRelationship, ListRelationships and DeleteRelationship through the gRPC API, on every
//! backend (CU4): typed links readable from both sides.

use crate::common::*;
use rapport_proto::customers as pb;
use rapport_runtime::auth::Role;
use rapport_testkit::each_backend;
use tonic::Code;

use pb::RelationshipType as T;

fn link_request(
    customer: &str,
    related: &str,
    kind: T,
    note: &str,
    request_id: &str,
) -> pb::CreateRelationshipRequest {
    pb::CreateRelationshipRequest {
        parent: customer.into(),
        relationship: Some(pb::Relationship {
            related_customer: related.into(),
            r#type: kind.into(),
            note: note.into(),
            ..Default::default()
        }),
        request_id: request_id.into(),
    }
}

async fn link(c: &mut Client, customer: &str, related: &str, kind: T) -> pb::Relationship {
    c.create_relationship(link_request(customer, related, kind, "", ""))
        .await
        .expect("create relationship")
        .into_inner()
}

async fn list(c: &mut Client, customer: &str, kind: Option<T>) -> Vec<pb::Relationship> {
    c.list_relationships(pb::ListRelationshipsRequest {
        parent: customer.into(),
        r#type: kind.map_or(0, Into::into),
    })
    .await
    .expect("list relationships")
    .into_inner()
    .relationships
}

/// (related customer, type) of every relationship of `customer`, sorted.
async fn seen_from(c: &mut Client, customer: &str) -> Vec<(String, T)> {
    let mut out: Vec<_> = list(c, customer, None)
        .await
        .into_iter()
        .map(|r| (r.related_customer.clone(), r.r#type()))
        .collect();
    out.sort();
    out
}

/// The id part of a relationship name.
fn link_id(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or_default()
}

#[tokio::test]
async fn parent_and_child_read_from_both_sides() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let parent = create(&mut c, person("王建国", "13900000001")).await;
        let child = create(&mut c, person("王小明", "13900000002")).await;

        let made = c
            .create_relationship(link_request(
                &child.name,
                &parent.name,
                T::Parent,
                "父亲",
                "",
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(made.customer, child.name);
        assert_eq!(made.related_customer, parent.name);
        assert_eq!(made.r#type(), T::Parent);
        assert_eq!(made.note, "父亲");
        assert!(made.create_time.is_some());
        assert!(
            made.name
                .starts_with(&format!("{}/relationships/", child.name)),
            "{}",
            made.name
        );

        assert_eq!(
            list(&mut c, &child.name, None).await,
            std::slice::from_ref(&made)
        );
        let from_parent = list(&mut c, &parent.name, None).await;
        assert_eq!(from_parent.len(), 1);
        let view = &from_parent[0];
        assert_eq!(view.customer, parent.name);
        assert_eq!(view.related_customer, child.name);
        assert_eq!(view.r#type(), T::Child);
        assert_eq!(view.note, "父亲");
        assert_eq!(view.create_time, made.create_time);
        assert_eq!(
            view.name,
            format!("{}/relationships/{}", parent.name, link_id(&made.name))
        );

        // The same link made from the other side exists already.
        let status = assert_code(
            c.create_relationship(link_request(&parent.name, &child.name, T::Child, "", ""))
                .await,
            Code::AlreadyExists,
        );
        assert_eq!(reason(&status), "RELATIONSHIP_EXISTS");
        assert!(existing_resource(&status).ends_with(link_id(&made.name)));
        // And from the same side.
        assert_code(
            c.create_relationship(link_request(&child.name, &parent.name, T::Parent, "", ""))
                .await,
            Code::AlreadyExists,
        );
        assert_eq!(list(&mut c, &parent.name, None).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn symmetric_and_inverse_types_read_right_from_each_side() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let wife = create(&mut c, person("李华", "13900000011")).await;
        let husband = create(&mut c, person("张强", "13900000012")).await;
        let company = create(
            &mut c,
            pb::Customer {
                kind: pb::CustomerKind::Organization.into(),
                ..person("宏达家具有限公司", "13900000013")
            },
        )
        .await;
        let friend = create(&mut c, person("赵敏", "13900000014")).await;

        link(&mut c, &wife.name, &husband.name, T::Spouse).await;
        link(&mut c, &husband.name, &company.name, T::Employer).await;
        link(&mut c, &friend.name, &wife.name, T::Referred).await;
        link(&mut c, &wife.name, &husband.name, T::DecisionMaker).await;
        link(&mut c, &wife.name, &friend.name, T::HouseholdMember).await;

        let mut expected = vec![
            (husband.name.clone(), T::Spouse),
            (husband.name.clone(), T::DecisionMaker),
            (friend.name.clone(), T::Referrer),
            (friend.name.clone(), T::HouseholdMember),
        ];
        expected.sort();
        assert_eq!(seen_from(&mut c, &wife.name).await, expected);

        let mut expected = vec![
            (wife.name.clone(), T::Spouse),
            (wife.name.clone(), T::Influencer),
            (company.name.clone(), T::Employer),
        ];
        expected.sort();
        assert_eq!(seen_from(&mut c, &husband.name).await, expected);
        assert_eq!(
            seen_from(&mut c, &company.name).await,
            [(husband.name.clone(), T::Employee)]
        );
        let mut expected = vec![
            (wife.name.clone(), T::Referred),
            (wife.name.clone(), T::HouseholdMember),
        ];
        expected.sort();
        assert_eq!(seen_from(&mut c, &friend.name).await, expected);

        // A symmetric link made again from the other side exists already.
        assert_code(
            c.create_relationship(link_request(&husband.name, &wife.name, T::Spouse, "", ""))
                .await,
            Code::AlreadyExists,
        );
    })
    .await;
}

#[tokio::test]
async fn list_filters_by_type_seen_from_the_parent() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let me = create(&mut c, person("陈静", "13900000021")).await;
        let mum = create(&mut c, person("陈母", "13900000022")).await;
        let dad = create(&mut c, person("陈父", "13900000023")).await;
        let kid = create(&mut c, person("陈小", "13900000024")).await;
        let spouse = create(&mut c, person("刘洋", "13900000025")).await;
        link(&mut c, &me.name, &mum.name, T::Parent).await;
        link(&mut c, &dad.name, &me.name, T::Child).await;
        link(&mut c, &me.name, &kid.name, T::Child).await;
        link(&mut c, &spouse.name, &me.name, T::Spouse).await;

        let parents: Vec<String> = list(&mut c, &me.name, Some(T::Parent))
            .await
            .into_iter()
            .map(|r| r.related_customer)
            .collect();
        assert_eq!(parents, [mum.name.clone(), dad.name.clone()]);
        let children = list(&mut c, &me.name, Some(T::Child)).await;
        assert_eq!(children.len(), 1);
        assert_eq!(children[0].related_customer, kid.name);
        let spouses = list(&mut c, &me.name, Some(T::Spouse)).await;
        assert_eq!(spouses.len(), 1);
        assert_eq!(spouses[0].related_customer, spouse.name);
        assert!(list(&mut c, &me.name, Some(T::Employer)).await.is_empty());
        assert_eq!(list(&mut c, &me.name, None).await.len(), 4);
        // Seen from the mother, `me` is a child.
        assert_eq!(list(&mut c, &mum.name, Some(T::Child)).await.len(), 1);
        assert!(list(&mut c, &mum.name, Some(T::Parent)).await.is_empty());

        let status = assert_code(
            c.list_relationships(pb::ListRelationshipsRequest {
                parent: "customers/".into(),
                r#type: 42,
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["parent", "type"]);
        let status = assert_code(
            stranger(s)
                .list_relationships(pb::ListRelationshipsRequest {
                    parent: me.name.clone(),
                    r#type: 0,
                })
                .await,
            Code::NotFound,
        );
        assert_eq!(reason(&status), "NOT_FOUND");
        assert_code(
            anonymous(s, None)
                .list_relationships(pb::ListRelationshipsRequest {
                    parent: me.name.clone(),
                    r#type: 0,
                })
                .await,
            Code::Unauthenticated,
        );
        assert_code(
            client(s, "t1", "partner-1", &[Role::Partner])
                .list_relationships(pb::ListRelationshipsRequest {
                    parent: me.name.clone(),
                    r#type: 0,
                })
                .await,
            Code::PermissionDenied,
        );
    })
    .await;
}

#[tokio::test]
async fn create_names_every_bad_field_and_refuses_a_link_to_self() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let me = create(&mut c, person("孙丽", "13900000031")).await;

        let status = assert_code(
            c.create_relationship(link_request(
                "customers/x",
                "people/y",
                T::Unspecified,
                &"n".repeat(501),
                "",
            ))
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            [
                "parent",
                "relationship.related_customer",
                "relationship.type",
                "relationship.note"
            ]
        );
        let status = assert_code(
            c.create_relationship(link_request(&me.name, &me.name, T::Spouse, "", ""))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["relationship.related_customer"]);
        let status = assert_code(
            c.create_relationship(pb::CreateRelationshipRequest {
                parent: me.name.clone(),
                relationship: None,
                request_id: String::new(),
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["relationship"]);
        assert!(list(&mut c, &me.name, None).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn create_with_another_tenants_or_a_deleted_customer_is_refused() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mut them = stranger(s);
        let ours = create(&mut c, person("吴刚", "13900000041")).await;
        let theirs = create(&mut them, person("吴刚", "13900000041")).await;
        let gone = create(&mut c, person("吴刚 2", "13900000042")).await;
        c.delete_customer(pb::DeleteCustomerRequest {
            name: gone.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap();

        for (from, to) in [(&ours, &theirs), (&theirs, &ours)] {
            let status = assert_code(
                c.create_relationship(link_request(&from.name, &to.name, T::Spouse, "", ""))
                    .await,
                Code::NotFound,
            );
            assert_eq!(reason(&status), "NOT_FOUND");
        }
        assert_code(
            them.create_relationship(link_request(&theirs.name, &ours.name, T::Spouse, "", ""))
                .await,
            Code::NotFound,
        );
        for (from, to) in [(&ours, &gone), (&gone, &ours)] {
            let status = assert_code(
                c.create_relationship(link_request(&from.name, &to.name, T::Spouse, "", ""))
                    .await,
                Code::FailedPrecondition,
            );
            assert_eq!(reason(&status), "CUSTOMER_DELETED");
        }
        assert!(list(&mut c, &ours.name, None).await.is_empty());
        assert!(list(&mut them, &theirs.name, None).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn create_retried_with_its_request_id_links_once() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let a = create(&mut c, person("郑爽", "13900000051")).await;
        let b = create(&mut c, person("郑爽母", "13900000052")).await;
        let request = link_request(&a.name, &b.name, T::Parent, "mother", "link-a-b-1");
        let first = c
            .create_relationship(request.clone())
            .await
            .unwrap()
            .into_inner();
        let again = c.create_relationship(request).await.unwrap().into_inner();
        assert_eq!(again, first);
        assert_eq!(
            list(&mut c, &a.name, None).await,
            std::slice::from_ref(&first)
        );
        assert_eq!(list(&mut c, &b.name, None).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn who_may_link_customers() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mut mine = person("客户甲", "13900000061");
        mine.owner_id = "rep-1".into();
        mine.team_id = "team-a".into();
        let mine = create(&mut c, mine).await;
        let mut not_mine = person("客户乙", "13900000062");
        not_mine.owner_id = "rep-2".into();
        not_mine.team_id = "team-b".into();
        let not_mine = create(&mut c, not_mine).await;
        let request = link_request(&mine.name, &not_mine.name, T::Spouse, "", "");

        assert_code(
            anonymous(s, None)
                .create_relationship(request.clone())
                .await,
            Code::Unauthenticated,
        );
        for mut denied in [
            client(s, "t1", "partner-1", &[Role::Partner]),
            client(s, "t1", "marketer-1", &[Role::Marketer]),
        ] {
            assert_code(
                denied.create_relationship(request.clone()).await,
                Code::PermissionDenied,
            );
        }
        // A rep links its customer to a relative another rep serves, but not the other way.
        let mut rep1 = rep(s, "rep-1", "team-a");
        assert_code(
            rep1.create_relationship(link_request(&not_mine.name, &mine.name, T::Spouse, "", ""))
                .await,
            Code::NotFound,
        );
        let made = rep1
            .create_relationship(request)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(made.related_customer, not_mine.name);
        assert_eq!(list(&mut c, &not_mine.name, None).await.len(), 1);
        assert_code(
            rep1.list_relationships(pb::ListRelationshipsRequest {
                parent: not_mine.name.clone(),
                r#type: 0,
            })
            .await,
            Code::NotFound,
        );
    })
    .await;
}

#[tokio::test]
async fn delete_removes_the_link_from_both_sides() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let parent = create(&mut c, person("王建国", "13900000071")).await;
        let child = create(&mut c, person("王小明", "13900000072")).await;
        let other = create(&mut c, person("路人", "13900000073")).await;
        let made = link(&mut c, &child.name, &parent.name, T::Parent).await;
        let kept = link(&mut c, &child.name, &other.name, T::HouseholdMember).await;
        let id = link_id(&made.name).to_owned();

        // The link named under a customer that is not one of its ends does not exist.
        let status = assert_code(
            c.delete_relationship(pb::DeleteRelationshipRequest {
                name: format!("{}/relationships/{id}", other.name),
            })
            .await,
            Code::NotFound,
        );
        assert_eq!(reason(&status), "NOT_FOUND");
        // Nor does it for another tenant.
        assert_code(
            stranger(s)
                .delete_relationship(pb::DeleteRelationshipRequest {
                    name: made.name.clone(),
                })
                .await,
            Code::NotFound,
        );
        let status = assert_code(
            c.delete_relationship(pb::DeleteRelationshipRequest {
                name: child.name.clone(),
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["name"]);
        assert_code(
            anonymous(s, None)
                .delete_relationship(pb::DeleteRelationshipRequest {
                    name: made.name.clone(),
                })
                .await,
            Code::Unauthenticated,
        );
        assert_code(
            client(s, "t1", "partner-1", &[Role::Partner])
                .delete_relationship(pb::DeleteRelationshipRequest {
                    name: made.name.clone(),
                })
                .await,
            Code::PermissionDenied,
        );
        assert_eq!(list(&mut c, &parent.name, None).await.len(), 1);

        // Deleted through the parent's name for it: gone from both sides.
        c.delete_relationship(pb::DeleteRelationshipRequest {
            name: format!("{}/relationships/{id}", parent.name),
        })
        .await
        .unwrap();
        assert!(list(&mut c, &parent.name, None).await.is_empty());
        assert_eq!(
            list(&mut c, &child.name, None).await,
            std::slice::from_ref(&kept)
        );
        assert_code(
            c.delete_relationship(pb::DeleteRelationshipRequest {
                name: made.name.clone(),
            })
            .await,
            Code::NotFound,
        );
        // The link can be made again.
        link(&mut c, &parent.name, &child.name, T::Child).await;
        assert_eq!(
            seen_from(&mut c, &child.name).await.len(),
            2,
            "parent and household member"
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_retries_of_one_link_are_answered_alike_and_link_once() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let a = create(&mut c, person("杨过", "13900000081")).await;
        let b = create(&mut c, person("小龙女", "13900000082")).await;
        let calls = (0..4).map(|_| {
            let mut c = admin(s);
            let request = link_request(&a.name, &b.name, T::Spouse, "", "link-yang-long");
            async move { c.create_relationship(request).await.map(|r| r.into_inner()) }
        });
        let answers = answered_alike(calls).await;
        assert_eq!(list(&mut c, &a.name, None).await, answers[..1]);
    })
    .await;
}

#[tokio::test]
async fn concurrent_requests_for_one_link_make_it_once_and_name_it() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let a = create(&mut c, person("郭靖", "13900000091")).await;
        let b = create(&mut c, person("黄蓉", "13900000092")).await;
        let calls = (0..8).map(|i| {
            let mut c = admin(s);
            // Half ask from one side, half from the other.
            let request = if i % 2 == 0 {
                link_request(&a.name, &b.name, T::Spouse, "", "")
            } else {
                link_request(&b.name, &a.name, T::Spouse, "", "")
            };
            async move { c.create_relationship(request).await.map(|r| r.into_inner()) }
        });
        let results = futures::future::join_all(calls).await;
        let made: Vec<&pb::Relationship> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(made.len(), 1, "{results:?}");
        for r in &results {
            if let Err(status) = r {
                assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
            }
        }
        let listed = list(&mut c, &made[0].customer, None).await;
        assert_eq!(listed, [made[0].clone()]);
    })
    .await;
}
