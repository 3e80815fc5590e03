//! The `dfx` commands in the README are what users copy: each `dfx canister call <canister>
//! <method> '<args>'` and `dfx deploy <canister> --argument '<args>'` must parse and type-check
//! against the canister's contract in `candid/` (the shell substitutions become principals).
//! Commands with `<placeholders>` are checked up to them: they are skipped, and counted.

use candid::types::{Type, TypeInner};
use candid::TypeEnv;
use candid_parser::parse_idl_args;
use candid_parser::utils::CandidSource;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A shell-quoted word starting at `s[0]` ('...' or "..."), unescaped, and the rest after it.
fn quoted(s: &str) -> Option<(String, &str)> {
    let q = s.chars().next()?;
    if q != '\'' && q != '"' {
        return None;
    }
    let mut out = String::new();
    let mut chars = s[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if q == '"' => {
                if let Some((_, n)) = chars.next() {
                    out.push(n);
                }
            }
            c if c == q => return Some((out, &s[1 + i + 1..])),
            c => out.push(c),
        }
    }
    None
}

/// `$(dfx canister id x)` and `$(dfx identity get-principal)` become well-formed principals.
fn substitute(args: &str) -> String {
    let mut out = String::new();
    let mut rest = args;
    while let Some(i) = rest.find("$(") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(')').map(|e| i + e + 1).unwrap_or(rest.len());
        out.push_str("rrkah-fqaaa-aaaaa-aaaaq-cai");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

struct Example {
    canister: String,
    /// `None`: the install argument.
    method: Option<String>,
    args: String,
}

fn examples(readme: &str) -> Vec<Example> {
    let mut out = Vec::new();
    for (marker, is_call) in [("dfx canister call ", true), ("dfx deploy ", false)] {
        let mut rest = readme;
        while let Some(i) = rest.find(marker) {
            rest = &rest[i + marker.len()..];
            let mut words = rest.split_whitespace();
            let Some(canister) = words.next() else { break };
            let canister = canister.to_string();
            let after_canister = rest.trim_start()[canister.len()..].trim_start();
            let (method, tail) = if is_call {
                let m = after_canister.split_whitespace().next().unwrap_or("");
                (Some(m.to_string()), after_canister[m.len()..].trim_start())
            } else if let Some(t) = after_canister.strip_prefix("--argument") {
                (None, t.trim_start())
            } else {
                continue;
            };
            if let Some((args, _)) = quoted(tail) {
                out.push(Example {
                    canister,
                    method,
                    args: substitute(&args),
                });
            }
        }
    }
    out
}

fn contract(canister: &str) -> (TypeEnv, Type) {
    let file = root().join(format!("candid/{canister}.did"));
    let (env, actor) = CandidSource::File(&file)
        .load()
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    (env, actor.expect("a service"))
}

fn arg_types(env: &TypeEnv, actor: &Type, method: Option<&str>) -> Vec<Type> {
    match method {
        Some(m) => env
            .get_method(actor, m)
            .unwrap_or_else(|e| panic!("README calls {m}, which the contract lacks: {e}"))
            .args
            .to_vec(),
        None => match actor.as_ref() {
            TypeInner::Class(args, _) => args.to_vec(),
            _ => Vec::new(),
        },
    }
}

#[test]
fn readme_dfx_examples_match_the_candid_contracts() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let all = examples(&readme);
    let mut checked = 0;
    for ex in &all {
        if ex.args.contains('<') {
            continue;
        }
        let (env, actor) = contract(&ex.canister);
        let types = arg_types(&env, &actor, ex.method.as_deref());
        let what = format!(
            "dfx {} {} {}",
            ex.canister,
            ex.method.as_deref().unwrap_or("--argument"),
            ex.args
        );
        let args =
            parse_idl_args(&ex.args).unwrap_or_else(|e| panic!("{what}\ndoes not parse: {e}"));
        let args = args
            .annotate_types(true, &env, &types)
            .unwrap_or_else(|e| panic!("{what}\ndoes not type-check: {e}"));
        args.to_bytes_with_types(&env, &types)
            .unwrap_or_else(|e| panic!("{what}\ndoes not encode: {e}"));
        checked += 1;
    }
    // The README's set-up, drill, assurance and experiment examples.
    assert!(
        checked >= 15,
        "only {checked} of {} examples checked",
        all.len()
    );
}
