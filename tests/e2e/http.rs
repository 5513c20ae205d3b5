//! The HTTP/JSON gateway of a standalone server: customers created, read, listed and updated
//! over HTTP with a bearer token, the errors a partner system meets, and the OpenAPI document.

use http::{Method, StatusCode};
use rapport_testkit::http::{JsonClient, JsonReply};
use serde_json::{Value, json};

use crate::support::*;

async fn client(server: &Server, token: Option<&str>) -> JsonClient {
    JsonClient::connect(server.http, token)
        .await
        .expect("connect to the HTTP port")
}

async fn send(c: &mut JsonClient, method: Method, path: &str, body: Value) -> JsonReply {
    c.send(method, path, &body, &[]).await.expect("an answer")
}

/// The field violations of a 400, by field.
fn violations(reply: &JsonReply) -> Vec<String> {
    reply.body["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")
        .flat_map(|d| d["fieldViolations"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v["field"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_system_works_over_http_json() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut server = Server::start(&[], &[("RAPPORT_DATA_DIR", arg(data.path()))]);
    let admin = server.admin_token().await;
    server.wait_serving().await;
    let mut c = client(&server, Some(&admin)).await;

    // Create: the body is the customer; the phone comes back in E.164.
    let person = json!({
        "kind": "CUSTOMER_KIND_PERSON",
        "displayName": "张伟",
        "phones": [{"number": "138 1234 5678", "kind": "PHONE_KIND_MOBILE"}],
        "tags": ["vip"],
    });
    let created = send(&mut c, Method::POST, "/v1/customers", person.clone()).await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.body);
    let name = created.body["name"].as_str().expect("a name").to_owned();
    assert!(name.starts_with("customers/"), "{name}");
    assert_eq!(created.body["phones"][0]["number"], "+8613812345678");

    // Get and list.
    let got = c.get(&format!("/v1/{name}")).await.expect("get");
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, created.body);
    let listed = c
        .get("/v1/customers?pageSize=10&filter=tags%3Avip&orderBy=display_name")
        .await
        .expect("list");
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
    assert_eq!(listed.body["customers"][0]["name"], name.as_str());

    // Update with the etag read; the same update again is refused as stale: 409.
    let etag = got.body["etag"].as_str().expect("an etag").to_owned();
    let path = format!("/v1/{name}?updateMask=grade,tags");
    let change = json!({"etag": etag, "grade": "A", "tags": ["vip", "sofa"]});
    let updated = send(&mut c, Method::PATCH, &path, change.clone()).await;
    assert_eq!(updated.status, StatusCode::OK, "{:?}", updated.body);
    assert_eq!(updated.body["grade"], "A");
    assert_eq!(updated.body["tags"], json!(["vip", "sofa"]));
    let stale = send(&mut c, Method::PATCH, &path, change).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{:?}", stale.body);
    assert_eq!(stale.body["code"], 10, "ABORTED");

    // An Idempotency-Key makes a create safe to retry.
    let retried = json!({"kind": "CUSTOMER_KIND_PERSON", "displayName": "王芳", "phones": [{"number": "13900000003"}]});
    let key = [("idempotency-key", "partner-wang-fang")];
    let first = c
        .send(Method::POST, "/v1/customers", &retried, &key)
        .await
        .expect("create");
    let again = c
        .send(Method::POST, "/v1/customers", &retried, &key)
        .await
        .expect("create");
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.body["name"], again.body["name"]);

    // Caller mistakes are 400 naming the field: the gateway's (a wrong type), the service's
    // (a missing display name).
    let wrong_type = send(
        &mut c,
        Method::POST,
        "/v1/customers",
        json!({"displayName": 5}),
    )
    .await;
    assert_eq!(wrong_type.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong_type.body["code"], 3);
    assert_eq!(violations(&wrong_type), ["customer.displayName"]);
    let unknown = send(
        &mut c,
        Method::POST,
        "/v1/customers",
        json!({"nickname": "x"}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(
        unknown.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("nickname"))
    );
    let missing = send(
        &mut c,
        Method::POST,
        "/v1/customers",
        json!({"kind": "CUSTOMER_KIND_PERSON"}),
    )
    .await;
    assert_eq!(
        missing.status,
        StatusCode::BAD_REQUEST,
        "{:?}",
        missing.body
    );
    assert!(
        violations(&missing)
            .iter()
            .any(|f| f.contains("display_name")),
        "{:?}",
        missing.body
    );
    let not_json = c
        .send(Method::POST, "/v1/customers", &json!("{"), &[])
        .await
        .expect("an answer");
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);

    // No token: 401. Another tenant's customer: 404, as over gRPC.
    let mut anonymous = client(&server, None).await;
    let denied = anonymous.get(&format!("/v1/{name}")).await.expect("get");
    assert_eq!(denied.status, StatusCode::UNAUTHORIZED);
    assert_eq!(denied.body["code"], 16);
    let other = issue_token(
        &["--data-dir", arg(data.path())],
        "other",
        "admin",
        "admin",
        None,
    )
    .await;
    let mut stranger = client(&server, Some(&other)).await;
    let hidden = stranger.get(&format!("/v1/{name}")).await.expect("get");
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{:?}", hidden.body);

    // Unknown paths are 404, a known path with another method 405.
    let nowhere = c.get("/v2/customers").await.expect("get");
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    let wrong = send(&mut c, Method::PUT, "/v1/customers", Value::Null).await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(wrong.headers.contains_key("allow"));

    // The OpenAPI document describes what was just called.
    let doc = anonymous.get("/openapi.json").await.expect("the document");
    assert_eq!(doc.status, StatusCode::OK);
    assert!(
        doc.body["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3."))
    );
    assert!(doc.body["paths"]["/v1/customers/{customer}"]["patch"].is_object());
    assert!(doc.body["components"]["securitySchemes"]["bearer"].is_object());
}
