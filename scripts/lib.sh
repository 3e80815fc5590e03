# shellcheck shell=bash
# Shared helpers for scripts/build.sh, scripts/check-wasm.sh and scripts/test.sh.
# Source it; it sets REPO_ROOT and cds there, so every script works from any cwd.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT" || exit 1

# The canisters of the suite: the one list every script and dfx.json follow.
# shellcheck disable=SC2034
CANISTERS="chaos_system demo_vault chaos_probe vault_consumer"

WASM_TARGET="wasm32-unknown-unknown"
# Version installed when no ic-wasm is on PATH. Shrink output depends on it, so the module hash
# of a build is reproducible only with the same ic-wasm.
IC_WASM_VERSION="0.11.1"
TOOLS_DIR="$REPO_ROOT/target/tools"
# Debian's wasm-capable Rust (rustc-web) and the linker it needs (lld-22).
DEBIAN_RUSTC=/usr/bin/rustc
DEBIAN_CARGO=/usr/bin/cargo
DEBIAN_RUST_SRC=/usr/lib/rustlib/src/rust/library
# lld-22 is what rust-web 1.96 is paired with; a newer lld also links its objects.
DEBIAN_WASM_LD=/usr/lib/llvm-22/bin/wasm-ld
if [[ ! -x "$DEBIAN_WASM_LD" ]]; then
    # shellcheck disable=SC2012
    _newest_ld="$(ls -d /usr/lib/llvm-*/bin/wasm-ld 2>/dev/null | sort -V | tail -n1)" || true
    [[ -n "$_newest_ld" ]] && DEBIAN_WASM_LD="$_newest_ld"
    unset _newest_ld
fi
DEBIAN_PACKAGES="rustc-web cargo-web rust-web-src lld-22"

if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
    _B=$'\e[1m' _R=$'\e[31m' _Y=$'\e[33m' _G=$'\e[32m' _N=$'\e[0m'
else
    _B="" _R="" _Y="" _G="" _N=""
fi

heading() { printf '\n%s==> %s%s\n' "$_B" "$*" "$_N"; }
info() { printf '    %s\n' "$*"; }
ok() { printf '    %sok%s %s\n' "$_G" "$_N" "$*"; }
warn() { printf '%swarning:%s %s\n' "$_Y" "$_N" "$*" >&2; }
die() {
    printf '%serror:%s %s\n' "$_R" "$_N" "$*" >&2
    exit 1
}

# Runs a command after printing it, so logs show exactly what ran.
run() {
    printf '    $ %s\n' "$*"
    "$@"
}

is_root() { [[ "$(id -u)" == 0 ]]; }

# Prints the byte size of a file.
file_size() { wc -c <"$1" | tr -d ' '; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# --- wasm toolchain -------------------------------------------------------------------------

# True when the rustc on PATH has the wasm32 standard library (rustup target or otherwise).
have_rustup_wasm_target() {
    if command -v rustup >/dev/null 2>&1 &&
        rustup target list --installed 2>/dev/null | grep -qx "$WASM_TARGET"; then
        return 0
    fi
    local sysroot
    sysroot="$(rustc --print sysroot 2>/dev/null)" || return 1
    [[ -d "$sysroot/lib/rustlib/$WASM_TARGET/lib" ]]
}

have_debian_wasm_toolchain() {
    [[ -x "$DEBIAN_RUSTC" && -x "$DEBIAN_CARGO" && -x "$DEBIAN_WASM_LD" &&
        -f "$DEBIAN_RUST_SRC/Cargo.lock" ]] &&
        "$DEBIAN_RUSTC" --version 2>/dev/null | grep -q .
}

install_debian_wasm_toolchain() {
    run apt-get update
    # shellcheck disable=SC2086
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $DEBIAN_PACKAGES
}

# Sets WASM_TOOLCHAIN (rustup | debian) and WASM_TARGET_DIR; installs the Debian packages when
# neither path is available and we are root, or explains what to run and fails.
# CHAOS_WASM_TOOLCHAIN=rustup|debian forces one path (the two give different module hashes).
select_wasm_toolchain() {
    case "${CHAOS_WASM_TOOLCHAIN:-}" in
    "") ;;
    rustup) have_rustup_wasm_target || die "CHAOS_WASM_TOOLCHAIN=rustup: run  rustup target add $WASM_TARGET" ;;
    debian) ;;
    *) die "CHAOS_WASM_TOOLCHAIN must be rustup or debian, not '$CHAOS_WASM_TOOLCHAIN'" ;;
    esac
    if [[ "${CHAOS_WASM_TOOLCHAIN:-}" != debian ]] && have_rustup_wasm_target; then
        WASM_TOOLCHAIN=rustup
        WASM_TARGET_DIR="$REPO_ROOT/target"
        return
    fi
    if ! have_debian_wasm_toolchain; then
        if is_root && command -v apt-get >/dev/null 2>&1; then
            warn "no $WASM_TARGET toolchain: installing Debian's ($DEBIAN_PACKAGES)"
            install_debian_wasm_toolchain
        fi
    fi
    if have_debian_wasm_toolchain; then
        WASM_TOOLCHAIN=debian
        # Its own target dir: rustup's and Debian's rustc must not overwrite each other's
        # fingerprints (and build-std artefacts stay out of the native tree).
        WASM_TARGET_DIR="$REPO_ROOT/target/wasm-debian"
        return
    fi
    die "no Rust toolchain for $WASM_TARGET. Either:
    rustup target add $WASM_TARGET
