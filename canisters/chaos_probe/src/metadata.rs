//! Reading `candid:service` as a non-controller, and proving the probe is one.
//!
//! The management canister's `canister_metadata` answers a non-controller only for `icp:public`
//! sections, and answers "no metadata section with the name ..." both when the section is
//! absent and when it is `icp:private` (dfinity/ic `canister_manager.rs`, deliberately, so a
//! private section's existence is not revealed). A controller also receives private sections,
//! so a `public = true` from a probe that controlled the target would be wrong: before
//! reporting a section public, the shell asks `canister_status`, which a non-controller is
//! refused unless the target's status visibility is public (then the controllers list says).

use crate::api::{CandidMetadata, ProbeError};
use crate::outcome::{bounded_message, not_sent_error, reject_code};
use candid::{CandidType, Deserialize, Principal};
use ic_cdk::call::CallFailed;
use ic_cdk_management_canister::CanisterMetadataResult;

/// The metadata section whose visibility is checked (IC-CTRL-19).
pub const CANDID_SERVICE: &str = "candid:service";
/// Largest `candid:service` text returned, in bytes. A larger (or non-UTF-8) section is
/// reported public with `service = null`, keeping the probe's reply under the 2 MiB limit.
pub const MAX_SERVICE_BYTES: usize = 1024 * 1024;

/// What `canister_metadata` showed this non-controller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Section {
    /// The section is `icp:public`: its bytes.
    Visible(Vec<u8>),
    /// Absent, or `icp:private`: the IC does not say which to a non-controller.
    NotVisible,
}

pub fn classify_metadata(result: Result<Vec<u8>, CallFailed>) -> Result<Section, ProbeError> {
    match result {
        Ok(bytes) => candid::decode_one::<CanisterMetadataResult>(&bytes)
            .map(|r| Section::Visible(r.value))
            .map_err(|e| ProbeError::UnexpectedReply {
                method: "canister_metadata".into(),
                reason: bounded_message(&e.to_string()),
            }),
        Err(CallFailed::CallRejected(r))
            if is_section_not_found(r.raw_reject_code(), r.reject_message()) =>
        {
            Ok(Section::NotVisible)
        }
        Err(CallFailed::CallRejected(r)) => Err(ProbeError::ManagementRejected {
            method: "canister_metadata".into(),
            code: r.raw_reject_code(),
            message: bounded_message(r.reject_message()),
        }),
        Err(not_sent) => Err(not_sent_error(&not_sent)),
    }
}

/// The IC's answer for an absent or private section: a `CanisterReject` (4) saying "The
/// canister <id> has no metadata section with the name <name>." Other rejects (no Wasm module,
/// canister not found, transient errors, timeouts) say nothing about visibility.
pub fn is_section_not_found(code: u32, message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    code == reject_code::CANISTER_REJECT
        && (lower.contains("no metadata section")
            || (lower.contains("metadata section") && lower.contains("not found")))
}

pub fn candid_metadata(section: Section) -> CandidMetadata {
    match section {
        Section::Visible(bytes) => CandidMetadata {
            public: true,
            service: (bytes.len() <= MAX_SERVICE_BYTES)
                .then(|| String::from_utf8(bytes).ok())
                .flatten(),
        },
        Section::NotVisible => CandidMetadata {
            public: false,
            service: None,
        },
    }
}

/// The one field of `canister_status` the probe reads. Decoding into this subset ignores every
/// other field, so replicas that add fields never break it.
#[derive(CandidType, Deserialize)]
struct StatusView {
    settings: SettingsView,
}

#[derive(CandidType, Deserialize)]
struct SettingsView {
    controllers: Vec<Principal>,
}

