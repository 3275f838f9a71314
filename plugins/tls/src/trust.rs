//! Trust verdicts about the chain alone: whether the certificates sent lead to a trusted
//! root through CAs allowed to issue server certificates. The name and the validity dates
//! are judged apart (`hostname_match`, `expired`, `not_yet_valid`), so a wrong-name or
//! expired certificate from a trusted CA reads as what it is. Every refusal is put in words.

use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, Error, RootCertStore};

use crate::cert;
use crate::output::Trust;

/// Judges the chain `end_entity` + `intermediates` against `roots` at `now` (Unix seconds).
///
/// A chain refused only for a date is judged again at a moment inside every sent
/// certificate's validity (or the leaf's, when they have none in common): dates are their own
/// verdicts, and trust says whether the path itself holds.
pub fn judge(
    roots: &RootCertStore,
    algorithms: &WebPkiSupportedAlgorithms,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: i64,
) -> Trust {
    let leaf = match ParsedCertificate::try_from(end_entity) {
        Ok(leaf) => leaf,
        Err(e) => return untrusted(&e),
    };
    let at = |t: i64| {
        verify_server_cert_signed_by_trust_anchor(
            &leaf,
            roots,
            intermediates,
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(t.max(0) as u64)),
            algorithms.all,
        )
    };
    match at(now) {
        Ok(()) => trusted(),
        Err(e) if is_date(&e) => match inside_validity(end_entity, intermediates) {
            Some(t) => match at(t) {
                Ok(()) => trusted(),
                Err(again) if is_date(&again) => untrusted(&e),
                Err(again) => untrusted(&again),
            },
            None => untrusted(&e),
        },
        Err(e) => untrusted(&e),
    }
}

fn trusted() -> Trust {
    Trust {
        trusted: true,
        error: None,
    }
}

fn untrusted(e: &Error) -> Trust {
    Trust {
        trusted: false,
        error: Some(describe(e)),
    }
}

fn is_date(e: &Error) -> bool {
    matches!(
        e,
        Error::InvalidCertificate(
            CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. }
        )
    )
}

