//! PocketIC helpers of the assurance scenarios: a weakly configured demo_vault, scans,
//! hardening requests, findings, readiness and the HTTP routes.

use crate::{admin, operator, Env};
use candid::{encode_one, CandidType, Deserialize, Nat, Principal};
use chaos_api::{
    Error, Finding, HardeningRequest, HardeningStatus, HttpRequest, HttpResponse, ListFindingsArgs,
    Readiness, RequestHardeningArgs, ScanReport, ScanSummary,
};
use pocket_ic::common::rest::RawEffectivePrincipal;

/// The controls a scan of the weak demo_vault fails (with the policy approving its module):
/// one human controller besides chaos_system (02), a 1-day freezing threshold (06), reserved
/// cycles limit 0 (08), no wasm_memory_limit (10), no wasm_memory_threshold (11), public logs
/// (15), no snapshot (20), never drilled (21).
pub const WEAK_FAILING: [&str; 8] = [
    "IC-CTRL-02",
    "IC-CTRL-06",
    "IC-CTRL-08",
    "IC-CTRL-10",
    "IC-CTRL-11",
    "IC-CTRL-15",
    "IC-CTRL-20",
    "IC-CTRL-21",
];

/// The failing controls chaos_system remediates automatically.
pub const AUTO_FIXABLE: [&str; 6] = [
    "IC-CTRL-06",
    "IC-CTRL-08",
    "IC-CTRL-10",
    "IC-CTRL-11",
    "IC-CTRL-15",
    "IC-CTRL-20",
];

/// The management canister's `log_visibility` variant (only the case we set).
#[derive(CandidType, Deserialize)]
enum LogVisibility {
    #[serde(rename = "public")]
    Public,
}

/// The `update_settings` fields the weak configuration sets; the management canister's record
/// has more, all optional, so this subset is a valid argument.
#[derive(CandidType)]
struct WeakSettings {
    freezing_threshold: Option<Nat>,
    reserved_cycles_limit: Option<Nat>,
    log_visibility: Option<LogVisibility>,
    wasm_memory_limit: Option<Nat>,
    wasm_memory_threshold: Option<Nat>,
}

#[derive(CandidType)]
struct UpdateSettingsArgs {
    canister_id: Principal,
    settings: WeakSettings,
}

impl Env {
    /// Given demo_vault configured the usual wrong way: freezing threshold 1 day, public logs,
    /// no wasm_memory_limit or wasm_memory_threshold, reservation disabled (limit 0); its
    /// controllers stay [admin, chaos_system] (no backup controller).
    pub fn weaken_vault(&self) {
        let args = UpdateSettingsArgs {
            canister_id: self.vault,
            settings: WeakSettings {
                freezing_threshold: Some(Nat::from(86_400u64)),
                reserved_cycles_limit: Some(Nat::from(0u64)),
                log_visibility: Some(LogVisibility::Public),
                wasm_memory_limit: Some(Nat::from(0u64)),
                wasm_memory_threshold: Some(Nat::from(0u64)),
            },
        };
        self.pic
            .update_call_with_effective_principal(
                Principal::management_canister(),
                RawEffectivePrincipal::CanisterId(self.vault.as_slice().to_vec()),
                admin(),
                "update_settings",
                encode_one(args).unwrap(),
            )
            .expect("update_settings of demo_vault");
    }

    pub fn scan(&self, caller: Principal) -> Result<Vec<ScanSummary>, Error> {
        self.update(caller, "scan_targets", vec![self.vault])
    }

    /// Scans the vault as the operator and returns the recorded report.
    pub fn scan_vault(&self) -> ScanReport {
        let summaries = self.scan(operator()).expect("scan_targets");
        assert_eq!(summaries.len(), 1);
        summaries[0].result.clone().expect("scan recorded");
        self.get_scan()
    }

    pub fn get_scan(&self) -> ScanReport {
        let r: Result<ScanReport, Error> = self.query(admin(), "get_scan", self.vault);
        r.expect("get_scan")
    }

    /// Approves the vault's current module in the policy (control 18 then passes).
    pub fn approve_vault_module(&self, module_hash: serde_bytes::ByteBuf) {
        let r: Result<chaos_api::HardeningPolicy, Error> =
            self.query(admin(), "get_hardening_policy", ());
        let mut policy = r.expect("get_hardening_policy");
        policy.approved_module_hashes = vec![module_hash];
        policy.publish_reports = true;
        let r: Result<(), Error> = self.update(admin(), "set_hardening_policy", policy);
        r.expect("set_hardening_policy");
    }

    pub fn request_hardening(&self, caller: Principal, controls: &[&str]) -> Result<u64, Error> {
        self.update(
            caller,
            "request_hardening",
            RequestHardeningArgs {
                target: self.vault,
                controls: controls.iter().map(|c| c.to_string()).collect(),
            },
        )
    }

    pub fn approve_hardening(&self, caller: Principal, id: u64) -> Result<(), Error> {
        self.update(caller, "approve_hardening", id)
    }

    pub fn hardening_request(&self, id: u64) -> HardeningRequest {
        let r: Result<HardeningRequest, Error> = self.query(admin(), "get_hardening_request", id);
        r.expect("get_hardening_request")
    }

    /// Ticks until the request is finished (performed and rescanned).
    pub fn tick_until_hardened(&self, id: u64) -> HardeningRequest {
        for _ in 0..500 {
            let r = self.hardening_request(id);
            if matches!(r.status, HardeningStatus::Finished { .. }) {
                return r;
            }
            self.pic.tick();
        }
        panic!(
            "hardening request {id} did not finish in 500 rounds: {:#?}",
            self.hardening_request(id)
        );
    }

    pub fn vault_findings(&self, active_only: bool) -> Vec<Finding> {
        let r: Result<Vec<Finding>, Error> = self.query(
            admin(),
            "list_findings",
            ListFindingsArgs {
                target: Some(self.vault),
                active_only,
                overdue_only: false,
                start: 0,
                length: 100,
            },
        );
        r.expect("list_findings")
    }

    pub fn assess_vault(&self) -> Readiness {
        let r: Result<Readiness, Error> = self.update(operator(), "assess_readiness", self.vault);
        r.expect("assess_readiness")
    }

    /// A GET through `http_request`, as the HTTP gateway makes it (anonymous query).
    pub fn http_get(&self, path: &str) -> HttpResponse {
        self.query(
            Principal::anonymous(),
            "http_request",
            HttpRequest::get(path),
        )
    }
}

/// Ids of the controls with the given result name ("fail", "pass", "unknown").
pub fn control_ids(scan: &ScanReport, result: &str) -> Vec<String> {
    scan.controls
        .iter()
        .filter(|c| {
            matches!(
                (&c.result, result),
                (chaos_api::ControlResult::Pass, "pass")
                    | (chaos_api::ControlResult::Fail { .. }, "fail")
                    | (chaos_api::ControlResult::Unknown { .. }, "unknown")
            )
        })
        .map(|c| c.id.clone())
        .collect()
}
