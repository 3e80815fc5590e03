//! # The Areopagus council, first form
//!
//! A **motion** proposes a risky action (run experiment X on targets Y). **Agents** take
//! **positions** on it (approve, reject or abstain, with a reason): people and canisters cast
//! them by calling chaos_system; built-in **evaluators** (blast radius at most N, no critical
//! target, ...) cast theirs automatically when the motion opens. A [`Rule`] in Orbit's style
//! decides; a deadline closes the motion, absent agents then counting as abstaining, and a
//! motion whose quorum became impossible is rejected with the reason. Optional
//! wait-for-quiet: a position that flips the leaning close to the deadline extends it.
//!
//! Decide functions ([`open_motion`], [`cast`], [`expire`], [`cancel`]) return
//! [`CouncilChange`]s; [`Council::apply`] folds them.

pub mod decide;
pub mod quorum;

pub use decide::{cancel, cast, expire, open_motion, register_agent, CouncilError, MotionRequest};

pub use quorum::{ApproverSet, Rule, Tally, Vote};

use crate::experiment::ExperimentId;
use crate::fault::FaultKind;
use crate::ids::{DurationNs, TimestampNs};
use crate::state::EventMeta;
use ic_principal::Principal;
use minicbor::{Decode, Encode};
use std::collections::BTreeMap;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
#[cbor(transparent)]
pub struct MotionId(#[n(0)] pub u64);

impl fmt::Display for MotionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "motion-{}", self.0)
    }
}