or (Debian, as root):
    apt-get update && apt-get install -y $DEBIAN_PACKAGES"
}

describe_wasm_toolchain() {
    case "$WASM_TOOLCHAIN" in
    rustup) echo "rustup target $WASM_TARGET ($(rustc --version))" ;;
    debian) echo "Debian rustc-web + build-std ($("$DEBIAN_RUSTC" --version), $("$DEBIAN_WASM_LD" --version | head -n1))" ;;
    esac
}

# cargo build --release for the wasm target with the selected toolchain; extra args follow.
cargo_wasm_build() {
    case "$WASM_TOOLCHAIN" in
    rustup)
        run cargo build --release --locked --target "$WASM_TARGET" --target-dir "$WASM_TARGET_DIR" "$@"
        ;;
    debian)
        # build-std needs nightly flags: RUSTC_BOOTSTRAP unlocks them on this stable rustc.
        # RUSTUP_TOOLCHAIN is cleared so no rustup proxy leaks in through PATH.
        # shellcheck disable=SC2054
        local args=(build --release --locked --target "$WASM_TARGET" -Zbuild-std=std,panic_abort
            --target-dir "$WASM_TARGET_DIR" "$@")
        printf '    $ RUSTC_BOOTSTRAP=1 RUSTC=%s CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=%s %s %s\n' \
            "$DEBIAN_RUSTC" "$DEBIAN_WASM_LD" "$DEBIAN_CARGO" "${args[*]}"
        env -u RUSTUP_TOOLCHAIN -u RUSTC_WRAPPER \
            RUSTC_BOOTSTRAP=1 \
            RUSTC="$DEBIAN_RUSTC" \
            CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$DEBIAN_WASM_LD" \
            "$DEBIAN_CARGO" "${args[@]}"
        ;;
    *) die "select_wasm_toolchain was not called" ;;
    esac
}

# --- ic-wasm --------------------------------------------------------------------------------

IC_WASM_NPM_PACKAGE="@icp-sdk/ic-wasm-linux-x64"
IC_WASM_NPM_BIN="$TOOLS_DIR/node_modules/$IC_WASM_NPM_PACKAGE/bin/ic-wasm"
IC_WASM_CARGO_BIN="$TOOLS_DIR/bin/ic-wasm"

_ic_wasm_works() { [[ -x "$1" ]] && "$1" --version >/dev/null 2>&1; }

# Sets IC_WASM to a working ic-wasm: $IC_WASM if set, else one on PATH, else a project-local
# copy in target/tools (installed on first use: npm's prebuilt binary on linux-x64, else
# `cargo install`, which takes minutes).
ensure_ic_wasm() {
    if [[ -n "${IC_WASM:-}" ]]; then
        _ic_wasm_works "$IC_WASM" || die "IC_WASM=$IC_WASM is not a working ic-wasm"
    elif command -v ic-wasm >/dev/null 2>&1 && _ic_wasm_works "$(command -v ic-wasm)"; then
        IC_WASM="$(command -v ic-wasm)"
    elif _ic_wasm_works "$IC_WASM_NPM_BIN"; then
        IC_WASM="$IC_WASM_NPM_BIN"
    elif _ic_wasm_works "$IC_WASM_CARGO_BIN"; then
        IC_WASM="$IC_WASM_CARGO_BIN"
    else
        _install_ic_wasm
    fi
    local version
    version="$("$IC_WASM" --version | awk '{print $2}')"
    if [[ "$version" != "$IC_WASM_VERSION" ]]; then
        warn "ic-wasm $version at $IC_WASM; builds are pinned to $IC_WASM_VERSION (module hashes may differ)"
    fi
}

_install_ic_wasm() {
    mkdir -p "$TOOLS_DIR"
    if [[ "$(uname -s)-$(uname -m)" == "Linux-x86_64" ]] && command -v npm >/dev/null 2>&1; then
        info "installing ic-wasm $IC_WASM_VERSION from npm ($IC_WASM_NPM_PACKAGE) into target/tools"
        if run npm install --prefix "$TOOLS_DIR" --no-save --no-audit --no-fund --loglevel=error \
            "$IC_WASM_NPM_PACKAGE@$IC_WASM_VERSION" && _ic_wasm_works "$IC_WASM_NPM_BIN"; then
            IC_WASM="$IC_WASM_NPM_BIN"
            return
        fi
        warn "npm install of $IC_WASM_NPM_PACKAGE failed; falling back to cargo install"
    fi
    info "installing ic-wasm $IC_WASM_VERSION with cargo install (takes a few minutes)"
    run cargo install ic-wasm --version "$IC_WASM_VERSION" --locked --root "$TOOLS_DIR"
    _ic_wasm_works "$IC_WASM_CARGO_BIN" || die "cargo install ic-wasm did not produce $IC_WASM_CARGO_BIN"
    IC_WASM="$IC_WASM_CARGO_BIN"
}

ic_wasm_has_check_endpoints() { "$IC_WASM" --help 2>/dev/null | grep -q 'check-endpoints'; }
