//! The lab's certificates, made with rcgen each time a lab starts: a root CA, an intermediate
//! CA and the leaves the TLS servers of [`crate::ports`] present (a good one, an expired one,
//! one for the wrong name, a self-signed one, one not valid yet, one with an RSA key). Every
//! field a test may assert is exported as data in [`LabCert`].
//!
//! Keys are ECDSA (the root and intermediate P-384, leaves P-256), so certificates are made in
//! a few milliseconds; the one RSA-2048 leaf uses a fixed test key ([`RSA_KEY_PEM`]) because
//! ring, rcgen's backend here, cannot generate RSA keys. Validity is relative to the lab's
//! start: the good leaf is valid from a day ago for [`LEAF_DAYS`] days, the expired one ended
//! [`EXPIRED_DAYS_AGO`] days ago, the not-yet-valid one begins in [`NOT_YET_VALID_IN_DAYS`].

use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber, PKCS_ECDSA_P256_SHA256,
    PKCS_ECDSA_P384_SHA384,
};
use time::{Duration, OffsetDateTime};

use crate::topology::addr;
use crate::LabError;

/// Common name of the lab's root CA.
pub const ROOT_CN: &str = "sonde lab root CA";
/// Common name of the lab's intermediate CA.
pub const INTERMEDIATE_CN: &str = "sonde lab intermediate CA";
/// Organisation of every lab certificate.
pub const ORGANISATION: &str = "sonde lab";
/// The names (DNS SANs) of the good leaf, the first being its common name.
pub const LEAF_NAMES: [&str; 2] = ["target.sonde.test", "www.sonde.test"];
/// The only name of the wrong-name leaf.
pub const WRONG_NAME: &str = "other.sonde.test";
/// Days the good leaf is valid from its start (a day before the lab started).
pub const LEAF_DAYS: i64 = 91;
/// Days since the expired leaf stopped being valid.
pub const EXPIRED_DAYS_AGO: i64 = 30;
/// Serial numbers: root, intermediate, leaf, expired, wrong name, self-signed.
pub const SERIALS: [u64; 6] = [0x01, 0x02, 0x1001, 0x1002, 0x1003, 0x1004];
/// Days until the not-yet-valid leaf begins.
pub const NOT_YET_VALID_IN_DAYS: i64 = 10;
/// Serial number of the not-yet-valid leaf.
pub const NOT_YET_VALID_SERIAL: u64 = 0x1005;
/// Serial number of the RSA leaf.
pub const RSA_SERIAL: u64 = 0x1006;
/// The RSA leaf's private key: 2048 bits, PKCS#8, made once with
/// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`. A test key for the lab only.
pub const RSA_KEY_PEM: &str = include_str!("lab-rsa-2048.pem");
/// Serial number of the registry servers' (RDAP) leaf.
pub const REGISTRY_SERIAL: u64 = 0x2001;
/// What the good TLS server staples as its OCSP response (opaque bytes to a client).
pub const OCSP_STAPLE: &[u8] = b"sonde-lab stapled OCSP response";

/// One certificate of the lab, with the fields tests assert.
#[derive(Debug, Clone)]
pub struct LabCert {
    /// DER bytes.
    pub der: Vec<u8>,
    /// PEM text.
    pub pem: String,
    /// SHA-256 of the DER bytes.
    pub sha256: [u8; 32],
    /// Serial number.
    pub serial: u64,
    /// Subject common name.
    pub subject_cn: String,
    /// Issuer common name.
    pub issuer_cn: String,
    /// DNS names and IP addresses it is valid for.
    pub sans: Vec<String>,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// Key type and size, as sonde names them (`ECDSA P-256`).
    pub key: &'static str,
    /// Signature algorithm, as sonde names it (`ecdsa-with-SHA384`).
    pub signature: &'static str,
}

/// A certificate with its private key, for a server.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The chain a server sends, leaf first.
    pub chain: Vec<LabCert>,
    /// The leaf's private key, PKCS#8 DER.
    pub key_pkcs8: Vec<u8>,
}