/// A moment at which every sent certificate is valid, or else one at which the leaf is.
fn inside_validity(end_entity: &[u8], intermediates: &[CertificateDer<'_>]) -> Option<i64> {
    let leaf = cert::validity(end_entity)?;
    let (from, until) = intermediates
        .iter()
        .filter_map(|c| cert::validity(c))
        .fold(leaf, |(from, until), (b, a)| (from.max(b), until.min(a)));
    Some(if from <= until { from } else { leaf.0 })
}

/// A certificate refusal in words.
pub fn describe(e: &Error) -> String {
    match e {
        Error::InvalidCertificate(c) => certificate_words(c),
        other => other.to_string(),
    }
}

#[allow(deprecated)] // `UnsupportedSignatureAlgorithm` is still what older paths return.
fn certificate_words(c: &CertificateError) -> String {
    use CertificateError as C;
    let words = match c {
        C::BadEncoding => "a certificate is malformed",
        C::Expired | C::ExpiredContext { .. } => "expired",
        C::NotValidYet | C::NotValidYetContext { .. } => "not valid yet",
        C::Revoked => "revoked",
        C::UnhandledCriticalExtension => "a certificate has a critical extension not understood",
        C::UnknownIssuer => "unknown issuer",
        C::UnknownRevocationStatus => "the revocation status is unknown",
        C::ExpiredRevocationList | C::ExpiredRevocationListContext { .. } => {
            "the revocation list has expired"
        }
        C::BadSignature => "bad signature",
        C::UnsupportedSignatureAlgorithm
        | C::UnsupportedSignatureAlgorithmContext { .. }
        | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "a signature uses an unsupported algorithm"
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => "not valid for the name",
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => "not for server authentication",
        C::InvalidOcspResponse => "the stapled OCSP response is invalid",
        C::ApplicationVerificationFailure => "refused by an application check",
        C::Other(other) => {
            return match other.0.downcast_ref::<webpki::Error>() {
                Some(w) => webpki_words(w).to_string(),
                None => format!("refused: {}", other.0),
            }
        }
        _ => "refused by the certificate verifier",
    };
    words.to_string()
}

/// webpki's reasons that rustls passes on without a variant of its own.
fn webpki_words(e: &webpki::Error) -> &'static str {
    use webpki::Error as W;
    #[allow(deprecated)]
    match e {
        W::BadDer | W::BadDerTime | W::TrailingData(_) => "a certificate is malformed",
        W::CaUsedAsEndEntity => "the server's certificate is a CA certificate",
        W::CertDistrusted => "the certificate is distrusted",
        W::CertExpired { .. } | W::InvalidCertValidity => "expired",
        W::CertNotValidForName(_) => "not valid for the name",
        W::CertNotValidYet { .. } => "not valid yet",
        W::CertRevoked => "revoked",
        W::EmptyEkuExtension => "a certificate's extended key usage is empty",
        W::EndEntityUsedAsCa => "a certificate that is not a CA signed another one",
        W::ExtensionValueInvalid => "a certificate extension has an invalid value",
        W::InvalidNetworkMaskConstraint => "a name constraint has an invalid network mask",
        W::InvalidSerialNumber => "a certificate's serial number is invalid",
        W::InvalidSignatureForPublicKey => "bad signature",
        W::MalformedDnsIdentifier => "a certificate holds a malformed DNS name",
        W::MalformedExtensions => "a certificate's extensions are malformed",
        W::MalformedNameConstraint => "a name constraint is malformed",
        W::MaximumNameConstraintComparisonsExceeded
        | W::MaximumPathBuildCallsExceeded
        | W::MaximumSignatureChecksExceeded => "the chain is too complex to verify",
        W::MaximumPathDepthExceeded => "the chain is too long",
        W::NameConstraintViolation => "a name is outside its issuer's name constraints",
        W::PathLenConstraintViolated => "the chain breaks an issuer's path length limit",
        W::RequiredEkuNotFound | W::RequiredEkuNotFoundContext(_) => {
            "not for server authentication"
        }
        W::SignatureAlgorithmMismatch => {
            "a certificate's signature algorithm does not match its issuer's key"
        }
        W::UnknownIssuer => "unknown issuer",
        W::UnknownRevocationStatus => "the revocation status is unknown",
        W::UnsupportedCertVersion => "a certificate has an unsupported version",
        W::UnsupportedCriticalExtension => "a certificate has a critical extension not understood",
        W::UnsupportedNameType => "a certificate holds a name of an unsupported type",
        W::UnsupportedSignatureAlgorithm
        | W::UnsupportedSignatureAlgorithmContext(_)
        | W::UnsupportedSignatureAlgorithmForPublicKey
        | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "a signature uses an unsupported algorithm"
        }
        W::CrlExpired { .. }
        | W::InvalidCrlNumber
        | W::InvalidCrlSignatureForPublicKey
        | W::IssuerNotCrlSigner
        | W::UnsupportedCrlIssuingDistributionPoint
        | W::UnsupportedCrlVersion
        | W::UnsupportedDeltaCrl
        | W::UnsupportedIndirectCrl
        | W::UnsupportedRevocationReason
        | W::UnsupportedRevocationReasonsPartitioning
        | W::UnsupportedCrlSignatureAlgorithm
        | W::UnsupportedCrlSignatureAlgorithmContext(_)
        | W::UnsupportedCrlSignatureAlgorithmForPublicKey
        | W::UnsupportedCrlSignatureAlgorithmForPublicKeyContext(_) => {
            "a certificate revocation list cannot be used"
        }
        _ => "refused by the certificate verifier",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::OtherError;

    use super::*;

    fn lab_roots(pki: &sonde_lab::pki::Pki) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from(pki.root.der.clone()))
            .expect("the lab root is a CA");
        roots
    }

    fn judge_identity(roots: &RootCertStore, id: &sonde_lab::pki::Identity, now: i64) -> Trust {
        let algorithms = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        let chain: Vec<CertificateDer<'static>> = id
            .chain
            .iter()
            .map(|c| CertificateDer::from(c.der.clone()))
            .collect();
        judge(roots, &algorithms, &chain[0], &chain[1..], now)
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    }

    /// The audit's case: a wrong-name certificate from a trusted CA read "the chain is not
    /// trusted: not valid for the name". Trust is about the chain; the name is apart.
    #[test]
    fn trust_judges_the_chain_not_the_name_or_the_dates() {
        let pki = sonde_lab::pki::Pki::generate().expect("lab pki");
        let roots = lab_roots(&pki);
        assert_eq!(judge_identity(&roots, &pki.leaf, now()), trusted());
        assert_eq!(judge_identity(&roots, &pki.wrong_name, now()), trusted());
        // Expired: the path holds; `expired` says the rest.
        assert_eq!(judge_identity(&roots, &pki.expired, now()), trusted());
        // A leaf judged long before its time: not yet valid, trusted chain all the same.
        let early = pki.leaf.chain[0].not_before - 86_400 * 365;
        assert_eq!(judge_identity(&roots, &pki.leaf, early), trusted());
        // A CA certificate served as the leaf (what openssl's default self-signed certificate
        // is): webpki's reason, through rustls's `Other`, in words.
        let algorithms = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        let ca_leaf = CertificateDer::from(pki.intermediate.der.clone());
        let as_leaf = judge(&roots, &algorithms, &ca_leaf, &[], now());
        assert_eq!(
            as_leaf.error.as_deref(),
            Some("the server's certificate is a CA certificate")
        );
        let own = judge_identity(&roots, &pki.self_signed, now());
        assert!(!own.trusted);
        assert_eq!(own.error.as_deref(), Some("unknown issuer"));
        // Another CA's roots know none of them.
        let web = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let web_leaf = judge_identity(&web, &pki.leaf, now());
        assert_eq!(web_leaf.error.as_deref(), Some("unknown issuer"));
        let web_expired = judge_identity(&web, &pki.expired, now());
        assert_eq!(web_expired.error.as_deref(), Some("unknown issuer"));
    }

    fn words(e: CertificateError) -> String {
        describe(&Error::InvalidCertificate(e))
    }

    /// The audit's case: an openssl self-signed certificate (a CA) used by a server read
    /// "Other(OtherError(CaUsedAsEndEntity))".
    #[test]
    fn every_refusal_reads_as_words_not_debug_text() {
        let other = |w: webpki::Error| words(CertificateError::Other(OtherError(Arc::new(w))));
        assert_eq!(
            other(webpki::Error::CaUsedAsEndEntity),
            "the server's certificate is a CA certificate"
        );
        assert_eq!(
            other(webpki::Error::PathLenConstraintViolated),
            "the chain breaks an issuer's path length limit"
        );
        assert_eq!(words(CertificateError::UnknownIssuer), "unknown issuer");
        assert_eq!(
            words(CertificateError::InvalidOcspResponse),
            "the stapled OCSP response is invalid"
        );
        let foreign = std::io::Error::other("a custom check failed");
        assert_eq!(
            words(CertificateError::Other(OtherError(Arc::new(foreign)))),
            "refused: a custom check failed"
        );
        let all = [
            webpki::Error::BadDer,
            webpki::Error::CertDistrusted,
            webpki::Error::EmptyEkuExtension,
            webpki::Error::EndEntityUsedAsCa,
            webpki::Error::ExtensionValueInvalid,
            webpki::Error::InvalidSerialNumber,
            webpki::Error::MalformedDnsIdentifier,
            webpki::Error::MalformedExtensions,
            webpki::Error::MaximumPathDepthExceeded,
            webpki::Error::NameConstraintViolation,
            webpki::Error::SignatureAlgorithmMismatch,
            webpki::Error::UnsupportedCertVersion,
            webpki::Error::UnsupportedCriticalExtension,
            webpki::Error::UnsupportedNameType,
            webpki::Error::InvalidCrlNumber,
        ];
        for w in all {
            let text = other(w.clone());
            assert!(
                !text.contains(&format!("{w:?}")) && text.chars().all(|c| c != '(' && c != '{'),
                "{w:?} reads {text}"
            );
        }
    }
}
