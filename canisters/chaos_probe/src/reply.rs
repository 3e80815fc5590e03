//! Reads just enough of a Candid reply to tell whether its first value is a variant and which
//! tag it carries, without knowing the method's type. Used by access probes: a guarded method
//! in this suite's style refuses by *replying* `variant { Err = ... }` (Rust `Result`) or
//! `variant { err = ... }` (Motoko `Result`) rather than by rejecting, and that is a refusal,
//! not an accepted call.
//!
//! The walk reads the type table (every entry, to find where it ends), the argument types and
//! the first byte(s) of the first value. It never allocates per entry and every step consumes
//! input, so its cost is linear in the reply size. Anything it does not understand gives
//! `None` (the caller then treats the reply as an ordinary reply).

const MAGIC: &[u8] = b"DIDL";

// Type-table opcodes (Candid spec, "Binary format").
const OPT: i64 = -18;
const VEC: i64 = -19;
const RECORD: i64 = -20;
const VARIANT: i64 = -21;
const FUNC: i64 = -22;
const SERVICE: i64 = -23;
const CLASS: i64 = -24;

/// Whether a reply's first value is `variant { Err }` or `variant { err }`.
pub fn is_err_variant(reply: &[u8]) -> bool {
    let err = [candid::idl_hash("Err"), candid::idl_hash("err")];
    first_variant_tag(reply).is_some_and(|tag| err.contains(&tag))
}

