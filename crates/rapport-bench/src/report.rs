//! The markdown report: one table of measurements, one of targets (reported, never asserted),
//! then what was skipped and notes.

use std::fmt::Write;

use crate::{
    customers::Results,
    load::{Outcome, quantile_ms},
    stores::DB_CONNECTIONS,
};

/// The goals the numbers are held against.
#[derive(Debug, Clone, Copy)]
pub struct Targets {
    /// CreateCustomer throughput over raw INSERT throughput, at least.
    pub create_ratio: f64,
    /// GetCustomer throughput over raw SELECT throughput, at least.
    pub get_ratio: f64,
    /// p99 latency of every service scenario below this, in ms.
    pub p99_ms: f64,
    /// Import rows per second on PostgreSQL, at least.
    pub import_rows_per_sec: f64,
    /// Idle resident memory of `rapport serve` below this, in MB (10^6 bytes).
    pub idle_rss_mb: f64,
}

impl Default for Targets {
    fn default() -> Self {
        Self {
            create_ratio: 0.5,
            get_ratio: 0.6,
            p99_ms: 20.0,
            import_rows_per_sec: 20_000.0,
            idle_rss_mb: 60.0,
        }
    }
}

type Measured<'a> = &'a Result<Outcome, String>;

/// A row of the load table: scenario, deployment, what it measured, and its baseline with the
/// baseline's name.
type Line<'a> = (
    &'a str,
    &'a str,
    Measured<'a>,
    Option<(Measured<'a>, &'a str)>,
);

/// A report over one run's results.
pub struct Report<'a> {
    r: &'a Results,
}

const STANDALONE: &str = "standalone: SQLite, in-process cache + bus";

impl<'a> Report<'a> {
    /// The report of `r`.
    pub fn new(r: &'a Results) -> Self {
        Self { r }
    }

