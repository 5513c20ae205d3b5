//! The parser for the supported subset of AIP-160 filters (see the module docs of
//! [`crate::query`] for the grammar). It only builds a tree; which fields exist and what their
//! values mean is decided when the tree is rendered to SQL ([`crate::query::to_sql`]).

use std::fmt;

use rapport_runtime::validation::FieldViolation;

/// Longest filter accepted, in characters, so one request cannot make the server do unbounded
/// parsing or build an unbounded query.
pub const MAX_FILTER_CHARS: usize = 1000;

/// Most comparisons accepted in one filter, for the same reason.
pub const MAX_COMPARISONS: usize = 50;

/// Deepest nesting of parentheses and negations accepted; keeps recursion shallow.
const MAX_DEPTH: usize = 32;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Every operand holds (two or more operands).
    And(Vec<Expr>),
    /// At least one operand holds (two or more operands).
    Or(Vec<Expr>),
    /// The operand does not hold.
    Not(Box<Expr>),
    /// `field op value`.
    Cmp(Comparison),
}

/// One restriction: `field op value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// Dotted path of the field, as written (`display_name`, `custom_fields.size`).
    pub field: String,
    /// The operator.
    pub op: Op,
    /// The value, with quotes removed and escapes resolved.
    pub value: String,
    /// Whether the value was written as a quoted string, which forces a text comparison where a
    /// bare word could also be read as a number.
    pub quoted: bool,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `:` ("has": contains, for text and repeated fields).
    Has,
}

impl Op {
    /// The operator as written in a filter.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Has => ":",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses `filter`. An empty (or all-whitespace) filter is `None`: no restriction. Errors are
/// violations of the field `filter` that say what was expected and at which character.
pub fn parse(filter: &str) -> Result<Option<Expr>, FieldViolation> {
    let chars: Vec<char> = filter.chars().collect();
    if chars.len() > MAX_FILTER_CHARS {
        return Err(violation(format!(
            "is {} characters long; at most {MAX_FILTER_CHARS} are allowed",
            chars.len()
        )));
    }
    // A NUL ends a C string: SQLite compared it as an empty pattern, which matched every row.
    // No value a filter compares holds a control character, so none is accepted.
    if let Some(at) = chars
        .iter()
        .position(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(violation(format!(
            "has a control character (U+{:04X}) at character {}; filters may not",
            u32::from(chars[at]),
            at + 1
        )));
    }
    let mut parser = Parser {
        chars,
        pos: 0,
        comparisons: 0,
        depth: 0,
    };
    parser.skip_ws();
    if parser.at_end() {
        return Ok(None);
    }
    let expr = parser.or_expr()?;
    parser.skip_ws();
    if !parser.at_end() {
        // or_expr stops only at the end or at a ")" it cannot match.
        return Err(parser.error_at(parser.pos, format!("unexpected {}", parser.describe_here())));
    }
    Ok(Some(expr))
}

fn violation(description: String) -> FieldViolation {
    FieldViolation {
        field: "filter".to_owned(),
        description,
    }
}

/// Characters a bare value may contain besides letters and digits.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '+' | '@')
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    comparisons: usize,
    depth: usize,
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// An error at `pos` (0-based), reported 1-based as people count characters.
    fn error_at(&self, pos: usize, what: String) -> FieldViolation {
        violation(format!("{what} at character {}", pos + 1))
    }

    /// "expected X at character N, found Y" for the current position.
    fn expected(&self, what: &str) -> FieldViolation {
        violation(format!(
            "expected {what} at character {}, found {}",
            self.pos + 1,
            self.describe_here()
        ))
    }

    /// What is at the current position, for error messages.
    fn describe_here(&self) -> String {
        match self.peek() {
            None => "end of filter".to_owned(),
            Some('"') => "a quoted string".to_owned(),
            Some(c) if is_ident_start(c) => {
                let word: String = self.chars[self.pos..]
                    .iter()
                    .take_while(|c| is_ident_char(**c))
                    .collect();
                format!("\"{word}\"")
            }
            Some(c) => format!("\"{c}\""),
        }
    }

