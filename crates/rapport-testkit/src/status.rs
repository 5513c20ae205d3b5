//! Assertions on gRPC errors: the code, the fields a BadRequest names, the ErrorInfo reason.

use tonic::{Code, Status};
use tonic_types::StatusExt;

/// Asserts `result` failed with `code` and returns the status.
pub fn assert_code<T: std::fmt::Debug>(result: Result<T, Status>, code: Code) -> Status {
    let status = result.expect_err("expected an error");
    assert_eq!(status.code(), code, "unexpected status: {status:?}");
    status
}

/// The fields a BadRequest names, in order; asserts the status is INVALID_ARGUMENT.
pub fn bad_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// The fields a BadRequest names, sorted; asserts the status is INVALID_ARGUMENT.
pub fn sorted_bad_fields(status: &Status) -> Vec<String> {
    let mut fields = bad_fields(status);
    fields.sort();
    fields
}

/// The ErrorInfo reason, or empty.
pub fn reason(status: &Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}
