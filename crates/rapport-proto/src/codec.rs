//! The codec of every generated client and server: prost's, except that a message that does not
//! decode is answered INVALID_ARGUMENT, not INTERNAL.
//!
//! tonic follows the gRPC status guide, which files parse errors under INTERNAL. For a server
//! that is the caller's mistake (random bytes, a string that is not UTF-8, a `Struct` nested past
//! the recursion limit), and INTERNAL would page the operators of a healthy service and count in
//! its error rate. The status carries an `ErrorInfo` (reason `MALFORMED_MESSAGE`, domain
//! `rapport`) and a `BadRequest` naming the field at fault when the decoder knows it.

use std::{collections::HashMap, marker::PhantomData};

use prost::Message;
use tonic::{
    Code, Status,
    codec::{BufferSettings, DecodeBuf, Decoder},
};
use tonic_types::{ErrorDetails, StatusExt};

/// Longest decoder description echoed back, in characters.
const MAX_DESCRIPTION: usize = 200;

/// Encodes `T` and decodes `U` with prost.
#[derive(Debug, Clone)]
pub struct Codec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for Codec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T, U> tonic::codec::Codec for Codec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = tonic_prost::ProstEncoder<T>;
    type Decoder = MessageDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        tonic_prost::ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        MessageDecoder(PhantomData)
    }
}

/// Decodes `U`; a malformed message is INVALID_ARGUMENT.
#[derive(Debug, Clone)]
pub struct MessageDecoder<U>(PhantomData<U>);

impl<U: Message + Default> Decoder for MessageDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        U::decode(buf).map(Some).map_err(|e| malformed(&e))
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::default()
    }
}

/// The status of a message that does not decode.
pub fn malformed(error: &prost::DecodeError) -> Status {
    let (field, what) = describe(&error.to_string());
    let what: String = what.chars().take(MAX_DESCRIPTION).collect();
    let mut details = ErrorDetails::new();
    details.add_bad_request_violation(
        if field.is_empty() { "request" } else { &field },
        format!("does not decode: {what}"),
    );
    details.set_error_info("MALFORMED_MESSAGE", "rapport", HashMap::new());
    Status::with_error_details(
        Code::InvalidArgument,
        format!("the message does not decode as the method's request: {what}"),
        details,
    )
}

/// The field path and the problem in prost's description of a decode error, which reads
/// `failed to decode Protobuf message: Outer.field: Inner.field: what went wrong`.
fn describe(text: &str) -> (String, String) {
    let rest = text
        .strip_prefix("failed to decode Protobuf message: ")
        .unwrap_or(text);
    let mut path = Vec::new();
    let mut what = rest;
    while let Some((step, tail)) = what.split_once(": ") {
        // A step names a message and its field: `Customer.display_name`.
        match step.rsplit_once('.') {
            Some((message, field))
                if !message.is_empty()
                    && !field.is_empty()
                    && step
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') =>
            {
                path.push(field.to_owned());
                what = tail;
            }
            _ => break,
        }
    }
    (path.join("."), what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_path_is_read_from_the_decoder() {
        assert_eq!(
            describe(
                "failed to decode Protobuf message: CreateCustomerRequest.customer: \
                 Customer.display_name: invalid string value: data is not UTF-8 encoded"
            ),
            (
                "customer.display_name".to_owned(),
                "invalid string value: data is not UTF-8 encoded".to_owned()
            )
        );
        assert_eq!(
            describe("failed to decode Protobuf message: buffer underflow"),
            (String::new(), "buffer underflow".to_owned())
        );
    }

    #[test]
    fn garbage_is_invalid_argument_with_details() {
        let err = prost_types::Timestamp::decode(&[0xff_u8, 0xff, 0xff][..]).expect_err("garbage");
        let status = malformed(&err);
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        assert_eq!(
            details.error_info().map(|i| i.reason.as_str()),
            Some("MALFORMED_MESSAGE")
        );
        assert!(details.bad_request().is_some());
    }
}
