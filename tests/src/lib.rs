//! PocketIC environment for the suite: finds a server (never downloads one), installs the built
//! canisters, and offers the calls the scenarios make. Used by the PocketIC test harness
//! (`tests/pocketic.rs`) and by the PocketIC demo; the native twins of these scenarios live in
//! `fleet_sim`'s tests and share its `fixtures`.

mod assurance;
pub mod lab;

pub use assurance::{control_ids, AUTO_FIXABLE, WEAK_FAILING};

use candid::{decode_one, encode_one, CandidType, Deserialize, Principal};
use chaos_api::{
    Drill, DrillState, Error, InitArg, InstallArg, StartDrillArgs, StartDrillReply, TargetSpec,
};
use pocket_ic::{PocketIc, PocketIcBuilder};
use std::path::PathBuf;
use std::time::Duration;

/// Why the suite has no PocketIC server to run on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoServer {
    /// None was asked for: `POCKET_IC_BIN` is unset and the pocket-ic crate's download cache
    /// holds no binary. The suite is skipped, loudly, its scenarios counted as skipped.
    Absent(String),
    /// One was asked for (`POCKET_IC_BIN`, or a binary in the cache) but cannot be used: it
    /// does not run, `--version` fails, or its version is not one the pocket-ic crate accepts.
    /// A failure: the user asked for a run.
    Unusable(String),
}

impl std::fmt::Display for NoServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoServer::Absent(why) | NoServer::Unusable(why) => f.write_str(why),
        }
    }
}

/// The pocket-ic crate's download cache: `$TMPDIR/pocket-ic-server-<LATEST_SERVER_VERSION>/
/// pocket-ic`, where `pocket_ic::start_server` looks before downloading.
pub fn cached_server_path() -> PathBuf {
    std::env::temp_dir()
        .join(format!(
            "pocket-ic-server-{}",
            pocket_ic::LATEST_SERVER_VERSION
        ))
        .join("pocket-ic")
}

/// The server binary to use, or why there is none. Looks at `POCKET_IC_BIN` (set, even to an
/// empty value, it is what the pocket-ic crate would use), then at the crate's download cache;
/// it never downloads (this suite must say "skipped", not hang offline). Only the absence of
/// both is [`NoServer::Absent`]; a binary that is there but does not pass the crate's own
/// version check is [`NoServer::Unusable`].
pub fn server_binary() -> Result<PathBuf, NoServer> {
    let (path, origin) = match std::env::var_os("POCKET_IC_BIN") {
        Some(p) => (PathBuf::from(p), "POCKET_IC_BIN"),
        None => {
            let cached = cached_server_path();
            if !cached.exists() {
                return Err(NoServer::Absent(format!(
                    "no PocketIC server: POCKET_IC_BIN is unset and {} does not exist",
                    cached.display()
                )));
            }
            (cached, "the pocket-ic crate's cache")
        }
    };
    check_server(&path).map(|()| path.clone()).map_err(|e| {
        NoServer::Unusable(format!(
            "the PocketIC server `{}` (from {origin}) cannot be used: {e}",
            path.display()
        ))
    })
}

/// The server versions pocket-ic 16.1.0 accepts: `>=MIN_SERVER_VERSION, <MAX_SERVER_VERSION`
/// with its (private) `MIN_SERVER_VERSION = "16.0.0"` and `MAX_SERVER_VERSION = "17"`.
const SERVER_VERSION_MIN: (u64, u64, u64) = (16, 0, 0);
const SERVER_MAJOR_BELOW: u64 = 17;
const SERVER_NAME: &str = "pocket-ic-server";

