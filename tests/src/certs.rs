//! Certificates generated for a test, with the validity the test needs.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::{IpAddr, Ipv4Addr};
use time::{Duration, OffsetDateTime};

/// A server's certificate chain (leaf first) and private key.
pub struct ServerCert {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// A test certificate authority.
pub struct Pki {
    root: CertifiedIssuer<'static, KeyPair>,
}

fn params(cn: &str, not_after: OffsetDateTime) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, cn);
    // Valid from well before, so an expired certificate is still well formed.
    p.not_before =
        (not_after - Duration::days(60)).min(OffsetDateTime::now_utc() - Duration::days(1));
    p.not_after = not_after;
    p
}

fn leaf_params(names: &[&str], not_after: OffsetDateTime) -> CertificateParams {
    let mut p = params(names.first().copied().unwrap_or("localhost"), not_after);
    p.subject_alt_names = names
        .iter()
        .map(|n| match n.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName((*n).try_into().expect("valid DNS name")),
        })
        .collect();
    p
}

fn ca_params(cn: &str, not_after: OffsetDateTime) -> CertificateParams {
    let mut p = params(cn, not_after);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p
}

fn key_der(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

/// Days from now.
pub fn days(n: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::days(n) + Duration::hours(1)
}

impl Pki {
    /// A root CA valid for ten years.
    pub fn new() -> Self {
        let key = KeyPair::generate().expect("key");
        let root =
            CertifiedIssuer::self_signed(ca_params("ecs-monitor test root", days(3650)), key)
                .expect("root");
        Self { root }
    }

    /// The root certificate, PEM, for ECS_CA_BUNDLE.
    pub fn ca_pem(&self) -> String {
        self.root.pem()
    }

    /// A leaf for 127.0.0.1 and localhost signed by the root.
    pub fn leaf(&self, not_after: OffsetDateTime) -> ServerCert {
        self.leaf_for(&["127.0.0.1", "localhost"], not_after)
    }

    pub fn leaf_for(&self, names: &[&str], not_after: OffsetDateTime) -> ServerCert {
        let key = KeyPair::generate().expect("key");
        let cert = leaf_params(names, not_after)
            .signed_by(&key, &self.root)
            .expect("leaf");
        ServerCert {
            chain: vec![cert.der().clone()],
            key: key_der(&key),
        }
    }

    /// A leaf signed by an intermediate CA (which the server presents too).
    pub fn leaf_via_intermediate(
        &self,
        intermediate_not_after: OffsetDateTime,
        leaf_not_after: OffsetDateTime,
    ) -> ServerCert {
        let ikey = KeyPair::generate().expect("key");
        let intermediate = CertifiedIssuer::signed_by(
            ca_params("ecs-monitor test intermediate", intermediate_not_after),
            ikey,
            &self.root,
        )
        .expect("intermediate");
        let key = KeyPair::generate().expect("key");
        let leaf = leaf_params(&["127.0.0.1", "localhost"], leaf_not_after)
            .signed_by(&key, &intermediate)
            .expect("leaf");
        ServerCert {
            chain: vec![leaf.der().clone(), intermediate.der().clone()],
            key: key_der(&key),
        }
    }
}

impl Default for Pki {
    fn default() -> Self {
        Self::new()
    }
}

/// A self-signed leaf for 127.0.0.1.
pub fn self_signed(not_after: OffsetDateTime) -> ServerCert {
    let key = KeyPair::generate().expect("key");
    let cert = leaf_params(&["127.0.0.1", "localhost"], not_after)
        .self_signed(&key)
        .expect("self-signed");
    ServerCert {
        chain: vec![cert.der().clone()],
        key: key_der(&key),
    }
}

pub const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