/// Built-in agents: they vote when the motion opens, from its summary.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode)]
pub enum Evaluator {
    #[n(0)]
    BlastRadiusAtMost(#[n(0)] u32),
    #[n(1)]
    NoCriticalTarget,
    #[n(2)]
    NoDestructiveFault,
    #[n(3)]
    DurationAtMost(#[n(0)] DurationNs),
}

impl Evaluator {
    pub fn position(&self, s: &MotionSummary) -> (Vote, String) {
        let judge = |ok: bool, yes: String, no: String| {
            if ok {
                (Vote::Approve, yes)
            } else {
                (Vote::Reject, no)
            }
        };
        match self {
            Evaluator::BlastRadiusAtMost(n) => judge(
                s.targets.len() <= *n as usize,
                format!("touches {} targets, at most {n}", s.targets.len()),
                format!("touches {} targets, more than {n}", s.targets.len()),
            ),
            Evaluator::NoCriticalTarget => judge(
                s.critical.is_empty(),
                "no critical target touched".into(),
                format!("touches {} critical target(s)", s.critical.len()),
            ),
            Evaluator::NoDestructiveFault => judge(
                !s.destructive,
                format!("{} is not destructive", s.fault),
                format!("{} is destructive", s.fault),
            ),
            Evaluator::DurationAtMost(max) => judge(
                s.duration <= *max,
                format!("runs {}, at most {max}", s.duration),
                format!("runs {}, more than {max}", s.duration),
            ),
        }
    }
}

/// Who takes a position: a principal (person or canister) or a built-in evaluator.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode)]
pub enum AgentId {
    #[n(0)]
    Principal(#[cbor(n(0), with = "crate::cbor::principal")] Principal),
    #[n(1)]
    Evaluator(#[n(0)] Evaluator),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
#[cbor(index_only)]
pub enum AgentKind {
    #[n(0)]
    Person,
    /// A canister that casts positions by calling chaos_system (e.g. a monitoring canister).
    #[n(1)]
    Canister,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Agent {
    #[cbor(n(0), with = "crate::cbor::principal")]
    pub principal: Principal,
    #[n(1)]
    pub kind: AgentKind,
    #[n(2)]
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Position {
    #[n(0)]
    pub vote: Vote,
    #[n(1)]
    pub reason: String,
    #[n(2)]
    pub at: TimestampNs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Subject {
    #[n(0)]
    Experiment(#[n(0)] ExperimentId),
}

/// What the agents judge: the risky action in brief.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct MotionSummary {
    #[n(0)]
    pub title: String,
    #[n(1)]
    pub fault: FaultKind,
    #[n(2)]
    pub destructive: bool,
    /// Every registered target touched (acted on or degraded).
    #[cbor(n(3), with = "crate::cbor::principals")]
    pub targets: Vec<Principal>,
    #[cbor(n(4), with = "crate::cbor::principals")]
    pub critical: Vec<Principal>,
    #[n(5)]
    pub duration: DurationNs,
    /// Why approval is needed.
    #[n(6)]
    pub reasons: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MotionStatus {
    Open,
    Approved { at: TimestampNs },
    Rejected { at: TimestampNs, reason: String },
    Cancelled { at: TimestampNs, reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Motion {
    pub id: MotionId,
    pub subject: Subject,
    pub summary: MotionSummary,
    /// Resolved when opened.
    pub rule: Rule,
    pub proposer: Principal,
    pub opened_at: TimestampNs,
    pub deadline: TimestampNs,
    pub original_deadline: TimestampNs,
    pub quiet: Option<DurationNs>,
    pub positions: BTreeMap<AgentId, Position>,
    pub status: MotionStatus,
}

impl Motion {
    pub fn is_open(&self) -> bool {
        self.status == MotionStatus::Open
    }

    fn votes(&self) -> BTreeMap<AgentId, Vote> {
        self.positions
            .iter()
            .map(|(a, p)| (a.clone(), p.vote))
            .collect()
    }

    pub fn tally(&self, closed: bool) -> Tally {
        self.rule
            .evaluate(&self.votes(), &AgentId::Principal(self.proposer), closed)
    }

    /// Approvals minus rejections: its sign is the motion's leaning.
    fn leaning(&self) -> i64 {
        self.positions.values().fold(0, |acc, p| match p.vote {
            Vote::Approve => acc + 1,
            Vote::Reject => acc - 1,
            Vote::Abstain => acc,
        })
    }
}

/// Council records (events). Tags are stable.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum CouncilChange {
    #[n(0)]
    AgentRegistered {
        #[n(0)]
        agent: Agent,
    },
    #[n(1)]
    AgentRemoved {
        #[cbor(n(0), with = "crate::cbor::principal")]
        principal: Principal,
    },
    /// Carries the evaluators' positions, cast at opening.
    #[n(2)]
    MotionOpened {
        #[n(0)]
        id: MotionId,
        #[n(1)]
        subject: Subject,
        #[n(2)]
        summary: Box<MotionSummary>,
        #[n(3)]
        rule: Rule,
        #[cbor(n(4), with = "crate::cbor::principal")]
        proposer: Principal,
        #[n(5)]
        deadline: TimestampNs,
        #[n(6)]
        quiet: Option<DurationNs>,
        #[n(7)]
        positions: Vec<(AgentId, Position)>,
    },
    #[n(3)]
    PositionCast {
        #[n(0)]
        motion: MotionId,
        #[n(1)]
        agent: AgentId,
        #[n(2)]
        position: Position,
    },
    #[n(4)]
    MotionDecided {
        #[n(0)]
        motion: MotionId,
        #[n(1)]
        approved: bool,
        #[n(2)]
        reason: String,
    },
    #[n(5)]
    MotionCancelled {
        #[n(0)]
        motion: MotionId,
        #[n(1)]
        reason: String,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Council {
    pub agents: BTreeMap<Principal, Agent>,
    pub motions: BTreeMap<MotionId, Motion>,
    pub next_motion: u64,
}

pub const MAX_REASON_BYTES: usize = 512;
pub const MAX_AGENTS: usize = 50;

impl Council {
    pub fn apply(&mut self, meta: &EventMeta, change: &CouncilChange) {
        match change {
            CouncilChange::AgentRegistered { agent } => {
                self.agents.insert(agent.principal, agent.clone());
            }
            CouncilChange::AgentRemoved { principal } => {
                self.agents.remove(principal);
            }
            CouncilChange::MotionOpened {
                id,
                subject,
                summary,
                rule,
                proposer,
                deadline,
                quiet,
                positions,
            } => {
                self.next_motion = self.next_motion.max(id.0 + 1);
                self.motions.insert(
                    *id,
                    Motion {
                        id: *id,
                        subject: *subject,
                        summary: (**summary).clone(),
                        rule: rule.clone(),
                        proposer: *proposer,
                        opened_at: meta.time,
                        deadline: *deadline,
                        original_deadline: *deadline,
                        quiet: *quiet,
                        positions: positions.iter().cloned().collect(),
                        status: MotionStatus::Open,
                    },
                );
            }
            CouncilChange::PositionCast {
                motion,
                agent,
                position,
            } => {
                if let Some(m) = self.motions.get_mut(motion) {
                    let before = m.leaning().signum();
                    m.positions.insert(agent.clone(), position.clone());
                    wait_for_quiet(m, before, position.at);
                }
            }
            CouncilChange::MotionDecided {
                motion,
                approved,
                reason,
            } => {
                if let Some(m) = self.motions.get_mut(motion) {
                    m.status = if *approved {
                        MotionStatus::Approved { at: meta.time }
                    } else {
                        MotionStatus::Rejected {
                            at: meta.time,
                            reason: reason.clone(),
                        }
                    };
                }
            }
            CouncilChange::MotionCancelled { motion, reason } => {
                if let Some(m) = self.motions.get_mut(motion) {
                    m.status = MotionStatus::Cancelled {
                        at: meta.time,
                        reason: reason.clone(),
                    };
                }
            }
        }
    }

    pub fn motion_for(&self, subject: Subject) -> Option<&Motion> {
        self.motions.values().rev().find(|m| m.subject == subject)
    }

    fn agent_ids(&self) -> Vec<AgentId> {
        self.agents.keys().map(|p| AgentId::Principal(*p)).collect()
    }
}

/// Wait-for-quiet: a position that changes the leaning within `quiet` of the deadline moves
/// the deadline to `quiet` after it, never beyond twice the original voting time.
fn wait_for_quiet(m: &mut Motion, before: i64, at: TimestampNs) {
    let Some(quiet) = m.quiet else { return };
    if m.leaning().signum() == before || m.deadline.since(at) > quiet {
        return;
    }
    let cap = m
        .original_deadline
        .plus(m.original_deadline.since(m.opened_at));
    m.deadline = at.plus(quiet).min(cap).max(m.deadline);
}
