//! Message templates: Jinja syntax (minijinja), a template per channel, rendered with the
//! variables of one recipient, a JSON object such as
//!
//! ```json
//! {"customer": {"display_name": "王芳"},
//!  "coupon": {"code": "SPRING20", "expires_on": "2026-05-31"},
//!  "order": {"total": {"currency_code": "CNY", "minor_units": 129900}}}
//! ```
//!
//! in `{{ customer.display_name }}` and `{% if coupon %}…{% endif %}`, with two filters of our
//! own beside Jinja's: `money` (an amount in minor units: `{{ order.total | money }}` →
//! `¥1,299.00`, `{{ 1999 | money("USD") }}` → `$19.99`) and `date` (`{{ coupon.expires_on |
//! date }}` → `2026-05-31`, `{{ coupon.expires_on | date("[month]月[day]日") }}` → `05月31日`,
//! in the `time` crate's format description syntax).
//!
//! - Variables are strict: a variable that is not given fails the rendering, naming it, rather
//!   than printing nothing into a customer's message. Give `null` for an optional one (it
//!   prints as nothing, and `{% if %}` reads it as false).
//! - Saving checks ([`EmailTemplate::check`], [`SmsTemplate::check`]): every part parses, and
//!   every variable it uses is one the service declares (`customer.display_name`, or all of
//!   `customer`), so a misspelt name is refused when the template is saved, not when a
//!   campaign runs.
//! - HTML bodies escape what variables print (`<`, `&`, quotes); subjects, text bodies and SMS
//!   texts print them as they are. `{{ x | safe }}` prints HTML unescaped.
//! - A template may do a bounded amount of work (a loop over a huge range is stopped).
//!
//! Problems are field violations under the caller's prefix: `subject`, `text`, `html` of an
//! email template and `sms_text` of an SMS template, e.g. `template.sms_text: uses the
//! variable coupon.cod, which is not declared (declared: customer, coupon.code)`, which
//! handlers return as INVALID_ARGUMENT.

use std::{collections::BTreeSet, sync::LazyLock};

use minijinja::{
    AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior, Value, value::Serde,
};
use rapport_runtime::validation::Violations;
use serde_json::Value as Json;
use time::{
    Date, OffsetDateTime,
    format_description::{self, well_known::Rfc3339},
    macros::format_description as fd,
};

use super::{EmailContent, SmsLength, sms_length};

/// The field of an email template's subject.
pub const SUBJECT: &str = "subject";
/// The field of an email template's plain-text body.
pub const TEXT: &str = "text";
/// The field of an email template's HTML body.
pub const HTML: &str = "html";
/// The field of an SMS template's text.
pub const SMS_TEXT: &str = "sms_text";

/// Longest subject template, in characters.
pub const MAX_SUBJECT: usize = 1_000;
/// Longest body template (text or HTML), in characters.
pub const MAX_BODY: usize = 100_000;
/// Longest SMS template, in characters.
pub const MAX_SMS: usize = 2_000;
/// The work one rendering may do, in minijinja's instructions: far more than any message
/// needs, far less than a loop that would stall a campaign.
const FUEL: u64 = 100_000;

/// The templates of an email.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EmailTemplate {
    /// The subject, one line once rendered (line breaks become spaces).
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body, when the email has one.
    pub html: Option<String>,
}

/// The template of an SMS.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SmsTemplate {
    /// The text.
    pub text: String,
}

/// A rendered SMS and its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsContent {
    /// The text, trimmed.
    pub text: String,
    /// Its encoding and segments.
    pub length: SmsLength,
}

/// What a recipient would receive.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Preview {
    /// The email, when there was an email template and it rendered.
    pub email: Option<EmailContent>,
    /// The SMS, when there was an SMS template and it rendered.
    pub sms: Option<SmsContent>,
}

/// How a part's output is finished.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// One line: runs of whitespace, line breaks included, become one space.
    Line,
    /// Trimmed.
    Trimmed,
    /// As rendered.
    Body,
}

/// One template of a message: its field and source.
struct Part<'a> {
    field: &'static str,
    source: &'a str,
    max: usize,
    shape: Shape,
}

impl EmailTemplate {
    fn parts(&self) -> Vec<(Part<'_>, bool)> {
        let mut parts = vec![
            (
                Part::new(SUBJECT, &self.subject, MAX_SUBJECT, Shape::Line),
                true,
            ),
            (Part::new(TEXT, &self.text, MAX_BODY, Shape::Body), true),
        ];
        if let Some(html) = &self.html {
            parts.push((Part::new(HTML, html, MAX_BODY, Shape::Body), false));
        }
        parts
    }

