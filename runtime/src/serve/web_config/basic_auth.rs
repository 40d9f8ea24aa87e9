//! `basic_auth_users`: bcrypt hashes checked at load, and credentials verified once each.

use super::yaml::{Node, config_error};
use crate::Error;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How long a request waits for its turn at bcrypt before it is answered `429 Too Many
/// Requests`: a flood of unverified credentials then delays anyone by about this much at
/// most, instead of queueing the real Prometheus behind the whole flood.
pub(super) const BCRYPT_WAIT: Duration = Duration::from_secs(1);

/// The users of `basic_auth_users` and their bcrypt hashes, checked by bcrypt's own parser.
pub(super) struct Users {
    hashes: HashMap<String, String>,
    /// The hash of highest cost, checked for unknown users: they take as long as the slowest
    /// known user and never less, so timing tells no one which users exist.
    costliest: String,
}

impl Users {
    /// The users of the `basic_auth_users` map; `None` when it is empty (as exporter-toolkit,
    /// no users means no basic auth).
    pub(super) fn parse(
        path: &Path,
        entries: Vec<(String, usize, Node)>,
    ) -> Result<Option<Users>, Error> {
        let mut hashes = HashMap::new();
        let mut costliest: Option<(u32, String)> = None;
        for (user, line, hash) in entries {
            let Node::Scalar(hash) = hash else {
                return Err(config_error(path, line, "expected a bcrypt hash"));
            };
            let cost = match hash.parse::<bcrypt::HashParts>() {
                Ok(parts) if (4..=31).contains(&parts.get_cost()) => parts.get_cost(),
                Ok(parts) => {
                    return Err(config_error(
                        path,
                        line,
                        format!(
                            "the password of `{user}` is a bcrypt hash of cost {}, outside 4..=31",
                            parts.get_cost()
                        ),
                    ));
                }
                Err(error) => {
                    return Err(config_error(
                        path,
                        line,
                        format!("the password of `{user}` is not a bcrypt hash ($2y$...): {error}"),
                    ));
                }
            };
            if costliest.as_ref().is_none_or(|(most, _)| cost > *most) {
                costliest = Some((cost, hash.clone()));
            }
            hashes.insert(user, hash);
        }
        Ok(costliest.map(|(_, costliest)| Users { hashes, costliest }))
    }

    /// The hash to check `user`'s password against, and whether `user` is known.
    fn hash_for(&self, user: &str) -> (&str, bool) {
        match self.hashes.get(user) {
            Some(hash) => (hash, true),
            None => (&self.costliest, false),
        }
    }
}

/// What a request's credentials allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Valid credentials, or no basic auth configured.
    Allowed,
    /// Missing, malformed or wrong credentials: `401`.
    Refused,
    /// Not verified within [`BCRYPT_WAIT`], bcrypt being busy with other requests: `429`.
    Busy,
}

/// A cache key: HMAC-SHA-256 of (user, stored hash, password) under a random key.
type Fingerprint = [u8; 32];

