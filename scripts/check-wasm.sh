#!/usr/bin/env bash
# Checks a canister module (.wasm or .wasm.gz):
#   1. it imports only from the `ic0` system API module (anything else — `env`, wasm-bindgen's
#      `__wbindgen_placeholder__`, WASI — makes the IC reject the install, or marks code that
#      would trap, such as getrandom's JS shim);
#   2. with --candid FILE: its exported methods are exactly the Candid service's methods
#      (`ic-wasm check-endpoints`). Allowed besides, as Candid does not list them: the IC system
#      entry points (canister_init, canister_post_upgrade, canister_global_timer, ...), ic-cdk's
#      reserved `<ic-cdk internal> ...` methods and its get_candid_pointer helper.
# Usage: scripts/check-wasm.sh <module.wasm[.gz]> [--candid <file.did>]
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# System entry points a canister may export without them appearing in its Candid interface
# (IC interface specification, "Entry points").
SYSTEM_ENTRY_POINTS="canister_init canister_pre_upgrade canister_post_upgrade canister_inspect_message
canister_heartbeat canister_global_timer canister_on_low_wasm_memory"
# Methods ic-cdk reserves for itself, e.g. ic-cdk-timers' `<ic-cdk internal> timer_executor`
# (a self-call that refuses other callers) and ic-cdk-management-canister's http_transform.
CDK_INTERNAL_PREFIX="<ic-cdk internal> "
# Non-method exports ic-cdk generates: `ic_cdk::export_candid!()`'s get_candid_pointer, read by
# candid-extractor. The IC ignores exports whose names do not start with `canister_`.
CDK_HELPER_EXPORTS="get_candid_pointer"

usage() { die "usage: scripts/check-wasm.sh <module.wasm[.gz]> [--candid <file.did>]"; }

# Reads the import and export sections and prints one line per entry:
#   import <module> <name> <kind>
#   export <name> <kind>
# Self-contained (no ic-wasm needed); accepts gzip-compressed modules.
wasm_entries() {
    python3 - "$1" <<'PY'
import gzip, sys

data = open(sys.argv[1], "rb").read()
if data[:2] == b"\x1f\x8b":
    data = gzip.decompress(data)
if data[:4] != b"\0asm":
    sys.exit(f"{sys.argv[1]}: not a wasm module (bad magic)")

pos = 8
KINDS = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}

def leb():
    global pos
    result = shift = 0
    while True:
        b = data[pos]; pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result

def name():
    global pos
    n = leb(); s = data[pos:pos + n].decode("utf-8", "replace"); pos += n
    return s

def limits():
    global pos
    flags = leb(); leb()
    if flags & 1:
        leb()
    if flags & 8:  # custom page size proposal
        leb()

def skip_import_desc(kind):
    global pos
    if kind == 0:      # func: type index
        leb()
    elif kind == 1:    # table: reftype, limits
        if data[pos] in (0x63, 0x64):  # (ref null? ht)
            pos += 1; leb()
        else:
            pos += 1
        limits()
    elif kind == 2:    # memory: limits
        limits()
    elif kind == 3:    # global: valtype, mutability
        if data[pos] in (0x63, 0x64):
            pos += 1; leb()
        else:
            pos += 1
        pos += 1
    elif kind == 4:    # tag: attribute, type index
        pos += 1; leb()
    else:
        sys.exit(f"unknown import kind {kind:#x}")

while pos < len(data):
    sid = data[pos]; pos += 1
    size = leb(); end = pos + size
    if sid == 2:
        for _ in range(leb()):
            mod, field = name(), name()
            kind = data[pos]; pos += 1
            skip_import_desc(kind)
            print("import", mod, field, KINDS.get(kind, hex(kind)))
    elif sid == 7:
        for _ in range(leb()):
            field = name()
            kind = data[pos]; pos += 1
            leb()
            # Export names may hold spaces (`canister_query get x`): keep them last and whole.
            print("export", KINDS.get(kind, hex(kind)), field)
    pos = end
PY
}

