//! chaos_system: entry points only. Each decodes, authorizes, calls the core and returns; the
//! logic lives in `chaos_manager`, request handling in `api`, `assurance_api` and
//! `experiments_api`, effects in `effects`, `evidence` and `lab_calls` (hooks, chaos_probe),
//! timer work in `drive` (drills), `experiments` (experiment steps and lab timers) and
//! `hardening` (scans, approved hardening), reports over HTTP in `http` and `metrics`.

mod api;
mod assurance_api;
mod drive;
mod effects;
mod evidence;
mod experiments;
mod experiments_api;
mod hardening;
mod http;
mod lab_calls;
mod lifecycle;
mod metrics;
mod storage;

use candid::Principal;
use chaos_api::{
    AbortExperimentArgs, Agent, CastPositionArgs, ControlInfo, CreateExperimentArgs,
    CreateExperimentReply, Drill, EmergencyStopReply, Error, EventsPage, Experiment,
    ExperimentSummary, Finding, FrameworkReport, FrameworkReportArgs, GrantRoleArgs,
    HardeningPolicy, HardeningRequest, HttpRequest, HttpResponse, InstallArg, LabStatus,
    ListDrillsArgs, ListExperimentsArgs, ListFindingsArgs, ListMotionsArgs, Motion, Page,
    Readiness, ReadinessReport, RejectHardeningArgs, ReportFindingArgs, RequestHardeningArgs,
    SafetyLimits, ScanReport, ScanSummary, Schedule, ScheduleExperimentArgs, StartDrillArgs,
    StartDrillReply, Status, TargetSpec, TransitionFindingArgs, VerifyReport,
};
use chaos_manager::command;
use chaos_manager::journal::Recorded;
use chaos_manager::target::{ControlEvidence, Target};
use chaos_manager::{DrillId, DurationNs, Role};

#[ic_cdk::init]
fn init(arg: InstallArg) {
    lifecycle::init(arg);
}

#[ic_cdk::post_upgrade]
fn post_upgrade(arg: Option<InstallArg>) {
    lifecycle::post_upgrade(arg);
}

#[ic_cdk::update]
fn grant_role(args: GrantRoleArgs) -> Result<(), Error> {
    let caller = api::caller();
    api::record("grant_role", None, |s| {
        command::grant_role(s, &caller, args.principal, args.role.into())
    })
    .map(|_| ())
}

#[ic_cdk::update]
fn revoke_role(principal: Principal) -> Result<(), Error> {
    let caller = api::caller();
    api::record("revoke_role", None, |s| {
        command::revoke_role(s, &caller, principal)
    })
    .map(|_| ())
}

#[ic_cdk::update]
async fn register_target(spec: TargetSpec) -> Result<TargetSpec, Error> {
    let caller = api::caller();
    let target: Target = spec.into();
    storage::read(|j| command::precheck_register(j.state(), &caller, &target))?;
    let evidence = match effects::read_controllers(target.canister_id).await {
        Ok(controllers) => ControlEvidence::Controllers(controllers),
        Err(outcome) => ControlEvidence::StatusUnavailable(chaos_api::describe_outcome(
            &effects::capped(outcome),
        )),
    };
    let id = target.canister_id;
    // The state may have changed while we awaited: the core checks everything again.
    api::record("register_target", None, |s| {
        command::register_target(s, &caller, target, evidence)
    })?;
    api::target_spec(id)
}

#[ic_cdk::update]
fn update_target(spec: TargetSpec) -> Result<TargetSpec, Error> {
    let caller = api::caller();
    let id = spec.canister_id;
    api::record("update_target", None, |s| {
        command::update_target(s, &caller, spec.into())
    })?;
    api::target_spec(id)
}

#[ic_cdk::update]
fn remove_target(canister: Principal) -> Result<(), Error> {
    let caller = api::caller();
    api::record("remove_target", None, |s| {
        command::remove_target(s, &caller, canister)
    })
    .map(|_| ())
}

