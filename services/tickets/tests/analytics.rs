//! Ticket analytics (TK7) through gRPC on every backend: volume by type, channel and period in
//! the report's time zone, SLA compliance, response times in business time, complaint
//! categories, the reopen rate and satisfaction; supervisors get their own team's; bad requests
//! name every bad field.

use crate::common::*;
use rapport_proto::tickets as pb;
use rapport_runtime::clock::{HOUR, MINUTE, Micros};
use rapport_testkit::{each_backend_at, values::date};
use tonic::Code;

/// Monday 2026-09-28 10:00 in Shanghai (02:00 UTC).
const MON_10: Micros = 1_790_560_800_000_000;

#[tokio::test]
async fn reports_count_what_happened_in_business_time() {
    each_backend_at(&services(), MON_10, async |s, clock| {
        register_agent(s, "ag-1", "care", 50, &[]).await;
        register_agent(s, "ag-9", "east", 50, &[]).await;
        complaint_sla(s).await;
        let care = create_queue(
            s,
            "Care",
            "care",
            pb::RoutingStrategy::RoundRobin,
            &["ag-1"],
        )
        .await;
        let east = create_queue(
            s,
            "East",
            "east",
            pb::RoutingStrategy::RoundRobin,
            &["ag-9"],
        )
        .await;
        let wang = customer(s, "Wang Fang", "+8613800138000", "rep-1", "north").await;
        let mut a = admin(s);
        // Three complaints in care (two "delivery damage", one "wrong colour"), one price
        // inquiry by phone in east.
        let mut made = Vec::new();
        for category in ["delivery damage", "delivery damage", "wrong colour"] {
            let mut t = complaint(&wang, &care);
            t.category = category.into();
            made.push(create(&mut a, t, "").await.unwrap());
        }
        let mut inquiry = complaint(&wang, &east);
        inquiry.r#type = "price_inquiry".into();
        inquiry.channel = pb::Channel::Phone.into();
        inquiry.category = String::new();
        create(&mut a, inquiry, "").await.unwrap();
        // Answered after 10 and 20 minutes and (the next morning) 6.5 working hours; the first
        // resolved and reopened.
        let mut ag1 = agent(s, "ag-1", "care");
        clock.advance(10 * MINUTE);
        comment(&mut ag1, &made[0].name, "On it", true, false)
            .await
            .unwrap();
        clock.advance(10 * MINUTE);
        comment(&mut ag1, &made[1].name, "On it", true, false)
            .await
            .unwrap();
        set_state(&mut ag1, &made[0].name, pb::TicketState::Resolved, "")
            .await
            .unwrap();
        set_state(&mut ag1, &made[0].name, pb::TicketState::Reopened, "")
            .await
            .unwrap();
        // Created at 10:00 Monday, answered Tuesday 09:00: 6h30m of working time (10:00–12:00,
        // 13:30–18:00).
        clock.set(MON_10 + 23 * HOUR);
        comment(&mut ag1, &made[2].name, "Sorry for the wait", true, false)
            .await
            .unwrap();

        let ask = |team: &str| pb::GetTicketReportRequest {
            start_date: date(2026, 9, 28),
            end_date: date(2026, 9, 29),
            time_zone: "Asia/Shanghai".into(),
            period: pb::Period::Day.into(),
            team_id: team.into(),
        };
        let report = a
            .analytics
            .get_ticket_report(ask(""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(report.total, 4);
        assert_eq!(report.volume_by_type[0].key, "product_complaint");
        assert_eq!(report.volume_by_type[0].count, 3);
        assert_eq!(report.volume_by_period.len(), 1);
        assert_eq!(report.volume_by_period[0].key, "2026-09-28");
        let first = report.first_response.unwrap();
        assert_eq!(first.count, 3);
        assert_eq!(first.p50_seconds, 20 * 60);
        assert_eq!(first.p90_seconds, 6 * 3600 + 30 * 60);
        let fr = report
            .sla_compliance
            .iter()
            .find(|c| c.target == pb::SlaTargetKind::FirstResponse as i32)
            .unwrap();
        assert_eq!((fr.met, fr.total), (2, 3), "the third answer was late");
        assert_eq!(report.top_complaint_categories[0].key, "delivery damage");
        assert_eq!(report.top_complaint_categories[0].count, 2);
        assert_eq!(report.reopen_rate, 1.0);
        // A supervisor gets its own team's, whatever it asks.
        let east_only = supervisor(s, "east-lead", "east")
            .analytics
            .get_ticket_report(ask("care"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(east_only.total, 1);
        assert_eq!(east_only.volume_by_channel[0].key, "PHONE");
        // Agents do not read reports; bad requests name every bad field.
        assert_code(
            ag1.analytics.get_ticket_report(ask("")).await,
            Code::PermissionDenied,
        );
        let st = assert_code(
            a.analytics
                .get_ticket_report(pb::GetTicketReportRequest {
                    start_date: date(2026, 9, 28),
                    end_date: date(2025, 1, 1),
                    time_zone: "Mars/Olympus".into(),
                    period: 9,
                    team_id: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&st), ["end_date", "period", "time_zone"]);
        let none = stranger(s)
            .analytics
            .get_ticket_report(ask(""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(none.total, 0, "another tenant's report is its own");
    })
    .await;
}
