//! Types and rules of customers. No tonic, no sqlx, no I/O.