#[ic_cdk::update]
fn start_drill(args: StartDrillArgs) -> Result<StartDrillReply, Error> {
    let caller = api::caller();
    api::require(Role::Operator)?;
    let key = args
        .idempotency_key
        .as_ref()
        .map(|k| command::idempotency_key("start_drill", &caller, k));
    if let Some(seq) = key
        .as_ref()
        .and_then(|k| storage::read(|j| j.find_duplicate(k, api::now())))
    {
        return Ok(StartDrillReply {
            drill_id: seq,
            duplicate: true,
        });
    }
    let options = chaos_manager::drill::DrillOptions {
        hold: DurationNs(args.hold_ns.unwrap_or(0)),
    };
    let recorded = api::record("start_drill", key, |s| {
        command::start_drill(s, &caller, args.target, args.scenario.into(), options)
    })?;
    let first = recorded
        .first()
        .copied()
        .expect("start_drill records one event");
    drive::schedule();
    Ok(StartDrillReply {
        drill_id: DrillId(first.seq()).0,
        duplicate: matches!(first, Recorded::Duplicate { .. }),
    })
}

#[ic_cdk::query]
fn get_drill(id: u64) -> Result<Drill, Error> {
    api::get_drill(id)
}

#[ic_cdk::query]
fn list_drills(args: ListDrillsArgs) -> Result<Vec<Drill>, Error> {
    api::list_drills(args)
}

#[ic_cdk::query]
fn list_targets(page: Page) -> Result<Vec<TargetSpec>, Error> {
    api::list_targets(page)
}

#[ic_cdk::query]
fn read_events(page: Page) -> Result<EventsPage, Error> {
    api::read_events(page)
}

#[ic_cdk::query]
fn verify_log(page: Page) -> Result<VerifyReport, Error> {
    api::verify_log(page)
}

#[ic_cdk::query]
fn self_check() -> Result<(), Error> {
    api::self_check()
}

#[ic_cdk::query]
fn status() -> Result<Status, Error> {
    api::status()
}

// ---------------------------------------------------------------- assurance

#[ic_cdk::update]
fn set_hardening_policy(policy: HardeningPolicy) -> Result<(), Error> {
    assurance_api::set_hardening_policy(policy)
}

#[ic_cdk::query]
fn get_hardening_policy() -> Result<HardeningPolicy, Error> {
    assurance_api::get_hardening_policy()
}

#[ic_cdk::update]
fn set_scan_schedule(interval_ns: Option<u64>) -> Result<(), Error> {
    assurance_api::set_scan_schedule(interval_ns)
}

#[ic_cdk::query]
fn list_controls() -> Result<Vec<ControlInfo>, Error> {
    assurance_api::list_controls()
}

#[ic_cdk::update]
async fn scan_targets(targets: Vec<Principal>) -> Result<Vec<ScanSummary>, Error> {
    hardening::scan_targets(api::caller(), targets).await
}

#[ic_cdk::query]
fn get_scan(target: Principal) -> Result<ScanReport, Error> {
    assurance_api::get_scan(target)
}

#[ic_cdk::query]
fn framework_report(args: FrameworkReportArgs) -> Result<FrameworkReport, Error> {
    assurance_api::framework_report(args)
}

#[ic_cdk::query]
fn list_findings(args: ListFindingsArgs) -> Result<Vec<Finding>, Error> {
    assurance_api::list_findings(args)
}

#[ic_cdk::update]
fn report_finding(args: ReportFindingArgs) -> Result<Finding, Error> {
    assurance_api::report_finding(args)
}

#[ic_cdk::update]
fn transition_finding(args: TransitionFindingArgs) -> Result<Finding, Error> {
    assurance_api::transition_finding(args)
}

#[ic_cdk::update]
fn request_hardening(args: RequestHardeningArgs) -> Result<u64, Error> {
    assurance_api::request_hardening(args)
}

#[ic_cdk::update]
fn approve_hardening(request_id: u64) -> Result<(), Error> {
    assurance_api::decide_hardening(request_id, true, String::new())
}

#[ic_cdk::update]
fn reject_hardening(args: RejectHardeningArgs) -> Result<(), Error> {
    assurance_api::reject_hardening(args)
}

#[ic_cdk::query]
fn get_hardening_request(request_id: u64) -> Result<HardeningRequest, Error> {
    assurance_api::get_hardening_request(request_id)
}

