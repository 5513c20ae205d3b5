//! What no client should send, sent to every RPC of every service on every backend: payloads
//! that do not decode, messages over the size limit, names and filters built to hurt. Each is the
//! caller's mistake and is answered as one (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, NOT_FOUND),
//! never INTERNAL, with an answer small enough for a default client to receive.

use bytes::{Buf, BufMut};
use prost::Message;
use rapport_proto::customers as cpb;
use rapport_runtime::auth::Role;
use rapport_testkit::{TestServer, each_backend};
use tonic::{
    Code, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    codegen::http::uri::PathAndQuery,
    metadata::MetadataValue,
};
use tonic_types::StatusExt;

use super::*;

/// Sends and receives bytes as they are.
#[derive(Debug, Clone, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        Ok(Some(buf.copy_to_bytes(buf.remaining()).to_vec()))
    }
}

/// Every method of every Rapport service: (path, client streaming, server streaming).
fn methods() -> Vec<(String, bool, bool)> {
    let set = prost_types::FileDescriptorSet::decode(rapport_proto::FILE_DESCRIPTOR_SET)
        .expect("descriptor set");
    let mut out = Vec::new();
    for file in &set.file {
        for service in &file.service {
            for m in &service.method {
                out.push((
                    format!("/{}.{}/{}", file.package(), service.name(), m.name()),
                    m.client_streaming(),
                    m.server_streaming(),
                ));
            }
        }
    }
    out
}

/// Calls `path` as the admin with `payload`, the whole of its request (or the first message of
/// its request stream); the status of the answer.
async fn call(s: &TestServer, path: &str, streaming: (bool, bool), payload: Vec<u8>) -> Status {
    let mut grpc = tonic::client::Grpc::new(s.channel.clone())
        .max_encoding_message_size(64 << 20)
        .max_decoding_message_size(64 << 20);
    grpc.ready().await.expect("ready");
    let token = s.token("t1", "admin-1", &[Role::Admin], None);
    let auth: MetadataValue<_> = format!("Bearer {token}").parse().expect("header");
    let path = PathAndQuery::try_from(path).expect("path");
    let outcome = match streaming {
        (false, false) => {
            let mut req = tonic::Request::new(payload);
            req.metadata_mut().insert("authorization", auth);
            grpc.unary(req, path, Raw).await.map(drop)
        }
        (false, true) => {
            let mut req = tonic::Request::new(payload);
            req.metadata_mut().insert("authorization", auth);
            match grpc.server_streaming(req, path, Raw).await {
                Ok(r) => r.into_inner().message().await.map(drop),
                Err(e) => Err(e),
            }
        }
        (true, _) => {
            let mut req = tonic::Request::new(tokio_stream::iter(vec![payload]));
            req.metadata_mut().insert("authorization", auth);
            match grpc.streaming(req, path, Raw).await {
                Ok(r) => r.into_inner().message().await.map(drop),
                Err(e) => Err(e),
            }
        }
    };
    outcome.expect_err("refused")
}

fn assert_callers_mistake(status: &Status, code: Code, what: &str) {
    assert_eq!(status.code(), code, "{what}: {status:?}");
    assert!(
        status.get_error_details().error_info().is_some(),
        "{what}: no ErrorInfo: {status:?}"
    );
}

#[tokio::test]
async fn payloads_that_do_not_decode_are_the_callers_mistake_in_every_rpc() {
    each_backend(&services(), async |s| {
        let methods = methods();
        assert!(methods.len() > 60, "{}", methods.len());
        for (path, client_streams, server_streams) in methods {
            let streaming = (client_streams, server_streams);
            // Random bytes: a field header announcing more than there is.
            let st = call(
                s,
                &path,
                streaming,
                vec![0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2],
            )
            .await;
            assert_callers_mistake(&st, Code::InvalidArgument, &format!("{path} garbage"));
            // Field 1, length-delimited, not UTF-8: a bad string, or a bad nested message.
            let st = call(s, &path, streaming, vec![0x0a, 0x02, 0xff, 0xfe]).await;
            assert_callers_mistake(&st, Code::InvalidArgument, &format!("{path} not UTF-8"));
            // Over the 4 MiB limit.
            let big = vec![0x0a, 0x80, 0x80, 0x80, 0x03]
                .into_iter()
                .chain(std::iter::repeat_n(b'a', 6 << 20))
                .collect();
            let st = call(s, &path, streaming, big).await;
            assert_callers_mistake(&st, Code::ResourceExhausted, &format!("{path} too large"));
            assert_eq!(
                st.get_error_details()
                    .error_info()
                    .map(|i| i.reason.clone()),
                Some("MESSAGE_TOO_LARGE".to_owned())
            );
        }
    })
    .await;
}

#[tokio::test]
async fn hostile_values_get_short_clear_answers() {
    each_backend(&services(), async |s| {
        let mut c = customers_as(s, s.admin());

        // A Struct nested 40 deep passes no decoder's recursion limit.
        let mut deep = prost_types::Struct::default();
        for _ in 0..40 {
            let mut outer = prost_types::Struct::default();
            outer.fields.insert(
                "x".into(),
                prost_types::Value {
                    kind: Some(prost_types::value::Kind::StructValue(deep)),
                },
            );
            deep = outer;
        }
        let st = assert_code(
            c.create_customer(cpb::CreateCustomerRequest {
                customer: Some(cpb::Customer {
                    kind: cpb::CustomerKind::Person.into(),
                    display_name: "deep".into(),
                    custom_fields: Some(deep),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(reason(&st), "MALFORMED_MESSAGE");

        // A 10,000-character name: a short message, received by a default client.
        let st = assert_code(
            c.get_customer(cpb::GetCustomerRequest {
                name: format!("customers/{}", "a".repeat(10_000)),
            })
            .await,
            Code::InvalidArgument,
        );
        assert!(
            st.message().chars().count() <= 301,
            "{}",
            st.message().len()
        );
        assert!(st.details().len() < 2_000, "{}", st.details().len());

        // A NUL in a filter value matches nothing: it is refused.
        let st = assert_code(
            c.list_customers(cpb::ListCustomersRequest {
                filter: "display_name:\"\u{0}\"".into(),
                ..Default::default()
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["filter"]);

        // A send time at the end of time would be answered with a time past it.
        let st = assert_code(
            c.check_contact_permission(cpb::CheckContactPermissionRequest {
                name: "customers/00000000-0000-7000-8000-000000000000".into(),
                channel: cpb::Channel::Sms.into(),
                send_time: Some(prost_types::Timestamp {
                    seconds: 253_402_300_799,
                    nanos: 0,
                }),
                transactional: false,
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["send_time"]);
    })
    .await;
}
