//! Binding values to placeholders the same way on both backends: the values of rendered
//! filter fragments, keyset cursors and deferred statements.

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryAs, QueryScalar};

/// A value to bind to a placeholder of a rendered fragment or a deferred statement.
#[derive(Debug, Clone, PartialEq)]
pub enum BindValue {
    /// Text (ids, names, dates, enum values, JSON texts).
    Text(String),
    /// An integer (times in microseconds, booleans as 0/1, counters).
    Int(i64),
    /// An integer that may be NULL (optional times).
    OptInt(Option<i64>),
    /// Text that may be NULL.
    OptText(Option<String>),
    /// A floating-point number (numeric JSON comparisons only; money is never a float).
    Float(f64),
    /// Bytes (encoded protos).
    Bytes(Vec<u8>),
}

impl From<&str> for BindValue {
    fn from(v: &str) -> Self {
        BindValue::Text(v.to_owned())
    }
}

impl From<String> for BindValue {
    fn from(v: String) -> Self {
        BindValue::Text(v)
    }
}

impl From<&String> for BindValue {
    fn from(v: &String) -> Self {
        BindValue::Text(v.clone())
    }
}

impl From<i64> for BindValue {
    fn from(v: i64) -> Self {
        BindValue::Int(v)
    }
}

impl From<Option<i64>> for BindValue {
    fn from(v: Option<i64>) -> Self {
        BindValue::OptInt(v)
    }
}

impl From<Option<String>> for BindValue {
    fn from(v: Option<String>) -> Self {
        BindValue::OptText(v)
    }
}

impl From<Vec<u8>> for BindValue {
    fn from(v: Vec<u8>) -> Self {
        BindValue::Bytes(v)
    }
}

/// A query that [`bind_all`] can bind values to: `sqlx::query`, `query_as` and `query_scalar`
/// over [`sqlx::Any`].
pub trait Bindable<'q>: Sized {
    /// Binds `value` to the next placeholder.
    fn bind_value(self, value: &'q BindValue) -> Self;
}

/// The one match from a [`BindValue`] to sqlx's `bind`, for each kind of query.
macro_rules! bind_one {
    ($query:expr, $value:expr) => {
        match $value {
            BindValue::Text(v) => $query.bind(v.as_str()),
            BindValue::Int(v) => $query.bind(*v),
            BindValue::OptInt(v) => $query.bind(*v),
            BindValue::OptText(v) => $query.bind(v.as_deref()),
            BindValue::Float(v) => $query.bind(*v),
            BindValue::Bytes(v) => $query.bind(v.as_slice()),
        }
    };
}

impl<'q> Bindable<'q> for Query<'q, Any, AnyArguments<'q>> {
    fn bind_value(self, value: &'q BindValue) -> Self {
        bind_one!(self, value)
    }
}

impl<'q, O> Bindable<'q> for QueryAs<'q, Any, O, AnyArguments<'q>> {
    fn bind_value(self, value: &'q BindValue) -> Self {
        bind_one!(self, value)
    }
}

impl<'q, O> Bindable<'q> for QueryScalar<'q, Any, O, AnyArguments<'q>> {
    fn bind_value(self, value: &'q BindValue) -> Self {
        bind_one!(self, value)
    }
}

/// Binds `binds`, in order, to the next placeholders of `query`. Bind the values of fragments
/// in the order their placeholders were numbered.
pub fn bind_all<'q, Q: Bindable<'q>>(query: Q, binds: &'q [BindValue]) -> Q {
    binds.iter().fold(query, Q::bind_value)
}
