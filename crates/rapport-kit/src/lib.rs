//! The service kit: the API conventions every Rapport service follows, so that a service is
//! written one way. The platform underneath (configuration, storage, cache, events, auth,
//! errors, the server) is `rapport-runtime`; this crate builds on it and owns what an API
//! repeats:
//!
//! - [`names`]: resource names and ids, etags;
//! - [`cached`]: a resource as its Get answers it, through the cache;
//! - [`query`]: List requests (filter, order, page size and tokens) and their SQL: `ListQuery`
//!   for a list with a filter and an order, `Page` (the layer under it) for a list in one fixed
//!   order;
//! - [`mask`]: update masks, one engine for every resource;
//! - [`versioned`]: resources changed by optimistic writes (a version, its etag, the save);
//! - [`validate`]: shared field validators (money, dates, text limits) and [`contact`]
//!   (phones, emails);
//! - [`settings`]: the per-tenant settings document, versioned, cached, with its event;
//! - [`duplicates`]: the duplicate policy and what a duplicate check may disclose;
//! - [`enums`]: proto enums read and written through one table per enum;
//! - [`fields`]: tenant-defined typed fields (custom fields, product attributes);
//! - [`peer`]: a peer service's `Status` read back into what it meant, and the usual answer
//!   for what a caller does not handle itself;
//! - [`reply`]: a handler's result as a gRPC reply;
//! - [`service`]: assembling a service's bundle from generated servers, and the state its use
//!   cases start from;
//! - [`customer_merges`]: following `customers.merged` in every service that keeps customers;
//! - [`follow`]: following one kind of another service's events, each applied once;
//! - [`sweep`]: sweeps of due items, each handled once across replicas;
//! - [`assign`]: assignment of items to members of a pool: ranking by strategy with its
//!   reasons, and the take in SQL that never goes over a member's capacity;
//! - [`visibility`]: which owned rows a caller sees, in Rust and in SQL;
//! - [`webhooks`]: Standard Webhooks delivery without the database: secrets, signatures, the
//!   retry schedule, the target policy against server-side request forgery, the sender;
//! - [`channels`]: email through SMTP and SMS through a signed HTTP gateway, the templates
//!   messages are rendered from, and what each send came to.
//! - [`watch`]: server-streaming watches driven by the service's own event stream, so a client
//!   of any replica sees what any replica wrote.

pub mod assign;
pub mod cached;
pub mod channels;
pub mod contact;
pub mod customer_merges;
pub mod duplicates;
pub mod enums;
pub mod fields;
pub mod follow;
pub mod mask;
pub mod names;
pub mod peer;
pub mod query;
pub mod reply;
pub mod service;
pub mod settings;
pub mod sweep;
pub mod validate;
pub mod versioned;
pub mod visibility;
pub mod watch;
pub mod webhooks;

pub use reply::{Reply, reply};
