//! proto <-> domain conversions. Parsing a request collects every bad field (`Violations`).