/// `Ok(())` when `canister_status` shows the probe is not a controller of `target`: refused
/// (4 or 5: only controllers may read it), or readable (public status visibility) with a
/// controllers list that does not name the probe.
pub fn classify_controller_check(
    result: Result<Vec<u8>, CallFailed>,
    probe_id: Principal,
    target: Principal,
) -> Result<(), ProbeError> {
    match result {
        Ok(bytes) => {
            let status = candid::decode_one::<StatusView>(&bytes).map_err(|e| {
                ProbeError::UnexpectedReply {
                    method: "canister_status".into(),
                    reason: bounded_message(&e.to_string()),
                }
            })?;
            if status.settings.controllers.contains(&probe_id) {
                Err(ProbeError::ProbeIsController { target })
            } else {
                Ok(())
            }
        }
        Err(CallFailed::CallRejected(r))
            if matches!(
                r.raw_reject_code(),
                reject_code::CANISTER_REJECT | reject_code::CANISTER_ERROR
            ) =>
        {
            Ok(())
        }
        Err(CallFailed::CallRejected(r)) => Err(ProbeError::ManagementRejected {
            method: "canister_status".into(),
            code: r.raw_reject_code(),
            message: bounded_message(r.reject_message()),
        }),
        Err(not_sent) => Err(not_sent_error(&not_sent)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_cdk::call::CallRejected;

    fn principal(n: u8) -> Principal {
        Principal::from_slice(&[n, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    }

    fn rejected(code: u32, message: &str) -> Result<Vec<u8>, CallFailed> {
        Err(CallFailed::CallRejected(CallRejected::with_rejection(
            code,
            message.to_string(),
        )))
    }

    fn metadata_reply(value: &[u8]) -> Result<Vec<u8>, CallFailed> {
        Ok(candid::encode_one(CanisterMetadataResult {
            value: value.to_vec(),
        })
        .unwrap())
    }

    #[test]
    fn a_returned_section_is_public_with_its_text() {
        let section = classify_metadata(metadata_reply(b"service : {}")).unwrap();
        assert_eq!(
            candid_metadata(section),
            CandidMetadata {
                public: true,
                service: Some("service : {}".into())
            }
        );
    }

    #[test]
    fn the_ics_not_found_reject_means_not_public() {
        let message = "The canister rrkah-fqaaa-aaaaa-aaaaq-cai has no metadata section with the name candid:service.";
        assert_eq!(
            classify_metadata(rejected(4, message)),
            Ok(Section::NotVisible)
        );
        assert_eq!(
            candid_metadata(Section::NotVisible),
            CandidMetadata {
                public: false,
                service: None
            }
        );
        assert!(is_section_not_found(
            4,
            "Metadata section candid:service not found"
        ));
    }

    #[test]
    fn other_rejects_are_errors_not_private() {
        for (code, message) in [
            (
                4,
                "The canister x has no Wasm module and hence no metadata is available.",
            ),
            (3, "Canister x not found."),
            (2, "Canister x is rate limited"),
            (6, "Timeout expired"),
            (5, "no metadata section"),
        ] {
            assert!(
                matches!(
                    classify_metadata(rejected(code, message)),
                    Err(ProbeError::ManagementRejected { code: c, .. }) if c == code
                ),
                "{code} {message}"
            );
        }
    }

    #[test]
    fn an_undecodable_metadata_reply_is_an_unexpected_reply() {
        assert!(matches!(
            classify_metadata(Ok(b"DIDL\x00\x00".to_vec())),
            Err(ProbeError::UnexpectedReply { .. })
        ));
    }

    #[test]
    fn an_oversized_or_non_utf8_section_is_public_without_text() {
        let big = vec![b'a'; MAX_SERVICE_BYTES + 1];
        assert_eq!(
            candid_metadata(Section::Visible(big)),
            CandidMetadata {
                public: true,
                service: None
            }
        );
        assert_eq!(
            candid_metadata(Section::Visible(vec![0xff, 0xfe])).service,
            None
        );
    }

    #[test]
    fn a_refused_status_read_proves_the_probe_is_not_a_controller() {
        let (probe, target) = (principal(9), principal(1));
        for code in [4, 5] {
            let refused = rejected(code, "Only the controllers of the canister can control it.");
            assert_eq!(classify_controller_check(refused, probe, target), Ok(()));
        }
    }

    #[test]
    fn a_readable_status_is_checked_against_the_controllers_list() {
        // A newer replica's reply: fields the view does not know are skipped.
        #[derive(CandidType)]
        struct Settings {
            controllers: Vec<Principal>,
            freezing_threshold: candid::Nat,
            status_visibility: Option<u8>,
        }
        #[derive(CandidType)]
        struct Status {
            module_hash: Option<Vec<u8>>,
            settings: Settings,
            cycles: candid::Nat,
        }
        let (probe, target) = (principal(9), principal(1));
        let status = |controllers| {
            Ok(candid::encode_one(Status {
                module_hash: None,
                settings: Settings {
                    controllers,
                    freezing_threshold: 0u8.into(),
                    status_visibility: Some(1),
                },
                cycles: 5u8.into(),
            })
            .unwrap())
        };
        assert_eq!(
            classify_controller_check(status(vec![principal(2)]), probe, target),
            Ok(())
        );
        assert_eq!(
            classify_controller_check(status(vec![principal(2), probe]), probe, target),
            Err(ProbeError::ProbeIsController { target })
        );
    }

    #[test]
    fn an_unanswered_status_read_is_an_error() {
        let (probe, target) = (principal(9), principal(1));
        for code in [1, 2, 3, 6] {
            assert!(matches!(
                classify_controller_check(rejected(code, "x"), probe, target),
                Err(ProbeError::ManagementRejected { .. })
            ));
        }
    }
}
