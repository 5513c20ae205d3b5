//! A small HTTP/1.1 JSON client of the HTTP/JSON gateway, over one kept-alive connection: what
//! end-to-end tests and the benchmark call it with.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// An answer: the status, the headers and the body as JSON (`Null` when empty).
#[derive(Debug)]
pub struct JsonReply {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Value,
}

/// One connection to a gateway, sending `authorization: Bearer <token>` when it has a token.
pub struct JsonClient {
    send: SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    token: Option<String>,
}

impl JsonClient {
    /// Connects to the gateway at `addr`.
    pub async fn connect(addr: SocketAddr, token: Option<&str>) -> std::io::Result<Self> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(conn);
        Ok(Self {
            send,
            addr,
            token: token.map(str::to_owned),
        })
    }

    /// Sends `method path` with `body` (none when `Null`) and `headers`.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Result<JsonReply, Box<dyn std::error::Error + Send + Sync>> {
        let bytes = match body {
            Value::Null => Bytes::new(),
            other => serde_json::to_vec(other)?.into(),
        };
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.addr.to_string())
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send.ready().await?;
        let response = self
            .send
            .send_request(request.body(Full::new(bytes))?)
            .await?;
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await?.to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)?
        };
        Ok(JsonReply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// `GET path`.
    pub async fn get(
        &mut self,
        path: &str,
    ) -> Result<JsonReply, Box<dyn std::error::Error + Send + Sync>> {
        self.send(Method::GET, path, &Value::Null, &[]).await
    }
}