/// Runs `path --version` and checks it as `pocket_ic`'s `get_and_check_pocketic_server_version`
/// does: the command must succeed, print UTF-8, and its output without trailing newlines must
/// pass [`check_server_version`].
fn check_server(path: &std::path::Path) -> Result<(), String> {
    let out = std::process::Command::new(path)
        .arg("--version")
        .output()
        .map_err(|e| format!("it does not run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`--version` failed ({}); stdout: {:?}; stderr: {:?}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let version = String::from_utf8(out.stdout)
        .map_err(|e| format!("its `--version` output is not UTF-8: {e}"))?;
    check_server_version(version.trim_end_matches('\n'))
}

/// The pocket-ic crate's `check_pocketic_server_version`: `pocket-ic-server x.y.z`, where
/// `x.y.z` is a semantic version (as the `semver` crate parses it) matching
/// `>=16.0.0, <17` (a pre-release never matches: no bound of the requirement has one).
pub fn check_server_version(version_line: &str) -> Result<(), String> {
    let unexpected =
        || format!("unexpected version: got `{version_line}`; expected `{SERVER_NAME} x.y.z`");
    let Some((name, version)) = version_line.split_once(' ') else {
        return Err(unexpected());
    };
    if name != SERVER_NAME {
        return Err(unexpected());
    }
    let (core, pre) =
        parse_semver(version).map_err(|e| format!("cannot parse the version `{version}`: {e}"))?;
    let (min_major, min_minor, min_patch) = SERVER_VERSION_MIN;
    let required = format!(">={min_major}.{min_minor}.{min_patch}, <{SERVER_MAJOR_BELOW}");
    if pre || core < SERVER_VERSION_MIN || core.0 >= SERVER_MAJOR_BELOW {
        return Err(format!(
            "incompatible version: got {version}; expected {required}"
        ));
    }
    Ok(())
}

/// `major.minor.patch[-pre][+build]` as `semver::Version::parse` accepts it: numbers without
/// leading zeros that fit in a u64, dot-separated non-empty identifiers of `[0-9A-Za-z-]`
/// (numeric pre-release identifiers without leading zeros), nothing else around it. Returns
/// the numbers and whether there is a pre-release part.
fn parse_semver(v: &str) -> Result<((u64, u64, u64), bool), String> {
    let (rest, build) = match v.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (v, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let number = |s: &str| -> Result<u64, String> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{s}` is not a number"));
        }
        if s.len() > 1 && s.starts_with('0') {
            return Err(format!("`{s}` has a leading zero"));
        }
        s.parse().map_err(|e| format!("`{s}`: {e}"))
    };
    let parts: Vec<&str> = core.split('.').collect();
    let [major, minor, patch] = parts[..] else {
        return Err(format!("`{core}` is not major.minor.patch"));
    };
    let core = (number(major)?, number(minor)?, number(patch)?);
    let identifiers = |s: &str, what: &str, numeric_no_leading_zero: bool| {
        for id in s.split('.') {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(format!("invalid {what} identifier `{id}`"));
            }
            if numeric_no_leading_zero
                && id.bytes().all(|b| b.is_ascii_digit())
                && id.len() > 1
                && id.starts_with('0')
            {
                return Err(format!("{what} identifier `{id}` has a leading zero"));
            }
        }
        Ok(())
    };
    if let Some(p) = pre {
        identifiers(p, "pre-release", true)?;
    }
    if let Some(b) = build {
        identifiers(b, "build", false)?;
    }
    Ok((core, pre.is_some()))
}

/// The built canister modules (scripts/build.sh writes them).
pub fn wasm(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/canisters")
        .join(format!("{name}.wasm.gz"));
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/build.sh first", path.display()))
}

pub fn principal(n: u8) -> Principal {
    Principal::self_authenticating([n; 32])
}

pub fn admin() -> Principal {
    principal(1)
}

pub fn operator() -> Principal {
    principal(2)
}

/// A second admin: the four-eyes approver of hardening requests.
pub fn second_admin() -> Principal {
    principal(3)
}

pub fn stranger() -> Principal {
    principal(66)
}

/// demo_vault's deposit argument and receipt (the subset the scenarios use).
#[derive(CandidType, Deserialize)]
pub struct AmountArgs {
    pub amount: u64,
    pub idempotency_key: Option<serde_bytes::ByteBuf>,
}

#[derive(CandidType, Deserialize, Debug)]
pub struct StateProbe {
    pub operation_count: u64,
    pub state_hash: serde_bytes::ByteBuf,
}

pub struct Env {
    pub pic: PocketIc,
    pub chaos: Principal,
    pub vault: Principal,
}

impl Env {
    /// Given chaos_system (admin = `admin()`, operator = `operator()`) and a demo_vault that
    /// chaos_system controls.
    pub fn new(server: PathBuf) -> Env {
        let pic = PocketIcBuilder::new()
            .with_server_binary(server)
            .with_application_subnet()
            .build();
        let chaos = pic.create_canister_with_settings(Some(admin()), None);
        let init = InstallArg::Init(InitArg {
            admins: vec![admin()],
            dedup_window_ns: None,
            chaos_probe: None,
        });
        pic.install_canister(
            chaos,
            wasm("chaos_system"),
            encode_one(init).unwrap(),
            Some(admin()),
        );
        let vault = pic.create_canister_with_settings(Some(admin()), None);
        pic.install_canister(
            vault,
            wasm("demo_vault"),
            encode_one(()).unwrap(),
            Some(admin()),
        );
        pic.set_controllers(vault, Some(admin()), vec![admin(), chaos])
            .expect("set controllers");
        let env = Env { pic, chaos, vault };
        env.update::<_, Result<(), Error>>(
            admin(),
            "grant_role",
            chaos_api::GrantRoleArgs {
                principal: operator(),
                role: chaos_api::Role::Operator,
            },
        )
        .expect("grant operator");
        env
    }

    pub fn update<A: CandidType, R: for<'a> Deserialize<'a> + CandidType>(
        &self,
        sender: Principal,
        method: &str,
        arg: A,
    ) -> R {
        let bytes = self
            .pic
            .update_call(self.chaos, sender, method, encode_one(arg).unwrap())
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        decode_one(&bytes).unwrap_or_else(|e| panic!("{method}: undecodable reply: {e}"))
    }

    pub fn query<A: CandidType, R: for<'a> Deserialize<'a> + CandidType>(
        &self,
        sender: Principal,
        method: &str,
        arg: A,
    ) -> R {
        let bytes = self
            .pic
            .query_call(self.chaos, sender, method, encode_one(arg).unwrap())
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        decode_one(&bytes).unwrap_or_else(|e| panic!("{method}: undecodable reply: {e}"))
    }

    pub fn deposit(&self, user: Principal, amount: u64) {
        let bytes = self
            .pic
            .update_call(
                self.vault,
                user,
                "deposit",
                encode_one(AmountArgs {
                    amount,
                    idempotency_key: None,
                })
                .unwrap(),
            )
            .expect("deposit");
        // The vault's own refusal must not pass unnoticed (it would show up later as an RPO
        // mismatch): decode the result variant, whatever its payloads.
        let reply: Result<candid::Reserved, candid::Reserved> =
            decode_one(&bytes).expect("deposit reply");
        assert!(
            reply.is_ok(),
            "the vault refused the deposit of {amount} by {user}"
        );
    }

    pub fn vault_probe(&self) -> StateProbe {
        let bytes = self
            .pic
            .query_call(
                self.vault,
                Principal::anonymous(),
                "chaos_state_probe",
                encode_one(()).unwrap(),
            )
            .expect("probe");
        decode_one(&bytes).unwrap()
    }

    pub fn register_vault(&self) -> Result<TargetSpec, Error> {
        self.update(
            admin(),
            "register_target",
            fleet_sim::fixtures::vault_target_spec(self.vault),
        )
    }

    pub fn start_drill(
        &self,
        scenario: chaos_api::Scenario,
        hold_ns: u64,
        key: Option<&[u8]>,
    ) -> Result<StartDrillReply, Error> {
        self.update(
            operator(),
            "start_drill",
            StartDrillArgs {
                target: self.vault,
                scenario,
                hold_ns: Some(hold_ns),
                idempotency_key: key.map(|k| serde_bytes::ByteBuf::from(k.to_vec())),
            },
        )
    }

    pub fn drill(&self, id: u64) -> Drill {
        let r: Result<Drill, Error> = self.query(admin(), "get_drill", id);
        r.expect("get_drill")
    }

    /// Ticks until the drill's in-flight step is the hold, or it finished.
    pub fn tick_until_hold(&self, id: u64) -> Drill {
        self.tick_until(id, |d| {
            d.state == DrillState::Finished
                || d.timeline
                    .last()
                    .is_some_and(|e| e.action == "hold" && e.succeeded.is_none())
        })
    }

    pub fn tick_until_finished(&self, id: u64) -> Drill {
        self.tick_until(id, |d| d.state == DrillState::Finished)
    }

    fn tick_until(&self, id: u64, done: impl Fn(&Drill) -> bool) -> Drill {
        for _ in 0..500 {
            let d = self.drill(id);
            if done(&d) {
                return d;
            }
            self.pic.tick();
        }
        panic!(
            "drill {id} did not get there in 500 rounds: {:#?}",
            self.drill(id)
        );
    }

    /// Given the fixture deposits and the vault registered as a target.
    pub fn fund_and_register(&self) {
        for (user, amount) in fleet_sim::fixtures::DEPOSITS_BEFORE_DRILL {
            self.deposit(fleet_sim::fixtures::user(*user), *amount);
        }
        self.register_vault().expect("register demo_vault");
    }

    /// Runs a whole drill the way the demo and the tests do: start, wait for the hold, make
    /// `ops` deposits (the operations the restore will lose), let the hold pass, finish.
    pub fn run_drill(&self, scenario: chaos_api::Scenario, ops: u32) -> Drill {
        let hold = fleet_sim::fixtures::HOLD_NS;
        let id = self
            .start_drill(scenario, hold, None)
            .expect("start_drill")
            .drill_id;
        self.tick_until_hold(id);
        for i in 0..ops {
            let (user, amount) = fleet_sim::fixtures::hold_operation(i);
            self.deposit(fleet_sim::fixtures::user(user), amount);
        }
        self.pic.advance_time(Duration::from_nanos(hold));
        self.tick_until_finished(id)
    }

    /// Upgrades chaos_system the careful way, stopped (no callback of the old module can be
    /// delivered to the new one): stop, upgrade, start.
    pub fn stop_upgrade_start_chaos(&self) {
        self.pic
            .stop_canister(self.chaos, Some(admin()))
            .expect("stop chaos_system");
        self.upgrade_chaos();
        self.pic
            .start_canister(self.chaos, Some(admin()))
            .expect("start chaos_system");
    }

    pub fn upgrade_chaos(&self) {
        let arg = encode_one(InstallArg::Upgrade(None)).unwrap();
        self.pic
            .upgrade_canister(self.chaos, wasm("chaos_system"), arg, Some(admin()))
            .expect("upgrade chaos_system");
    }
}

#[cfg(test)]
mod tests {
    use super::check_server_version as check;

    // Each case was checked against pocket-ic 16.1.0's own rule (`semver` 1.0.28:
    // `VersionReq::parse(">=16.0.0,<17")` matching `Version::parse` of the part after the
    // first space, the part before it being `pocket-ic-server`).
    #[test]
    fn server_versions_the_pocket_ic_crate_accepts() {
        for ok in [
            "pocket-ic-server 16.0.0",
            "pocket-ic-server 16.1.0",
            "pocket-ic-server 16.12.3",
            "pocket-ic-server 16.1.0+build.7",
            "pocket-ic-server 16.1.0+00",
            "pocket-ic-server 16.18446744073709551615.0",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        // The version this crate downloads is one it accepts.
        let latest = format!("pocket-ic-server {}", pocket_ic::LATEST_SERVER_VERSION);
        assert_eq!(check(&latest), Ok(()));
    }

    #[test]
    fn server_versions_the_pocket_ic_crate_refuses() {
        for bad in [
            "",
            "pocket-ic-server",
            "pocket-ic-server 15.9.9",
            "pocket-ic-server 17.0.0",
            "pocket-ic-server 16.1.0-rc.1",
            "pocket-ic-server 16.1",
            "pocket-ic-server 16.01.0",
            "pocket-ic-server 16.1.0 ",
            "pocket-ic-server  16.1.0",
            "pocket-ic 16.1.0",
            "pocket-ic-server v16.1.0",
            "pocket-ic-server 16.1.0+",
            "pocket-ic-server 16.1.0\r",
            "pocket-ic-server 16.1.0-",
            "pocket-ic-server 16.1.0-x+y",
            "pocket-ic-server 16.1.0+b..c",
            "pocket-ic-server 16.1.0+a_b",
            "pocket-ic-server 16.1.0+a+b",
            "pocket-ic-server 16.18446744073709551616.0",
            "pocket-ic-server =16.1.0",
            "pocket-ic-server 16.1.0.0",
        ] {
            assert!(check(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