/// Every certificate of a lab.
#[derive(Debug, Clone)]
pub struct Pki {
    /// The root CA (not sent by servers; give its PEM to a client as a CA bundle).
    pub root: LabCert,
    /// The intermediate CA, sent after the leaf.
    pub intermediate: LabCert,
    /// The good leaf: [`LEAF_NAMES`] and the target's addresses, valid now.
    pub leaf: Identity,
    /// A leaf for the target's names that expired [`EXPIRED_DAYS_AGO`] days ago.
    pub expired: Identity,
    /// A valid leaf for [`WRONG_NAME`] only.
    pub wrong_name: Identity,
    /// A self-signed certificate for the target's names.
    pub self_signed: Identity,
    /// A leaf for the target's names whose validity begins [`NOT_YET_VALID_IN_DAYS`] from now.
    pub not_yet_valid: Identity,
    /// A valid leaf for the target's names with an RSA-2048 key ([`RSA_KEY_PEM`]).
    pub rsa: Identity,
    /// The leaf of the registry servers (RDAP over HTTPS), for their names.
    pub registry: Identity,
}

fn err(what: &str, e: rcgen::Error) -> LabError {
    LabError::io(
        format!("cannot make the lab's {what} certificate"),
        std::io::Error::other(e.to_string()),
    )
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, ORGANISATION);
    dn.push(DnType::CommonName, cn);
    dn
}

fn sans(names: &[&str], ips: &[IpAddr]) -> Result<Vec<SanType>, rcgen::Error> {
    let mut out = Vec::new();
    for n in names {
        out.push(SanType::DnsName((*n).try_into()?));
    }
    out.extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
    Ok(out)
}

fn lab_cert(
    cert: &rcgen::Certificate,
    spec: &Spec<'_>,
    params: &CertificateParams,
    issuer_cn: &str,
    key: &'static str,
    signature: &'static str,
) -> LabCert {
    let der = cert.der();
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let mut sha256 = [0u8; 32];
    sha256.copy_from_slice(digest.as_ref());
    LabCert {
        der: der.to_vec(),
        pem: cert.pem(),
        sha256,
        serial: spec.serial,
        subject_cn: spec.cn.to_string(),
        issuer_cn: issuer_cn.to_string(),
        sans: params
            .subject_alt_names
            .iter()
            .map(|s| match s {
                SanType::DnsName(n) => n.as_str().to_string(),
                SanType::IpAddress(ip) => ip.to_string(),
                other => format!("{other:?}"),
            })
            .collect(),
        not_before: params.not_before.unix_timestamp(),
        not_after: params.not_after.unix_timestamp(),
        key,
        signature,
    }
}

struct Spec<'a> {
    cn: &'a str,
    serial: u64,
    names: &'a [&'a str],
    ips: &'a [IpAddr],
    from: OffsetDateTime,
    until: OffsetDateTime,
}

impl Spec<'_> {
    fn params(&self, ca: bool) -> Result<CertificateParams, rcgen::Error> {
        let mut p = CertificateParams::default();
        p.distinguished_name = name(self.cn);
        p.serial_number = Some(SerialNumber::from(self.serial.to_be_bytes().to_vec()));
        p.subject_alt_names = sans(self.names, self.ips)?;
        p.not_before = self.from;
        p.not_after = self.until;
        if ca {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        } else {
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        }
        p.use_authority_key_identifier_extension = !ca || self.serial != SERIALS[0];
        Ok(p)
    }
}

impl Pki {
    /// Makes every certificate, valid relative to now.
    pub fn generate() -> Result<Pki, LabError> {
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or_else(|_| OffsetDateTime::now_utc());
        let day = Duration::days(1);
        let target_ips = [IpAddr::V4(addr::TARGET_V4), IpAddr::V6(addr::TARGET_V6)];

        let root_spec = Spec {
            cn: ROOT_CN,
            serial: SERIALS[0],
            names: &[],
            ips: &[],
            from: now - day * 365,
            until: now + day * 3650,
        };
        let root_key =
            KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).map_err(|e| err("root", e))?;
        let root_params = root_spec.params(true).map_err(|e| err("root", e))?;
        let root_der = root_params
            .self_signed(&root_key)
            .map_err(|e| err("root", e))?;
        let root_cert = lab_cert(
            &root_der,
            &root_spec,
            &root_params,
            ROOT_CN,
            "ECDSA P-384",
            "ecdsa-with-SHA384",
        );
        let root = Issuer::new(root_params, root_key);

