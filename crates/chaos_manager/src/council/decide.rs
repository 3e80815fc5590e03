//! Council decide functions: each returns the [`CouncilChange`]s to record.

use super::{
    Agent, AgentId, Council, CouncilChange, Motion, MotionId, MotionSummary, Position, Rule,
    Subject, Tally, Vote, MAX_AGENTS, MAX_REASON_BYTES,
};
use crate::ids::{DurationNs, TimestampNs};
use crate::state::EventMeta;
use ic_principal::Principal;
use std::fmt;

fn decided(motion: MotionId, tally: Tally) -> Option<CouncilChange> {
    match tally {
        Tally::Pending => None,
        Tally::Approved => Some(CouncilChange::MotionDecided {
            motion,
            approved: true,
            reason: "quorum reached".into(),
        }),
        Tally::Rejected(reason) => Some(CouncilChange::MotionDecided {
            motion,
            approved: false,
            reason,
        }),
    }
}

/// What a proposer asks the council to decide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MotionRequest {
    pub subject: Subject,
    pub summary: MotionSummary,
    pub rule: Rule,
    pub proposer: Principal,
    pub deadline: TimestampNs,
    pub quiet: Option<DurationNs>,
}

/// Opens a motion: the rule is resolved against the agents registered now, the evaluators named
/// in it take their positions, and the motion is decided at once if the rule already can be.
///
/// `id` is normally `MotionId(council.next_motion)`; a batch that opens several motions counts
/// on from there.
pub fn open_motion(
    council: &Council,
    id: MotionId,
    request: MotionRequest,
    now: TimestampNs,
) -> Vec<CouncilChange> {
    let rule = request.rule.resolve(&council.agent_ids());
    let positions: Vec<(AgentId, Position)> = rule
        .approvers()
        .into_iter()
        .filter_map(|a| match &a {
            AgentId::Evaluator(e) => {
                let (vote, reason) = e.position(&request.summary);
                Some((
                    a.clone(),
                    Position {
                        vote,
                        reason,
                        at: now,
                    },
                ))
            }
            AgentId::Principal(_) => None,
        })
        .collect();
    let opened = CouncilChange::MotionOpened {
        id,
        subject: request.subject,
        summary: Box::new(request.summary),
        rule,
        proposer: request.proposer,
        deadline: request.deadline,
        quiet: request.quiet,
        positions,
    };
    let mut preview = Council::default();
    let meta = EventMeta {
        seq: 0,
        time: now,
        caller: request.proposer,
    };
    preview.apply(&meta, &opened);
    let tally = preview.motions[&id].tally(false);
    let mut out = vec![opened];
    out.extend(decided(id, tally));
    out
}

/// Why a position or a council command is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CouncilError {
    NotAnAgent {
        caller: Principal,
    },
    NotAnApprover {
        caller: Principal,
        motion: MotionId,
    },
    ProposerVotes {
        motion: MotionId,
    },
    MotionNotFound {
        motion: MotionId,
    },
    MotionClosed {
        motion: MotionId,
    },
    DeadlinePassed {
        motion: MotionId,
        deadline: TimestampNs,
    },
    InvalidAgent {
        reason: String,
    },
    ReasonTooLong {
        max: usize,
    },
}

impl fmt::Display for CouncilError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CouncilError::NotAnAgent { caller } => write!(
                f,
                "{caller} is not a council agent; an admin must register it with register_agent"
            ),
            CouncilError::NotAnApprover { caller, motion } => write!(
                f,
                "{caller} is not among the approvers of {motion}; its rule names who may take a position"
            ),
            CouncilError::ProposerVotes { motion } => write!(
                f,
                "the proposer of {motion} does not take a position on it (four eyes); cancel the experiment instead"
            ),
            CouncilError::MotionNotFound { motion } => write!(f, "{motion} does not exist"),
            CouncilError::MotionClosed { motion } => {
                write!(f, "{motion} is already decided or cancelled")
            }
            CouncilError::DeadlinePassed { motion, deadline } => write!(
                f,
                "the deadline of {motion} passed at {} ns; it is being closed",
                deadline.0
            ),
            CouncilError::InvalidAgent { reason } => write!(f, "invalid agent: {reason}"),
            CouncilError::ReasonTooLong { max } => {
                write!(f, "a position's reason is at most {max} bytes")
            }
        }
    }
}

impl std::error::Error for CouncilError {}

pub fn register_agent(council: &Council, agent: Agent) -> Result<Vec<CouncilChange>, CouncilError> {
    let invalid = |r: &str| Err(CouncilError::InvalidAgent { reason: r.into() });
    if agent.principal == Principal::anonymous() {
        return invalid("the anonymous principal cannot be an agent");
    }
    if agent.name.trim().is_empty() || agent.name.len() > 64 {
        return invalid("name must be 1 to 64 bytes");
    }
    if !council.agents.contains_key(&agent.principal) && council.agents.len() >= MAX_AGENTS {
        return invalid("the council holds at most 50 agents; remove one first");
    }
    Ok(vec![CouncilChange::AgentRegistered { agent }])
}

/// `caller` takes a position on `motion`. Re-casting replaces the earlier position.
pub fn cast(
    council: &Council,
    caller: Principal,
    motion: MotionId,
    vote: Vote,
    reason: String,
    now: TimestampNs,
) -> Result<Vec<CouncilChange>, CouncilError> {
    if !council.agents.contains_key(&caller) {
        return Err(CouncilError::NotAnAgent { caller });
    }
    let m = council
        .motions
        .get(&motion)
        .ok_or(CouncilError::MotionNotFound { motion })?;
    if !m.is_open() {
        return Err(CouncilError::MotionClosed { motion });
    }
    if now >= m.deadline {
        return Err(CouncilError::DeadlinePassed {
            motion,
            deadline: m.deadline,
        });
    }
    if caller == m.proposer {
        return Err(CouncilError::ProposerVotes { motion });
    }
    let agent = AgentId::Principal(caller);
    if !m.rule.approvers().contains(&agent) {
        return Err(CouncilError::NotAnApprover { caller, motion });
    }
    if reason.len() > MAX_REASON_BYTES {
        return Err(CouncilError::ReasonTooLong {
            max: MAX_REASON_BYTES,
        });
    }
    let cast = CouncilChange::PositionCast {
        motion,
        agent,
        position: Position {
            vote,
            reason,
            at: now,
        },
    };
    let mut after = m.clone();
    if let CouncilChange::PositionCast {
        agent, position, ..
    } = &cast
    {
        after.positions.insert(agent.clone(), position.clone());
    }
    let mut out = vec![cast];
    out.extend(decided(motion, after.tally(false)));
    Ok(out)
}

/// Closes every open motion whose deadline passed: absent agents count as abstaining.
pub fn expire(council: &Council, now: TimestampNs) -> Vec<CouncilChange> {
    council
        .motions
        .values()
        .filter(|m| m.is_open() && now >= m.deadline)
        .filter_map(|m| match m.tally(true) {
            Tally::Rejected(r) => decided(m.id, Tally::Rejected(format!("deadline passed: {r}"))),
            t => decided(m.id, t),
        })
        .collect()
}

pub fn cancel(motion: &Motion, reason: String) -> Option<CouncilChange> {
    motion.is_open().then_some(CouncilChange::MotionCancelled {
        motion: motion.id,
        reason,
    })
}
