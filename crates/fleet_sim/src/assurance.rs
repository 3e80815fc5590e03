//! Assurance commands on the simulated fleet, routed through the core as the canister routes
//! them: hardening policy, scans (evidence collected with the same effect path as drills, so
//! latencies and faults apply), hardening requests and decisions (performed by
//! [`crate::hardening`]), readiness. Also the developer's own `update_settings` and the weak
//! vault of the hardening scenario.

use crate::fixtures::weak_vault_settings;
use crate::sim::Sim;
use candid::Principal;
use chaos_manager::assurance;
use chaos_manager::effect::{CallFailure, Effect};
use chaos_manager::hardening::{ControlId, HardeningPolicy, ScanReport, SettingsChange};
use chaos_manager::readiness::ReadinessAssessment;
use chaos_manager::{CoreError, DurationNs, Event};

impl Sim {
    /// A running demo_vault controlled by [`crate::sim::developer()`] and chaos_system, deployed
    /// with [`weak_vault_settings`] (see [`crate::fixtures`] for what a scan then fails).
    pub fn add_weak_vault(&mut self, name: &str) -> Principal {
        let id = self.add_vault(name);
        let developer = crate::sim::developer();
        self.update_settings(id, developer, &weak_vault_settings())
            .unwrap_or_else(|e| panic!("fleet_sim (seed {}): {}", self.seed, e.message));
        id
    }

    /// `update_settings` by `caller` (a controller, e.g. the developer) with `change`, now.
    pub fn update_settings(
        &mut self,
        canister: Principal,
        caller: Principal,
        change: &SettingsChange,
    ) -> Result<(), CallFailure> {
        self.canister_mut(canister)?
            .update_settings(&caller, change)
    }

    pub fn set_policy(
        &mut self,
        caller: Principal,
        policy: HardeningPolicy,
    ) -> Result<(), CoreError> {
        let events = assurance::set_policy(self.state(), &caller, policy)?;
        self.record(caller, "set_policy", None, events);
        Ok(())
    }

    pub fn set_scan_interval(
        &mut self,
        caller: Principal,
        interval: Option<DurationNs>,
    ) -> Result<(), CoreError> {
        let events = assurance::set_scan_interval(self.state(), &caller, interval)?;
        self.record(caller, "set_scan_interval", None, events);
        Ok(())
    }

    /// `scan` of `targets` by `caller`: every target is checked first (nothing is read if one
    /// is refused); then, per target, the evidence is collected with one `CollectEvidence` call
    /// (its latency passes, faults apply; a failed call scans as unreadable evidence) and the
    /// core records the scan and the findings. Returns the reports in `targets` order.
    pub fn scan(
        &mut self,
        caller: Principal,
        targets: &[Principal],
    ) -> Result<Vec<ScanReport>, CoreError> {
        for t in targets {
            assurance::precheck_scan(self.state(), &caller, *t)?;
        }
        let mut reports = Vec::with_capacity(targets.len());
        for &canister in targets {
            let effect = Effect::CollectEvidence { canister };
            let latency = self.latency(&effect);
            self.now = self.now.plus(latency);
            let outcome = self.call(&effect);
            let evidence =
                assurance::evidence_from_outcome(canister, self.suite, &outcome, self.now);
            let events = assurance::record_scan(self.state(), &caller, evidence, self.now)?;
            if let Some(Event::TargetScanned { report }) = events.first() {
                reports.push((**report).clone());
            }
            self.record(caller, "scan", None, events);
            self.stats.scans += 1;
        }
        Ok(reports)
    }

    /// The latest scan of `target`, if any.
    pub fn latest_scan(&self, target: Principal) -> Option<&ScanReport> {
        self.state().assurance.scans.get(&target)
    }

    /// `request_hardening`: returns the request's id.
    pub fn request_hardening(
        &mut self,
        caller: Principal,
        target: Principal,
        controls: &[ControlId],
    ) -> Result<u64, CoreError> {
        let events = assurance::request_hardening(self.state(), &caller, target, controls)?;
        let recorded = self.record(caller, "request_hardening", None, events);
        Ok(recorded[0].seq())
    }

    /// `decide_hardening`; an approved request is performed by [`Sim::run_until_idle`].
    pub fn decide_hardening(
        &mut self,
        caller: Principal,
        request: u64,
        approve: bool,
        note: &str,
    ) -> Result<(), CoreError> {
        let events =
            assurance::decide_hardening(self.state(), &caller, request, approve, note.into())?;
        self.record(caller, "decide_hardening", None, events);
        Ok(())
    }

    /// `assess_readiness` of `target` now, from its latest scan.
    pub fn assess_readiness(
        &mut self,
        caller: Principal,
        target: Principal,
    ) -> Result<ReadinessAssessment, CoreError> {
        let events = assurance::assess_readiness(self.state(), &caller, target, self.now)?;
        let assessment = match events.first() {
            Some(Event::ReadinessAssessed { assessment }) => (**assessment).clone(),
            other => unreachable!("assess_readiness records ReadinessAssessed, got {other:?}"),
        };
        self.record(caller, "assess_readiness", None, events);
        Ok(assessment)
    }
}