    /// Whether the upper-case keyword `kw` stands as a whole word at the current position.
    fn at_keyword(&self, kw: &str) -> bool {
        let mut i = self.pos;
        for k in kw.chars() {
            if self.chars.get(i) != Some(&k) {
                return false;
            }
            i += 1;
        }
        !self
            .chars
            .get(i)
            .is_some_and(|c| is_ident_char(*c) || *c == '.')
    }

    /// `and_expr (OR and_expr)*`
    fn or_expr(&mut self) -> Result<Expr, FieldViolation> {
        let mut items = vec![self.and_expr(None)?];
        loop {
            self.skip_ws();
            if !self.at_keyword("OR") {
                break;
            }
            self.pos += 2;
            items.push(self.and_expr(Some("OR"))?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    /// `unary ((AND)? unary)*`: AND binds tighter than OR, and juxtaposition means AND.
    fn and_expr(&mut self, after: Option<&str>) -> Result<Expr, FieldViolation> {
        let mut items = vec![self.unary(after)?];
        loop {
            self.skip_ws();
            if self.at_end() || self.peek() == Some(')') || self.at_keyword("OR") {
                break;
            }
            if self.at_keyword("AND") {
                self.pos += 3;
                items.push(self.unary(Some("AND"))?);
            } else {
                items.push(self.unary(None)?);
            }
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    /// `NOT unary | -unary | ( or_expr ) | comparison`. `after` names the keyword or operator
    /// just read, so a missing operand can be reported against it.
    fn unary(&mut self, after: Option<&str>) -> Result<Expr, FieldViolation> {
        self.skip_ws();
        let missing = self.at_end() || self.peek() == Some(')') || {
            // A keyword where an operand should be ("a AND OR b"); NOT is an operand's start.
            self.at_keyword("AND") || self.at_keyword("OR")
        };
        if missing {
            return Err(match after {
                Some(op) => self.expected(&format!("a filter term after \"{op}\"")),
                None => self.expected("a filter term"),
            });
        }
        if self.at_keyword("NOT") {
            self.pos += 3;
            return self.negation("NOT");
        }
        match self.peek() {
            Some('-') => {
                self.pos += 1;
                self.negation("-")
            }
            Some('(') => {
                let open = self.pos;
                self.pos += 1;
                self.enter()?;
                let inner = self.or_expr()?;
                self.skip_ws();
                if self.peek() != Some(')') {
                    let mut e = self.expected("\")\"");
                    e.description = format!(
                        "unclosed \"(\" at character {}: {}",
                        open + 1,
                        e.description
                    );
                    return Err(e);
                }
                self.pos += 1;
                self.depth -= 1;
                Ok(inner)
            }
            _ => self.comparison().map(Expr::Cmp),
        }
    }

    fn negation(&mut self, op: &str) -> Result<Expr, FieldViolation> {
        self.enter()?;
        let inner = self.unary(Some(op))?;
        self.depth -= 1;
        Ok(Expr::Not(Box::new(inner)))
    }

    fn enter(&mut self) -> Result<(), FieldViolation> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(
                self.pos,
                format!("nests parentheses and negations more than {MAX_DEPTH} deep"),
            ));
        }
        Ok(())
    }

    /// `field op value`
    fn comparison(&mut self) -> Result<Comparison, FieldViolation> {
        let field = self.field()?;
        self.skip_ws();
        let op = self.op().ok_or_else(|| {
            let mut e = self.expected(&format!(
                "an operator (=, !=, <, <=, >, >=, :) after \"{field}\""
            ));
            if ["and", "or", "not"].contains(&field.to_ascii_lowercase().as_str()) {
                e.description += " (the keywords AND, OR and NOT are written in upper case)";
            }
            e
        })?;
        self.skip_ws();
        let (value, quoted) = if self.peek() == Some('"') {
            (self.string()?, true)
        } else {
            let start = self.pos;
            while self.peek().is_some_and(is_word_char) {
                self.pos += 1;
            }
            if self.pos == start {
                return Err(self.expected(&format!("a value after \"{op}\"")));
            }
            (self.chars[start..self.pos].iter().collect(), false)
        };
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            return Err(violation(format!(
                "has more than {MAX_COMPARISONS} comparisons"
            )));
        }
        Ok(Comparison {
            field,
            op,
            value,
            quoted,
        })
    }

    /// A dotted path of identifiers.
    fn field(&mut self) -> Result<String, FieldViolation> {
        let start = self.pos;
        loop {
            if !self.peek().is_some_and(is_ident_start) {
                return Err(self.expected(if self.pos == start {
                    "a field name"
                } else {
                    "a field name after \".\""
                }));
            }
            while self.peek().is_some_and(is_ident_char) {
                self.pos += 1;
            }
            if self.peek() != Some('.') {
                break;
            }
            self.pos += 1;
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }

    fn op(&mut self) -> Option<Op> {
        let next = self.chars.get(self.pos + 1).copied();
        let (op, len) = match (self.peek()?, next) {
            ('!', Some('=')) => (Op::Ne, 2),
            ('<', Some('=')) => (Op::Le, 2),
            ('>', Some('=')) => (Op::Ge, 2),
            ('=', _) => (Op::Eq, 1),
            ('<', _) => (Op::Lt, 1),
            ('>', _) => (Op::Gt, 1),
            (':', _) => (Op::Has, 1),
            _ => return None,
        };
        self.pos += len;
        Some(op)
    }

    /// A double-quoted string with backslash escapes; the opening quote is at the position.
    fn string(&mut self) -> Result<String, FieldViolation> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error_at(open, "unterminated string starting".to_owned()));
            };
            self.pos += 1;
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let escaped = match self.peek() {
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('r') => '\r',
                        Some(other) => {
                            let mut e = self
                                .error_at(self.pos - 1, format!("unknown escape \"\\{other}\""));
                            e.description += " (use \\\" for a quote and \\\\ for a backslash)";
                            return Err(e);
                        }
                        None => {
                            return Err(
                                self.error_at(open, "unterminated string starting".to_owned())
                            );
                        }
                    };
                    self.pos += 1;
                    out.push(escaped);
                }
                c => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(field: &str, op: Op, value: &str) -> Expr {
        Expr::Cmp(Comparison {
            field: field.into(),
            op,
            value: value.into(),
            quoted: false,
        })
    }

    fn quoted(field: &str, op: Op, value: &str) -> Expr {
        Expr::Cmp(Comparison {
            field: field.into(),
            op,
            value: value.into(),
            quoted: true,
        })
    }

    fn ok(filter: &str) -> Expr {
        parse(filter)
            .unwrap_or_else(|e| panic!("{filter:?}: {e}"))
            .unwrap_or_else(|| panic!("{filter:?} parsed as empty"))
    }

    fn err(filter: &str) -> String {
        let e = parse(filter).expect_err(filter);
        assert_eq!(e.field, "filter");
        e.description
    }

    #[test]
    fn empty_filter_is_none() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("  \t\n "), Ok(None));
    }

    #[test]
    fn every_operator() {
        for (text, op) in [
            ("=", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            ("<=", Op::Le),
            (">", Op::Gt),
            (">=", Op::Ge),
            (":", Op::Has),
        ] {
            assert_eq!(ok(&format!("a{text}1")), cmp("a", op, "1"));
            assert_eq!(ok(&format!(" a  {text}  1 ")), cmp("a", op, "1"));
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let (a, b, c) = (
            cmp("a", Op::Eq, "1"),
            cmp("b", Op::Eq, "2"),
            cmp("c", Op::Eq, "3"),
        );
        assert_eq!(
            ok("a=1 AND b=2 OR c=3"),
            Expr::Or(vec![Expr::And(vec![a.clone(), b.clone()]), c.clone()])
        );
        assert_eq!(
            ok("a=1 OR b=2 AND c=3"),
            Expr::Or(vec![a.clone(), Expr::And(vec![b.clone(), c.clone()])])
        );
        assert_eq!(
            ok("(a=1 OR b=2) AND c=3"),
            Expr::And(vec![Expr::Or(vec![a.clone(), b.clone()]), c.clone()])
        );
        assert_eq!(
            ok("a=1 OR b=2 OR c=3"),
            Expr::Or(vec![a.clone(), b.clone(), c.clone()])
        );
    }

    #[test]
    fn juxtaposition_means_and() {
        let (a, b, c) = (
            cmp("a", Op::Eq, "1"),
            cmp("b", Op::Eq, "2"),
            cmp("c", Op::Eq, "3"),
        );
        assert_eq!(ok("a=1 b=2"), Expr::And(vec![a.clone(), b.clone()]));
        assert_eq!(
            ok("a=1 b=2 OR c=3"),
            Expr::Or(vec![Expr::And(vec![a.clone(), b.clone()]), c.clone()])
        );
        assert_eq!(
            ok("a=1 (b=2 OR c=3)"),
            Expr::And(vec![a, Expr::Or(vec![b, c])])
        );
    }

    #[test]
    fn negation() {
        let a = cmp("a", Op::Eq, "1");
        let b = cmp("b", Op::Has, "x");
        let not = |e: Expr| Expr::Not(Box::new(e));
        assert_eq!(ok("NOT a=1"), not(a.clone()));
        assert_eq!(ok("-a=1"), not(a.clone()));
        assert_eq!(ok("NOT(a=1)"), not(a.clone()));
        assert_eq!(ok("NOT NOT a=1"), not(not(a.clone())));
        assert_eq!(
            ok("NOT a=1 AND b:x"),
            Expr::And(vec![not(a.clone()), b.clone()])
        );
        assert_eq!(
            ok("-(a=1 OR b:x)"),
            not(Expr::Or(vec![a.clone(), b.clone()]))
        );
        // A leading minus on a value is part of the value, not a negation.
        assert_eq!(ok("a>-5"), cmp("a", Op::Gt, "-5"));
        // A field whose name starts with a keyword is not the keyword.
        assert_eq!(ok("NOTE=1"), cmp("NOTE", Op::Eq, "1"));
        assert_eq!(ok("ORDER=1"), cmp("ORDER", Op::Eq, "1"));
    }

    #[test]
    fn bare_values() {
        assert_eq!(ok("tags:vip"), cmp("tags", Op::Has, "vip"));
        assert_eq!(
            ok("create_time>=2024-01-01T00:00:00Z"),
            cmp("create_time", Op::Ge, "2024-01-01T00:00:00Z")
        );
        assert_eq!(
            ok("create_time < 2024-01-01T08:00:00+08:00"),
            cmp("create_time", Op::Lt, "2024-01-01T08:00:00+08:00")
        );
        assert_eq!(
            ok("phone:13812345678"),
            cmp("phone", Op::Has, "13812345678")
        );
        assert_eq!(ok("vip = true"), cmp("vip", Op::Eq, "true"));
        assert_eq!(ok("x=3.14"), cmp("x", Op::Eq, "3.14"));
        assert_eq!(
            ok("email=a.b+c@example.com"),
            cmp("email", Op::Eq, "a.b+c@example.com")
        );
        assert_eq!(ok("a:b:c"), cmp("a", Op::Has, "b:c"));
        assert_eq!(
            ok("custom_fields.size > 10"),
            cmp("custom_fields.size", Op::Gt, "10")
        );
    }

    #[test]
    fn chinese_values() {
        assert_eq!(ok("name:\"伟\""), quoted("name", Op::Has, "伟"));
        assert_eq!(ok("name:张伟"), cmp("name", Op::Has, "张伟"));
        assert_eq!(
            ok("city = \"北京\" AND name:张"),
            Expr::And(vec![
                quoted("city", Op::Eq, "北京"),
                cmp("name", Op::Has, "张")
            ])
        );
    }

    #[test]
    fn quoting_and_escapes() {
        assert_eq!(ok(r#"a="a \"b\"""#), quoted("a", Op::Eq, "a \"b\""));
        assert_eq!(ok(r#"a="back\\slash""#), quoted("a", Op::Eq, "back\\slash"));
        assert_eq!(ok(r#"a="x\ny\tz""#), quoted("a", Op::Eq, "x\ny\tz"));
        assert_eq!(ok(r#"a="""#), quoted("a", Op::Eq, ""));
        assert_eq!(
            ok(r#"a="AND (OR) NOT = : %_*""#),
            quoted("a", Op::Eq, "AND (OR) NOT = : %_*")
        );
        assert_eq!(ok(r#"a = "10""#), quoted("a", Op::Eq, "10"));
    }

    #[test]
    fn errors_say_what_and_where() {
        let cases = [
            (
                "display_name =",
                "expected a value after \"=\" at character 15, found end of filter",
            ),
            (
                "a = 1 AND",
                "expected a filter term after \"AND\" at character 10, found end of filter",
            ),
            (
                "AND a=1",
                "expected a filter term at character 1, found \"AND\"",
            ),
            (
                "a=1 OR OR b=2",
                "expected a filter term after \"OR\" at character 8, found \"OR\"",
            ),
            (
                "(a=1 OR b=2",
                "unclosed \"(\" at character 1: expected \")\" at character 12, found end of filter",
            ),
            ("a=1)", "unexpected \")\" at character 4"),
            ("()", "expected a filter term at character 2, found \")\""),
            (
                "a = )",
                "expected a value after \"=\" at character 5, found \")\"",
            ),
            (
                "name",
                "expected an operator (=, !=, <, <=, >, >=, :) after \"name\" at character 5, \
                 found end of filter",
            ),
            (
                "a=1 and b=2",
                "expected an operator (=, !=, <, <=, >, >=, :) after \"and\" at character 9, \
                 found \"b\" (the keywords AND, OR and NOT are written in upper case)",
            ),
            ("a = \"open", "unterminated string starting at character 5"),
            (
                r#"a = "x\qy""#,
                "unknown escape \"\\q\" at character 7 (use \\\" for a quote and \\\\ for a \
                 backslash)",
            ),
            (
                "a=1, b=2",
                "expected a field name at character 4, found \",\"",
            ),
            (
                "a.=1",
                "expected a field name after \".\" at character 3, found \"=\"",
            ),
            (
                "\"伟\"",
                "expected a field name at character 1, found a quoted string",
            ),
            // Positions count characters, not bytes.
            (
                "name:\"张伟\" AND",
                "expected a filter term after \"AND\" at character 14, found end of filter",
            ),
        ];
        for (filter, want) in cases {
            assert_eq!(err(filter), want, "{filter:?}");
        }
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(err("display_name:\"\u{0}\"").contains("U+0000"));
        assert!(err("display_name:\"a\u{7}\"").contains("at character 16"));
        ok("display_name:\"a\"\n AND\tcity:\"b\"");
    }

    #[test]
    fn limits() {
        let long = format!("a=\"{}\"", "x".repeat(MAX_FILTER_CHARS));
        assert!(err(&long).contains("at most 1000"));
        // Counted in characters: 1000 Chinese characters (3000 bytes) fit.
        let chinese = format!("a:{}", "伟".repeat(MAX_FILTER_CHARS - 2));
        assert!(parse(&chinese).is_ok());

        let terms = |n: usize| (0..n).map(|i| format!("a={i}")).collect::<Vec<_>>();
        assert!(parse(&terms(MAX_COMPARISONS).join(" OR ")).is_ok());
        assert!(err(&terms(MAX_COMPARISONS + 1).join(" OR ")).contains("more than 50"));

        let deep = format!("{}a=1{}", "(".repeat(40), ")".repeat(40));
        assert!(err(&deep).contains("deep"));
        let nots = format!("{}a=1", "NOT ".repeat(40));
        assert!(err(&nots).contains("deep"));
        let fine = format!("{}a=1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&fine).is_ok());
    }
}