    /// The report as markdown.
    pub fn render(&self, t: &Targets) -> String {
        let r = self.r;
        let p = &r.plan;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "## rapport-bench customers\n\n{} s measured per load scenario after {:.1} s of warm-up, \
             concurrency {}, {} database connections per pool (server and raw alike); \
             PostgreSQL databases are analyzed after each warm-up, but for the fresh database's \
             row; CreateCustomer sends a request id.\n",
            p.window.as_secs(),
            p.warmup.as_secs_f64(),
            p.concurrency,
            DB_CONNECTIONS
        );
        out.push_str(
            "| Scenario | Deployment | Throughput | p50 (ms) | p99 (ms) | Errors | vs raw baseline |\n\
             |---|---|---:|---:|---:|---:|---|\n",
        );
        let dist = r.distributed.as_str();
        let rows: [Line<'_>; 9] = [
            (
                "CreateCustomer",
                STANDALONE,
                &r.create_sqlite,
                Some((&r.insert_sqlite, "raw INSERT, SQLite")),
            ),
            (
                "raw INSERT (customers + contacts, 1 tx)",
                "sqlx on SQLite",
                &r.insert_sqlite,
                None,
            ),
            (
                "CreateCustomer",
                dist,
                &r.create_pg,
                Some((&r.insert_pg, "raw INSERT, PostgreSQL")),
            ),
            (
                "raw INSERT (customers + contacts, 1 tx)",
                "sqlx on PostgreSQL",
                &r.insert_pg,
                None,
            ),
            (
                "CreateCustomer, fresh database",
                dist,
                &r.create_fresh_pg,
                Some((&r.insert_pg, "raw INSERT, PostgreSQL")),
            ),
            (
                "GetCustomer",
                STANDALONE,
                &r.get_sqlite,
                Some((&r.select_sqlite, "raw SELECT, SQLite")),
            ),
            ("raw SELECT by id", "sqlx on SQLite", &r.select_sqlite, None),
            (
                "GetCustomer",
                dist,
                &r.get_pg,
                Some((&r.select_pg, "raw SELECT, PostgreSQL")),
            ),
            ("raw SELECT by id", "sqlx on PostgreSQL", &r.select_pg, None),
        ];
        for (scenario, deployment, measured, baseline) in rows {
            let vs = match baseline {
                None => "(baseline)".to_owned(),
                Some((base, name)) => match ratio(measured, base) {
                    Some(x) => format!("{:.0}% of {name}", x * 100.0),
                    None => "n/a".to_owned(),
                },
            };
            match measured {
                Ok(o) => {
                    let _ = writeln!(
                        out,
                        "| {scenario} | {deployment} | {} req/s | {:.2} | {:.2} | {} | {vs} |",
                        thousands(o.throughput()),
                        o.quantile_ms(0.5),
                        o.quantile_ms(0.99),
                        o.errors
                    );
                }
                Err(why) => {
                    let _ = writeln!(
                        out,
                        "| {scenario} | {deployment} | {} | – | – | – | – |",
                        short(why)
                    );
                }
            }
        }
        let import_name = format!(
            "ImportCustomers ({} rows, {} streams × {} rows/msg)",
            thousands(p.import_rows as f64),
            p.import_streams,
            p.import_batch
        );
        match &r.import {
            Ok(i) => {
                let _ = writeln!(
                    out,
                    "| {import_name} | {dist} | {} rows/s | {:.0} per batch | {:.0} per batch | {} | – |",
                    thousands(i.rows_per_sec()),
                    quantile_ms(&i.batch_us, 0.5),
                    quantile_ms(&i.batch_us, 0.99),
                    i.duplicates + i.invalid + i.lost
                );
            }
            Err(why) => {
                let _ = writeln!(
                    out,
                    "| {import_name} | {dist} | {} | – | – | – | – |",
                    short(why)
                );
            }
        }
        match &r.idle {
            Ok(idle) => {
                let _ = writeln!(
                    out,
                    "| Idle `rapport serve` ({} s after SERVING) | standalone, defaults | RSS {:.1} MB | – | – | – | – |",
                    crate::memory::IDLE.as_secs(),
                    mb(idle.rss_bytes)
                );
            }
            Err(why) => {
                let _ = writeln!(
                    out,
                    "| Idle `rapport serve` | standalone, defaults | {} | – | – | – | – |",
                    short(why)
                );
            }
        }

        out.push_str("\n### Targets\n\n| Target | Measured | Met |\n|---|---:|---|\n");
        let mut target = |name: String, measured: Option<(String, bool)>| {
            let (value, met) = match measured {
                Some((v, true)) => (v, "yes"),
                Some((v, false)) => (v, "**no**"),
                None => ("–".to_owned(), "skipped"),
            };
            let _ = writeln!(out, "| {name} | {value} | {met} |");
        };
        for (what, deployment, m, base, goal) in [
            (
                "CreateCustomer",
                dist,
                &r.create_pg,
                &r.insert_pg,
                t.create_ratio,
            ),
            (
                "CreateCustomer",
                STANDALONE,
                &r.create_sqlite,
                &r.insert_sqlite,
                t.create_ratio,
            ),
            ("GetCustomer", dist, &r.get_pg, &r.select_pg, t.get_ratio),
            (
                "GetCustomer",
                STANDALONE,
                &r.get_sqlite,
                &r.select_sqlite,
                t.get_ratio,
            ),
        ] {
            let raw = if what == "CreateCustomer" {
                "INSERT"
            } else {
                "SELECT"
            };
            target(
                format!(
                    "{what} ≥ {:.0}% of raw {raw} throughput ({deployment})",
                    goal * 100.0
                ),
                ratio(m, base).map(|x| (format!("{:.0}%", x * 100.0), x >= goal)),
            );
        }
        for (what, deployment, m) in [
            ("CreateCustomer", dist, &r.create_pg),
            ("GetCustomer", dist, &r.get_pg),
            ("CreateCustomer", STANDALONE, &r.create_sqlite),
            ("GetCustomer", STANDALONE, &r.get_sqlite),
        ] {
            target(
                format!(
                    "{what} p99 < {:.0} ms at concurrency {} ({deployment})",
                    t.p99_ms, p.concurrency
                ),
                m.as_ref().ok().filter(|o| o.ok > 0).map(|o| {
                    let p99 = o.quantile_ms(0.99);
                    (format!("{p99:.2} ms"), p99 < t.p99_ms)
                }),
            );
        }
        target(
            format!(
                "ImportCustomers ≥ {} rows/s on PostgreSQL",
                thousands(t.import_rows_per_sec)
            ),
            r.import.as_ref().ok().map(|i| {
                let rate = i.rows_per_sec();
                (
                    format!("{} rows/s", thousands(rate)),
                    rate >= t.import_rows_per_sec,
                )
            }),
        );
        target(
            format!("Idle RSS of `rapport serve` < {:.0} MB", t.idle_rss_mb),
            r.idle.as_ref().ok().map(|idle| {
                let m = mb(idle.rss_bytes);
                (format!("{m:.1} MB"), m < t.idle_rss_mb)
            }),
        );

