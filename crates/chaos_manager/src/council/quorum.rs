//! Approval rules in the style of Orbit's station policies, and their evaluation.
//!
//! - `Quorum { approvers, min_approved }`: the minimum is `min(min_approved, possible
//!   approvers)`; approved when that many approve; rejected as soon as the approvals plus the
//!   positions still uncast cannot reach it.
//! - `QuorumPercentage { approvers, percent }`: the minimum is `ceil(possible · percent / 100)`
//!   (at least 1), then as `Quorum`.
//! - `AutoApproved`; `AnyOf` (approved when one is, rejected when all are); `AllOf` (approved
//!   when all are, rejected when one is).
//!
//! Possible approvers exclude the proposer (four eyes). A rule whose possible approvers are
//! empty rejects: nobody could approve. When the motion closes (its deadline) absent agents
//! count as abstaining, so the uncast count is zero and every rule decides.

use super::AgentId;
use minicbor::{Decode, Encode};
use std::collections::{BTreeMap, BTreeSet};

/// Whose positions count for a quorum.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ApproverSet {
    #[n(0)]
    Listed(#[n(0)] Vec<AgentId>),
    /// Every registered person and canister agent when the motion opens (evaluators are
    /// listed explicitly).
    #[n(1)]
    AllAgents,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Rule {
    #[n(0)]
    AutoApproved,
    #[n(1)]
    Quorum {
        #[n(0)]
        approvers: ApproverSet,
        #[n(1)]
        min_approved: u32,
    },
    #[n(2)]
    QuorumPercentage {
        #[n(0)]
        approvers: ApproverSet,
        #[n(1)]
        percent: u8,
    },
    #[n(3)]
    AnyOf(#[n(0)] Vec<Rule>),
    #[n(4)]
    AllOf(#[n(0)] Vec<Rule>),
}

pub const MAX_RULE_DEPTH: usize = 4;
pub const MAX_LISTED: usize = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode)]
#[cbor(index_only)]
pub enum Vote {
    #[n(0)]
    Approve,
    #[n(1)]
    Reject,
    #[n(2)]
    Abstain,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tally {
    Pending,
    Approved,
    Rejected(String),
}

impl Rule {
    pub fn validate(&self) -> Result<(), String> {
        self.validate_at(1)
    }

    fn validate_at(&self, depth: usize) -> Result<(), String> {
        if depth > MAX_RULE_DEPTH {
            return Err(format!("rules nest at most {MAX_RULE_DEPTH} deep"));
        }
        let listed_ok = |a: &ApproverSet| match a {
            ApproverSet::Listed(v) if v.is_empty() => {
                Err("an approver list is empty: list approvers or use all_agents".to_string())
            }
            ApproverSet::Listed(v) if v.len() > MAX_LISTED => {
                Err(format!("at most {MAX_LISTED} approvers per list"))
            }
            _ => Ok(()),
        };
        match self {
            Rule::AutoApproved => Ok(()),
            Rule::Quorum {
                approvers,
                min_approved,
            } => {
                listed_ok(approvers)?;
                if *min_approved == 0 {
                    return Err("min_approved must be at least 1 (use auto_approved to approve without votes)".into());
                }
                Ok(())
            }
            Rule::QuorumPercentage { approvers, percent } => {
                listed_ok(approvers)?;
                if !(1..=100).contains(percent) {
                    return Err("percent must be 1 to 100".into());
                }
                Ok(())
            }
            Rule::AnyOf(rules) | Rule::AllOf(rules) => {
                if rules.is_empty() {
                    return Err("any_of / all_of need at least one rule".into());
                }
                rules.iter().try_for_each(|r| r.validate_at(depth + 1))
            }
        }
    }

    /// Replaces `AllAgents` with the agents registered now, so a motion's rule does not change
    /// when agents come and go.
    pub fn resolve(&self, agents: &[AgentId]) -> Rule {
        let set = |a: &ApproverSet| match a {
            ApproverSet::AllAgents => ApproverSet::Listed(agents.to_vec()),
            listed => listed.clone(),
        };
        match self {
            Rule::AutoApproved => Rule::AutoApproved,
            Rule::Quorum {
                approvers,
                min_approved,
            } => Rule::Quorum {
                approvers: set(approvers),
                min_approved: *min_approved,
            },
            Rule::QuorumPercentage { approvers, percent } => Rule::QuorumPercentage {
                approvers: set(approvers),
                percent: *percent,
            },
            Rule::AnyOf(r) => Rule::AnyOf(r.iter().map(|x| x.resolve(agents)).collect()),
            Rule::AllOf(r) => Rule::AllOf(r.iter().map(|x| x.resolve(agents)).collect()),
        }
    }

    /// Every agent named anywhere in the (resolved) rule.
    pub fn approvers(&self) -> BTreeSet<AgentId> {
        let mut out = BTreeSet::new();
        self.collect(&mut out);
        out
    }

    fn collect(&self, out: &mut BTreeSet<AgentId>) {
        match self {
            Rule::AutoApproved => {}
            Rule::Quorum { approvers, .. } | Rule::QuorumPercentage { approvers, .. } => {
                if let ApproverSet::Listed(v) = approvers {
                    out.extend(v.iter().cloned());
                }
            }
            Rule::AnyOf(r) | Rule::AllOf(r) => r.iter().for_each(|x| x.collect(out)),
        }
    }

    /// Evaluates the rule over the positions cast. `proposer` never counts; `closed` = the
    /// deadline passed and absent agents count as abstaining.
    pub fn evaluate(
        &self,
        positions: &BTreeMap<AgentId, Vote>,
        proposer: &AgentId,
        closed: bool,
    ) -> Tally {
        match self {
            Rule::AutoApproved => Tally::Approved,
            Rule::Quorum {
                approvers,
                min_approved,
            } => quorum(approvers, positions, proposer, closed, |_| {
                *min_approved as usize
            }),
            Rule::QuorumPercentage { approvers, percent } => {
                quorum(approvers, positions, proposer, closed, |possible| {
                    (possible * *percent as usize).div_ceil(100).max(1)
                })
            }
            Rule::AnyOf(rules) => {
                let tallies: Vec<Tally> = rules
                    .iter()
                    .map(|r| r.evaluate(positions, proposer, closed))
                    .collect();
                if tallies.contains(&Tally::Approved) {
                    Tally::Approved
                } else if tallies.iter().all(|t| matches!(t, Tally::Rejected(_))) {
                    Tally::Rejected(format!("every alternative rejected: {}", reasons(&tallies)))
                } else {
                    Tally::Pending
                }
            }
            Rule::AllOf(rules) => {
                let tallies: Vec<Tally> = rules
                    .iter()
                    .map(|r| r.evaluate(positions, proposer, closed))
                    .collect();
                if let Some(Tally::Rejected(r)) =
                    tallies.iter().find(|t| matches!(t, Tally::Rejected(_)))
                {
                    Tally::Rejected(r.clone())
                } else if tallies.iter().all(|t| *t == Tally::Approved) {
                    Tally::Approved
                } else {
                    Tally::Pending
                }
            }
        }
    }
}

fn reasons(tallies: &[Tally]) -> String {
    tallies
        .iter()
        .filter_map(|t| match t {
            Tally::Rejected(r) => Some(r.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn quorum(
    approvers: &ApproverSet,
    positions: &BTreeMap<AgentId, Vote>,
    proposer: &AgentId,
    closed: bool,
    wanted: impl Fn(usize) -> usize,
) -> Tally {
    let listed: BTreeSet<&AgentId> = match approvers {
        ApproverSet::Listed(v) => v.iter().filter(|a| *a != proposer).collect(),
        // Unresolved: nobody is known to be able to approve.
        ApproverSet::AllAgents => BTreeSet::new(),
    };
    if listed.is_empty() {
        return Tally::Rejected(
            "no possible approver (the proposer cannot approve their own motion)".into(),
        );
    }
    let min = wanted(listed.len()).min(listed.len());
    let count = |v: Vote| {
        listed
            .iter()
            .filter(|a| positions.get(**a) == Some(&v))
            .count()
    };
    let approved = count(Vote::Approve);
    let uncast = if closed {
        0
    } else {
        listed
            .iter()
            .filter(|a| !positions.contains_key(**a))
            .count()
    };
    if approved >= min {
        Tally::Approved
    } else if approved + uncast < min {
        let absent = listed
            .iter()
            .filter(|a| !positions.contains_key(**a))
            .count();
        Tally::Rejected(format!(
            "quorum impossible: {approved} of {min} needed approvals, {} rejected, {} abstained{}",
            count(Vote::Reject),
            count(Vote::Abstain),
            if closed && absent > 0 {
                format!(", {absent} absent at the deadline (counted as abstaining)")
            } else {
                String::new()
            }
        ))
    } else {
        Tally::Pending
    }
}
