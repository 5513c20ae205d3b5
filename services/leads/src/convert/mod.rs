//! Proto <-> domain conversions of the leads service, one module per resource family.

pub(crate) mod lead;
pub(crate) mod lead_settings;
pub(crate) mod mask;
pub(crate) mod org;
pub(crate) mod pipeline;
pub(crate) mod task;