main() {
    [[ $# -ge 1 ]] || usage
    local wasm="$1" candid=""
    shift
    while [[ $# -gt 0 ]]; do
        case "$1" in
        --candid)
            [[ $# -ge 2 ]] || usage
            candid="$2"
            shift 2
            ;;
        *) usage ;;
        esac
    done
    [[ -f "$wasm" ]] || die "$wasm: no such file"

    local entries
    entries="$(wasm_entries "$wasm")" || die "$wasm: cannot parse the wasm module"

    # 1. Imports: ic0 only.
    local bad n_ic0
    bad="$(awk '$1 == "import" && $2 != "ic0" {print "      " $2 "." $3 " (" $4 ")"}' <<<"$entries")"
    n_ic0="$(awk '$1 == "import" && $2 == "ic0"' <<<"$entries" | wc -l | tr -d ' ')"
    if [[ -n "$bad" ]]; then
        printf '%serror:%s %s imports from modules other than ic0 (the IC only provides ic0):\n%s\n' \
            "$_R" "$_N" "$wasm" "$bad" >&2
        if grep -q -e '__wbindgen' -e 'getrandom' <<<"$bad"; then
            echo "      (wasm-bindgen/getrandom shims: find the crate with" \
                "\`cargo tree --target wasm32-unknown-unknown -e normal -i getrandom@<version>\`)" >&2
        fi
        exit 1
    fi
    ok "imports: $n_ic0 functions, all from ic0"

    # Exports, summarised. Those that Candid does not list but are expected become the
    # --hidden list of the endpoint check.
    local funcs system internal hidden_list other
    funcs="$(awk '$1 == "export" && $2 == "func" {sub(/^export func /, ""); print}' <<<"$entries")"
    system="$(grep -x -F -f <(tr ' ' '\n' <<<"$SYSTEM_ENTRY_POINTS" | grep .) <<<"$funcs" || true)"
    internal="$(grep -E "^canister_(update|query|composite_query) $CDK_INTERNAL_PREFIX" <<<"$funcs" || true)"
    hidden_list="$(
        printf '%s\n' "$system"
        sed -E 's/^(canister_[a-z_]+) /\1:/' <<<"$internal"
        grep -x -F -f <(tr ' ' '\n' <<<"$CDK_HELPER_EXPORTS" | grep .) <<<"$funcs" || true
    )"
    hidden_list="$(grep . <<<"$hidden_list" || true)"
    other="$(grep -v -E '^canister_(update|query|composite_query) ' <<<"$funcs" |
        grep -v -x -F -f <(printf '%s\n' "$hidden_list" "-") || true)"
    local methods
    methods="$(grep -v -F "$CDK_INTERNAL_PREFIX" <<<"$funcs" || true)"
    info "exports: $(grep -c '^canister_update ' <<<"$methods" || true) update," \
        "$(grep -c '^canister_query ' <<<"$methods" || true) query," \
        "$(grep -c '^canister_composite_query ' <<<"$methods" || true) composite query methods;" \
        "also: $(paste -sd',' <<<"${hidden_list:-none}" | sed 's/,/, /g')"
    if grep -qx canister_pre_upgrade <<<"$system"; then
        warn "$wasm exports canister_pre_upgrade: state must live in stable structures, not be serialised on upgrade"
    fi

    # 2. Endpoints against Candid.
    [[ -n "$candid" ]] || return 0
    [[ -f "$candid" ]] || die "$candid: no such Candid file"
    ensure_ic_wasm
    if ! ic_wasm_has_check_endpoints; then
        warn "$IC_WASM has no check-endpoints subcommand: exports not checked against $candid"
        [[ -z "$other" ]] || die "$wasm exports non-canister functions: $other"
        return 0
    fi
    local hidden
    hidden="$(mktemp)"
    # shellcheck disable=SC2064
    trap "rm -f '$hidden'" RETURN
    printf '%s\n' "$hidden_list" >"$hidden"
    # Prefers the candid:service metadata embedded in the module when there is one: build.sh
    # embeds the same file.
    if ! RUST_BACKTRACE=0 "$IC_WASM" "$wasm" check-endpoints --candid "$candid" --hidden "$hidden" >/dev/null; then
        if grep -q '^canister_composite_query ' <<<"$funcs"; then
            warn "ic-wasm 0.11 reads Candid composite_query methods as plain queries, so composite queries always mismatch"
        fi
        die "$wasm: exported methods do not match $candid (see the ERROR lines above)"
    fi
    ok "endpoints: exports match $candid"
}

main "$@"
