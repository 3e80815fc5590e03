//! Request handling behind the entry points: authorize, call the core, record, convert.

use crate::storage;
use candid::Principal;
use chaos_api::{
    Drill, Error, ErrorCode, EventRecord, EventsPage, ListDrillsArgs, Page, Status, TargetSpec,
    VerifyReport, MAX_PAGE, MAX_VERIFY,
};
use chaos_manager::auth::authorize;
use chaos_manager::events::Event;
use chaos_manager::journal::{decode_envelope, RecordContext, Recorded};
use chaos_manager::{CoreError, DrillId, Role, TimestampNs};
use serde_bytes::ByteBuf;

pub fn caller() -> Principal {
    ic_cdk::api::msg_caller()
}

pub fn now() -> TimestampNs {
    TimestampNs(ic_cdk::api::time())
}

/// A correlation id for the events one call records: method, caller and time.
pub fn correlation_of(caller: &Principal, method: &str) -> String {
    let c = caller.to_text();
    let short = c.split('-').next().unwrap_or("");
    format!("{method}:{short}:{}", ic_cdk::api::time())
}

pub fn require(role: Role) -> Result<Role, Error> {
    let c = caller();
    storage::read(|j| authorize(j.state(), &c, role)).map_err(Error::from)
}

/// Records the events a command decided, or returns its error.
pub fn record(
    method: &str,
    idempotency_key: Option<Vec<u8>>,
    decide: impl FnOnce(&chaos_manager::State) -> Result<Vec<Event>, CoreError>,
) -> Result<Vec<Recorded>, Error> {
    record_by(caller(), method, idempotency_key, decide)
}

/// [`record`] on behalf of `caller`, captured before an `.await` (or the suite itself for
/// timer work).
pub fn record_by(
    caller: Principal,
    method: &str,
    idempotency_key: Option<Vec<u8>>,
    decide: impl FnOnce(&chaos_manager::State) -> Result<Vec<Event>, CoreError>,
) -> Result<Vec<Recorded>, Error> {
    storage::mutate(|j| {
        let events = decide(j.state())?;
        let ctx =
            RecordContext::new(caller, correlation_of(&caller, method)).with_key(idempotency_key);
        j.record_all(now(), &ctx, events)
            .map_err(|e| Error::new(ErrorCode::Storage, e.to_string()))
    })
}

pub fn target_spec(canister: Principal) -> Result<TargetSpec, Error> {
    storage::read(|j| {
        j.state()
            .targets
            .get(&canister)
            .map(TargetSpec::from)
            .ok_or_else(|| CoreError::TargetNotFound { canister }.into())
    })
}

pub fn get_drill(id: u64) -> Result<Drill, Error> {
    require(Role::Auditor)?;
    storage::read(|j| {
        j.state()
            .drills
            .get(&DrillId(id))
            .map(Drill::from)
            .ok_or_else(|| CoreError::DrillNotFound { drill: DrillId(id) }.into())
    })
}

pub fn list_drills(args: ListDrillsArgs) -> Result<Vec<Drill>, Error> {
    require(Role::Auditor)?;
    let length = page_length(args.length, MAX_PAGE)?;
    let start = args.start.unwrap_or(u64::MAX);
    Ok(storage::read(|j| {
        j.state()
            .drills
            .range(..=DrillId(start))
            .rev()
            .map(|(_, d)| d)
            .filter(|d| args.target.is_none_or(|t| d.target == t))
            .take(length)
            .map(Drill::from)
            .collect()
    }))
}

pub fn list_targets(page: Page) -> Result<Vec<TargetSpec>, Error> {
    require(Role::Auditor)?;
    let length = page_length(Some(page.length), MAX_PAGE)?;
    Ok(storage::read(|j| {
        j.state()
            .targets
            .values()
            .skip(page.start.min(usize::MAX as u64) as usize)
            .take(length)
            .map(TargetSpec::from)
            .collect()
    }))
}

pub fn read_events(page: Page) -> Result<EventsPage, Error> {
    require(Role::Auditor)?;
    let length = page_length(Some(page.length), MAX_PAGE)?;
    storage::read(|j| {
        let log = j.log();
        let events = log
            .read(page.start, length)
            .iter()
            .map(|env| {
                let (meta, summary) = match decode_envelope(env) {
                    Ok((meta, event)) => (
                        Some(meta),
                        chaos_api::truncate_text(
                            &format!("{event:?}"),
                            chaos_api::MAX_SUMMARY_BYTES,
                        ),
                    ),
                    Err(e) => (None, e.to_string()),
                };
                EventRecord {
                    seq: env.seq,
                    time_ns: env.time_ns,
                    kind: env.kind.clone(),
                    caller: meta.map(|m| m.caller).unwrap_or(Principal::anonymous()),
                    correlation_id: env.correlation_id.clone(),
                    idempotency_key: env.idempotency_key.clone().map(ByteBuf::from),
                    summary,
                    prev_hash: ByteBuf::from(env.prev_hash.to_vec()),
                    hash: ByteBuf::from(env.hash.to_vec()),
                }
            })
            .collect();
        Ok(EventsPage {
            events,
            total: log.len(),
            tip_hash: ByteBuf::from(log.tip_hash().to_vec()),
        })
    })
}

pub fn verify_log(page: Page) -> Result<VerifyReport, Error> {
    require(Role::Auditor)?;
    let length = page_length(Some(page.length), MAX_VERIFY)? as u64;
    storage::read(|j| {
        let end = page.start.saturating_add(length);
        j.log()
            .verify(page.start, end)
            .map(|r| VerifyReport {
                start: r.from,
                end: r.to,
                checked: r.checked,
                tip_hash: ByteBuf::from(r.tip_hash.to_vec()),
            })
            .map_err(|e| Error::new(ErrorCode::Storage, format!("the log does not verify: {e}")))
    })
}

pub fn self_check() -> Result<(), Error> {
    require(Role::Auditor)?;
    storage::read(|j| j.self_check()).map_err(|e| Error::new(ErrorCode::Internal, e))
}

pub fn status() -> Result<Status, Error> {
    let c = caller();
    if c == Principal::anonymous() {
        return Err(CoreError::AnonymousCaller.into());
    }
    Ok(storage::read(|j| {
        let s = j.state();
        Status {
            events: j.log().len(),
            targets: s.targets.len() as u64,
            drills: s.drills.len() as u64,
            running_drills: s.running_drills().count() as u64,
            upgrades: s.upgrades.len() as u64,
            your_role: s.role_of(&c).map(Into::into),
        }
    }))
}

pub fn page_length(length: Option<u64>, max: u64) -> Result<usize, Error> {
    match length {
        None => Ok(max as usize),
        Some(0) => Err(Error::invalid("length", "must be at least 1")),
        Some(l) if l > max => Err(Error::invalid("length", format!("at most {max}"))),
        Some(l) => Ok(l as usize),
    }
}