/// The label hash of the first value when that value is a variant.
pub fn first_variant_tag(reply: &[u8]) -> Option<u32> {
    let mut r = Reader {
        bytes: reply.strip_prefix(MAGIC)?,
    };
    let table_len = r.uleb()?;
    // Where each entry's variant fields start, so the first argument's type can be resolved
    // after the table has been skipped. Only variants are remembered, as offsets.
    let mut variants: Vec<(u64, &[u8])> = Vec::new();
    for index in 0..table_len {
        let opcode = r.sleb()?;
        if opcode == VARIANT {
            variants.push((index, r.bytes));
        }
        r.skip_type_entry(opcode)?;
    }
    let arg_count = r.uleb()?;
    if arg_count == 0 {
        return None;
    }
    let first_type = r.sleb()?;
    for _ in 1..arg_count {
        r.sleb()?;
    }
    let index = u64::try_from(first_type).ok()?;
    let (_, fields) = variants.iter().find(|(i, _)| *i == index)?;
    let chosen = r.uleb()?;
    let mut f = Reader { bytes: fields };
    let field_count = f.uleb()?;
    if chosen >= field_count {
        return None;
    }
    for _ in 0..chosen {
        f.uleb()?;
        f.sleb()?;
    }
    u32::try_from(f.uleb()?).ok()
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(b)
    }

    fn skip(&mut self, n: u64) -> Option<()> {
        let n = usize::try_from(n).ok()?;
        self.bytes = self.bytes.get(n..)?;
        Some(())
    }

    fn uleb(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn sleb(&mut self) -> Option<i64> {
        let mut value = 0i64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= i64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                if shift + 7 < 64 && b & 0x40 != 0 {
                    value |= -1i64 << (shift + 7);
                }
                return Some(value);
            }
        }
        None
    }

    fn skip_n<F: FnMut(&mut Self) -> Option<()>>(&mut self, mut each: F) -> Option<()> {
        let n = self.uleb()?;
        for _ in 0..n {
            each(self)?;
        }
        Some(())
    }

    /// Skips one type-table entry whose opcode has been read.
    fn skip_type_entry(&mut self, opcode: i64) -> Option<()> {
        match opcode {
            OPT | VEC => self.sleb().map(drop),
            RECORD | VARIANT => self.skip_n(|r| {
                r.uleb()?;
                r.sleb().map(drop)
            }),
            FUNC => {
                self.skip_n(|r| r.sleb().map(drop))?;
                self.skip_n(|r| r.sleb().map(drop))?;
                self.skip_n(|r| r.byte().map(drop))
            }
            SERVICE => self.skip_n(|r| {
                let len = r.uleb()?;
                r.skip(len)?;
                r.sleb().map(drop)
            }),
            CLASS => {
                self.skip_n(|r| r.sleb().map(drop))?;
                self.sleb().map(drop)
            }
            // Future types carry their byte length (Candid spec, `<futuretype>`).
            op if op < CLASS => {
                let len = self.uleb()?;
                self.skip(len)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::{CandidType, Principal};
    use serde::Deserialize;

    #[derive(CandidType, Deserialize)]
    enum GuardError {
        Unauthorized { caller: Principal },
        Paused,
    }

    #[derive(CandidType, Deserialize)]
    struct Receipt {
        id: u64,
        note: Option<String>,
        tags: Vec<(String, u8)>,
    }

    #[derive(CandidType, Deserialize)]
    #[allow(non_camel_case_types)]
    enum MotokoResult {
        ok(u64),
        err(String),
    }

    #[test]
    fn a_rust_result_err_reply_is_an_err_variant() {
        let reply: Result<Receipt, GuardError> = Err(GuardError::Unauthorized {
            caller: Principal::anonymous(),
        });
        assert!(is_err_variant(&candid::encode_one(reply).unwrap()));
        let paused: Result<(), GuardError> = Err(GuardError::Paused);
        assert!(is_err_variant(&candid::encode_one(paused).unwrap()));
    }

    #[test]
    fn a_rust_result_ok_reply_is_not() {
        let reply: Result<Receipt, GuardError> = Ok(Receipt {
            id: 3,
            note: Some("x".into()),
            tags: vec![("a".into(), 1)],
        });
        let bytes = candid::encode_one(reply).unwrap();
        assert_eq!(first_variant_tag(&bytes), Some(candid::idl_hash("Ok")));
        assert!(!is_err_variant(&bytes));
    }

    #[test]
    fn a_motoko_err_reply_is_an_err_variant() {
        let bytes = candid::encode_one(MotokoResult::err("denied".into())).unwrap();
        assert!(is_err_variant(&bytes));
        let bytes = candid::encode_one(MotokoResult::ok(1)).unwrap();
        assert!(!is_err_variant(&bytes));
    }

    #[test]
    fn non_variant_and_empty_replies_are_not() {
        assert_eq!(first_variant_tag(&candid::encode_args(()).unwrap()), None);
        assert_eq!(first_variant_tag(&candid::encode_one(7u64).unwrap()), None);
        let receipt = Receipt {
            id: 1,
            note: None,
            tags: vec![],
        };
        assert_eq!(
            first_variant_tag(&candid::encode_one(receipt).unwrap()),
            None
        );
    }

    #[test]
    fn only_the_first_value_counts() {
        let ok: Result<u8, String> = Ok(1);
        let err: Result<u8, String> = Err("later".into());
        assert!(!is_err_variant(&candid::encode_args((ok, err)).unwrap()));
        let err: Result<u8, String> = Err("first".into());
        assert!(is_err_variant(&candid::encode_args((err, 5u8)).unwrap()));
    }

    candid::define_function!(Callback : (u8, String) -> (candid::Nat) query);
    candid::define_service!(Notifier : { "notify" : Callback::ty() });

    #[test]
    fn type_tables_with_functions_and_services_are_walked() {
        #[derive(CandidType, Deserialize)]
        struct WithRefs {
            callback: Callback,
            notifier: Notifier,
        }
        let refs = WithRefs {
            callback: Callback::new(Principal::anonymous(), "cb".into()),
            notifier: Notifier::new(Principal::anonymous()),
        };
        let err: Result<u8, String> = Err("e".into());
        let bytes = candid::encode_args((refs, err)).unwrap();
        // The first value is the record: the walk must skip func and service entries to see it.
        assert_eq!(first_variant_tag(&bytes), None);
        let err: Result<WithRefs, String> = Err("e".into());
        assert!(is_err_variant(&candid::encode_one(err).unwrap()));
        let ok: Result<WithRefs, String> = Ok(WithRefs {
            callback: Callback::new(Principal::anonymous(), "cb".into()),
            notifier: Notifier::new(Principal::anonymous()),
        });
        assert!(!is_err_variant(&candid::encode_one(ok).unwrap()));
    }

    #[test]
    fn garbage_and_truncated_input_give_none() {
        assert_eq!(first_variant_tag(b""), None);
        assert_eq!(first_variant_tag(b"not candid"), None);
        let err: Result<u8, String> = Err("e".into());
        let bytes = candid::encode_one(err).unwrap();
        for cut in 0..bytes.len() - 2 {
            // Cutting inside the header must never panic; it may or may not find the tag.
            let _ = first_variant_tag(&bytes[..cut]);
        }
        assert_eq!(first_variant_tag(b"DIDL\x01\x55"), None);
        assert_eq!(
            first_variant_tag(b"DIDL\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
            None
        );
    }
}
