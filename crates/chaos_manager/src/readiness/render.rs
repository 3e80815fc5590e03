//! The readiness report as JSON (for frontends and `http_request`) and as a readable,
//! self-contained HTML page. All text from the assessment and the target name is escaped.

use super::ReadinessAssessment;
use crate::hardening::render::{escape_html, page, result_badge, utc_text};
use std::fmt::Write;

pub fn render_json(a: &ReadinessAssessment) -> String {
    serde_json::to_string_pretty(a).expect("an assessment always serializes")
}

pub fn render_html(a: &ReadinessAssessment, target_name: &str) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>Production readiness: {}</h1>\n<p><small>{} &middot; assessed {} &middot; scan of {}</small></p>\n\
<p><span class=\"badge\">{}</span> <span class=\"badge\">score {}/100</span> <span class=\"badge\">trend: {}</span></p>\n",
        escape_html(target_name),
        escape_html(&a.target.to_text()),
        escape_html(&utc_text(a.assessed_at)),
        escape_html(&utc_text(a.scan_at)),
        a.verdict.name(),
        a.overall_score,
        a.trend.name()
    );
    list(&mut b, "Blocking issues", &a.blocking_issues);
    list(&mut b, "Conditions", &a.conditions);

    b.push_str("<h2>Categories</h2>\n<table><tr><th>Category</th><th>Score</th><th>Pass</th><th>Fail</th><th>Unknown</th></tr>\n");
    for c in &a.categories {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.category.name(),
            c.score,
            c.passed,
            c.failed,
            c.unknown
        );
    }
    b.push_str("</table>\n<h2>Criteria</h2>\n<table><tr><th>Criterion</th><th>Result</th><th>Evidence</th><th>Remediation</th></tr>\n");
    for c in &a.criteria {
        let reason = match &c.result {
            crate::hardening::ControlResult::Pass => String::new(),
            crate::hardening::ControlResult::Fail { reason }
            | crate::hardening::ControlResult::Unknown { reason } => {
                format!("<br><small>{}</small>", escape_html(reason))
            }
        };
        let _ = writeln!(
            b,
            "<tr><td>{} {}{}<br><small>{} &middot; weight {}</small></td><td>{}{reason}</td><td>{}</td><td>{}</td></tr>",
            escape_html(&c.id),
            escape_html(&c.title),
            if c.blocking { " <b>(blocking)</b>" } else { "" },
            c.category.name(),
            c.weight,
            result_badge(c.result.name()),
            escape_html(&c.evidence),
            escape_html(&c.remediation)
        );
    }
    b.push_str("</table>\n<h2>Deployment checklist</h2>\n<ol>\n");
    for item in &a.checklist {
        let _ = writeln!(
            b,
            "<li>{} {} <small>({})</small></li>",
            if item.done { "&#9745;" } else { "&#9744;" },
            escape_html(&item.text),
            escape_html(&item.sources.join(", "))
        );
    }
    b.push_str("</ol>\n");
    page(&format!("Readiness: {target_name}"), &b)
}

fn list(b: &mut String, title: &str, items: &[String]) {
    let _ = writeln!(b, "<h2>{}</h2>", escape_html(title));
    if items.is_empty() {
        b.push_str("<p>None.</p>\n");
        return;
    }
    b.push_str("<ul>\n");
    for i in items {
        let _ = writeln!(b, "<li>{}</li>", escape_html(i));
    }
    b.push_str("</ul>\n");
}
