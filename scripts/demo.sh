#!/usr/bin/env bash
# The main job: build the canisters, then run both disaster-recovery drills (canister_loss and
# bad_upgrade) against demo_vault and print their reports (timeline, RTO, RPO, verdict).
#
# Engine: PocketIC when a server binary is available (POCKET_IC_BIN, or the pocket-ic crate's
# cache in $TMPDIR); otherwise the built-in deterministic simulator fleet_sim, which runs the
# same core and the real vault logic natively. It says which one it used.
#
#   DEMO_SKIP_BUILD=1  skip the wasm build (the simulator does not need it)
#   DEMO_SEED=N        simulator seed (default 42)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

server=""
if [[ -n "${POCKET_IC_BIN:-}" && -f "${POCKET_IC_BIN}" ]]; then
  server="$POCKET_IC_BIN"
elif [[ -f "${TMPDIR:-/tmp}/pocket-ic-server-16.1.0/pocket-ic" ]]; then
  server="${TMPDIR:-/tmp}/pocket-ic-server-16.1.0/pocket-ic"
fi

if [[ "${DEMO_SKIP_BUILD:-0}" != "1" ]]; then
  echo "==> building canisters (scripts/build.sh)"
  scripts/build.sh
fi

if [[ -n "$server" ]]; then
  echo "==> running the drills on PocketIC ($server)"
  POCKET_IC_BIN="$server" cargo run -q --release -p integration_tests --bin demo_pocketic
else
  echo "==> no PocketIC server found (set POCKET_IC_BIN to use one):"
  echo "    running the drills on the built-in simulator fleet_sim (offline, deterministic)"
  cargo run -q --release -p fleet_sim --bin demo -- --seed "${DEMO_SEED:-42}"
fi
