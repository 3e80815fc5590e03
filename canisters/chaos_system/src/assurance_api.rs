//! Request handling of the assurance endpoints (hardening policy, scans, compliance reports,
//! findings, hardening requests, readiness): authorize, call the core, record, convert.
//! Updates authorize in the core's commands; reads call `api::require(Role::Auditor)`.

use crate::api::{self, caller, now, require};
use crate::{hardening, storage};
use candid::Principal;
use chaos_api::{
    ControlInfo, Error, ErrorCode, Finding, FrameworkReport, FrameworkReportArgs, HardeningPolicy,
    HardeningRequest, ListFindingsArgs, Readiness, ReadinessReport, RejectHardeningArgs,
    ReportFindingArgs, RequestHardeningArgs, ScanReport, TransitionFindingArgs, MAX_PAGE,
};
use chaos_manager::assurance;
use chaos_manager::hardening::{catalog, framework_report as core_framework_report, ControlId};
use chaos_manager::vulnerability::{FindingId, RegisterChange};
use chaos_manager::{CoreError, DurationNs, Event, Role};

pub fn set_hardening_policy(policy: HardeningPolicy) -> Result<(), Error> {
    let caller = caller();
    let policy = policy.try_into()?;
    api::record("set_hardening_policy", None, |s| {
        assurance::set_policy(s, &caller, policy)
    })
    .map(|_| ())
}

pub fn get_hardening_policy() -> Result<HardeningPolicy, Error> {
    require(Role::Auditor)?;
    Ok(storage::read(|j| (&j.state().assurance.policy).into()))
}

pub fn set_scan_schedule(interval_ns: Option<u64>) -> Result<(), Error> {
    let caller = caller();
    api::record("set_scan_schedule", None, |s| {
        assurance::set_scan_interval(s, &caller, interval_ns.map(DurationNs))
    })?;
    hardening::arm_schedule();
    Ok(())
}

pub fn list_controls() -> Result<Vec<ControlInfo>, Error> {
    require(Role::Auditor)?;
    Ok(catalog().iter().map(Into::into).collect())
}

fn no_scan(canister: Principal) -> Error {
    CoreError::NoScan { canister }.into()
}

pub fn get_scan(target: Principal) -> Result<ScanReport, Error> {
    require(Role::Auditor)?;
    storage::read(|j| {
        let a = &j.state().assurance;
        let scan = a.scans.get(&target).ok_or_else(|| no_scan(target))?;
        Ok(ScanReport {
            watchlist: a.policy.watchlist.iter().map(|f| (*f).into()).collect(),
            ..scan.into()
        })
    })
}

pub fn framework_report(args: FrameworkReportArgs) -> Result<FrameworkReport, Error> {
    require(Role::Auditor)?;
    storage::read(|j| {
        let scan = j
            .state()
            .assurance
            .scans
            .get(&args.target)
            .ok_or_else(|| no_scan(args.target))?;
        Ok((&core_framework_report(scan, args.framework.into())).into())
    })
}

pub fn list_findings(args: ListFindingsArgs) -> Result<Vec<Finding>, Error> {
    require(Role::Auditor)?;
    let length = api::page_length(Some(args.length), MAX_PAGE)?;
    let now = now();
    Ok(storage::read(|j| {
        j.state()
            .assurance
            .register
            .findings()
            .filter(|f| f.id.0 >= args.start)
            .filter(|f| args.target.is_none_or(|t| f.target == t))
            .filter(|f| !args.active_only || f.status.is_active())
            .filter(|f| !args.overdue_only || f.is_overdue(now))
            .take(length)
            .map(|f| Finding::at(f, now))
            .collect()
    }))
}

fn finding(id: FindingId) -> Result<Finding, Error> {
    storage::read(|j| {
        j.state()
            .assurance
            .register
            .get(id)
            .map(|f| Finding::at(f, now()))
            .ok_or_else(|| Error::new(ErrorCode::Internal, format!("{id} was not recorded")))
    })
}

pub fn report_finding(args: ReportFindingArgs) -> Result<Finding, Error> {
    let caller = caller();
    let mut id = None;
    api::record("report_finding", None, |s| {
        let events = assurance::report_finding(
            s,
            &caller,
            args.target,
            args.severity.into(),
            &args.title,
            &args.detail,
            now(),
        )?;
        id = opened(&events);
        Ok(events)
    })?;
    finding(id.ok_or_else(|| Error::new(ErrorCode::Internal, "no finding opened"))?)
}

pub fn transition_finding(args: TransitionFindingArgs) -> Result<Finding, Error> {
    let caller = caller();
    let id = FindingId(args.finding_id);
    api::record("transition_finding", None, |s| {
        assurance::transition_finding(s, &caller, id, args.to.into(), &args.note, now())
    })?;
    finding(id)
}

pub fn request_hardening(args: RequestHardeningArgs) -> Result<u64, Error> {
    let caller = caller();
    let controls: Vec<ControlId> = args.controls.iter().map(|c| ControlId::new(c)).collect();
    let recorded = api::record("request_hardening", None, |s| {
        assurance::request_hardening(s, &caller, args.target, &controls)
    })?;
    // The request's id is the sequence number of its HardeningRequested event.
    recorded
        .first()
        .map(|r| r.seq())
        .ok_or_else(|| Error::new(ErrorCode::Internal, "no request recorded"))
}

pub fn decide_hardening(request_id: u64, approve: bool, note: String) -> Result<(), Error> {
    let caller = caller();
    let method = if approve {
        "approve_hardening"
    } else {
        "reject_hardening"
    };
    api::record(method, None, |s| {
        assurance::decide_hardening(s, &caller, request_id, approve, note)
    })?;
    if approve {
        hardening::resume();
    }
    Ok(())
}

pub fn reject_hardening(args: RejectHardeningArgs) -> Result<(), Error> {
    decide_hardening(args.request_id, false, args.note)
}

pub fn get_hardening_request(id: u64) -> Result<HardeningRequest, Error> {
    require(Role::Auditor)?;
    storage::read(|j| {
        j.state()
            .assurance
            .hardening
            .get(&id)
            .map(Into::into)
            .ok_or_else(|| CoreError::HardeningRequestNotFound { request: id }.into())
    })
}

pub fn assess_readiness(target: Principal) -> Result<Readiness, Error> {
    let caller = caller();
    api::record("assess_readiness", None, |s| {
        assurance::assess_readiness(s, &caller, target, now())
    })?;
    storage::read(|j| {
        j.state()
            .assurance
            .assessments
            .get(&target)
            .map(Into::into)
            .ok_or_else(|| Error::new(ErrorCode::Internal, "assessment not recorded"))
    })
}

pub fn get_readiness(target: Principal) -> Result<ReadinessReport, Error> {
    require(Role::Auditor)?;
    Ok(storage::read(|j| {
        let a = &j.state().assurance;
        ReadinessReport {
            target,
            latest: a.assessments.get(&target).map(Into::into),
            history: a.readiness.history(target).map(Into::into).collect(),
            trend: a.readiness.trend(target).into(),
        }
    }))
}

/// The id of the finding a `FindingsChanged` event opens, if any.
fn opened(events: &[Event]) -> Option<FindingId> {
    events.iter().find_map(|e| match e {
        Event::FindingsChanged { changes } => changes.iter().find_map(|c| match c {
            RegisterChange::Opened { finding } => Some(finding.id),
            _ => None,
        }),
        _ => None,
    })
}
