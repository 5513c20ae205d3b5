//! The HTTP/JSON gateway: every unary RPC with a `google.api.http` binding, served over
//! HTTP/1.1 as JSON by transcoding to gRPC in process.
//!
//! The route table and the OpenAPI document are built at startup from the descriptor set, for
//! the gRPC services this process serves. A request is matched to a route, turned into the
//! request message (path variables, query parameters and the JSON body, by the proto3 JSON
//! mapping), and passed as a gRPC request to the same tower stack the gRPC port uses, so
//! authentication, load shedding, conventions, metrics and deadlines are the same on both
//! ports. The reply is rendered as JSON; a failure as the HTTP status of its gRPC code with a
//! `{"code", "message", "details"}` body.

mod descriptors;
mod fields;
mod grpc;
mod http;
mod openapi;
mod routes;
mod status;
mod template;
mod transcode;

use std::time::Duration;

use bytes::Bytes;
use prost_reflect::DescriptorPool;

pub use grpc::{GrpcStack, boxed};
pub use http::{OPENAPI_PATH, serve};

use routes::RouteTable;

/// Limits the gateway applies as the gRPC port does.
#[derive(Debug, Clone, Copy)]
pub struct GatewayOptions {
    /// Largest request body, bytes (the gRPC message limit).
    pub max_body_bytes: usize,
    /// Deadline of a request that brings none.
    pub request_timeout: Duration,
}

/// The gateway of one process: its routes, its OpenAPI document and the gRPC stack it calls.
pub struct Gateway {
    pool: DescriptorPool,
    routes: RouteTable,
    openapi: Bytes,
    stack: GrpcStack,
    options: GatewayOptions,
}

impl Gateway {
    /// The gateway of the gRPC services named in `served` (full names), calling `stack`.
    pub fn new(served: &[&str], stack: GrpcStack, options: GatewayOptions) -> crate::Result<Self> {
        let pool = descriptors::pool().map_err(crate::Error::internal)?;
        let routes = RouteTable::build(&pool, served).map_err(crate::Error::internal)?;
        let openapi = serde_json::to_vec(&openapi::document(&pool, &routes))
            .map_err(crate::Error::internal)?
            .into();
        Ok(Self {
            pool,
            routes,
            openapi,
            stack,
            options,
        })
    }

    /// How many routes it serves.
    pub fn route_count(&self) -> usize {
        self.routes.routes().len()
    }
}
