//! A handler's result as a gRPC reply: every service method answers `Reply<T>`, and its body is
//! `reply(handler(self, req).await)`, so errors become statuses in one place.

use rapport_runtime::Result;
use tonic::{Response, Status};

/// What a generated service trait's method returns.
pub type Reply<T> = std::result::Result<Response<T>, Status>;

/// `result` as a reply: the value in a response, or the error as its status.
pub fn reply<T>(result: Result<T>) -> Reply<T> {
    result.map(Response::new).map_err(Into::into)
}
