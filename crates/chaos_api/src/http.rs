//! The HTTP gateway interface (`http_request`), as the IC's HTTP gateway calls it. Responses
//! are not certified: gateways serve them on the raw domain (`<canister-id>.raw.icp0.io`).

use candid::{CandidType, Deserialize};
use serde_bytes::ByteBuf;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: ByteBuf,
    pub certificate_version: Option<u16>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status_code: u16,
    pub headers: Vec<(String, String)>,
    pub body: ByteBuf,
}

impl HttpRequest {
    /// A GET of `url`, as a gateway would send it.
    pub fn get(url: impl Into<String>) -> Self {
        HttpRequest {
            method: "GET".into(),
            url: url.into(),
            headers: Vec::new(),
            body: ByteBuf::new(),
            certificate_version: None,
        }
    }

    /// The path without the query string.
    pub fn path(&self) -> &str {
        self.url.split(['?', '#']).next().unwrap_or("")
    }
}

impl HttpResponse {
    pub fn new(status_code: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        let body: Vec<u8> = body.into();
        HttpResponse {
            status_code,
            headers: vec![
                ("Content-Type".into(), content_type.into()),
                ("Content-Length".into(), body.len().to_string()),
                ("Cache-Control".into(), "no-store".into()),
                ("X-Content-Type-Options".into(), "nosniff".into()),
            ],
            body: ByteBuf::from(body),
        }
    }

    pub fn text(status_code: u16, body: impl Into<String>) -> Self {
        HttpResponse::new(status_code, "text/plain; charset=utf-8", body.into())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}