    /// Checks the templates when they are saved: a subject and a text body are required, each
    /// part must parse, be at most its length and use only `declared` variables (names or
    /// dotted paths: `customer` allows every `customer.…`). Problems are reported under
    /// [`SUBJECT`], [`TEXT`] and [`HTML`].
    pub fn check(&self, v: &mut Violations, declared: &[&str]) {
        for (part, required) in self.parts() {
            part.check(v, declared, required);
        }
    }

    /// The email for a recipient with `vars`; `None` with the problems reported (a variable
    /// not given, a filter given a wrong value).
    pub fn render(&self, v: &mut Violations, vars: &Json) -> Option<EmailContent> {
        let ctx = context(v, vars)?;
        let mut out: Vec<Option<String>> = self
            .parts()
            .iter()
            .map(|(part, _)| part.render(v, &ctx, vars))
            .collect();
        let html = match self.html {
            Some(_) => Some(out.pop()??),
            None => None,
        };
        let text = out.pop()??;
        let subject = out.pop()??;
        Some(EmailContent {
            subject,
            text,
            html,
        })
    }
}

impl SmsTemplate {
    fn part(&self) -> Part<'_> {
        Part::new(SMS_TEXT, &self.text, MAX_SMS, Shape::Trimmed)
    }

    /// Checks the template when it is saved: required, parses, at most [`MAX_SMS`] characters,
    /// only `declared` variables. Problems are reported under [`SMS_TEXT`].
    pub fn check(&self, v: &mut Violations, declared: &[&str]) {
        self.part().check(v, declared, true);
    }

    /// The SMS for a recipient with `vars`, with its length; `None` with the problems
    /// reported.
    pub fn render(&self, v: &mut Violations, vars: &Json) -> Option<SmsContent> {
        let ctx = context(v, vars)?;
        let text = self.part().render(v, &ctx, vars)?;
        Some(SmsContent {
            length: sms_length(&text),
            text,
        })
    }
}

/// What the templates given render to with `vars` (a sample recipient's), every problem of
/// every part reported at once: what a preview answers.
pub fn preview(
    v: &mut Violations,
    email: Option<&EmailTemplate>,
    sms: Option<&SmsTemplate>,
    vars: &Json,
) -> Preview {
    if context(v, vars).is_none() {
        return Preview::default();
    }
    Preview {
        email: email.and_then(|t| t.render(v, vars)),
        sms: sms.and_then(|t| t.render(v, vars)),
    }
}

/// The variables as the templates see them; they must be a JSON object.
fn context(v: &mut Violations, vars: &Json) -> Option<Value> {
    if !vars.is_object() {
        v.add("variables", "must be a JSON object");
        return None;
    }
    Some(Value::from(Serde(vars)))
}

impl<'a> Part<'a> {
    fn new(field: &'static str, source: &'a str, max: usize, shape: Shape) -> Self {
        Self {
            field,
            source,
            max,
            shape,
        }
    }

    fn check(&self, v: &mut Violations, declared: &[&str], required: bool) {
        if self.source.trim().is_empty() {
            if required {
                v.add(self.field, "is required");
            }
            return;
        }
        let n = self.source.chars().count();
        if n > self.max {
            v.add(
                self.field,
                format!("must be at most {} characters, got {n}", self.max),
            );
            return;
        }
        let Some(used) = self.variables(v) else {
            return;
        };
        let covered = |path: &str| {
            declared.iter().any(|d| {
                path == *d
                    || path.strip_prefix(d).is_some_and(|r| r.starts_with('.'))
                    || d.strip_prefix(path).is_some_and(|r| r.starts_with('.'))
            })
        };
        for path in used.iter().filter(|p| !covered(p)) {
            v.add(
                self.field,
                format!(
                    "uses the variable {path}, which is not declared (declared: {})",
                    declared.join(", ")
                ),
            );
        }
    }

    /// The variables the part reads (dotted paths, sorted), or `None` with its syntax error
    /// reported.
    fn variables(&self, v: &mut Violations) -> Option<BTreeSet<String>> {
        match ENV.template_from_named_str(self.field, self.source) {
            Ok(t) => {
                let globals: BTreeSet<&str> = ENV.globals().map(|(name, _)| name).collect();
                Some(
                    t.undeclared_variables(true)
                        .into_iter()
                        .filter(|p| !globals.contains(p.split('.').next().unwrap_or(p)))
                        .collect(),
                )
            }
            Err(e) => {
                v.add(self.field, describe(&e));
                None
            }
        }
    }

