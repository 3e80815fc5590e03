//! Rendering scans and framework reports as JSON and as self-contained HTML pages; the HTML
//! helpers (escaping, page frame) are shared with the readiness report.

use super::catalog::control;
use super::framework::{FrameworkReport, RequirementStatus};
use super::scan::ScanReport;
use crate::ids::TimestampNs;
use serde::Serializer;
use std::fmt::Write;

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Timestamps render in JSON as nanoseconds since the epoch.
pub fn ser_ts<S: Serializer>(t: &TimestampNs, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(t.0)
}

pub fn ser_opt_ts<S: Serializer>(t: &Option<TimestampNs>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_some(&t.0),
        None => s.serialize_none(),
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` (proleptic Gregorian, from nanoseconds since the epoch).
pub fn utc_text(t: TimestampNs) -> String {
    let secs = t.0 / 1_000_000_000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm), valid for all u64 day counts used here.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}\
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border:1px solid #ccc;padding:.35rem .5rem;text-align:left;vertical-align:top}\
th{background:#f2f2f2}.pass{color:#0a6b2d;font-weight:600}.fail{color:#b00020;font-weight:600}.unknown{color:#8a6100;font-weight:600}\
.badge{display:inline-block;padding:.2rem .6rem;border-radius:.3rem;background:#eee;font-weight:700}small{color:#555}";

/// A complete HTML document; `title` is escaped, `body` must already be safe HTML.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><style>{STYLE}</style></head><body>\n{body}</body></html>\n",
        escape_html(title)
    )
}

/// `<span class="pass">pass</span>` and the like, for a result name.
pub fn result_badge(name: &str) -> String {
    format!("<span class=\"{0}\">{0}</span>", escape_html(name))
}

pub fn render_scan_json(scan: &ScanReport) -> String {
    serde_json::to_string_pretty(scan).expect("a scan report always serializes")
}

pub fn render_framework_json(report: &FrameworkReport) -> String {
    serde_json::to_string_pretty(report).expect("a framework report always serializes")
}

/// A readable page for one scan: score, level, every control with its evidence, coverage.
pub fn render_scan_html(scan: &ScanReport, target_name: &str) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>Hardening scan: {}</h1>\n<p><small>{} &middot; scanned {}</small></p>\n\
<p><span class=\"badge\">score {}/100</span> <span class=\"badge\">level {}</span> \
<span class=\"badge\">{}% of the weight decided</span></p>\n",
        escape_html(target_name),
        escape_html(&scan.target.to_text()),
        escape_html(&utc_text(scan.scanned_at)),
        scan.score,
        scan.level.name(),
        scan.evaluated_pct
    );
    b.push_str("<h2>Controls</h2>\n<table><tr><th>Control</th><th>Severity</th><th>Result</th><th>Evidence</th><th>Remediation</th></tr>\n");
    for r in &scan.results {
        let c = control(&r.control);
        let reason = match &r.result {
            super::evaluate::ControlResult::Pass => String::new(),
            super::evaluate::ControlResult::Fail { reason }
            | super::evaluate::ControlResult::Unknown { reason } => {
                format!("<br><small>{}</small>", escape_html(reason))
            }
        };
        let _ = writeln!(
            b,
            "<tr><td>{} {}</td><td>{}</td><td>{}{reason}</td><td>{}</td><td>{}</td></tr>",
            escape_html(r.control.as_str()),
            escape_html(c.map_or("", |c| c.title)),
            r.severity.name(),
            result_badge(r.result.name()),
            escape_html(&r.evidence),
            if r.result.is_pass() {
                String::new()
            } else {
                escape_html(c.map_or("", |c| c.remediation))
            }
        );
    }
    b.push_str("</table>\n<h2>Framework coverage</h2>\n<table><tr><th>Framework</th><th>Satisfied</th><th>Not satisfied</th><th>Undetermined</th></tr>\n");
    for f in &scan.frameworks {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(f.framework.name()),
            f.satisfied,
            f.not_satisfied,
            f.undetermined
        );
    }
    b.push_str("</table>\n");
    page(&format!("Hardening scan: {target_name}"), &b)
}

/// A readable page for one framework's view of a scan: requirements and gaps.
pub fn render_framework_html(report: &FrameworkReport, target_name: &str) -> String {
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<h1>{}: {}</h1>\n<p><small>scanned {}</small></p>",
        escape_html(report.framework_name),
        escape_html(target_name),
        escape_html(&utc_text(report.scanned_at))
    );
    b.push_str("<table><tr><th>Requirement</th><th>Status</th><th>Controls</th><th>Pass / fail / unknown</th></tr>\n");
    for r in &report.coverage.requirements {
        let status = match r.status {
            RequirementStatus::Satisfied => "pass",
            RequirementStatus::NotSatisfied => "fail",
            RequirementStatus::Undetermined => "unknown",
        };
        let controls: Vec<&str> = r.controls.iter().map(|c| c.as_str()).collect();
        let _ = writeln!(
            b,
            "<tr><td>{} {}</td><td>{}</td><td>{}</td><td>{} / {} / {}</td></tr>",
            escape_html(&r.requirement),
            escape_html(&r.title),
            result_badge(status),
            escape_html(&controls.join(", ")),
            r.passing,
            r.failing,
            r.unknown
        );
    }
    b.push_str("</table>\n<h2>Gaps</h2>\n<ul>\n");
    for g in &report.gaps {
        let _ = writeln!(
            b,
            "<li><b>{} {}</b> ({}) &mdash; {} &mdash; {}<br><small>{}</small></li>",
            escape_html(g.control.as_str()),
            escape_html(g.title),
            g.severity.name(),
            escape_html(&g.requirements.join(", ")),
            escape_html(&g.finding),
            escape_html(g.remediation)
        );
    }
    b.push_str("</ul>\n");
    page(&format!("{}: {target_name}", report.framework_name), &b)
}
