//! The largest `get_experiment` reply the canister can build stays under the IC's 2 MiB reply
//! limit: a synthetic core experiment at every bound (500 shown steps, 1,000 shown checks, the
//! longest texts anywhere) converted through `experiment_view` and Candid-encoded as the reply.
//!
//! The bounds it relies on: the spec as validated (titles 128 bytes, 16 probes with names of at
//! most 64 bytes — chaos_system refuses longer ones — and method names of 64, 32 methods, 32
//! partition members); the view's caps (`MAX_STEPS_SHOWN`, `MAX_CHECKS_SHOWN`, 512 bytes per
//! step detail, observation, check detail and reason, 128 bytes per probe name in a check);
//! blast radius, originals and watches at most 64 canisters (the partition's 32 members plus
//! their declared dependents, more than the core admits), and 128 rollback failures. Texts
//! the core holds are made far longer than the 1 KiB chaos_system keeps of a call's message,
//! to show that the view's caps alone bound them.

use candid::{encode_one, Principal};
use chaos_api::{
    experiment_view, Error, Experiment, ExperimentSpec, FaultSpec, Hypothesis, Phases, ProbeDef,
    RollbackStrategy, Tolerance, MAX_CHECKS_SHOWN, MAX_PROBE_NAME_BYTES, MAX_STEPS_SHOWN,
    MAX_VIEW_NAME_BYTES, MAX_VIEW_TEXT_BYTES,
};
use chaos_manager::effect::{CallFailure, RejectCode};
use chaos_manager::experiment::run::{CheckRecord, StepRecord};
use chaos_manager::experiment::{
    self as core_exp, AbortReason, Cause, ExperimentId, ExperimentReport, Phase, PhaseChecks,
    Stage, StepKind, Verdict,
};
use chaos_manager::fault::{
    Action, FaultFindings, Observation, RunPlan, TargetStatus, WatchPurpose, WatchRecord,
};
use chaos_manager::hardening::{Cycles, RunStatus};
use chaos_manager::safety::{Alert, ScheduleId};
use chaos_manager::{DurationNs, TimestampNs};

const MIB2: usize = 2 * 1024 * 1024;

fn p(n: u32) -> Principal {
    // 29 bytes: the longest principal (a self-authenticating id).
    let mut bytes = [0xab; 29];
    bytes[..4].copy_from_slice(&n.to_be_bytes());
    Principal::from_slice(&bytes)
}

fn method(i: usize) -> String {
    format!("{i:0>64}")
}

/// A text longer than anything chaos_system keeps, with multi-byte characters.
fn long_text() -> String {
    "é".repeat(50_000)
}

fn widest_spec() -> ExperimentSpec {
    ExperimentSpec {
        title: "t".repeat(128),
        fault: FaultSpec::NetworkPartition {
            groups: (0..8)
                .map(|g| (0..4).map(|m| p(g * 4 + m)).collect())
                .collect(),
            methods: (0..32).map(method).collect(),
        },
        hypothesis: Hypothesis {
            title: "h".repeat(128),
            probes: (0..16)
                .map(|i| ProbeDef {
                    name: format!("{i:0>width$}", width = MAX_PROBE_NAME_BYTES),
                    canister: p(i),
                    method: method(i as usize),
                    tolerance: Tolerance::ValueWithin {
                        min: u64::MAX,
                        max: u64::MAX,
                    },
                    phases: Phases {
                        before: true,
                        during: true,
                        after: true,
                    },
                })
                .collect(),
        },
        duration_ns: u64::MAX,
        probe_interval_ns: u64::MAX,
        rollback: RollbackStrategy::OnDeviation,
    }
}

fn status() -> TargetStatus {
    TargetStatus {
        status: RunStatus::Stopped,
        freezing_threshold_secs: u64::MAX,
        wasm_memory_limit_bytes: Some(u64::MAX),
        cycles: Cycles(u128::MAX),
        idle_cycles_burned_per_day: Cycles(u128::MAX),
    }
}

