//! Lab changes as the events both shells record, with what they imply elsewhere in the core:
//! a security-breach experiment whose access probe found privileged methods accepting an
//! unprivileged caller opens (or updates) one finding per method in the vulnerability register,
//! keyed by method like the scans' access probes, for the hardening work.

use crate::events::Event;
use crate::experiment::{ExperimentChange, LabChange};
use crate::fault::FaultSpec;
use crate::hardening::Severity;
use crate::ids::TimestampNs;
use crate::state::State;
use crate::vulnerability::FindingSource;
use ic_principal::Principal;

/// `changes` as events (in order), followed by the register's findings for every finished
/// security breach among them. `by` is who records them (chaos_system itself for timer work).
pub fn lab_events(
    state: &State,
    changes: Vec<LabChange>,
    by: Principal,
    now: TimestampNs,
) -> Vec<Event> {
    let mut findings = Vec::new();
    // Decisions build on the previous ones (distinct finding ids, dedup), nothing applied to
    // the state: recording the events does that.
    let mut register = None;
    for change in &changes {
        let LabChange::Experiment(ExperimentChange::Finished { id, report }) = change else {
            continue;
        };
        let Some(FaultSpec::SecurityBreach { target, .. }) =
            state.lab.experiments.get(id).map(|e| &e.spec.fault)
        else {
            continue;
        };
        for method in &report.findings.accepted_methods {
            let title = format!("privileged method {method} accepts an unprivileged caller");
            let detail = format!(
                "{id}: chaos_probe, a canister holding no role on {target}, called {method} and it replied; restrict it to authorized callers (check msg_caller against the roles the method needs)"
            );
            // Severity High: anyone can call the method. The register's dedup (target, method)
            // keeps one finding per method across experiments and scans.
            let register = register.get_or_insert_with(|| state.assurance.register.clone());
            if let Ok(changes) = register.decide_report(
                *target,
                FindingSource::AccessProbe(method.clone()),
                Severity::High,
                &title,
                &detail,
                by,
                &state.assurance.policy.sla,
                now,
            ) {
                for c in &changes {
                    register.apply(c);
                }
                if !changes.is_empty() {
                    findings.push(Event::FindingsChanged { changes });
                }
            }
        }
    }
    changes
        .into_iter()
        .map(Event::lab)
        .chain(findings)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::fixtures::{principal, spec, LabHarness, VAULT};
    use crate::ids::DurationNs;
    use crate::vulnerability::RegisterChange;

    /// A finished security breach on the fixture vault whose access probe found `accepting`.
    fn breach(accepting: &[&str]) -> (State, Vec<LabChange>) {
        let mut h = LabHarness::new();
        for m in accepting {
            h.sim.accepting.insert((*m).to_string());
        }
        let mut s = spec(
            FaultSpec::SecurityBreach {
                target: principal(VAULT),
                methods: vec![],
            },
            VAULT,
        );
        s.duration = DurationNs(0);
        let id = h.start(s).expect("admitted");
        h.run(id);
        let report = h.lab.experiments[&id].report().expect("finished").clone();
        let state = State {
            lab: h.lab.clone(),
            ..State::default()
        };
        let finished = LabChange::Experiment(ExperimentChange::Finished {
            id,
            report: Box::new(report),
        });
        (state, vec![finished])
    }

    fn opened(events: &[Event]) -> Vec<(u64, FindingSource)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::FindingsChanged { changes } => Some(changes),
                _ => None,
            })
            .flatten()
            .filter_map(|c| match c {
                RegisterChange::Opened { finding } => Some((finding.id.0, finding.source.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn each_accepting_method_opens_one_finding_with_its_own_id() {
        let (state, changes) = breach(&["set_owner", "admin_withdraw"]);
        let events = lab_events(&state, changes, principal(1), TimestampNs(5));
        assert!(matches!(events[0], Event::ExperimentChanged { .. }));
        let mut found = opened(&events);
        found.sort_by_key(|(id, _)| *id);
        assert_eq!(
            found,
            vec![
                (0, FindingSource::AccessProbe("admin_withdraw".into())),
                (1, FindingSource::AccessProbe("set_owner".into())),
            ]
        );
    }

    #[test]
    fn a_method_already_in_the_register_is_not_opened_twice() {
        let (mut state, changes) = breach(&["set_owner"]);
        let first = lab_events(&state, changes.clone(), principal(1), TimestampNs(5));
        assert_eq!(opened(&first).len(), 1);
        for e in &first {
            if let Event::FindingsChanged { changes } = e {
                for c in changes {
                    state.assurance.register.apply(c);
                }
            }
        }
        let again = lab_events(&state, changes, principal(1), TimestampNs(6));
        assert!(opened(&again).is_empty(), "{again:?}");
        assert_eq!(state.assurance.register.len(), 1);
    }

    #[test]
    fn no_finding_when_every_privileged_method_refused() {
        let (state, changes) = breach(&[]);
        let events = lab_events(&state, changes, principal(1), TimestampNs(5));
        assert_eq!(events.len(), 1);
    }
}
