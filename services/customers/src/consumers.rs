//! Events the customers service consumes from the orders service: every change of an order
//! keeps its customer's value current (CU12). Each event is applied once (`ctx.consume`
//! records it in the transaction of its effect), and only a revision of the order newer than
//! the one the ledger holds changes anything, so late, reordered and repeated events are
//! harmless.

use std::sync::Arc;

use rapport_proto::orders as opb;
use rapport_runtime::{
    Result,
    context::ServiceContext,
    events::{Event, EventHandler, Published},
};

use crate::{
    app::{events::EVENTS, value},
    convert::order::ledger_entry,
};

/// Every kind of orders event that carries the order after its change.
/// Every change of an order: each `order.*` event carries the order as it became.
const ORDER_CHANGED: Published<opb::OrderChanged> = Published::family("order.");

/// Consumes the orders stream.
pub struct OrderEvents {
    ctx: ServiceContext,
}

impl OrderEvents {
    /// The handler, shared.
    pub fn handler(ctx: ServiceContext) -> Arc<dyn EventHandler> {
        Arc::new(OrderEvents { ctx })
    }
}

#[tonic::async_trait]
impl EventHandler for OrderEvents {
    fn group(&self) -> &'static str {
        "customers.order-events"
    }

    fn stream(&self) -> &'static str {
        "orders"
    }

    async fn handle(&self, event: &Event) -> Result<()> {
        match ORDER_CHANGED.payload(event)? {
            Some(changed) => self.order_changed(event, &changed).await,
            None => Ok(()),
        }
    }
}

impl OrderEvents {
    /// The order's customer's ledger and figures follow the order.
    async fn order_changed(&self, event: &Event, changed: &opb::OrderChanged) -> Result<()> {
        // An order never confirmed (a draft, or a draft called off) never counted and cannot
        // count without a later confirmed revision: its events write nothing, not even the
        // record that they were applied, so the drafts of a busy store cost the consumer
        // nothing.
        if changed
            .order
            .as_ref()
            .is_some_and(|o| o.confirm_time.is_none())
        {
            return Ok(());
        }
        let Some(entry) = ledger_entry(changed) else {
            tracing::warn!(event = %event.id, "an order event without a readable order; skipped");
            return Ok(());
        };
        let Some(mut w) = self.ctx.consume(self.group(), event, EVENTS).await? else {
            return Ok(());
        };
        value::apply_order(&mut w, &event.tenant, entry).await?;
        w.commit(()).await
    }
}

#[cfg(test)]
mod tests {
    use prost::{Message, Name};
    use rapport_runtime::{
        auth::{Principal, Role},
        clock::{DAY, ManualClock, Micros, to_timestamp},
        events::type_url,
    };
    use rapport_testkit::{Backend, TestStores};
    use uuid::Uuid;

    use super::*;
    use crate::{
        app::{App, customers},
        domain::{names, profile::Profile, settings::Settings, value::CustomerValue},
        store,
    };

    const T0: Micros = 1_714_521_600_000_000;

    fn admin(tenant: &str) -> Principal {
        Principal {
            tenant_id: tenant.into(),
            subject: "admin-1".into(),
            roles: vec![Role::Admin],
            team_id: None,
        }
    }

    /// An orders event of `tenant` about `order` of `customer` at `revision`.
    fn order_event(
        tenant: &str,
        order: Uuid,
        customer: Uuid,
        revision: i64,
        state: opb::OrderState,
        net_total: i64,
    ) -> Event {
        let money = |minor_units| {
            Some(rapport_proto::types::Money {
                currency_code: "CNY".into(),
                minor_units,
            })
        };
        let changed = opb::OrderChanged {
            order: Some(opb::Order {
                name: format!("orders/{order}"),
                customer: names::customer_name(customer),
                currency_code: "CNY".into(),
                state: state.into(),
                net_total: money(net_total),
                revision,
                confirm_time: Some(to_timestamp(T0 - DAY)),
                ..Default::default()
            }),
            revision: None,
        };
        Event {
            id: Uuid::now_v7().to_string(),
            r#type: "rapport.orders.v1.order.updated".into(),
            subject: format!("orders/{order}"),
            tenant: tenant.into(),
            data: Some(prost_types::Any {
                type_url: type_url(&opb::OrderChanged::full_name()),
                value: changed.encode_to_vec(),
            }),
            ..Default::default()
        }
    }

    async fn value_of(app: &App, tenant: &str, id: Uuid) -> Option<CustomerValue> {
        let mut conn = app.db().pool().acquire().await.expect("conn");
        store::get_customer(&mut conn, tenant, id)
            .await
            .expect("read")
            .expect("customer")
            .value
    }

    #[tokio::test]
    async fn each_event_counts_once_and_only_a_newer_revision_of_this_tenants_customer() {
        for backend in Backend::all() {
            let stores = TestStores::new(backend).await;
            let ctx = stores
                .context::<crate::Customers>(&ManualClock::at(T0))
                .await;
            let app = App::new(ctx.clone());
            let handler = OrderEvents::handler(ctx);
            let profile = Profile {
                display_name: "张伟".into(),
                ..Profile::default()
            };
            let created = customers::create(&app, admin("t1"), None, profile, &Settings::default())
                .await
                .expect("create");
            let id = names::parse_customer_name(&created.name).expect("id");
            let order = Uuid::now_v7();
            let confirmed = order_event("t1", order, id, 2, opb::OrderState::Confirmed, 100_000);
            handler.handle(&confirmed).await.expect("apply");
            let first = value_of(&app, "t1", id).await.expect("a value");
            assert_eq!((first.order_count, first.total_spent), (1, 100_000));

            // The same event again, even with other content, was applied already.
            let mut again = order_event("t1", order, id, 9, opb::OrderState::Confirmed, 1);
            again.id = confirmed.id.clone();
            handler.handle(&again).await.expect("skip");
            // An older revision arriving late changes nothing, not even a cancellation.
            let late = order_event("t1", order, id, 1, opb::OrderState::Cancelled, 0);
            handler.handle(&late).await.expect("skip");
            assert_eq!(value_of(&app, "t1", id).await.as_ref(), Some(&first));

            // A newer revision replaces the order's entry.
            let updated = order_event("t1", order, id, 3, opb::OrderState::Confirmed, 250_000);
            handler.handle(&updated).await.expect("apply");
            let second = value_of(&app, "t1", id).await.expect("a value");
            assert_eq!((second.order_count, second.total_spent), (1, 250_000));

            // Another tenant's order naming this customer, and an order of a customer the
            // tenant does not have, are acknowledged and change nothing.
            let foreign = order_event("t2", Uuid::now_v7(), id, 1, opb::OrderState::Confirmed, 9);
            handler.handle(&foreign).await.expect("ignored");
            let stranger = Uuid::now_v7();
            let unknown = order_event(
                "t1",
                Uuid::now_v7(),
                stranger,
                1,
                opb::OrderState::Confirmed,
                9,
            );
            handler.handle(&unknown).await.expect("ignored");
            assert_eq!(value_of(&app, "t1", id).await, Some(second));
            let mut conn = app.db().pool().acquire().await.expect("conn");
            assert!(
                store::value::counted_orders(&mut conn, "t2", id)
                    .await
                    .expect("ledger")
                    .is_empty()
            );

            // Cancelling the order takes it out: no confirmed order, no value.
            let cancelled = order_event("t1", order, id, 4, opb::OrderState::Cancelled, 250_000);
            handler.handle(&cancelled).await.expect("apply");
            assert_eq!(value_of(&app, "t1", id).await, None);
        }
    }
}