    fn render(&self, v: &mut Violations, ctx: &Value, vars: &Json) -> Option<String> {
        let template = match ENV.template_from_named_str(self.field, self.source) {
            Ok(t) => t,
            Err(e) => {
                v.add(self.field, describe(&e));
                return None;
            }
        };
        let out = match template.render(ctx) {
            Ok(out) => out,
            Err(e) if e.kind() == ErrorKind::UndefinedError => {
                let missing: Vec<String> = self
                    .variables(v)?
                    .into_iter()
                    .filter(|p| !given(vars, p))
                    .collect();
                v.add(
                    self.field,
                    match missing.as_slice() {
                        [] => describe(&e),
                        [one] => format!("the variable {one} is not given"),
                        many => format!("the variables {} are not given", many.join(", ")),
                    },
                );
                return None;
            }
            Err(e) => {
                v.add(self.field, describe(&e));
                return None;
            }
        };
        Some(match self.shape {
            Shape::Line => out.split_whitespace().collect::<Vec<_>>().join(" "),
            Shape::Trimmed => out.trim().to_owned(),
            Shape::Body => out,
        })
    }
}

/// Whether `vars` has the dotted `path`.
fn given(vars: &Json, path: &str) -> bool {
    path.split('.')
        .try_fold(vars, |at, key| at.get(key))
        .is_some()
}

/// A minijinja error as a sentence for a template's author.
fn describe(e: &Error) -> String {
    let what = match (e.kind(), e.detail()) {
        (ErrorKind::OutOfFuel, _) => {
            "does too much work to render (a loop over too many items?)".to_owned()
        }
        (ErrorKind::SyntaxError, Some(d)) => format!("has a syntax error: {d}"),
        (kind, Some(d)) => format!("{kind}: {d}"),
        (kind, None) => kind.to_string(),
    };
    match e.line() {
        Some(line) => format!("line {line}: {what}"),
        None => what,
    }
}

/// The environment every template renders in.
static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_auto_escape_callback(|name| match name {
        HTML => AutoEscape::Html,
        _ => AutoEscape::None,
    });
    // `null` prints as nothing, not Python's `None`: it is how an optional value is given.
    env.set_formatter(|out, state, value| {
        if value.is_none() {
            Ok(())
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    env.add_filter("money", money);
    env.add_filter("date", date);
    env
});

fn invalid(detail: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, detail)
}

/// `money`: minor units as an amount with the currency's symbol or code, `¥1,299.00`. The value
/// is an amount (`{"currency_code": "CNY", "minor_units": 129900}`, the kit's `Money`) or a
/// whole number of minor units with the currency as the argument.
fn money(value: Value, currency: Option<String>) -> Result<String, Error> {
    let (code, minor) = match (i64::try_from(value.clone()), currency) {
        (Ok(minor), Some(code)) => (code, minor),
        (Ok(_), None) => {
            return Err(invalid(
                "money needs the currency of a number of minor units, e.g. money(\"CNY\")".into(),
            ));
        }
        (Err(_), _) => {
            let field = |name| value.get_attr(name).ok().filter(|v| !v.is_undefined());
            match (field("currency_code"), field("minor_units")) {
                (Some(code), Some(minor)) => (
                    code.to_string(),
                    i64::try_from(minor).map_err(|_| {
                        invalid("money's minor_units must be a whole number".into())
                    })?,
                ),
                _ => {
                    return Err(invalid(format!(
                        "money takes a number of minor units or an amount with currency_code \
                         and minor_units, not {value}"
                    )));
                }
            }
        }
    };
    Ok(format_money(&code, minor))
}

/// `minor` units of currency `code`, with the symbol of a common currency or the code.
pub fn format_money(code: &str, minor: i64) -> String {
    let digits = match code {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    };
    let prefix = match code {
        "CNY" => "¥".to_owned(),
        "USD" => "$".to_owned(),
        "EUR" => "€".to_owned(),
        "GBP" => "£".to_owned(),
        "HKD" => "HK$".to_owned(),
        "JPY" => "JP¥".to_owned(),
        "TWD" => "NT$".to_owned(),
        other => format!("{other} "),
    };
    let abs = minor.unsigned_abs();
    let scale = 10u64.pow(digits);
    let whole = (abs / scale).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if minor < 0 { "-" } else { "" };
    if digits == 0 {
        format!("{sign}{prefix}{grouped}")
    } else {
        let fraction = abs % scale;
        format!(
            "{sign}{prefix}{grouped}.{fraction:0width$}",
            width = digits as usize
        )
    }
}

