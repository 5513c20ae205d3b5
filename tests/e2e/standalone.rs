//! `rapport serve` with no flags beyond ports and a data directory: every service in one
//! process on SQLite, as a newcomer runs it.

use rapport_proto::customers as pb;
use tonic::Code;

use crate::support::*;

/// Starts a standalone server on a fresh data directory and returns it with its admin token.
async fn first_start(data: &tempfile::TempDir) -> (Server, String) {
    let mut server = Server::start(&[], &[("RAPPORT_DATA_DIR", arg(data.path()))]);
    let token = server.admin_token().await;
    server.wait_serving().await;
    (server, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_walks_through_the_standalone_server() {
    let data = tempfile::tempdir().expect("temp dir");
    let (server, admin) = first_start(&data).await;

    // Create, get, list and search.
    let mut c = server.customers(&admin).await;
    let wei = create(&mut c, person("张伟", "138 1234 5678")).await;
    assert!(wei.name.starts_with("customers/"), "{}", wei.name);
    assert_eq!(wei.phones[0].number, "+8613812345678");
    create(&mut c, person("王芳", "13900000003")).await;
    let mut owned = person("Li Lei", "13900000004");
    owned.owner_id = "rep-1".into();
    let lilei = create(&mut c, owned).await;

    let got = c
        .get_customer(pb::GetCustomerRequest {
            name: wei.name.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got, wei);
    assert_eq!(names(&mut c, "").await, ["Li Lei", "张伟", "王芳"]);
    assert_eq!(names(&mut c, "display_name:\"伟\"").await, ["张伟"]);
    assert_eq!(names(&mut c, "display_name:\"lei\"").await, ["Li Lei"]);

    // Without a valid token nothing is served.
    let mut stranger = server.customers("not-a-token").await;
    let denied = stranger
        .list_customers(pb::ListCustomersRequest::default())
        .await
        .expect_err("a bad token");
    assert_eq!(denied.code(), Code::Unauthenticated);

    // Metrics count the calls.
    let metrics = http_get(server.metrics, "/metrics").await;
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(
        metrics.contains("rapport_grpc_requests_total"),
        "no request counter in:\n{metrics}"
    );
    assert!(metrics.contains("CreateCustomer"), "{metrics}");

    // Logs are JSON lines.
    let output = server.output();
    let log = output
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON log line in:\n{output}"));
    let log: serde_json::Value = serde_json::from_str(log).expect("a JSON log line");
    assert!(log.get("level").is_some(), "{log}");
    // The start is announced with plain addresses, and without notes of parts not in use.
    let serving = output
        .lines()
        .find(|l| l.contains("\"serving\""))
        .unwrap_or_else(|| panic!("no start line in:\n{output}"));
    assert!(
        serving.contains(&format!("\"metrics\":\"{}\"", server.metrics)),
        "{serving}"
    );
    assert!(!output.contains("Some("), "{output}");
    assert!(
        !output.contains("tracer provider"),
        "no OpenTelemetry endpoint: {output}"
    );

    // A token issued from the same data directory works, with the rep's view of the data.
    let rep = run_ok(&[
        "token",
        "issue",
        "--tenant",
        "default",
        "--subject",
        "rep-1",
        "--role",
        "rep",
        "--data-dir",
        arg(data.path()),
    ])
    .await;
    let mut rep = server.customers(rep.trim()).await;
    assert_eq!(names(&mut rep, "").await, ["Li Lei"], "a rep sees its own");
    let hidden = rep
        .get_customer(pb::GetCustomerRequest {
            name: wei.name.clone(),
        })
        .await
        .expect_err("not the rep's customer");
    assert_eq!(hidden.code(), Code::NotFound);
    let own = rep
        .get_customer(pb::GetCustomerRequest {
            name: lilei.name.clone(),
        })
        .await
        .expect("the rep's own customer")
        .into_inner();
    assert_eq!(own.display_name, "Li Lei");

    // The health subcommand agrees.
    let out = run(&["health", "--addr", &server.url()]).await;
    assert!(out.status.success(), "rapport health: {out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "SERVING");

    drop((c, stranger, rep));
    let status = server.terminate().await;
    assert!(status.success(), "exit after SIGTERM: {status}");

    // Once it is gone, the health subcommand says so, and says which address did not answer.
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let down = run(&["health", "--addr", &nowhere, "--timeout-secs", "2"]).await;
    assert!(!down.status.success(), "health of nothing must fail");
    let said = String::from_utf8_lossy(&down.stderr);
    assert!(said.contains(&nowhere), "{said}");
    assert!(said.contains("refused"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_data_and_the_signing_secret() {
    let data = tempfile::tempdir().expect("temp dir");
    let (server, admin) = first_start(&data).await;
    let mut c = server.customers(&admin).await;
    let wei = create(&mut c, person("张伟", "13812345678")).await;
    drop(c);
    assert!(server.terminate().await.success());

    let mut again = Server::start(&[], &[("RAPPORT_DATA_DIR", arg(data.path()))]);
    again.wait_serving().await;
    assert!(
        !again.output().contains("Admin token"),
        "a second start must not print a new token:\n{}",
        again.output()
    );
    let mut c = again.customers(&admin).await;
    let got = c
        .get_customer(pb::GetCustomerRequest {
            name: wei.name.clone(),
        })
        .await
        .expect("the first start's token and data still work")
        .into_inner();
    assert_eq!(got, wei);
    drop(c);
    assert!(again.terminate().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_reports_invalid_and_duplicate_rows_and_keeps_the_rest() {
    let data = tempfile::tempdir().expect("temp dir");
    let (server, admin) = first_start(&data).await;
    let mut c = server.customers(&admin).await;
    let wei = create(&mut c, person("张伟", "13812345678")).await;

    let file = data.path().join("customers.csv");
    let report = data.path().join("report.csv");
    std::fs::write(
        &file,
        "kind,display_name,phone,email,tags\n\
         person,李雷,13900000001,li.lei@example.com,vip\n\
         person,韩梅梅,13900000002,,\n\
         person,,12,not-an-email,\n\
         person,张伟 (again),+86 138 1234 5678,,\n\
         person,Jim Green,13900000005,jim@example.com,new;vip\n",
    )
    .expect("write the CSV");

    let out = run_ok(&[
        "import",
        "customers",
        arg(&file),
        "--addr",
        &server.url(),
        "--token",
        &admin,
        "--report",
        arg(&report),
    ])
    .await;
    let written = std::fs::read_to_string(&report).unwrap_or_default();
    assert!(
        out.contains("invalid"),
        "summary: {out}\nreport:\n{written}"
    );
    assert!(
        out.contains("duplicate"),
        "summary: {out}\nreport:\n{written}"
    );

    let mut rows = csv::Reader::from_path(&report).expect("the report");
    assert_eq!(
        rows.headers().expect("header"),
        vec!["line", "status", "customer", "problems"]
    );
    let rows: Vec<csv::StringRecord> = rows.records().map(|r| r.expect("a row")).collect();
    assert_eq!(
        rows.len(),
        2,
        "only the two bad rows are reported: {rows:?}"
    );
    // Rows are numbered by their line in the file: the header is line 1.
    assert_eq!(&rows[0][0], "4");
    assert_eq!(&rows[0][1], "invalid");
    for field in ["display_name", "phones", "emails"] {
        assert!(
            rows[0][3].contains(field),
            "{field} missing: {:?}",
            &rows[0][3]
        );
    }
    assert_eq!(&rows[1][0], "5");
    assert_eq!(&rows[1][1], "duplicate");
    assert_eq!(
        &rows[1][2],
        wei.name.as_str(),
        "names the existing customer"
    );

    assert_eq!(
        names(&mut c, "").await,
        ["Jim Green", "张伟", "李雷", "韩梅梅"]
    );
    assert_eq!(names(&mut c, "tags:\"vip\"").await, ["Jim Green", "李雷"]);
    drop(c);
    assert!(server.terminate().await.success());
}