        let inter_spec = Spec {
            cn: INTERMEDIATE_CN,
            serial: SERIALS[1],
            names: &[],
            ips: &[],
            from: now - day * 365,
            until: now + day * 1825,
        };
        let inter_key =
            KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).map_err(|e| err("intermediate", e))?;
        let inter_params = inter_spec
            .params(true)
            .map_err(|e| err("intermediate", e))?;
        let inter_der = inter_params
            .signed_by(&inter_key, &root)
            .map_err(|e| err("intermediate", e))?;
        let inter_cert = lab_cert(
            &inter_der,
            &inter_spec,
            &inter_params,
            ROOT_CN,
            "ECDSA P-384",
            "ecdsa-with-SHA384",
        );
        let inter = Issuer::new(inter_params, inter_key);

        let leaf_with = |spec: Spec<'_>,
                         what: &str,
                         key: KeyPair,
                         label: &'static str|
         -> Result<Identity, LabError> {
            let params = spec.params(false).map_err(|e| err(what, e))?;
            let cert = params.signed_by(&key, &inter).map_err(|e| err(what, e))?;
            let lab = lab_cert(
                &cert,
                &spec,
                &params,
                INTERMEDIATE_CN,
                label,
                "ecdsa-with-SHA384",
            );
            Ok(Identity {
                chain: vec![lab, inter_cert.clone()],
                key_pkcs8: key.serialize_der(),
            })
        };
        let leaf = |spec: Spec<'_>, what: &str| -> Result<Identity, LabError> {
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| err(what, e))?;
            leaf_with(spec, what, key, "ECDSA P-256")
        };
        let valid_from = now - day;
        let valid_until = valid_from + Duration::days(LEAF_DAYS);
        let good = leaf(
            Spec {
                cn: LEAF_NAMES[0],
                serial: SERIALS[2],
                names: &LEAF_NAMES,
                ips: &target_ips,
                from: valid_from,
                until: valid_until,
            },
            "leaf",
        )?;
        let expired = leaf(
            Spec {
                cn: LEAF_NAMES[0],
                serial: SERIALS[3],
                names: &LEAF_NAMES,
                ips: &[],
                from: now - Duration::days(EXPIRED_DAYS_AGO + 90),
                until: now - Duration::days(EXPIRED_DAYS_AGO),
            },
            "expired",
        )?;
        let wrong_name = leaf(
            Spec {
                cn: WRONG_NAME,
                serial: SERIALS[4],
                names: &[WRONG_NAME],
                ips: &[],
                from: valid_from,
                until: valid_until,
            },
            "wrong-name",
        )?;

        let not_yet_from = now + Duration::days(NOT_YET_VALID_IN_DAYS);
        let not_yet_valid = leaf(
            Spec {
                cn: LEAF_NAMES[0],
                serial: NOT_YET_VALID_SERIAL,
                names: &LEAF_NAMES,
                ips: &[],
                from: not_yet_from,
                until: not_yet_from + Duration::days(LEAF_DAYS),
            },
            "not-yet-valid",
        )?;
        let rsa_key = KeyPair::from_pem(RSA_KEY_PEM).map_err(|e| err("RSA", e))?;
        let rsa = leaf_with(
            Spec {
                cn: LEAF_NAMES[0],
                serial: RSA_SERIAL,
                names: &LEAF_NAMES,
                ips: &[],
                from: valid_from,
                until: valid_until,
            },
            "RSA",
            rsa_key,
            "RSA 2048",
        )?;

        let registry_names = crate::registry::rdap::names();
        let registry = leaf(
            Spec {
                cn: registry_names[0],
                serial: REGISTRY_SERIAL,
                names: &registry_names,
                ips: &[],
                from: valid_from,
                until: valid_until,
            },
            "registry",
        )?;

        let self_spec = Spec {
            cn: LEAF_NAMES[0],
            serial: SERIALS[5],
            names: &LEAF_NAMES,
            ips: &[],
            from: valid_from,
            until: valid_until,
        };
        let self_key =
            KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| err("self-signed", e))?;
        let self_params = self_spec.params(false).map_err(|e| err("self-signed", e))?;
        let self_cert = self_params
            .self_signed(&self_key)
            .map_err(|e| err("self-signed", e))?;
        let self_lab = lab_cert(
            &self_cert,
            &self_spec,
            &self_params,
            LEAF_NAMES[0],
            "ECDSA P-256",
            "ecdsa-with-SHA256",
        );
        Ok(Pki {
            root: root_cert,
            intermediate: inter_cert.clone(),
            leaf: good,
            expired,
            wrong_name,
            self_signed: Identity {
                chain: vec![self_lab],
                key_pkcs8: self_key.serialize_der(),
            },
            not_yet_valid,
            rsa,
            registry,
        })
    }

    /// The root CA's certificate, PEM encoded: what a client trusts
    /// (`ca-file` in a profile).
    pub fn ca_pem(&self) -> &str {
        &self.root.pem
    }
}
