//! The distributed topology as Kubernetes runs it: `rapport serve customers` and `rapport serve
//! leads` as two processes on loopback ports, on one PostgreSQL database (a schema each) and one
//! Redis prefix, finding each other through `--peer`. Cross-service calls (ConvertLead creates
//! the customer) and events (a customer's activity is a follow-up of its lead) cross the process
//! boundary; then the processes are killed with SIGKILL in the middle of a stream of writes
//! (leads frozen first so it dies holding events it was handed, and replaced under a new replica
//! name as a new pod would be), and restarted one after the other under load with SIGTERM; every
//! acknowledged write must be there exactly once, and every event applied exactly once.
//!
//! Needs `RAPPORT_TEST_POSTGRES_URL` and `RAPPORT_TEST_REDIS_URL`; each test says it was skipped
//! without them.

use std::{
    collections::{BTreeMap, BTreeSet},
    future::Future,
    net::SocketAddr,
    os::unix::process::ExitStatusExt,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use rapport_proto::{
    customers::{self as cpb, customer_service_client::CustomerServiceClient},
    leads::{self as pb, lead_service_client::LeadServiceClient},
};
use sqlx::Connection;
use tokio::task::JoinHandle;
use tonic::{Code, Status, transport::Channel};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::support::*;

const SECRET: &str = "e2e-topology-secret-e2e-topology-secret";
const TENANT: &str = "acme";
/// How long a consumer may take to catch up (events a dead member was handed are taken over
/// after 30 s idle), and a writer to get going again.
const SETTLE: Duration = Duration::from_secs(90);
/// The consumer group of leads on the customers stream.
const LEADS_GROUP: &str = "leads.customer-events";
/// Pause between two writes of one client loop.
const PACE: Duration = Duration::from_millis(10);

/// One topology at a time: each test runs two servers and a client load, and side by side on a
/// two-core machine they would only slow each other down.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The stores, or `None` after saying the test was skipped.
fn stores_from_env(test: &str) -> Option<(String, String)> {
    match (
        env_var("RAPPORT_TEST_POSTGRES_URL"),
        env_var("RAPPORT_TEST_REDIS_URL"),
    ) {
        (Some(pg), Some(redis)) => Some((pg, redis)),
        _ => {
            eprintln!(
                "skipped: {test} (needs RAPPORT_TEST_POSTGRES_URL and RAPPORT_TEST_REDIS_URL)"
            );
            None
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Svc {
    Customers,
    Leads,
}

/// Two services on fixed loopback ports (so each can be restarted where its peer and its
/// clients expect it), on shared scratch stores.
struct Topology {
    stores: ScratchStores,
    data: tempfile::TempDir,
    customers: SocketAddr,
    leads: SocketAddr,
    /// The Redis the servers are given: the scratch one, or a proxy in front of it.
    redis_url: String,
}

impl Topology {
    async fn new(pg: &str, redis: &str) -> Topology {
        let stores = ScratchStores::create(pg, redis, "e2e_topology").await;
        Topology {
            redis_url: stores.redis_url.clone(),
            stores,
            data: tempfile::tempdir().expect("temp dir"),
            customers: loopback(free_port()),
            leads: loopback(free_port()),
        }
    }

    fn addr(&self, svc: Svc) -> SocketAddr {
        match svc {
            Svc::Customers => self.customers,
            Svc::Leads => self.leads,
        }
    }

    /// Starts `svc` on its port as replica "e2e" and waits until it serves.
    async fn start(&self, svc: Svc) -> Server {
        self.start_as(svc, "e2e").await
    }

    /// As `start`, as replica `replica` (its member name in consumer groups; a pod that
    /// Kubernetes starts in place of a dead one has a new name).
    async fn start_as(&self, svc: Svc, replica: &str) -> Server {
        let (name, peer, grpc) = match svc {
            Svc::Customers => (
                "customers",
                format!("leads=http://{}", self.leads),
                "rapport.customers.v1.CustomerService",
            ),
            Svc::Leads => (
                "leads",
                format!("customers=http://{}", self.customers),
                "rapport.leads.v1.LeadService",
            ),
        };
        let args = [
            name,
            "--database-url",
            &self.stores.url,
            "--redis-url",
            &self.redis_url,
            "--redis-prefix",
            &self.stores.prefix,
            "--peer",
            &peer,
            "--metrics-listen",
            "off",
            "--db-max-connections",
            "4",
            "--shutdown-drain-secs",
            "1",
        ];
        let mut server = Server::start_at(
            self.addr(svc),
            &args,
            &[
                ("RAPPORT_DATA_DIR", arg(self.data.path())),
                ("RAPPORT_JWT_SECRET", SECRET),
                ("RAPPORT_REPLICA", replica),
            ],
        );
        server.wait_serving().await;
        // The overall status reads SERVING from the start; the service's own one is set once
        // its database, cache and bus answered.
        let addr = server.addr;
        eventually(&format!("{grpc} is SERVING"), STARTUP, async || {
            health(addr, grpc).await == Ok(ServingStatus::Serving)
        })
        .await;
        server
    }

    /// Both services, started side by side.
    async fn start_both(&self) -> (Server, Server) {
        tokio::join!(self.start(Svc::Customers), self.start(Svc::Leads))
    }

    async fn admin_token(&self) -> String {
        issue_token(&["--jwt-secret", SECRET], TENANT, "ops", "admin", None).await
    }

    /// How many follow-ups the lead converted into `customer` has, read from the leads
    /// schema (the API does not show the count).
    async fn follow_ups(&self, customer: &str) -> i64 {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.stores.url)
            .await
            .expect("connect to the test database");
        let n: i64 =
            sqlx::query_scalar("SELECT follow_up_count FROM leads.leads WHERE customer_id = $1")
                .bind(customer)
                .fetch_one(&mut conn)
                .await
                .expect("the converted lead's follow-up count");
        let _ = conn.close().await;
        n
    }

    /// Events of the customers stream handed to a member of the leads group and not
    /// acknowledged yet.
    async fn pending(&self) -> i64 {
        let mut r = redis::Client::open(self.stores.redis_url.as_str())
            .expect("a Redis URL")
            .get_multiplexed_async_connection()
            .await
            .expect("connect to Redis");
        let summary: (i64, Option<String>, Option<String>, redis::Value) = redis::cmd("XPENDING")
            .arg(format!("{}events:customers", self.stores.prefix))
            .arg(LEADS_GROUP)
            .query_async(&mut r)
            .await
            .expect("XPENDING");
        summary.0
    }

    /// Waits until the leads consumer caught up: the lead of `customer` counts `expected`
    /// follow-ups and the group has nothing pending (an event applied but not acknowledged
    /// before a crash comes back, and must change nothing). Fails at once on a count above
    /// `expected`: an event applied twice.
    async fn expect_follow_ups(&self, customer: &str, expected: i64) {
        let deadline = Instant::now() + SETTLE;
        loop {
            let n = self.follow_ups(customer).await;
            assert!(
                n <= expected,
                "{n} follow-ups for {expected} activities: an event was applied twice"
            );
            let pending = self.pending().await;
            if n == expected && pending == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "within {SETTLE:?} the leads consumer applied {n} of {expected} activities; \
                 {pending} still pending"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(self.follow_ups(customer).await, expected);
    }
}

/// A channel to one server that clients share and replace after a failure.
struct Link {
    addr: SocketAddr,
    channel: Mutex<Channel>,
}

impl Link {
    fn new(addr: SocketAddr) -> Arc<Link> {
        Arc::new(Link {
            addr,
            channel: Mutex::new(lazy_channel(addr)),
        })
    }

    fn channel(&self) -> Channel {
        self.channel.lock().expect("channel").clone()
    }

    fn reconnect(&self) {
        *self.channel.lock().expect("channel") = lazy_channel(self.addr);
    }
}

/// Whether a call that failed with `status` may be sent again: the server was not there, or
/// the connection closed under the call (a request racing the server's GOAWAY fails in the
/// client as CANCELLED or UNKNOWN with a transport error as its source, the server having
/// answered nothing). Writes carry request ids, so sending one again is safe.
fn retryable(status: &Status) -> bool {
    let transport =
        std::error::Error::source(status).is_some_and(|e| e.is::<tonic::transport::Error>());
    status.code() == Code::Unavailable
        || (transport && matches!(status.code(), Code::Cancelled | Code::Unknown))
}

/// Makes `call` on `link`, reconnecting after a failure and sending it again, with the same
/// request, while the failure is retryable and `retry_for` has not passed. Returns the outcome
/// and how many times it was sent again.
async fn send<T, Fut>(
    link: &Link,
    retry_for: Duration,
    mut call: impl FnMut(Channel) -> Fut,
) -> (Result<T, Status>, u32)
where
    Fut: Future<Output = Result<T, Status>>,
{
    let deadline = Instant::now() + retry_for;
    let mut retries = 0;
    loop {
        match call(link.channel()).await {
            Ok(v) => return (Ok(v), retries),
            Err(s) => {
                link.reconnect();
                if !retryable(&s) || Instant::now() >= deadline {
                    return (Err(s), retries);
                }
                retries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

fn customers_client(channel: Channel, token: &str) -> CustomerServiceClient<Authed> {
    CustomerServiceClient::with_interceptor(channel, Bearer::new(token))
}

fn leads_client(channel: Channel, token: &str) -> LeadServiceClient<Authed> {
    LeadServiceClient::with_interceptor(channel, Bearer::new(token))
}

async fn create_customer(
    channel: Channel,
    token: String,
    request_id: String,
    customer: cpb::Customer,
) -> Result<String, Status> {
    let reply = customers_client(channel, &token)
        .create_customer(cpb::CreateCustomerRequest {
            customer: Some(customer),
            request_id,
        })
        .await?;
    Ok(reply.into_inner().name)
}

fn new_lead(display_name: &str, phone: &str) -> pb::Lead {
    pb::Lead {
        display_name: display_name.into(),
        phone: phone.into(),
        source: pb::LeadSource::Form.into(),
        ..Default::default()
    }
}

async fn create_lead(
    channel: Channel,
    token: String,
    request_id: String,
    lead: pb::Lead,
) -> Result<String, Status> {
    let reply = leads_client(channel, &token)
        .create_lead(pb::CreateLeadRequest {
            lead: Some(lead),
            request_id,
        })
        .await?;
    Ok(reply.into_inner().name)
}

async fn create_activity(
    channel: Channel,
    token: String,
    request_id: String,
    customer: String,
    content: String,
) -> Result<String, Status> {
    let reply = customers_client(channel, &token)
        .create_activity(cpb::CreateActivityRequest {
            parent: customer,
            activity: Some(cpb::Activity {
                kind: cpb::ActivityKind::Call.into(),
                content,
                ..Default::default()
            }),
            request_id,
        })
        .await?;
    Ok(reply.into_inner().name)
}

/// One write of a client loop: its request id, the name of what it created (or why not) and
/// how many times it was sent again.
struct Done {
    request_id: String,
    result: Result<String, Status>,
    retries: u32,
}

/// What a client loop saw.
#[derive(Debug, Default)]
struct Ledger {
    /// Request id and the name of what it created, for every acknowledged write.
    acked: Vec<(String, String)>,
    /// Request id and status of every write that failed (after its retries).
    failed: Vec<(String, Status)>,
    /// Writes sent more than once.
    retried: usize,
}

type Write = Pin<Box<dyn Future<Output = Done> + Send>>;

/// A client loop writing `write(0)`, `write(1)`, … one after the other until finished.
struct Writer {
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Writer {
    fn spawn(mut write: impl FnMut(usize) -> Write + Send + 'static) -> Writer {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (l, s) = (ledger.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut i = 0;
            while !s.load(Ordering::Relaxed) {
                let done = write(i).await;
                {
                    let mut l = l.lock().expect("ledger");
                    if done.retries > 0 {
                        l.retried += 1;
                    }
                    match done.result {
                        Ok(name) => l.acked.push((done.request_id, name)),
                        Err(status) => l.failed.push((done.request_id, status)),
                    }
                }
                i += 1;
                tokio::time::sleep(PACE).await;
            }
        });
        Writer { ledger, stop, task }
    }

    fn acked(&self) -> usize {
        self.ledger.lock().expect("ledger").acked.len()
    }

    fn failed(&self) -> usize {
        self.ledger.lock().expect("ledger").failed.len()
    }

    /// Waits until `n` more writes than now were acknowledged.
    async fn wait_for_more(&self, what: &str, n: usize) {
        let target = self.acked() + n;
        eventually(what, SETTLE, async || self.acked() >= target).await;
    }

    /// Stops the loop after its current write and returns what it saw.
    async fn finish(self) -> Ledger {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("the client loop");
        Arc::try_unwrap(self.ledger)
            .expect("the only ledger")
            .into_inner()
            .expect("ledger")
    }
}

/// A loop creating customers "`label` customer {i}" with request ids.
fn customer_writer(
    link: Arc<Link>,
    token: &str,
    label: &'static str,
    retry_for: Duration,
) -> Writer {
    let token = token.to_owned();
    Writer::spawn(move |i| {
        let (link, token) = (link.clone(), token.clone());
        Box::pin(async move {
            let request_id = format!("{label}-customer-{i}");
            let customer = person(&format!("{label} customer {i}"), &format!("136{i:08}"));
            let (result, retries) = send(&link, retry_for, |ch| {
                create_customer(ch, token.clone(), request_id.clone(), customer.clone())
            })
            .await;
            Done {
                request_id,
                result,
                retries,
            }
        })
    })
}

/// A loop creating leads "`label` lead {i}" with request ids.
fn lead_writer(link: Arc<Link>, token: &str, label: &'static str, retry_for: Duration) -> Writer {
    let token = token.to_owned();
    Writer::spawn(move |i| {
        let (link, token) = (link.clone(), token.clone());
        Box::pin(async move {
            let request_id = format!("{label}-lead-{i}");
            let lead = new_lead(&format!("{label} lead {i}"), &format!("137{i:08}"));
            let (result, retries) = send(&link, retry_for, |ch| {
                create_lead(ch, token.clone(), request_id.clone(), lead.clone())
            })
            .await;
            Done {
                request_id,
                result,
                retries,
            }
        })
    })
}

/// A loop recording calls "`label` call {i}" on `customer`'s timeline with request ids.
fn activity_writer(
    link: Arc<Link>,
    token: &str,
    customer: &str,
    label: &'static str,
    retry_for: Duration,
) -> Writer {
    let (token, customer) = (token.to_owned(), customer.to_owned());
    Writer::spawn(move |i| {
        let (link, token, customer) = (link.clone(), token.clone(), customer.clone());
        Box::pin(async move {
            let request_id = format!("{label}-activity-{i}");
            let content = format!("{label} call {i}");
            let (result, retries) = send(&link, retry_for, |ch| {
                create_activity(
                    ch,
                    token.clone(),
                    request_id.clone(),
                    customer.clone(),
                    content.clone(),
                )
            })
            .await;
            Done {
                request_id,
                result,
                retries,
            }
        })
    })
}

/// Every customer whose display name contains `word`: name → display name.
async fn all_customers(c: &mut Customers, word: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut page_token = String::new();
    loop {
        let page = c
            .list_customers(cpb::ListCustomersRequest {
                filter: format!("display_name:\"{word}\""),
                page_size: 1000,
                page_token,
                ..Default::default()
            })
            .await
            .expect("list customers")
            .into_inner();
        for x in page.customers {
            assert!(
                out.insert(x.name.clone(), x.display_name).is_none(),
                "{} listed twice",
                x.name
            );
        }
        if page.next_page_token.is_empty() {
            return out;
        }
        page_token = page.next_page_token;
    }
}

/// Every lead whose display name contains `word`: name → display name.
async fn all_leads(l: &mut LeadServiceClient<Authed>, word: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut page_token = String::new();
    loop {
        let page = l
            .list_leads(pb::ListLeadsRequest {
                filter: format!("display_name:\"{word}\""),
                page_size: 1000,
                page_token,
                ..Default::default()
            })
            .await
            .expect("list leads")
            .into_inner();
        for x in page.leads {
            assert!(
                out.insert(x.name.clone(), x.display_name).is_none(),
                "{} listed twice",
                x.name
            );
        }
        if page.next_page_token.is_empty() {
            return out;
        }
        page_token = page.next_page_token;
    }
}

/// Every activity on `customer`'s timeline: name → content.
async fn all_activities(c: &mut Customers, customer: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut page_token = String::new();
    loop {
        let page = c
            .list_activities(cpb::ListActivitiesRequest {
                parent: customer.into(),
                page_size: 1000,
                page_token,
            })
            .await
            .expect("list activities")
            .into_inner();
        for x in page.activities {
            assert!(
                out.insert(x.name.clone(), x.content).is_none(),
                "{} listed twice",
                x.name
            );
        }
        if page.next_page_token.is_empty() {
            return out;
        }
        page_token = page.next_page_token;
    }
}

/// The `i` of a client loop's request id `…-{i}`.
fn index(request_id: &str) -> usize {
    request_id
        .rsplit('-')
        .next()
        .and_then(|i| i.parse().ok())
        .unwrap_or_else(|| panic!("no index in {request_id}"))
}

/// Checks that `listed` (name → display name) holds exactly one thing per request id of
/// `ledger`, and that it is the acknowledged one where the write was acknowledged.
/// `retried` maps request ids that failed to what sending them again afterwards created.
fn assert_exactly_once(
    what: &str,
    ledger: &Ledger,
    retried: &BTreeMap<String, String>,
    listed: &BTreeMap<String, String>,
) {
    let mut expected: BTreeMap<&str, &str> = BTreeMap::new();
    for (request_id, name) in ledger.acked.iter().map(|(r, n)| (r, n)).chain(retried) {
        if let Some(other) = expected.insert(name.as_str(), request_id.as_str()) {
            panic!("{what}: {other} and {request_id} both answered {name}");
        }
    }
    let missing: Vec<_> = expected
        .keys()
        .filter(|n| !listed.contains_key(**n))
        .collect();
    assert!(
        missing.is_empty(),
        "{what}: acknowledged but not there: {missing:?}"
    );
    let extra: Vec<_> = listed
        .keys()
        .filter(|n| !expected.contains_key(n.as_str()))
        .collect();
    assert!(
        extra.is_empty(),
        "{what}: there twice or never acknowledged: {extra:?}"
    );
    let ids: BTreeSet<&str> = ledger
        .acked
        .iter()
        .map(|a| a.0.as_str())
        .chain(ledger.failed.iter().map(|f| f.0.as_str()))
        .collect();
    assert_eq!(listed.len(), ids.len(), "{what}: one per request id");
}

/// Team "north" with rep "rep-1", a lead assigned to it, converted: returns the lead and the
/// customer the leads service created in the customers service.
async fn converted_lead(leads: &mut LeadClients) -> (String, String) {
    leads
        .org
        .create_team(pb::CreateTeamRequest {
            team: Some(pb::Team {
                name: "teams/north".into(),
                display_name: "North".into(),
                ..Default::default()
            }),
            request_id: "team-north".into(),
        })
        .await
        .expect("create a team");
    leads
        .org
        .create_rep(pb::CreateRepRequest {
            rep: Some(pb::Rep {
                name: "reps/rep-1".into(),
                display_name: "Rep 1".into(),
                team: "teams/north".into(),
                capacity: 100,
                ..Default::default()
            }),
        })
        .await
        .expect("create a rep");
    let lead = assigned_lead(leads, "Zhang Wei", "13812345678").await;
    let converted = leads
        .leads
        .convert_lead(pb::ConvertLeadRequest {
            name: lead.clone(),
            request_id: "convert-zhang-wei".into(),
            ..Default::default()
        })
        .await
        .expect("convert the lead")
        .into_inner();
    assert!(
        converted.customer.starts_with("customers/"),
        "{converted:?}"
    );
    (lead, converted.customer)
}

/// A lead created and assigned to rep-1 by hand.
async fn assigned_lead(leads: &mut LeadClients, name: &str, phone: &str) -> String {
    let lead = leads
        .leads
        .create_lead(pb::CreateLeadRequest {
            lead: Some(new_lead(name, phone)),
            request_id: format!("lead-{phone}"),
        })
        .await
        .expect("create a lead")
        .into_inner()
        .name;
    leads
        .leads
        .assign_lead(pb::AssignLeadRequest {
            name: lead.clone(),
            rep: "reps/rep-1".into(),
            ..Default::default()
        })
        .await
        .expect("assign the lead");
    lead
}

async fn stop(server: Server) {
    let status = server.terminate().await;
    assert!(status.success(), "exit after SIGTERM: {status}");
}

async fn kill(server: Server) {
    let status = server.kill().await;
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_in_separate_processes_call_each_other_and_survive_a_sigkill_of_leads() {
    let test = "services_in_separate_processes_call_each_other_and_survive_a_sigkill_of_leads";
    let Some((pg, redis)) = stores_from_env(test) else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let topo = Topology::new(&pg, &redis).await;
    let (customers, leads) = topo.start_both().await;
    let admin = topo.admin_token().await;

    // Each process serves its own service and not the other.
    assert_eq!(
        health(customers.addr, "rapport.customers.v1.CustomerService").await,
        Ok(ServingStatus::Serving)
    );
    assert_eq!(
        health(leads.addr, "rapport.leads.v1.LeadService").await,
        Ok(ServingStatus::Serving)
    );
    assert!(
        health(leads.addr, "rapport.customers.v1.CustomerService")
            .await
            .is_err(),
        "the leads process does not serve customers"
    );

    // ConvertLead in leads creates the customer in customers.
    let mut l = leads.leads(&admin).await;
    let mut c = customers.customers(&admin).await;
    let (lead, customer) = converted_lead(&mut l).await;
    let got = c
        .get_customer(cpb::GetCustomerRequest {
            name: customer.clone(),
        })
        .await
        .expect("the customer ConvertLead created")
        .into_inner();
    assert_eq!(got.display_name, "Zhang Wei");
    assert_eq!(got.owner_id, "rep-1");
    // Both services keep their tables in their own schema of the one database.
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&topo.stores.url)
        .await
        .expect("connect to the test database");
    let schemas: Vec<String> = sqlx::query_scalar(
        "SELECT schema_name::text FROM information_schema.schemata \
         WHERE schema_name IN ('customers', 'leads') ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .expect("information_schema");
    assert_eq!(schemas, ["customers", "leads"]);
    let _ = conn.close().await;

    // An activity on the customer in customers reaches leads as a follow-up of the lead.
    c.create_activity(cpb::CreateActivityRequest {
        parent: customer.clone(),
        activity: Some(cpb::Activity {
            kind: cpb::ActivityKind::HomeVisit.into(),
            content: "first home visit".into(),
            ..Default::default()
        }),
        request_id: "first-visit".into(),
    })
    .await
    .expect("record a visit");
    topo.expect_follow_ups(&customer, 1).await;
    let followed = l
        .leads
        .get_lead(pb::GetLeadRequest { name: lead.clone() })
        .await
        .expect("get the lead")
        .into_inner();
    assert!(followed.last_follow_up_time.is_some(), "{followed:?}");

    // Two client loops: calls on the customer's timeline (customers), new leads (leads).
    // Neither retries: each write is acknowledged or recorded as failed.
    let calls = activity_writer(
        Link::new(topo.customers),
        &admin,
        &customer,
        "stream",
        Duration::ZERO,
    );
    let news = lead_writer(Link::new(topo.leads), &admin, "stream", Duration::ZERO);
    calls.wait_for_more("calls are recorded", 15).await;
    news.wait_for_more("leads are created", 15).await;

    // Freeze leads in the middle of it, so it likely holds an event it was handed, then SIGKILL
    // it.
    // The calls go on and queue up for it.
    leads.freeze();
    tokio::time::sleep(Duration::from_millis(300)).await;
    kill(leads).await;
    let held = topo.pending().await;
    eventually("lead writes fail while leads is down", SETTLE, async || {
        news.failed() >= 3
    })
    .await;
    calls
        .wait_for_more("calls are recorded while leads is down", 10)
        .await;
    // Its replacement has another name, as a new pod has: what the dead one held is taken over
    // once it has been idle long enough.
    let leads = topo.start_as(Svc::Leads, "e2e-replacement").await;
    news.wait_for_more("leads are created after the restart", 15)
        .await;
    calls.wait_for_more("calls go on", 5).await;
    let calls = calls.finish().await;
    let news = news.finish().await;
    assert!(
        calls.failed.is_empty(),
        "customers stayed up, yet: {:?}",
        calls.failed
    );

    // Every acknowledged lead is there. Writes that failed are sent again with their request
    // ids: each yields one lead, the one created before the kill if it was.
    let mut l = leads.leads(&admin).await;
    let link = Link::new(topo.leads);
    let mut retried = BTreeMap::new();
    for (request_id, _) in &news.failed {
        let i = index(request_id);
        let lead = new_lead(&format!("stream lead {i}"), &format!("137{i:08}"));
        let (result, _) = send(&link, SETTLE, |ch| {
            create_lead(ch, admin.clone(), request_id.clone(), lead.clone())
        })
        .await;
        let name = result.unwrap_or_else(|s| panic!("send {request_id} again: {s:?}"));
        retried.insert(request_id.clone(), name);
    }
    let listed = all_leads(&mut l.leads, "stream").await;
    assert_exactly_once("leads", &news, &retried, &listed);

    // Every acknowledged call is on the timeline, once.
    let timeline = all_activities(&mut c, &customer).await;
    let mut stream_calls = timeline.clone();
    stream_calls.retain(|_, content| content.starts_with("stream call "));
    assert_exactly_once("calls", &calls, &BTreeMap::new(), &stream_calls);

    // And leads applied each call's event exactly once: one follow-up per call.
    let expected = i64::try_from(timeline.len()).expect("a count");
    assert_eq!(expected, 1 + calls.acked.len() as i64);
    topo.expect_follow_ups(&customer, expected).await;
    eprintln!(
        "{test}: {} calls, {} leads acknowledged, {} lead writes failed during the kill, {held} \
         events held by the killed consumer",
        calls.acked.len(),
        news.acked.len(),
        news.failed.len()
    );

    drop((l, c));
    stop(leads).await;
    stop(customers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_killed_mid_stream_keeps_every_acknowledged_customer_once() {
    let test = "customers_killed_mid_stream_keeps_every_acknowledged_customer_once";
    let Some((pg, redis)) = stores_from_env(test) else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let topo = Topology::new(&pg, &redis).await;
    let (customers, leads) = topo.start_both().await;
    let admin = topo.admin_token().await;
    let mut l = leads.leads(&admin).await;
    // A converted lead sets up the team and rep; a second lead waits to be converted.
    converted_lead(&mut l).await;
    let waiting = assigned_lead(&mut l, "Li Na", "13812340000").await;

    let news = customer_writer(Link::new(topo.customers), &admin, "crash", Duration::ZERO);
    news.wait_for_more("customers are created", 20).await;
    kill(customers).await;
    eventually(
        "customer writes fail while customers is down",
        SETTLE,
        async || news.failed() >= 3,
    )
    .await;

    // Meanwhile ConvertLead cannot reach customers: it fails, retryably, converting nothing.
    let convert = pb::ConvertLeadRequest {
        name: waiting.clone(),
        request_id: "convert-li-na".into(),
        ..Default::default()
    };
    let refused = l
        .leads
        .convert_lead(convert.clone())
        .await
        .expect_err("customers is down");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    let lead = l
        .leads
        .get_lead(pb::GetLeadRequest {
            name: waiting.clone(),
        })
        .await
        .expect("get the lead")
        .into_inner();
    assert_ne!(lead.state(), pb::LeadState::Converted);
    assert_eq!(lead.customer, "");

    let customers = topo.start(Svc::Customers).await;
    news.wait_for_more("customers are created after the restart", 15)
        .await;
    let news = news.finish().await;

    // Writes that failed are sent again with their request ids; acknowledged ones too, which
    // must answer what they answered the first time.
    let link = Link::new(topo.customers);
    let mut retried = BTreeMap::new();
    for (request_id, _) in &news.failed {
        let i = index(request_id);
        let customer = person(&format!("crash customer {i}"), &format!("136{i:08}"));
        let (result, _) = send(&link, SETTLE, |ch| {
            create_customer(ch, admin.clone(), request_id.clone(), customer.clone())
        })
        .await;
        let name = result.unwrap_or_else(|s| panic!("send {request_id} again: {s:?}"));
        retried.insert(request_id.clone(), name);
    }
    for (request_id, name) in news.acked.iter().rev().take(5) {
        let i = index(request_id);
        let customer = person(&format!("crash customer {i}"), &format!("136{i:08}"));
        let (again, _) = send(&link, SETTLE, |ch| {
            create_customer(ch, admin.clone(), request_id.clone(), customer.clone())
        })
        .await;
        let again = again.unwrap_or_else(|s| panic!("send {request_id} again: {s:?}"));
        assert_eq!(&again, name, "{request_id} replayed");
    }
    let mut c = customers.customers(&admin).await;
    let listed = all_customers(&mut c, "crash").await;
    assert_exactly_once("customers", &news, &retried, &listed);

    // The conversion, sent again with its request id, now goes through, creating one customer.
    let converted = l
        .leads
        .convert_lead(convert)
        .await
        .expect("convert once customers is back")
        .into_inner();
    assert!(!converted.existing_customer);
    let li_na = all_customers(&mut c, "Li Na").await;
    assert_eq!(
        li_na.keys().collect::<Vec<_>>(),
        [&converted.customer],
        "one customer for the lead"
    );
    eprintln!(
        "{test}: {} customers acknowledged, {} writes failed during the kill",
        news.acked.len(),
        news.failed.len()
    );

    drop((l, c));
    stop(leads).await;
    stop(customers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_under_load_fails_no_request_and_loses_no_write() {
    let test = "a_rolling_restart_under_load_fails_no_request_and_loses_no_write";
    let Some((pg, redis)) = stores_from_env(test) else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let topo = Topology::new(&pg, &redis).await;
    let (customers, leads) = topo.start_both().await;
    let admin = topo.admin_token().await;
    let (_, customer) = converted_lead(&mut leads.leads(&admin).await).await;

    // Clients that ride out restarts: on UNAVAILABLE they reconnect and send the same request
    // (same request id) again, for up to a minute.
    let (to_customers, to_leads) = (Link::new(topo.customers), Link::new(topo.leads));
    let people = customer_writer(to_customers.clone(), &admin, "rolling", SETTLE);
    let news = lead_writer(to_leads, &admin, "rolling", SETTLE);
    let calls = activity_writer(to_customers, &admin, &customer, "rolling", SETTLE);
    for w in [&people, &news, &calls] {
        w.wait_for_more("writes flow", 10).await;
    }

    // Customers first, then leads: SIGTERM, wait for the exit, start again on the same port.
    stop(customers).await;
    let customers = topo.start(Svc::Customers).await;
    people
        .wait_for_more("customers are created again", 10)
        .await;
    calls.wait_for_more("calls are recorded again", 10).await;
    stop(leads).await;
    let leads = topo.start(Svc::Leads).await;
    news.wait_for_more("leads are created again", 10).await;
    calls.wait_for_more("calls go on", 5).await;

    let people = people.finish().await;
    let news = news.finish().await;
    let calls = calls.finish().await;
    for (what, ledger) in [("customers", &people), ("leads", &news), ("calls", &calls)] {
        assert!(
            ledger.failed.is_empty(),
            "{what}: failed after retries: {:?}",
            ledger.failed
        );
    }

    let mut c = customers.customers(&admin).await;
    let mut l = leads.leads(&admin).await;
    let none = BTreeMap::new();
    assert_exactly_once(
        "customers",
        &people,
        &none,
        &all_customers(&mut c, "rolling").await,
    );
    assert_exactly_once(
        "leads",
        &news,
        &none,
        &all_leads(&mut l.leads, "rolling").await,
    );
    let mut timeline = all_activities(&mut c, &customer).await;
    timeline.retain(|_, content| content.starts_with("rolling call "));
    assert_exactly_once("calls", &calls, &none, &timeline);
    topo.expect_follow_ups(&customer, calls.acked.len() as i64)
        .await;
    eprintln!(
        "{test}: acknowledged {} customers, {} leads, {} calls; sent again: {} customers, {} \
         leads, {} calls",
        people.acked.len(),
        news.acked.len(),
        calls.acked.len(),
        people.retried,
        news.retried,
        calls.retried
    );

    drop((c, l));
    stop(leads).await;
    stop(customers).await;
}

/// Redis cut off from both services (by a proxy that resets their connections, as a Redis
/// restart does) and back: reads and writes go on throughout and readiness stays SERVING (the
/// outbox holds the events); the `events` health status says the bus is away and comes back
/// within moments of Redis; the events written meanwhile arrive; a customer changed during the
/// outage is not served stale afterwards; and with Redis silent (a partition that drops
/// packets) a SIGTERM still stops the process promptly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_redis_outage_stays_short_and_loses_nothing() {
    let test = "a_short_redis_outage_stays_short_and_loses_nothing";
    let Some((pg, redis)) = stores_from_env(test) else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut topo = Topology::new(&pg, &redis).await;
    let (proxy, via_proxy) = rapport_testkit::proxy::Proxy::for_url(&topo.stores.redis_url).await;
    topo.redis_url = via_proxy;
    let (customers, leads) = topo.start_both().await;
    let admin = topo.admin_token().await;
    let mut l = leads.leads(&admin).await;
    let mut c = customers.customers(&admin).await;
    let (_, customer) = converted_lead(&mut l).await;
    let get = cpb::GetCustomerRequest {
        name: customer.clone(),
    };
    // Cached now.
    let before = c.get_customer(get.clone()).await.expect("get").into_inner();
    for server in [&customers, &leads] {
        let addr = server.addr;
        eventually("events SERVING", STARTUP, async || {
            health(addr, "events").await == Ok(ServingStatus::Serving)
        })
        .await;
    }

    proxy.cut();
    let outage = Instant::now();
    // The bus is reported away; readiness stays.
    for server in [&customers, &leads] {
        let addr = server.addr;
        eventually("events NOT_SERVING", Duration::from_secs(10), async || {
            health(addr, "events").await == Ok(ServingStatus::NotServing)
        })
        .await;
        assert_eq!(health(addr, "").await, Ok(ServingStatus::Serving));
    }
    // Writes go on: a change of the cached customer, and an activity whose event waits in
    // the outbox.
    let changed = c
        .update_customer(cpb::UpdateCustomerRequest {
            customer: Some(cpb::Customer {
                name: customer.clone(),
                grade: "A".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["grade".into()],
            }),
        })
        .await
        .expect("an update during the outage")
        .into_inner();
    assert_ne!(changed.etag, before.etag);
    c.create_activity(cpb::CreateActivityRequest {
        parent: customer.clone(),
        activity: Some(cpb::Activity {
            kind: cpb::ActivityKind::Call.into(),
            content: "called during the outage".into(),
            ..Default::default()
        }),
        request_id: "outage-call".into(),
    })
    .await
    .expect("an activity during the outage");
    l.leads
        .list_leads(pb::ListLeadsRequest::default())
        .await
        .expect("reads go on");
    let cut_for = Duration::from_secs(8);
    tokio::time::sleep(cut_for.saturating_sub(outage.elapsed())).await;

    proxy.restore();
    let back = Instant::now();
    for server in [&customers, &leads] {
        let addr = server.addr;
        eventually(
            "events SERVING again",
            Duration::from_secs(10),
            async || health(addr, "events").await == Ok(ServingStatus::Serving),
        )
        .await;
    }
    let recovered = back.elapsed();
    assert!(
        recovered < Duration::from_secs(5),
        "the bus came back {recovered:?} after Redis"
    );
    // Not the value cached before the change.
    let after = c.get_customer(get.clone()).await.expect("get").into_inner();
    assert_eq!(
        (after.grade.as_str(), after.etag.as_str()),
        ("A", changed.etag.as_str())
    );
    // The activity written during the outage reaches leads as a follow-up.
    topo.expect_follow_ups(&customer, 1).await;
    assert!(
        back.elapsed() < Duration::from_secs(15),
        "events flowed {:?} after Redis came back",
        back.elapsed()
    );

    // Redis silent (packets dropped): a SIGTERM still stops each process promptly.
    proxy.stall();
    tokio::time::sleep(Duration::from_secs(2)).await;
    for server in [customers, leads] {
        let asked = Instant::now();
        stop(server).await;
        assert!(
            asked.elapsed() < Duration::from_secs(15),
            "took {:?} to stop",
            asked.elapsed()
        );
    }
    proxy.restore();
}
