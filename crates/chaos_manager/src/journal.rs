//! The journal: the event log plus the state folded from it. Both shells (the canister and
//! the simulator) record through here, so a live state and a replayed one cannot drift.

use crate::events::Event;
use crate::ids::TimestampNs;
use crate::state::{EventMeta, State};
use event_log::{
    AppendError, AppendOutcome, Envelope, EventLog, LogConfig, LogMemories, NewEvent, OpenError,
};
use ic_principal::Principal;
use ic_stable_structures::Memory;
use std::fmt;

/// Who and why, for every recorded event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordContext {
    pub caller: Principal,
    pub correlation_id: String,
    /// Present when the caller may retry: a repeat within the dedup window records nothing.
    pub idempotency_key: Option<Vec<u8>>,
}

impl RecordContext {
    pub fn new(caller: Principal, correlation_id: impl Into<String>) -> Self {
        RecordContext {
            caller,
            correlation_id: correlation_id.into(),
            idempotency_key: None,
        }
    }

    pub fn with_key(mut self, key: Option<Vec<u8>>) -> Self {
        self.idempotency_key = key;
        self
    }
}

/// What happened to a recorded event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    Appended {
        seq: u64,
    },
    /// The idempotency key was seen within the window: nothing was appended.
    Duplicate {
        seq: u64,
    },
}

impl Recorded {
    pub fn seq(self) -> u64 {
        match self {
            Recorded::Appended { seq } | Recorded::Duplicate { seq } => seq,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JournalError {
    Open(String),
    Append(String),
    /// An entry could not be decoded during replay: the log and this code disagree.
    Replay {
        seq: u64,
        reason: String,
    },
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JournalError::Open(e) => write!(f, "cannot open the event log: {e}"),
            JournalError::Append(e) => write!(f, "cannot append to the event log: {e}"),
            JournalError::Replay { seq, reason } => {
                write!(f, "cannot replay event {seq}: {reason}")
            }
        }
    }
}

impl std::error::Error for JournalError {}

impl From<OpenError> for JournalError {
    fn from(e: OpenError) -> Self {
        JournalError::Open(e.to_string())
    }
}

impl From<AppendError> for JournalError {
    fn from(e: AppendError) -> Self {
        JournalError::Append(e.to_string())
    }
}

pub struct Journal<M: Memory> {
    log: EventLog<M>,
    state: State,
}

impl<M: Memory> Journal<M> {
    /// Opens the log in `mem` and rebuilds the state by replaying every event.
    pub fn open(mem: LogMemories<M>, config: LogConfig) -> Result<Self, JournalError> {
        let mut log = EventLog::init(mem, config)?;
        let state = replay(&log, u64::MAX)?;
        // The idempotency window is state (set by Init or an Upgrade), not code.
        if let Some(w) = state.dedup_window_ns {
            log.set_dedup_window(w);
        }
        Ok(Journal { log, state })
    }

    /// The sequence number an idempotency key was recorded at within the window, if any.
    pub fn find_duplicate(&self, key: &[u8], now: TimestampNs) -> Option<u64> {
        self.log.lookup_idempotency_key(key, now.0)
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn log(&self) -> &EventLog<M> {
        &self.log
    }

    pub fn log_mut(&mut self) -> &mut EventLog<M> {
        &mut self.log
    }

    /// Appends `event` and applies it. A duplicate (same idempotency key within the window)
    /// appends and applies nothing and returns the original sequence number.
    pub fn record(
        &mut self,
        now: TimestampNs,
        ctx: &RecordContext,
        event: Event,
    ) -> Result<Recorded, JournalError> {
        let outcome = self.log.append(now.0, new_event(ctx, &event))?;
        Ok(self.applied(ctx, &event, outcome))
    }

    /// Appends several events in one batch (one idempotency key, if any, on the first).
    pub fn record_all(
        &mut self,
        now: TimestampNs,
        ctx: &RecordContext,
        events: Vec<Event>,
    ) -> Result<Vec<Recorded>, JournalError> {
        let batch = events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let mut ev = new_event(ctx, e);
                if i > 0 {
                    ev.idempotency_key = None;
                }
                ev
            })
            .collect();
        let outcomes = self.log.append_batch(now.0, batch)?;
        Ok(events
            .iter()
            .zip(outcomes)
            .map(|(e, o)| self.applied(ctx, e, o))
            .collect())
    }

    fn applied(&mut self, ctx: &RecordContext, event: &Event, outcome: AppendOutcome) -> Recorded {
        match outcome {
            AppendOutcome::Appended { seq, time_ns } => {
                let meta = EventMeta {
                    seq,
                    time: TimestampNs(time_ns),
                    caller: ctx.caller,
                };
                self.state.apply(&meta, event);
                if let Event::Init {
                    dedup_window_ns: Some(w),
                    ..
                }
                | Event::Upgrade {
                    dedup_window_ns: Some(w),
                    ..
                } = event
                {
                    self.log.set_dedup_window(*w);
                }
                Recorded::Appended { seq }
            }
            AppendOutcome::Duplicate { seq } => Recorded::Duplicate { seq },
        }
    }

    /// Replays the whole log into a fresh state and compares it with the live one.
    pub fn self_check(&self) -> Result<(), String> {
        let replayed = replay(&self.log, u64::MAX).map_err(|e| e.to_string())?;
        if replayed == self.state {
            Ok(())
        } else {
            Err("the state replayed from the log differs from the live state".into())
        }
    }
}

fn new_event(ctx: &RecordContext, event: &Event) -> NewEvent {
    NewEvent {
        kind: event.kind().to_string(),
        payload: event.encode(),
        caller: ctx.caller.as_slice().to_vec(),
        correlation_id: ctx.correlation_id.clone(),
        idempotency_key: ctx.idempotency_key.clone(),
    }
}

/// Decodes an envelope into its metadata and event.
pub fn decode_envelope(env: &Envelope) -> Result<(EventMeta, Event), JournalError> {
    let replay_err = |reason: String| JournalError::Replay {
        seq: env.seq,
        reason,
    };
    let event = Event::decode(&env.payload).map_err(replay_err)?;
    let caller = Principal::try_from_slice(&env.caller)
        .map_err(|e| replay_err(format!("invalid caller: {e}")))?;
    Ok((
        EventMeta {
            seq: env.seq,
            time: TimestampNs(env.time_ns),
            caller,
        },
        event,
    ))
}

/// Folds the events with sequence numbers below `until` (replay from the start to any point).
pub fn replay<M: Memory>(log: &EventLog<M>, until: u64) -> Result<State, JournalError> {
    const PAGE: usize = 1_000;
    let mut state = State::default();
    let end = log.len().min(until);
    let mut from = 0;
    while from < end {
        let want = PAGE.min((end - from) as usize);
        let page = log.read(from, want);
        // `read` stops at the first entry it cannot decode: a short page means damage, and
        // replaying past it would silently drop state.
        if page.len() < want {
            return Err(JournalError::Replay {
                seq: from + page.len() as u64,
                reason: "the entry cannot be read from the log (run verify_log)".into(),
            });
        }
        for env in &page {
            let (meta, event) = decode_envelope(env)?;
            if meta.seq == 0 && !matches!(event, Event::Init { .. }) {
                return Err(JournalError::Replay {
                    seq: 0,
                    reason: "the first event must be Init".into(),
                });
            }
            state.apply(&meta, &event);
        }
        from += page.len() as u64;
    }
    Ok(state)
}
