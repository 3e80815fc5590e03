//! `http_request`: the reports for browsers and scrapers, through the IC's HTTP gateway.
//!
//! Routes (GET or HEAD): `/metrics`; `/scan/<canister-id>.json` and `.html` (latest scan);
//! `/readiness/<canister-id>.json` and `.html` (latest assessment). Anything else is 404.
//!
//! Access: none is checked. A query's HTTP caller is anonymous, so these pages are readable by
//! anyone who can reach the canister: this is the intended frontend path, and it bypasses the
//! Auditor role the Candid reads require. Responses are not certified (served on the raw
//! domain).

use crate::{metrics, storage};
use candid::Principal;
use chaos_api::{HttpRequest, HttpResponse};
use chaos_manager::hardening::render::{render_scan_html, render_scan_json};
use chaos_manager::readiness::{render_html, render_json};

const JSON: &str = "application/json; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
/// The pages are self-contained: no scripts, inline styles only.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

#[derive(Clone, Copy)]
enum Format {
    Json,
    Html,
}

pub fn handle(req: &HttpRequest) -> HttpResponse {
    if !matches!(req.method.as_str(), "GET" | "HEAD") {
        let mut r = HttpResponse::text(405, "method not allowed: use GET\n");
        r.headers.push(("Allow".into(), "GET, HEAD".into()));
        return r;
    }
    let path = req.path();
    if path == "/metrics" {
        return match metrics::encode() {
            Ok(body) => HttpResponse::new(200, "text/plain; version=0.0.4", body),
            Err(e) => HttpResponse::text(500, format!("cannot encode metrics: {e}\n")),
        };
    }
    if let Some(rest) = path.strip_prefix("/scan/") {
        return report(rest, scan_page);
    }
    if let Some(rest) = path.strip_prefix("/readiness/") {
        return report(rest, readiness_page);
    }
    not_found(
        "routes: /metrics, /scan/<canister-id>.{json,html}, /readiness/<canister-id>.{json,html}",
    )
}

fn not_found(what: &str) -> HttpResponse {
    HttpResponse::text(404, format!("not found; {what}\n"))
}

fn report(rest: &str, page: fn(Principal, Format) -> Option<HttpResponse>) -> HttpResponse {
    let (id, format) = if let Some(id) = rest.strip_suffix(".json") {
        (id, Format::Json)
    } else if let Some(id) = rest.strip_suffix(".html") {
        (id, Format::Html)
    } else {
        return not_found("add .json or .html to the canister id");
    };
    match Principal::from_text(id) {
        Ok(_) if !storage::read(|j| j.state().assurance.policy.publish_reports) => {
            HttpResponse::text(
                403,
                "reports are not published: an admin sets publish_reports in the hardening policy; Auditors read them with get_scan and get_readiness\n",
            )
        }
        Ok(target) => page(target, format)
            .unwrap_or_else(|| not_found(&format!("nothing recorded for {target} yet"))),
        Err(e) => HttpResponse::text(400, format!("`{id}` is not a canister id: {e}\n")),
    }
}

fn target_name(target: Principal) -> String {
    storage::read(|j| {
        j.state()
            .targets
            .get(&target)
            .map(|t| t.name.clone())
            .unwrap_or_else(|| target.to_text())
    })
}

fn respond(format: Format, body: String) -> HttpResponse {
    match format {
        Format::Json => HttpResponse::new(200, JSON, body),
        Format::Html => {
            let mut r = HttpResponse::new(200, HTML, body);
            r.headers
                .push(("Content-Security-Policy".into(), CSP.into()));
            r
        }
    }
}

fn scan_page(target: Principal, format: Format) -> Option<HttpResponse> {
    let name = target_name(target);
    storage::read(|j| {
        let scan = j.state().assurance.scans.get(&target)?;
        Some(respond(
            format,
            match format {
                Format::Json => render_scan_json(scan),
                Format::Html => render_scan_html(scan, &name),
            },
        ))
    })
}

fn readiness_page(target: Principal, format: Format) -> Option<HttpResponse> {
    let name = target_name(target);
    storage::read(|j| {
        let a = j.state().assurance.assessments.get(&target)?;
        Some(respond(
            format,
            match format {
                Format::Json => render_json(a),
                Format::Html => render_html(a, &name),
            },
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(url: &str) -> HttpResponse {
        handle(&HttpRequest::get(url))
    }

    #[test]
    fn only_get_and_head_are_served() {
        let mut req = HttpRequest::get("/metrics");
        req.method = "POST".into();
        let r = handle(&req);
        assert_eq!(r.status_code, 405);
        assert!(r
            .headers
            .iter()
            .any(|(k, v)| k == "Allow" && v == "GET, HEAD"));
    }

    #[test]
    fn unknown_routes_are_404() {
        assert_eq!(get("/").status_code, 404);
        assert_eq!(get("/scans/aaaaa-aa.json").status_code, 404);
        assert_eq!(get("/scan/aaaaa-aa").status_code, 404);
        assert_eq!(get("/readiness/aaaaa-aa.txt").status_code, 404);
    }

    #[test]
    fn a_malformed_canister_id_is_400() {
        let r = get("/scan/not-a-principal.json?x=1");
        assert_eq!(r.status_code, 400);
        assert!(r.body_text().contains("not-a-principal"));
    }
}