/// Verified credentials, kept across reloads of the file: a cache entry names the stored hash,
/// so a changed password or a removed user is never served from the cache, and entries that
/// no longer match a user are dropped at each reload.
pub(super) struct Credentials {
    /// The HMAC key, random per process. `None` if the crypto provider offered no HMAC (it
    /// always does): then nothing is cached and bcrypt runs at every request.
    key: Option<([u8; 32], &'static dyn rustls::crypto::tls13::Hkdf)>,
    verified: Mutex<HashMap<Fingerprint, (String, String)>>,
    /// One bcrypt at a time (as exporter-toolkit does): a flood of wrong passwords takes one
    /// core, not all of them, and never delays requests with verified credentials.
    verifying: Arc<tokio::sync::Semaphore>,
    wait: Duration,
    #[cfg(test)]
    pub(super) bcrypt_runs: std::sync::atomic::AtomicUsize,
}

impl Credentials {
    pub(super) fn new(wait: Duration) -> Self {
        let provider = rustls::crypto::ring::default_provider();
        let hmac = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256
            .tls13()
            .map(|suite| suite.hkdf_provider);
        let mut key = [0; 32];
        let key = match (provider.secure_random.fill(&mut key), hmac) {
            (Ok(()), Some(hmac)) => Some((key, hmac)),
            _ => None,
        };
        Credentials {
            key,
            verified: Mutex::new(HashMap::new()),
            verifying: Arc::new(tokio::sync::Semaphore::new(1)),
            wait,
            #[cfg(test)]
            bcrypt_runs: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn fingerprint(&self, user: &str, hash: &str, password: &str) -> Option<Fingerprint> {
        let (key, hmac) = self.key.as_ref()?;
        let mut message = Vec::with_capacity(24 + user.len() + hash.len() + password.len());
        for part in [user, hash, password] {
            message.extend_from_slice(&(part.len() as u64).to_le_bytes());
            message.extend_from_slice(part.as_bytes());
        }
        let tag = hmac.hmac_sign(&rustls::crypto::tls13::OkmBlock::new(key), &message);
        tag.as_ref().try_into().ok()
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<Fingerprint, (String, String)>> {
        self.verified.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_verified(&self, fingerprint: Option<&Fingerprint>) -> bool {
        fingerprint.is_some_and(|fingerprint| self.cache().contains_key(fingerprint))
    }

    /// Forgets the credentials of users that `users` no longer has with the same hash.
    pub(super) fn retain(&self, users: Option<&Users>) {
        self.cache().retain(|_, (user, hash)| {
            users.is_some_and(|users| users.hashes.get(user.as_str()) == Some(hash))
        });
    }

    /// Whether the `Authorization` header value `authorization` carries valid credentials of
    /// `users`. bcrypt, slow by design, runs off the async runtime's threads, once per (user,
    /// password), one at a time, after waiting at most `wait` for its turn.
    pub(super) async fn verify(
        self: Arc<Self>,
        users: Arc<super::Settings>,
        authorization: Option<String>,
    ) -> Verdict {
        let Some(users) = users.users.as_ref() else {
            return Verdict::Allowed;
        };
        let Some((user, password)) = authorization.as_deref().and_then(decode_basic) else {
            return Verdict::Refused;
        };
        let (hash, known) = users.hash_for(&user);
        let fingerprint = self.fingerprint(&user, hash, &password);
        if known && self.is_verified(fingerprint.as_ref()) {
            return Verdict::Allowed;
        }
        let permit =
            match tokio::time::timeout(self.wait, self.verifying.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(_closed)) => return Verdict::Refused,
                Err(_waited) => return Verdict::Busy,
            };
        let (hash, this) = (hash.to_owned(), self.clone());
        let check = move || {
            let _permit = permit;
            // Another request may have verified the same credentials while this one waited.
            if known && this.is_verified(fingerprint.as_ref()) {
                return true;
            }
            #[cfg(test)]
            this.bcrypt_runs
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let valid = bcrypt::verify(&password, &hash).unwrap_or(false) && known;
            if let (true, Some(fingerprint)) = (valid, fingerprint) {
                this.cache().insert(fingerprint, (user, hash));
            }
            valid
        };
        match tokio::task::spawn_blocking(check).await {
            Ok(true) => Verdict::Allowed,
            Ok(false) | Err(_) => Verdict::Refused,
        }
    }

    #[cfg(test)]
    pub(super) fn hold_bcrypt(&self) -> tokio::sync::OwnedSemaphorePermit {
        self.verifying
            .clone()
            .try_acquire_owned()
            .expect("bcrypt is idle")
    }
}

/// `Basic base64(user:password)` → (user, password); the scheme is case-insensitive (RFC 7617).
pub(crate) fn decode_basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim_start().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(crate::base64::decode(encoded.trim())?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
pub(super) fn costliest_hash(users: &Users) -> &str {
    users.hash_for("nobody-configured-this-user").0
}

#[cfg(test)]
impl Credentials {
    pub(super) fn cached(&self) -> usize {
        self.cache().len()
    }
}
