//! Checks run by `EventLog::init` before any structure touches the memories, so a wrong or
//! foreign memory is refused instead of overwritten.
//!
//! `StableLog::init` and `StableBTreeMap::init` silently create a new, empty structure over any
//! memory whose magic they do not recognise, and panic on versions they cannot read. These checks
//! read only the first four bytes of each memory and turn both cases into
//! [`OpenError::Incompatible`]. They only read, so a refused `init` leaves every memory as it was.

use crate::error::OpenError;
use ic_stable_structures::log::{DATA_MAGIC, INDEX_MAGIC};
use ic_stable_structures::Memory;

/// `StableLog` layout version this build opens (ic-stable-structures 0.7).
const LOG_LAYOUT_VERSION: u8 = 1;
/// `StableBTreeMap` header magic and the layout versions ic-stable-structures 0.7 loads.
const BTREE_MAGIC: &[u8; 3] = b"BTR";
const BTREE_LAYOUT_VERSIONS: [u8; 2] = [1, 2];
const BTREE_LEN_OFFSET: u64 = 20;

/// What the first bytes of a memory say it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Contents {
    /// Never written: size 0, or a zeroed header (grown but unused).
    Fresh,
    /// A header: 3 bytes of magic and a layout version.
    Header { magic: [u8; 3], version: u8 },
}

pub(crate) fn contents<M: Memory>(mem: &M) -> Contents {
    if mem.size() == 0 {
        return Contents::Fresh;
    }
    let mut head = [0u8; 4];
    mem.read(0, &mut head);
    if head == [0; 4] {
        return Contents::Fresh;
    }
    Contents::Header {
        magic: [head[0], head[1], head[2]],
        version: head[3],
    }
}

/// Ok if both log memories are fresh, or both hold a `StableLog` of the version this build reads.
pub(crate) fn check_log<M: Memory>(index: &M, data: &M) -> Result<Contents, OpenError> {
    let (index, data) = (contents(index), contents(data));
    let index_ok = expect(index, INDEX_MAGIC, &[LOG_LAYOUT_VERSION], "log_index");
    let data_ok = expect(data, DATA_MAGIC, &[LOG_LAYOUT_VERSION], "log_data");
    match (index, data) {
        (Contents::Fresh, Contents::Fresh) => Ok(Contents::Fresh),
        (_, Contents::Fresh) => Err(OpenError::Incompatible(format!(
            "log_data is empty but log_index is not ({})",
            describe(index)
        ))),
        (Contents::Fresh, _) => {
            data_ok?;
            Err(OpenError::Incompatible(
                "log_data holds entries but log_index is empty, so they cannot be located".into(),
            ))
        }
        _ => {
            data_ok?;
            index_ok?;
            Ok(data)
        }
    }
}

/// Ok if `mem` is fresh or holds a `StableBTreeMap` of a version this build reads.
pub(crate) fn check_btree<M: Memory>(mem: &M, name: &str) -> Result<Contents, OpenError> {
    let found = contents(mem);
    match found {
        Contents::Fresh => Ok(found),
        _ => expect(found, BTREE_MAGIC, &BTREE_LAYOUT_VERSIONS, name).map(|_| found),
    }
}

/// Number of entries of the `StableBTreeMap` in `mem` (0 if fresh), read from its header
/// without loading it. Both layout versions keep the length at bytes 20..28, little-endian.
pub(crate) fn btree_len<M: Memory>(mem: &M, name: &str) -> Result<u64, OpenError> {
    if check_btree(mem, name)? == Contents::Fresh {
        return Ok(0);
    }
    let mut len = [0u8; 8];
    mem.read(BTREE_LEN_OFFSET, &mut len);
    Ok(u64::from_le_bytes(len))
}

fn expect(found: Contents, magic: &[u8; 3], versions: &[u8], name: &str) -> Result<(), OpenError> {
    match found {
        Contents::Fresh => Ok(()),
        Contents::Header { magic: m, version } if &m == magic => {
            if versions.contains(&version) {
                Ok(())
            } else {
                Err(OpenError::Incompatible(format!(
                    "{name} has layout version {version}, this build reads {versions:?}"
                )))
            }
        }
        other => Err(OpenError::Incompatible(format!(
            "{name} does not hold the expected structure (expected magic {:?}, found {})",
            String::from_utf8_lossy(magic),
            describe(other)
        ))),
    }
}

fn describe(found: Contents) -> String {
    match found {
        Contents::Fresh => "nothing".into(),
        Contents::Header { magic, version } => format!(
            "header bytes {:02x}{:02x}{:02x}{:02x}",
            magic[0], magic[1], magic[2], version
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::VectorMemory;

    fn mem_with(header: &[u8]) -> VectorMemory {
        let mem = VectorMemory::default();
        if !header.is_empty() {
            mem.grow(1);
            mem.write(0, header);
        }
        mem
    }

    #[test]
    fn classifies_fresh_and_headed_memories() {
        assert_eq!(contents(&mem_with(&[])), Contents::Fresh);
        assert_eq!(contents(&mem_with(&[0, 0, 0, 0, 9])), Contents::Fresh);
        assert_eq!(
            contents(&mem_with(b"GLD\x01")),
            Contents::Header {
                magic: *b"GLD",
                version: 1
            }
        );
    }

    #[test]
    fn log_memories_must_agree() {
        let ok = check_log(&mem_with(b"GLI\x01"), &mem_with(b"GLD\x01"));
        assert!(matches!(ok, Ok(Contents::Header { .. })));
        assert_eq!(
            check_log(&mem_with(&[]), &mem_with(&[])),
            Ok(Contents::Fresh)
        );
        let refused = [
            (mem_with(b"GLI\x01"), mem_with(&[]), "log_data is empty"),
            (mem_with(&[]), mem_with(b"GLD\x01"), "log_index is empty"),
            (mem_with(b"GLI\x01"), mem_with(b"GLD\x02"), "version 2"),
            (mem_with(b"GLI\x03"), mem_with(b"GLD\x01"), "version 3"),
            (mem_with(b"GLD\x01"), mem_with(b"GLI\x01"), "expected magic"),
            (mem_with(b"GLI\x01"), mem_with(b"BTR\x02"), "expected magic"),
        ];
        for (index, data, expected) in refused {
            let err = check_log(&index, &data).unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        }
    }

    #[test]
    fn btree_memories_are_fresh_or_btree() {
        assert!(check_btree(&mem_with(&[]), "dedup_keys").is_ok());
        assert!(check_btree(&mem_with(b"BTR\x01"), "dedup_keys").is_ok());
        assert!(check_btree(&mem_with(b"BTR\x02"), "dedup_keys").is_ok());
        let err = check_btree(&mem_with(b"BTR\x07"), "dedup_keys").unwrap_err();
        assert!(err.to_string().contains("version 7"), "{err}");
        let mut header = b"BTR\x02".to_vec();
        header.extend_from_slice(&[0; 16]);
        header.extend_from_slice(&5u64.to_le_bytes());
        assert_eq!(btree_len(&mem_with(&header), "dedup_keys"), Ok(5));
        assert_eq!(btree_len(&mem_with(&[]), "dedup_keys"), Ok(0));
        let err = check_btree(&mem_with(b"GLD\x01"), "dedup_expiry").unwrap_err();
        assert!(err.to_string().contains("dedup_expiry"), "{err}");
    }
}
