//! Certificates and web config files for the TLS tests (certificates made by rcgen).

use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use std::path::Path;

/// The PEM texts a TLS client needs from [`make_pki`].
pub struct Pki {
    /// The CA certificate, which signed both others.
    pub ca: String,
    /// The client certificate (`prometheus`).
    pub client_cert: String,
    /// The client certificate's key.
    pub client_key: String,
}

/// A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate, as PEM.
/// Writes `ca.crt`, `server.crt` and `server.key` into `dir`.
pub fn make_pki(dir: &Path) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let mut server_params =
        CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = KeyPair::generate().unwrap();
    let server = server_params.signed_by(&server_key, &ca, &ca_key).unwrap();
    let mut client_params = CertificateParams::new(vec!["prometheus".into()]).unwrap();
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = KeyPair::generate().unwrap();
    let client = client_params.signed_by(&client_key, &ca, &ca_key).unwrap();
    std::fs::write(dir.join("ca.crt"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.crt"), server.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).unwrap();
    Pki {
        ca: ca.pem(),
        client_cert: client.pem(),
        client_key: client_key.serialize_pem(),
    }
}

/// A web config file with TLS (the server certificate of [`make_pki`], relative to the file) and
/// basic auth for `prometheus` / `s3cret`.
pub fn tls_and_basic_auth() -> String {
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    format!(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n\
         basic_auth_users:\n  prometheus: {hash}\n"
    )
}
