//! A service's enums between proto numbers and the domain, written one way: a table of
//! (proto, domain) pairs per enum, read both ways, UNSPECIFIED as None.

use prost::UnknownEnumValue;

/// Reads `raw` through `table`: None for UNSPECIFIED (0), an error for an undefined number.
pub fn read<P: Copy + Into<i32>, D: Copy>(
    table: &[(P, D)],
    raw: i32,
) -> Result<Option<D>, UnknownEnumValue> {
    if raw == 0 {
        return Ok(None);
    }
    table
        .iter()
        .find(|(p, _)| (*p).into() == raw)
        .map(|(_, d)| Some(*d))
        .ok_or(UnknownEnumValue(raw))
}

/// Writes `d` through `table`; 0 (UNSPECIFIED) when the table lacks it.
pub fn write<P: Copy + Into<i32>, D: Copy + PartialEq>(table: &[(P, D)], d: D) -> i32 {
    table
        .iter()
        .find(|(_, x)| *x == d)
        .map_or(0, |(p, _)| (*p).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: [(i32, char); 2] = [(1, 'a'), (2, 'b')];

    #[test]
    fn unspecified_is_none_and_unknown_numbers_are_errors() {
        assert_eq!(read(&TABLE, 0), Ok(None));
        assert_eq!(read(&TABLE, 2), Ok(Some('b')));
        assert_eq!(read(&TABLE, 9), Err(UnknownEnumValue(9)));
        assert_eq!(write(&TABLE, 'a'), 1);
        assert_eq!(write(&TABLE, 'z'), 0);
    }
}