/// `date`: a date (`2026-05-31`) or a time (RFC 3339, `2026-05-31T10:00:00+08:00`, shown in its
/// own offset) in a `time` format description, `[year]-[month]-[day]` by default.
fn date(value: String, format: Option<String>) -> Result<String, Error> {
    let items = match &format {
        Some(f) => format_description::parse_borrowed::<1>(f)
            .map_err(|e| invalid(format!("date's format {f:?} does not read: {e}")))?,
        None => fd!("[year]-[month]-[day]").to_vec(),
    };
    let formatted = if let Ok(d) = Date::parse(&value, fd!("[year]-[month]-[day]")) {
        d.format(&items)
    } else if let Ok(t) = OffsetDateTime::parse(&value, &Rfc3339) {
        t.format(&items)
    } else {
        return Err(invalid(format!(
            "date takes a date (2026-05-31) or an RFC 3339 time, not {value:?}"
        )));
    };
    formatted.map_err(|e| invalid(format!("date cannot format {value:?} so: {e}")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const DECLARED: &[&str] = &["customer.display_name", "coupon", "order.total"];

    fn vars() -> Json {
        json!({
            "customer": {"display_name": "王芳 <VIP>"},
            "coupon": {"code": "SPRING20", "expires_on": "2026-05-31", "note": null},
            "order": {"total": {"currency_code": "CNY", "minor_units": 129900}},
        })
    }

    fn problems(f: impl FnOnce(&mut Violations)) -> Vec<String> {
        let mut v = Violations::with_prefix("template");
        f(&mut v);
        v.items().iter().map(ToString::to_string).collect()
    }

    fn email(subject: &str, text: &str, html: Option<&str>) -> EmailTemplate {
        EmailTemplate {
            subject: subject.into(),
            text: text.into(),
            html: html.map(Into::into),
        }
    }

    fn sms(text: &str) -> SmsTemplate {
        SmsTemplate { text: text.into() }
    }

    #[test]
    fn an_email_renders_with_html_escaped_in_the_html_body_only() {
        let t = email(
            "{{ customer.display_name }},\n your coupon",
            "Hi {{ customer.display_name }}, use {{ coupon.code }}{{ coupon.note }}.",
            Some("<p>Hi {{ customer.display_name }}, use <b>{{ coupon.code }}</b></p>"),
        );
        let mut v = Violations::new();
        let c = t.render(&mut v, &vars()).unwrap();
        assert!(v.is_empty(), "{v:?}");
        assert_eq!(c.subject, "王芳 <VIP>, your coupon");
        assert_eq!(c.text, "Hi 王芳 <VIP>, use SPRING20.");
        assert_eq!(
            c.html.as_deref(),
            Some("<p>Hi 王芳 &lt;VIP&gt;, use <b>SPRING20</b></p>")
        );
    }

    #[test]
    fn an_sms_renders_with_its_length() {
        let mut v = Violations::new();
        let c = sms("  {{ customer.display_name }}您好，优惠券{{ coupon.code }}于{{ coupon.expires_on | date(\"[month]月[day]日\") }}到期  ")
            .render(&mut v, &vars())
            .unwrap();
        assert_eq!(c.text, "王芳 <VIP>您好，优惠券SPRING20于05月31日到期");
        assert_eq!(c.length.encoding, super::super::Encoding::Ucs2);
        assert_eq!(c.length.segments, 1);
        let c = sms("Code {{ coupon.code }}")
            .render(&mut v, &vars())
            .unwrap();
        assert_eq!(
            (c.length.encoding, c.length.units),
            (super::super::Encoding::Gsm7, 13)
        );
    }

    #[test]
    fn undefined_variables_fail_naming_them() {
        let got = problems(|v| {
            assert_eq!(sms("Hi {{ customer.nickname }}").render(v, &vars()), None);
        });
        assert_eq!(
            got,
            ["template.sms_text: the variable customer.nickname is not given"]
        );
        let got = problems(|v| {
            let t = email("{{ a }} {{ b.c }}", "{{ coupon.code }}", Some("{{ x }}"));
            assert_eq!(t.render(v, &vars()), None);
        });
        assert_eq!(
            got,
            [
                "template.subject: the variables a, b.c are not given",
                "template.html: the variable x is not given",
            ]
        );
        // A test of whether it is defined is not a use that fails.
        let mut v = Violations::new();
        let c = sms("{% if vip is defined %}VIP {% endif %}{{ coupon.code }}")
            .render(&mut v, &vars())
            .unwrap();
        assert_eq!(c.text, "SPRING20");
    }

    #[test]
    fn saving_refuses_unknown_variables_and_bad_syntax() {
        let got = problems(|v| {
            sms(
                "Use {{ coupon.code }} before {{ coupon.expires_on }}, {{ customer.display_name }}",
            )
            .check(v, DECLARED);
        });
        assert!(got.is_empty(), "{got:?}");
        let got = problems(|v| sms("Hi {{ customer.name }}, {{ cupon.code }}").check(v, DECLARED));
        assert_eq!(
            got,
            [
                "template.sms_text: uses the variable cupon.code, which is not declared \
                 (declared: customer.display_name, coupon, order.total)",
                "template.sms_text: uses the variable customer.name, which is not declared \
                 (declared: customer.display_name, coupon, order.total)",
            ]
        );
        let got = problems(|v| {
            email(
                "{{ customer.display_name",
                "",
                Some("{% for x in range(3) %}{{ x }}{% endfor %}"),
            )
            .check(v, DECLARED)
        });
        assert_eq!(
            got,
            [
                "template.subject: line 1: has a syntax error: unexpected end of input, expected \
                 end of variable block",
                "template.text: is required",
            ]
        );
        let got = problems(|v| sms(&"a".repeat(MAX_SMS + 1)).check(v, DECLARED));
        assert_eq!(
            got,
            ["template.sms_text: must be at most 2000 characters, got 2001"]
        );
    }

    #[test]
    fn money_and_dates_format() {
        let mut v = Violations::new();
        let c = sms(
            "{{ order.total | money }} {{ 1999 | money(\"USD\") }} {{ 500 | money(\"JPY\") }} \
             {{ 1234567 | money(\"KWD\") }} {{ 5 | money(\"CHF\") }} {{ coupon.expires_on | date }} \
             {{ \"2026-05-31T10:30:00+08:00\" | date(\"[hour]:[minute]\") }}",
        )
        .render(&mut v, &vars())
        .unwrap();
        assert_eq!(
            c.text,
            "¥1,299.00 $19.99 JP¥500 KWD 1,234.567 CHF 0.05 2026-05-31 10:30"
        );
        assert_eq!(format_money("CNY", -123), "-¥1.23");
        assert_eq!(format_money("EUR", 100_000_000), "€1,000,000.00");
        let got = problems(|v| {
            sms("{{ 5 | money }} {{ coupon.code | date }}").render(v, &vars());
        });
        assert_eq!(got.len(), 1);
        assert!(
            got[0].starts_with(
                "template.sms_text: line 1: invalid operation: money needs the currency"
            ),
            "{got:?}"
        );
        let got = problems(|v| {
            sms("{{ coupon.expires_on | date(\"[hour]\") }}").render(v, &vars());
        });
        assert!(got[0].contains("date cannot format"), "{got:?}");
    }

    #[test]
    fn runaway_templates_are_stopped() {
        let got = problems(|v| {
            sms("{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}")
                .render(v, &vars());
        });
        assert_eq!(
            got,
            [
                "template.sms_text: line 1: does too much work to render (a loop over too many items?)"
            ]
        );
    }

    #[test]
    fn a_preview_renders_every_channel_and_reports_every_problem() {
        let mut v = Violations::with_prefix("template");
        let p = preview(
            &mut v,
            Some(&email("Hi", "{{ coupon.code }}", None)),
            Some(&sms("{{ coupon.code }} {{ order.total | money }}")),
            &vars(),
        );
        assert!(v.is_empty(), "{v:?}");
        assert_eq!(p.email.unwrap().text, "SPRING20");
        let s = p.sms.unwrap();
        assert_eq!(
            (s.text.as_str(), s.length.segments),
            ("SPRING20 ¥1,299.00", 1)
        );
        let got = problems(|v| {
            let p = preview(
                v,
                Some(&email("{{ a }}", "t", None)),
                Some(&sms("{{ b }}")),
                &vars(),
            );
            assert_eq!(p, Preview::default());
        });
        assert_eq!(
            got,
            [
                "template.subject: the variable a is not given",
                "template.sms_text: the variable b is not given",
            ]
        );
        let got = problems(|v| {
            preview(v, None, Some(&sms("x")), &json!([1]));
        });
        assert_eq!(got, ["template.variables: must be a JSON object"]);
    }
}
