//! The HTTP side: an HTTP/1.1 server whose every request is looked up in the route table,
//! transcoded, and answered from the gRPC stack; `GET /openapi.json` serves the document.

use std::{future::Future, io, net::SocketAddr, sync::Arc};

use axum::{
    body::Body,
    extract::{Request, State},
    response::Response,
    serve::ListenerExt as _,
};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use prost_reflect::{DynamicMessage, Value};
use tokio::{net::TcpListener, task::JoinHandle};
use tonic::Code;

use super::{
    Gateway, grpc,
    routes::{Lookup, Route},
    status::Failure,
    transcode,
};

/// The path of the OpenAPI document.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// Serves `gateway` on `listener` until `shutdown` resolves, then lets requests in flight end.
pub fn serve(
    gateway: Gateway,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<(SocketAddr, JoinHandle<io::Result<()>>)> {
    let addr = listener.local_addr()?;
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(Arc::new(gateway));
    // Small replies would otherwise wait for a delayed ACK.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    });
    Ok((addr, task))
}

async fn handle(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    if request.uri().path() == OPENAPI_PATH {
        return match *request.method() {
            Method::GET | Method::HEAD => json(StatusCode::OK, gateway.openapi.clone()),
            _ => failure(&gateway, wrong_method(vec![Method::GET])),
        };
    }
    match call(&gateway, request).await {
        Ok(body) => json(StatusCode::OK, body),
        Err(f) => failure(&gateway, f),
    }
}

async fn call(gateway: &Gateway, request: Request) -> Result<Bytes, Failure> {
    let (parts, body) = request.into_parts();
    let (route, vars) = match gateway.routes.lookup(&parts.method, parts.uri.path()) {
        Lookup::Found(route, vars) => (route, vars),
        Lookup::WrongMethod(allowed) => return Err(wrong_method(allowed)),
        Lookup::NotFound => {
            return Err(Failure::new(
                Code::NotFound,
                "ROUTE_NOT_FOUND",
                format!("no route for {} {}", parts.method, parts.uri.path()),
            ));
        }
    };
    let body = read_body(body, gateway.options.max_body_bytes).await?;
    let mut message = transcode::request(route, &vars, parts.uri.query(), &body)?;
    idempotency_key(route, &parts.headers, &mut message);
    let reply = grpc::unary(
        &gateway.stack,
        &route.grpc_path,
        prost::Message::encode_to_vec(&message),
        &parts.headers,
        gateway.options.request_timeout,
    )
    .await?;
    let reply = DynamicMessage::decode(route.rpc.output(), reply)
        .map_err(|e| crate::Error::internal(format!("the reply does not decode: {e}")))?;
    Ok(transcode::reply(&reply)?.into())
}

/// The body, refused with 413 beyond `limit` bytes (the gRPC message limit).
async fn read_body(body: Body, limit: usize) -> Result<Bytes, Failure> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(Failure::new(
            Code::ResourceExhausted,
            "MESSAGE_TOO_LARGE",
            format!("the body is larger than this server accepts ({limit} bytes)"),
        )
        .with_http(StatusCode::PAYLOAD_TOO_LARGE)),
        Err(e) => Err(Failure::new(
            Code::InvalidArgument,
            "BODY_UNREADABLE",
            format!("the body could not be read: {e}"),
        )),
    }
}

/// An `Idempotency-Key` header fills a request's `request_id` when the body left it empty, so
/// HTTP clients can make retries safe the way they usually do.
fn idempotency_key(route: &Route, headers: &HeaderMap, message: &mut DynamicMessage) {
    let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) else {
        return;
    };
    let input = route.rpc.input();
    let is_string = input
        .get_field_by_name("request_id")
        .is_some_and(|f| matches!(f.kind(), prost_reflect::Kind::String) && !f.is_list());
    if is_string && !message.has_field_by_name("request_id") {
        message.set_field_by_name("request_id", Value::String(key.to_owned()));
    }
}

fn wrong_method(allowed: Vec<Method>) -> Failure {
    let list = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    Failure::new(
        Code::Unimplemented,
        "METHOD_NOT_ALLOWED",
        format!("this path takes {list}"),
    )
    .with_http(StatusCode::METHOD_NOT_ALLOWED)
    .with_allow(list)
}

fn failure(gateway: &Gateway, failure: Failure) -> Response {
    let status = failure.http_status();
    if status.is_server_error() {
        tracing::warn!(code = ?failure.status.code(), message = failure.status.message(), "HTTP gateway call failed");
    }
    let body = serde_json::to_vec(&failure.body(&gateway.pool)).unwrap_or_default();
    let mut response = json(status, body.into());
    if let Some(allow) = failure.allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    response
}

fn json(status: StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