fn worst_case() -> core_exp::Experiment {
    let by = p(999);
    let mut e = core_exp::Experiment::new(
        ExperimentId(u64::MAX),
        widest_spec().into(),
        u64::MAX,
        Cause::Schedule(ScheduleId(u64::MAX)),
        by,
        TimestampNs(u64::MAX),
    );
    let canisters: Vec<Principal> = (0..64).map(p).collect();
    e.plan = Some(RunPlan {
        acted_on: canisters.clone(),
        affected: canisters.clone(),
        inject: vec![],
        watches: vec![],
    });
    e.started_at = Some(TimestampNs(u64::MAX));
    e.injected_at = Some(TimestampNs(u64::MAX));
    for c in &canisters {
        e.originals.insert(*c, status());
        e.final_status.insert(*c, status());
    }
    let methods: Vec<String> = (0..32).map(method).collect();
    // "method: why", the reason cut to 200 bytes by chaos_system.
    let inconclusive: Vec<String> = methods
        .iter()
        .map(|m| format!("{m}: {}", "r".repeat(200)))
        .collect();
    for step in 0..(MAX_STEPS_SHOWN as u32 + 100) {
        e.steps.push(StepRecord {
            step: u32::MAX - step,
            phase: Phase::Rollback,
            action: Action::AccessProbe {
                target: p(step),
                methods: methods.clone(),
            },
            kind: StepKind::Backoff,
            cause: Cause::EmergencyStop(by),
            started_at: TimestampNs(u64::MAX),
            finished_at: Some(TimestampNs(u64::MAX)),
            observation: Some(if step % 2 == 0 {
                Observation::Failed {
                    failure: CallFailure {
                        code: RejectCode::SysUnknown,
                        message: long_text(),
                    },
                }
            } else {
                Observation::AccessProbed {
                    accepted: methods.clone(),
                    inconclusive: inconclusive.clone(),
                }
            }),
        });
    }
    for i in 0..(MAX_CHECKS_SHOWN + 100) {
        e.checks.push(CheckRecord {
            probe: "n".repeat(10_000),
            phase: Phase::Observe,
            at: TimestampNs(u64::MAX - i as u64),
            within: false,
            detail: long_text(),
        });
    }
    e.abort = Some(AbortReason::Operator {
        by,
        note: long_text(),
    });
    let findings = FaultFindings {
        watches: canisters
            .iter()
            .map(|c| WatchRecord {
                canister: *c,
                purpose: WatchPurpose::DependentHealth,
                samples: u32::MAX,
                degraded: u32::MAX,
                first_degraded_after: Some(DurationNs(u64::MAX)),
            })
            .collect(),
        probed_methods: methods.clone(),
        accepted_methods: methods.clone(),
        inconclusive_methods: inconclusive.clone(),
    };
    let checks = PhaseChecks {
        within: u32::MAX,
        total: u32::MAX,
    };
    e.stage = Stage::Finished(Box::new(ExperimentReport {
        verdict: Verdict::Failed,
        hypothesis_held: Some(false),
        before: checks,
        during: checks,
        after: checks,
        resilience_score: Some(0),
        findings,
        rolled_back: true,
        rollback_failures: (0..128).map(|_| long_text()).collect(),
        restored: Some(false),
        needs_attention: true,
        abort_reason: Some(long_text()),
        alerts: canisters
            .iter()
            .map(|c| Alert::LowCycles {
                canister: *c,
                cycles: Cycles(u128::MAX),
            })
            .chain([
                Alert::ErrorRate { rate_ppm: u32::MAX },
                Alert::SlowProbe {
                    latency: DurationNs(u64::MAX),
                },
            ])
            .collect(),
        injected_at: Some(TimestampNs(u64::MAX)),
        finished_at: TimestampNs(u64::MAX),
    }));
    e
}

#[test]
fn the_largest_experiment_view_encodes_under_2_mib() {
    let e = worst_case();
    let view = experiment_view(&e, Some(chaos_manager::council::MotionId(u64::MAX)));
    assert_eq!(view.steps.len(), MAX_STEPS_SHOWN);
    assert_eq!(view.checks.len(), MAX_CHECKS_SHOWN);
    for s in &view.steps {
        assert!(s.detail.len() <= MAX_VIEW_TEXT_BYTES, "{}", s.detail.len());
        assert!(s.observation.len() <= MAX_VIEW_TEXT_BYTES);
    }
    for c in &view.checks {
        assert!(c.probe.len() <= MAX_VIEW_NAME_BYTES);
        assert!(c.detail.len() <= MAX_VIEW_TEXT_BYTES);
    }
    let report = view.report.as_ref().expect("finished");
    assert!(report
        .rollback_failures
        .iter()
        .all(|f| f.len() <= MAX_VIEW_TEXT_BYTES));
    assert!(view.abort_reason.as_ref().unwrap().len() <= MAX_VIEW_TEXT_BYTES);
    let reply = encode_one(Ok::<Experiment, Error>(view)).unwrap();
    eprintln!("worst-case get_experiment reply: {} bytes", reply.len());
    assert!(
        reply.len() < MIB2,
        "a get_experiment reply of {} bytes exceeds 2 MiB",
        reply.len()
    );
    // With room to spare: well under the limit, not just under it.
    assert!(reply.len() < MIB2 * 3 / 4, "{} bytes", reply.len());
}