        let mut skipped: Vec<String> = r.skipped.clone();
        for (name, m) in [
            ("CreateCustomer (standalone)", &r.create_sqlite),
            ("raw INSERT (SQLite)", &r.insert_sqlite),
            ("GetCustomer (standalone)", &r.get_sqlite),
            ("raw SELECT (SQLite)", &r.select_sqlite),
        ] {
            if let Err(why) = m {
                skipped.push(format!("{name}: {why}"));
            }
        }
        if r.plan.postgres.is_some() {
            for (name, m) in [
                ("CreateCustomer (distributed)", &r.create_pg),
                (
                    "CreateCustomer (distributed, fresh database)",
                    &r.create_fresh_pg,
                ),
                ("raw INSERT (PostgreSQL)", &r.insert_pg),
                ("GetCustomer (distributed)", &r.get_pg),
                ("raw SELECT (PostgreSQL)", &r.select_pg),
            ] {
                if let Err(why) = m {
                    skipped.push(format!("{name}: {why}"));
                }
            }
            if let Err(why) = &r.import {
                skipped.push(format!("ImportCustomers: {why}"));
            }
        }
        if let Err(why) = &r.idle {
            skipped.push(format!("Idle memory: {why}"));
        }
        if !skipped.is_empty() {
            out.push_str("\n### Skipped or failed\n\n");
            for s in skipped {
                let _ = writeln!(out, "- {s}");
            }
        }

        let mut notes: Vec<String> = Vec::new();
        for (name, m) in [
            ("CreateCustomer (standalone)", &r.create_sqlite),
            ("raw INSERT (SQLite)", &r.insert_sqlite),
            ("GetCustomer (standalone)", &r.get_sqlite),
            ("raw SELECT (SQLite)", &r.select_sqlite),
            ("CreateCustomer (distributed)", &r.create_pg),
            (
                "CreateCustomer (distributed, fresh database)",
                &r.create_fresh_pg,
            ),
            ("raw INSERT (PostgreSQL)", &r.insert_pg),
            ("GetCustomer (distributed)", &r.get_pg),
            ("raw SELECT (PostgreSQL)", &r.select_pg),
        ] {
            if let Ok(o) = m
                && let Some(e) = &o.first_error
            {
                notes.push(format!("{name}: {} errors, the first: {e}", o.errors));
            }
        }
        if let Ok(i) = &r.import {
            notes.push(format!(
                "ImportCustomers: {} rows sent, {} created, {} duplicates, {} invalid, {} without \
                 an answer, in {:.1} s{}",
                i.sent,
                i.created,
                i.duplicates,
                i.invalid,
                i.lost,
                i.elapsed.as_secs_f64(),
                i.first_error
                    .as_ref()
                    .map(|e| format!("; stream error: {e}"))
                    .unwrap_or_default()
            ));
        }
        if let Ok(idle) = &r.idle {
            notes.push(format!(
                "Idle `rapport serve`: SERVING {:.2} s after spawn; peak RSS so far {:.1} MB",
                idle.startup.as_secs_f64(),
                mb(idle.peak_bytes)
            ));
        }
        notes.extend(r.notes.iter().cloned());
        if !notes.is_empty() {
            out.push_str("\n### Notes\n\n");
            for n in notes {
                let _ = writeln!(out, "- {n}");
            }
        }
        out
    }
}

