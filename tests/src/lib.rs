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

/// The server binary to use, or why there is none. Looks at `POCKET_IC_BIN`, then the pocket-ic
/// crate's download cache; it never downloads (this suite must say "skipped", not hang offline).
pub fn server_binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("POCKET_IC_BIN") {
        return checked_server(PathBuf::from(p));
    }
    let cached = std::env::temp_dir()
        .join(format!(
            "pocket-ic-server-{}",
            pocket_ic::LATEST_SERVER_VERSION
        ))
        .join("pocket-ic");
    if cached.is_file() {
        checked_server(cached)
    } else {
        Err(format!(
            "no PocketIC server: POCKET_IC_BIN is unset and {} does not exist",
            cached.display()
        ))
    }
}

/// A server of the major version the pocket-ic crate speaks (16.x), or why not: a wrong or
/// half-downloaded binary makes the suite skip, not fail every scenario.
fn checked_server(path: PathBuf) -> Result<PathBuf, String> {
    let out = std::process::Command::new(&path)
        .arg("--version")
        .output()
        .map_err(|e| format!("{} cannot run: {e}", path.display()))?;
    let version = String::from_utf8_lossy(&out.stdout);
    let major = pocket_ic::LATEST_SERVER_VERSION
        .split('.')
        .next()
        .unwrap_or("16");
    if version
        .trim()
        .starts_with(&format!("pocket-ic-server {major}."))
    {
        Ok(path)
    } else {
        Err(format!(
            "{} is not a pocket-ic server {major}.x (it says {:?})",
            path.display(),
            version.trim()
        ))
    }
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