#[ic_cdk::update]
fn assess_readiness(target: Principal) -> Result<Readiness, Error> {
    assurance_api::assess_readiness(target)
}

#[ic_cdk::query]
fn get_readiness(target: Principal) -> Result<ReadinessReport, Error> {
    assurance_api::get_readiness(target)
}

// ---------------------------------------------------------------- experiments

#[ic_cdk::update]
fn set_chaos_probe(probe: Option<Principal>) -> Result<(), Error> {
    experiments_api::set_chaos_probe(probe)
}

#[ic_cdk::update]
fn set_safety_limits(limits: SafetyLimits) -> Result<(), Error> {
    experiments_api::set_safety_limits(limits)
}

#[ic_cdk::query]
fn get_safety_limits() -> Result<SafetyLimits, Error> {
    experiments_api::get_safety_limits()
}

#[ic_cdk::update]
fn register_agent(agent: Agent) -> Result<(), Error> {
    experiments_api::register_agent(agent)
}

#[ic_cdk::update]
fn remove_agent(principal: Principal) -> Result<(), Error> {
    experiments_api::remove_agent(principal)
}

#[ic_cdk::query]
fn list_agents() -> Result<Vec<Agent>, Error> {
    experiments_api::list_agents()
}

#[ic_cdk::update]
async fn create_experiment(args: CreateExperimentArgs) -> Result<CreateExperimentReply, Error> {
    experiments_api::create_experiment(args).await
}

#[ic_cdk::update]
fn submit_experiment(id: u64) -> Result<Experiment, Error> {
    experiments_api::submit_experiment(id)
}

#[ic_cdk::update]
fn cast_position(args: CastPositionArgs) -> Result<Motion, Error> {
    experiments_api::cast_position(args)
}

#[ic_cdk::update]
fn abort_experiment(args: AbortExperimentArgs) -> Result<Experiment, Error> {
    experiments_api::abort_experiment(args)
}

#[ic_cdk::update]
fn emergency_stop(reason: String) -> Result<EmergencyStopReply, Error> {
    experiments_api::emergency_stop(reason)
}

#[ic_cdk::update]
fn resume_experiments() -> Result<(), Error> {
    experiments_api::resume_experiments()
}

#[ic_cdk::update]
fn schedule_experiment(args: ScheduleExperimentArgs) -> Result<u64, Error> {
    experiments_api::schedule_experiment(args)
}

#[ic_cdk::update]
fn cancel_schedule(id: u64) -> Result<(), Error> {
    experiments_api::cancel_schedule(id)
}

#[ic_cdk::query]
fn list_schedules(page: Page) -> Result<Vec<Schedule>, Error> {
    experiments_api::list_schedules(page)
}

#[ic_cdk::query]
fn lab_status() -> Result<LabStatus, Error> {
    experiments_api::lab_status()
}

#[ic_cdk::query]
fn get_experiment(id: u64) -> Result<Experiment, Error> {
    experiments_api::get_experiment(id)
}

#[ic_cdk::query]
fn list_experiments(args: ListExperimentsArgs) -> Result<Vec<ExperimentSummary>, Error> {
    experiments_api::list_experiments(args)
}

#[ic_cdk::query]
fn get_motion(id: u64) -> Result<Motion, Error> {
    experiments_api::get_motion(id)
}

#[ic_cdk::query]
fn list_motions(args: ListMotionsArgs) -> Result<Vec<Motion>, Error> {
    experiments_api::list_motions(args)
}

/// Anonymous by nature (the HTTP gateway calls it as a query): see `http` for what it serves.
#[ic_cdk::query]
fn http_request(req: HttpRequest) -> HttpResponse {
    http::handle(&req)
}

ic_cdk::export_candid!();

/// The exported interface equals `candid/chaos_system.did` (the contract).
#[cfg(test)]
mod candid_contract {
    use candid_parser::utils::{service_equal, CandidSource};
    use std::path::Path;

    #[test]
    fn exported_interface_equals_candid_file() {
        let exported = super::__export_service();
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../candid/chaos_system.did");
        if let Err(e) = service_equal(CandidSource::Text(&exported), CandidSource::File(&file)) {
            panic!("candid/chaos_system.did and the code disagree: {e:?}\n\nexported:\n{exported}");
        }
    }
}