/// Throughput of `m` over that of `base`, when both ran and the base did something.
fn ratio(m: Measured<'_>, base: Measured<'_>) -> Option<f64> {
    let (m, base) = (m.as_ref().ok()?, base.as_ref().ok()?);
    (base.throughput() > 0.0).then(|| m.throughput() / base.throughput())
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// `12345.6` as `12,346`.
pub fn thousands(x: f64) -> String {
    let n = x.round().max(0.0) as u64;
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A skip reason short enough for a table cell (the full text is under "Skipped").
fn short(why: &str) -> &'static str {
    if why.starts_with("failed") {
        "failed"
    } else {
        "skipped"
    }
}

/// A table of targets: each row a scenario, what the service did, its raw baseline, the ratio
/// of the two, the target and whether it was met. A row without a verdict (a baseline, a note)
/// says "–".
#[derive(Debug, Default)]
pub struct TargetTable {
    rows: Vec<[String; 6]>,
}

impl TargetTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a row; `met` is None when the row holds no target.
    pub fn row(
        &mut self,
        scenario: impl Into<String>,
        service: impl Into<String>,
        raw: impl Into<String>,
        ratio: impl Into<String>,
        target: impl Into<String>,
        met: Option<bool>,
    ) {
        let verdict = match met {
            Some(true) => "yes",
            Some(false) => "**NO**",
            None => "–",
        };
        self.rows.push([
            scenario.into(),
            service.into(),
            raw.into(),
            ratio.into(),
            target.into(),
            verdict.to_owned(),
        ]);
    }

    /// The table as markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| Scenario | Service | Raw baseline | Ratio | Target | Met? |\n\
             |---|---|---|---|---|---|\n",
        );
        for r in &self.rows {
            let cells: Vec<String> = r.iter().map(|c| c.replace('|', "\\|")).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out
    }
}

/// A load run in one cell: throughput, p50 and p99, and errors if any (with the first).
pub fn load_cell(o: &Outcome) -> String {
    let mut cell = format!(
        "{}/s, p50 {:.2} ms, p99 {:.2} ms",
        thousands(o.throughput()),
        o.quantile_ms(0.5),
        o.quantile_ms(0.99)
    );
    if o.errors > 0 {
        let _ = write!(
            cell,
            ", {} errors (first: {})",
            o.errors,
            o.first_error.as_deref().unwrap_or_default()
        );
    }
    cell
}

#[cfg(test)]
mod tests {
    use super::{TargetTable, thousands};

    #[test]
    fn target_rows_say_whether_they_were_met() {
        let mut t = TargetTable::new();
        t.row("a", "1 ms", "–", "–", "< 2 ms", Some(true));
        t.row("b | c", "3 ms", "–", "–", "< 2 ms", Some(false));
        t.row("raw", "–", "5 ms", "–", "", None);
        let md = t.markdown();
        assert!(md.contains("| a | 1 ms | – | – | < 2 ms | yes |"), "{md}");
        assert!(
            md.contains("| b \\| c | 3 ms | – | – | < 2 ms | **NO** |"),
            "{md}"
        );
        assert!(md.contains("| raw | – | 5 ms | – |  | – |"), "{md}");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
    }
}
