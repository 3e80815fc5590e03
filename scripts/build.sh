#!/usr/bin/env bash
# Builds the canisters' release modules: target/canisters/<name>.wasm and <name>.wasm.gz.
#
#   scripts/build.sh [canister...]      (default: every canister in CANISTERS, scripts/lib.sh)
#
# Per canister: cargo build --release for wasm32-unknown-unknown, then
#   ic-wasm shrink; ic-wasm metadata candid:service (public) from candid/<name>.did;
#   imports must all be from ic0; exports must match the Candid file (scripts/check-wasm.sh);
#   gzip -n (no name, no timestamp: byte-for-byte reproducible).
#
# Toolchain: the rustup wasm32 target when installed; else Debian's rustc-web with -Zbuild-std
# (in target/wasm-debian), installed with apt-get when missing and running as root.
# ic-wasm: $IC_WASM, else ic-wasm on PATH, else target/tools (npm package, or cargo install).
#
# Module hash: the IC's module_hash is the SHA-256 of the bytes installed. dfx installs the
# .wasm.gz named in dfx.json unchanged (dfx.json sets no metadata/shrink/gzip, so dfx does not
# rewrite it), so `dfx canister info` reports the sha256 of <name>.wasm.gz printed here;
# installing the raw .wasm would report the sha256 of <name>.wasm.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OUT_DIR="$REPO_ROOT/target/canisters"

main() {
    local canisters=("$@")
    # shellcheck disable=SC2206
    [[ ${#canisters[@]} -gt 0 ]] || canisters=($CANISTERS)

    # Fail before the long build on anything we can see up front.
    local name
    for name in "${canisters[@]}"; do
        [[ " $CANISTERS " == *" $name "* ]] || die "unknown canister '$name' (known: $CANISTERS)"
        [[ -f "canisters/$name/Cargo.toml" ]] || die "canisters/$name/Cargo.toml is missing"
        [[ -f "candid/$name.did" ]] ||
            die "candid/$name.did is missing: every canister needs its Candid interface (it is embedded as candid:service and checked against the module's exports)"
    done
    command -v python3 >/dev/null 2>&1 || die "python3 is needed for the wasm import check (apt-get install -y python3)"

    heading "Toolchain"
    select_wasm_toolchain
    info "wasm build: $(describe_wasm_toolchain)"
    ensure_ic_wasm
    info "ic-wasm:    $("$IC_WASM" --version) ($IC_WASM)"

    heading "cargo build (release, $WASM_TARGET): ${canisters[*]}"
    local pkgs=() started=$SECONDS
    for name in "${canisters[@]}"; do pkgs+=(-p "$name"); done
    if ! cargo_wasm_build "${pkgs[@]}"; then
        explain_build_failure
        die "wasm build failed"
    fi
    info "built in $((SECONDS - started)) s"

    mkdir -p "$OUT_DIR"
    for name in "${canisters[@]}"; do
        package_canister "$name"
    done
    rmdir "$OUT_DIR/staging" 2>/dev/null || true

    heading "Summary (module hash = sha256 of the file installed; dfx installs the .wasm.gz)"
    printf '    %-14s %10s %10s  %-64s  %s\n' canister "wasm B" "gz B" "sha256(.wasm.gz) = module hash" "sha256(.wasm)"
    for name in "${canisters[@]}"; do
        printf '    %-14s %10s %10s  %-64s  %s\n' "$name" \
            "$(file_size "$OUT_DIR/$name.wasm")" "$(file_size "$OUT_DIR/$name.wasm.gz")" \
            "$(sha256_of "$OUT_DIR/$name.wasm.gz")" "$(sha256_of "$OUT_DIR/$name.wasm")"
    done
}

# Turns target/.../<name>.wasm into target/canisters/<name>.wasm{,.gz}. Works on temporary
# files and moves them in place only when every check passed, so a failed build never leaves
# a module behind that dfx could install.
package_canister() {
    local name="$1"
    local built="$WASM_TARGET_DIR/$WASM_TARGET/release/$name.wasm"
    local did="candid/$name.did"
    local wasm="$OUT_DIR/$name.wasm" gz="$OUT_DIR/$name.wasm.gz"
    local tmp="$OUT_DIR/staging/$name.wasm"

    heading "Package $name"
    rm -f "$wasm" "$gz" "$tmp" "$tmp.gz"
    mkdir -p "$OUT_DIR/staging"
    [[ -f "$built" ]] ||
        die "cargo produced no $built: canisters/$name/Cargo.toml needs [lib] crate-type = [\"cdylib\"]"

    run "$IC_WASM" "$built" -o "$tmp" shrink
    run "$IC_WASM" "$tmp" -o "$tmp" metadata candid:service -f "$did" -v public
    if ! "$REPO_ROOT/scripts/check-wasm.sh" "$tmp" --candid "$did"; then
        rm -f "$tmp"
        die "$name: module checks failed"
    fi
    gzip -n -9 -c "$tmp" >"$tmp.gz"
    mv "$tmp" "$wasm"
    mv "$tmp.gz" "$gz"
    ok "$name: $(file_size "$built") B built -> $(file_size "$wasm") B shrunk -> $(file_size "$gz") B gzipped"
    info "target/canisters/$name.wasm.gz sha256 $(sha256_of "$gz") (module hash when installed by dfx)"
    info "target/canisters/$name.wasm    sha256 $(sha256_of "$wasm")"
}

# Names the crate that pulls getrandom into the wasm build, the usual cause of a failed
# wasm32-unknown-unknown build (getrandom has no entropy source there).
explain_build_failure() {
    local versions v
    versions="$(cargo tree --target "$WASM_TARGET" -e normal "${pkgs[@]}" --prefix none 2>/dev/null |
        awk '$1 == "getrandom" {print $2}' | sort -u)" || true
    [[ -n "$versions" ]] || return 0
    warn "getrandom is in the wasm dependency graph; it cannot build or run on the IC. Pulled in by:"
    for v in $versions; do
        cargo tree --target "$WASM_TARGET" -e normal "${pkgs[@]}" -i "getrandom@${v#v}" >&2 || true
    done
}

main "$@"
