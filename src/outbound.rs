//! Requests the server makes on someone else's behalf (the picture of a
//! message, a plugin's `http::get`): only to allowlisted hosts, and to
//! private or loopback addresses only when the allowlist names them
//! literally. The check is made where it cannot be dodged: on the URL of
//! every request and redirect, and on every address a name resolves to
//! (the connection goes to a checked address, so a name that answers one
//! address now and another later gains nothing).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Redirects followed at most, each checked like the first URL.
pub const MAX_REDIRECTS: usize = 5;

/// The hosts one kind of request may reach, and what the list is called in
/// errors (e.g. "the media allowlist (WXMP_MEDIA_HOSTS)").
#[derive(Clone, Debug)]
pub struct Allowlist {
    hosts: Arc<Vec<String>>,
    name: Arc<str>,
}

/// Addresses that must not be reached on behalf of a message's URL or a script.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64) // 100.64.0.0/10
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // link local
                || v6.to_ipv4_mapped().is_some_and(|v4| is_internal(IpAddr::V4(v4)))
        }
    }
}

impl Allowlist {
    pub fn new(hosts: &[String], name: &str) -> Self {
        Self {
            hosts: Arc::new(hosts.iter().map(|h| h.to_ascii_lowercase()).collect()),
            name: name.into(),
        }
    }

    fn lists(&self, host: &str) -> bool {
        self.hosts
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(host))
    }

    /// Whether `url` may be requested: http(s), to a listed host; an
    /// address written in the URL must be listed as written.
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("scheme {} is not fetched", url.scheme()));
        }
        let host = url
            .host_str()
            .ok_or("URL has no host")?
            .trim_matches(['[', ']']);
        if !self.lists(host) {
            return Err(format!("host {host} is not on {}", self.name));
        }
        Ok(())
    }

    /// The addresses `host` may be reached at: all it resolves to, less the
    /// private and loopback ones the list does not name literally.
    async fn addresses(&self, host: &str) -> Result<Vec<SocketAddr>, String> {
        let found: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect();
        let usable: Vec<SocketAddr> = found
            .into_iter()
            .filter(|a| !is_internal(a.ip()) || self.lists(&a.ip().to_string()))
            .collect();
        if usable.is_empty() {
            return Err(format!(
                "{host} resolves only to private or loopback addresses, which are reached only \
                 when {} names them literally",
                self.name
            ));
        }
        Ok(usable)
    }

    /// A client that reaches only what this list allows: names are
    /// resolved through [`Allowlist::addresses`], every redirect's URL
    /// passes [`Allowlist::check_url`]. Timeouts are set per request.
    pub fn client(&self) -> Result<reqwest::Client, String> {
        let for_redirects = self.clone();
        reqwest::Client::builder()
            .dns_resolver(Arc::new(Resolver(self.clone())))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
                }
                match for_redirects.check_url(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(why) => {
                        let target = attempt.url().to_string();
                        attempt.error(format!("redirect to {target} refused: {why}"))
                    }
                }
            }))
            .build()
            .map_err(|e| e.to_string())
    }
}

/// Name resolution through the allowlist's address check.
struct Resolver(Allowlist);

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let list = self.0.clone();
        Box::pin(async move {
            let addresses = list.addresses(name.as_str()).await?;
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Why a capped read stopped.
#[derive(Debug)]
pub enum ReadError {
    TooLarge,
    Failed(String),
}

/// The body of `response`, refused once it is over `max` bytes (by its
/// Content-Length, or as it arrives).
pub async fn read_capped(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, ReadError> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(ReadError::TooLarge);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ReadError::Failed(with_causes(&e)))?
    {
        if bytes.len() + chunk.len() > max {
            return Err(ReadError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// An error with its chain of causes, which is where reqwest puts the reason.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let next = inner.to_string();
        // reqwest repeats a cause's text in its own at times.
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.1",
            "172.16.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["183.3.226.35", "2400:da00::1"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn a_listed_name_that_resolves_to_loopback_is_not_reached() {
        let list = Allowlist::new(&["localhost".to_string()], "the test list");
        let error = list.addresses("localhost").await.unwrap_err();
        assert!(error.contains("private or loopback"), "{error}");
        let literal = Allowlist::new(&["localhost".into(), "127.0.0.1".into()], "the test list");
        assert!(literal.addresses("localhost").await.is_ok());
    }
}
