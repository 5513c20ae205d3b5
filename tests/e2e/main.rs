//! End-to-end tests of the real `rapport` binary: each test starts it as a child process on
//! free local ports and drives it over gRPC, HTTP and its other subcommands, as a client and an
//! operator would. `in_process` holds the cross-service tests that run the services in this
//! process through the test kit instead.
//!
//! Standalone tests always run. Distributed tests need `RAPPORT_TEST_POSTGRES_URL` and
//! `RAPPORT_TEST_REDIS_URL`; without them they say they were skipped and pass.

mod distributed;
mod furniture;
mod http;
mod in_process;
mod leads;
mod standalone;
mod support;
mod topology;
