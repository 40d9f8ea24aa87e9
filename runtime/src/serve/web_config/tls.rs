//! `tls_server_config`: a rustls server configuration, every setting honoured or refused.

use super::files::Files;
use super::yaml::{Node, config_error};
use crate::Error;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The settings read (each with its line).
const ACCEPTED: [&str; 7] = [
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "min_version",
    "max_version",
    "prefer_server_cipher_suites",
];

/// Settings of exporter-toolkit that cannot be honoured here, and why: refused, never ignored.
fn unsupported(key: &str) -> Option<&'static str> {
    Some(match key {
        "cipher_suites" => {
            "`cipher_suites` cannot be honoured: rustls offers a fixed set of AEAD suites (TLS 1.3 AES-GCM and ChaCha20-Poly1305; TLS 1.2 ECDHE with those); remove the setting"
        }
        "curve_preferences" => {
            "`curve_preferences` cannot be honoured: key exchange uses rustls' groups (X25519, P-256, P-384, in that order); remove the setting"
        }
        "client_allowed_sans" => {
            "`client_allowed_sans` is not supported: client certificates are not matched against SANs, any certificate signed by client_ca_file would be accepted; remove the setting"
        }
        "cert" | "key" | "client_ca" => {
            "inline PEM (`cert`, `key`, `client_ca`) is not supported; put it in a file and use cert_file, key_file or client_ca_file"
        }
        _ => return None,
    })
}

/// The rustls configuration `tls_server_config` (the map at `line`) asks for; paths are
/// relative to `base`, and every file read is recorded in `files`.
pub(super) fn tls_config(
    path: &Path,
    base: &Path,
    line: usize,
    entries: Vec<(String, usize, Node)>,
    files: &mut Files,
) -> Result<rustls::ServerConfig, Error> {
    let mut settings: HashMap<String, (usize, String)> = HashMap::new();
    for (key, key_line, node) in entries {
        match node {
            Node::Scalar(value) if ACCEPTED.contains(&key.as_str()) => {
                settings.insert(key, (key_line, value));
            }
            _ => {
                let message = match unsupported(&key) {
                    Some(why) => why.to_owned(),
                    None => format!(
                        "unknown or malformed TLS setting `{key}`; expected one of: {}",
                        ACCEPTED.join(", ")
                    ),
                };
                return Err(config_error(path, key_line, message));
            }
        }
    }
    let setting = |key: &str| settings.get(key).map(|(l, v)| (*l, v.as_str()));
    let file = |key: &str| -> Result<(usize, PathBuf), Error> {
        let (key_line, value) = setting(key)
            .ok_or_else(|| config_error(path, line, format!("tls_server_config needs `{key}`")))?;
        Ok((key_line, base.join(value)))
    };
    let pem = |files: &mut Files, key: &str| -> Result<(usize, PathBuf, Vec<u8>), Error> {
        let (key_line, file) = file(key)?;
        let bytes = files.read(&file).map_err(|e| {
            config_error(path, key_line, format!("reading {}: {e}", file.display()))
        })?;
        Ok((key_line, file, bytes))
    };
    let (cert_line, cert_file, cert_pem) = pem(files, "cert_file")?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            config_error(
                path,
                cert_line,
                format!("reading {}: {e}", cert_file.display()),
            )
        })?;
    if certs.is_empty() {
        return Err(config_error(
            path,
            cert_line,
            format!("{} holds no certificate", cert_file.display()),
        ));
    }
    let (key_line, key_file, key_pem) = pem(files, "key_file")?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        config_error(
            path,
            key_line,
            format!("reading {}: {e}", key_file.display()),
        )
    })?;
    let versions = protocol_versions(path, setting("min_version"), setting("max_version"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| config_error(path, line, e))?;
    let auth_type = setting("client_auth_type");
    let builder = match auth_type {
        None | Some((_, "NoClientCert")) => {
            if let Some((ca_line, _)) = setting("client_ca_file") {
                return Err(config_error(
                    path,
                    ca_line,
                    "client_ca_file is given but client_auth_type is NoClientCert, so no client certificate would be asked for; set client_auth_type: RequireAndVerifyClientCert (or VerifyClientCertIfGiven)",
                ));
            }
            builder.with_no_client_auth()
        }
        Some((auth_line, kind @ ("RequireAndVerifyClientCert" | "VerifyClientCertIfGiven"))) => {
            let (ca_line, ca_file, ca_pem) = pem(files, "client_ca_file")?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&ca_pem) {
                let cert = cert.map_err(|e| {
                    config_error(path, ca_line, format!("reading {}: {e}", ca_file.display()))
                })?;
                roots
                    .add(cert)
                    .map_err(|e| config_error(path, ca_line, e))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            );
            let verifier = if kind == "VerifyClientCertIfGiven" {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| config_error(path, auth_line, e))?,
            )
        }
        Some((auth_line, other)) => {
            return Err(config_error(
                path,
                auth_line,
                format!(
                    "client_auth_type `{other}` is not supported; use NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"
                ),
            ));
        }
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| {
        config_error(
            path,
            key_line,
            format!("the key does not fit the certificate: {e}"),
        )
    })?;
    // exporter-toolkit's default is `true`: the server's order of cipher suites wins.
    config.ignore_client_order = match setting("prefer_server_cipher_suites") {
        None | Some((_, "true")) => true,
        Some((_, "false")) => false,
        Some((prefer_line, other)) => {
            return Err(config_error(
                path,
                prefer_line,
                format!("prefer_server_cipher_suites must be true or false, not `{other}`"),
            ));
        }
    };
    Ok(config)
}

/// The TLS versions from `min_version` to `max_version` (default TLS12 to TLS13), each
/// setting given with its line.
fn protocol_versions(
    path: &Path,
    min: Option<(usize, &str)>,
    max: Option<(usize, &str)>,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, Error> {
    // In order: the index of a version is its rank.
    const VERSIONS: [(&str, &rustls::SupportedProtocolVersion); 2] = [
        ("TLS12", &rustls::version::TLS12),
        ("TLS13", &rustls::version::TLS13),
    ];
    let rank = |key: &str, setting: Option<(usize, &str)>, default: usize| match setting {
        None => Ok(default),
        Some((line, name)) => match VERSIONS.iter().position(|(known, _)| *known == name) {
            Some(rank) => Ok(rank),
            None => Err(config_error(
                path,
                line,
                match name {
                    "TLS10" | "TLS11" => format!(
                        "{key} `{name}` is not supported (rustls speaks only TLS 1.2 and 1.3); use TLS12 or TLS13"
                    ),
                    _ => format!("{key} `{name}` is not a TLS version; use TLS12 or TLS13"),
                },
            )),
        },
    };
    let low = rank("min_version", min, 0)?;
    let high = rank("max_version", max, VERSIONS.len() - 1)?;
    if low > high {
        let (line, name) = max.or(min).unwrap_or((0, ""));
        let min_name = VERSIONS[low].0;
        return Err(config_error(
            path,
            line,
            format!("max_version `{name}` is below min_version `{min_name}`"),
        ));
    }
    Ok(VERSIONS[low..=high].iter().map(|(_, v)| *v).collect())
}
