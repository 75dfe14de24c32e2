//! Which URLs a webhook may be delivered to. A subscription names a URL, and the
//! server then makes requests to it from inside the operator's network: without
//! care that is a server-side request forgery, reaching a database's admin port,
//! a cloud's metadata service (169.254.169.254 hands out credentials) or anything
//! else only the server can reach.
//!
//! So: `https` only (plain `http` only to a loopback address, and only when
//! `allow_loopback` is set, as the tests do); no credentials in the URL; and every
//! address the host resolves to must be public. The check runs when a
//! subscription is made and again before each delivery, after resolving the name,
//! since DNS may answer differently later (DNS rebinding).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

/// The longest URL a subscription may name.
pub const MAX_URL_LEN: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("not a URL: {0}")]
    Malformed(String),
    #[error("the URL is longer than {MAX_URL_LEN} characters")]
    TooLong,
    #[error("webhooks are delivered over https only (http only to loopback, when WEBHOOKS_ALLOW_LOOPBACK=true)")]
    NotHttps,
    #[error("the URL must not carry a user name or password; sign deliveries with the subscription's secret instead")]
    Credentials,
    #[error("the host {host} resolves to {address}, which is not a public address ({kind})")]
    NotPublic {
        host: String,
        address: IpAddr,
        kind: &'static str,
    },
    #[error("the host {0} does not resolve")]
    Unresolved(String),
}

/// What kind of non-public address `address` is, if it is one.
pub fn non_public(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => {
            // An IPv4 address in IPv6 clothing is judged as IPv4.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return non_public_v4(v4);
            }
            non_public_v6(v6)
        }
    }
}

fn non_public_v4(a: Ipv4Addr) -> Option<&'static str> {
    let [first, second, ..] = a.octets();
    if a.is_loopback() {
        Some("loopback")
    } else if a.is_unspecified() || first == 0 {
        Some("this network")
    } else if a.is_private() {
        Some("private")
    } else if a.is_link_local() {
        Some("link-local, where cloud metadata services live")
    } else if first == 100 && (64..128).contains(&second) {
        Some("carrier-grade NAT")
    } else if first == 192 && second == 0 && a.octets()[2] == 0 {
        Some("IETF protocol assignments")
    } else if first == 198 && (second == 18 || second == 19) {
        Some("benchmarking")
    } else if a.is_multicast() || a.is_broadcast() || first >= 240 {
        Some("multicast, broadcast or reserved")
    } else if a.is_documentation() {
        Some("documentation")
    } else {
        None
    }
}

fn non_public_v6(a: Ipv6Addr) -> Option<&'static str> {
    let first = a.segments()[0];
    if a.is_loopback() {
        Some("loopback")
    } else if a.is_unspecified() {
        Some("unspecified")
    } else if first & 0xfe00 == 0xfc00 {
        // Unique local addresses, among them AWS's metadata at fd00:ec2::254.
        Some("unique local")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if a.is_multicast() {
        Some("multicast")
    } else if first == 0x2001 && a.segments()[1] == 0x0db8 {
        Some("documentation")
    } else if first == 0x0064 && a.segments()[1] == 0xff9b {
        // NAT64 embeds an IPv4 address; judged by the IPv4 rules it would not
        // pass either when private, so refuse the whole range.
        Some("NAT64")
    } else {
        None
    }
}

/// A URL a subscription may name: parsed, https (or loopback http when
/// allowed), without credentials, and not a literal non-public address. A host
/// name is checked again, resolved, by [`resolve_for_delivery`].
pub fn parse(url: &str, allow_loopback: bool) -> Result<Url, EndpointError> {
    if url.len() > MAX_URL_LEN {
        return Err(EndpointError::TooLong);
    }
    let parsed = Url::parse(url).map_err(|e| EndpointError::Malformed(e.to_string()))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(EndpointError::Credentials);
    }
    let literal = match parsed.host() {
        Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        Some(Host::Domain(_)) => None,
        None => return Err(EndpointError::Malformed("the URL names no host".into())),
    };
    let loopback_name =
        matches!(parsed.host(), Some(Host::Domain(d)) if d.eq_ignore_ascii_case("localhost"));
    let loopback = loopback_name || literal.is_some_and(|a| a.is_loopback());
    match parsed.scheme() {
        "https" => {}
        "http" if allow_loopback && loopback => {}
        _ => return Err(EndpointError::NotHttps),
    }
    if let Some(address) = literal {
        check_address(host_of(&parsed), address, allow_loopback)?;
    }
    Ok(parsed)
}

fn host_of(url: &Url) -> String {
    url.host_str().unwrap_or_default().to_owned()
}

fn check_address(host: String, address: IpAddr, allow_loopback: bool) -> Result<(), EndpointError> {
    match non_public(address) {
        None => Ok(()),
        Some("loopback") if allow_loopback => Ok(()),
        Some(kind) => Err(EndpointError::NotPublic {
            host,
            address,
            kind,
        }),
    }
}

/// The addresses to deliver to `url` at, resolved now: every one must be public
/// (or loopback, when allowed). Connect to these, not to the name again, so
/// that the answer checked is the answer used.
pub async fn resolve_for_delivery(
    url: &Url,
    allow_loopback: bool,
) -> Result<Vec<SocketAddr>, EndpointError> {
    let host = host_of(url);
    let port = url.port_or_known_default().unwrap_or(443);
    let lookup = match url.host() {
        Some(Host::Ipv4(v4)) => vec![SocketAddr::new(IpAddr::V4(v4), port)],
        Some(Host::Ipv6(v6)) => vec![SocketAddr::new(IpAddr::V6(v6), port)],
        _ => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| EndpointError::Unresolved(host.clone()))?
            .collect(),
    };
    if lookup.is_empty() {
        return Err(EndpointError::Unresolved(host));
    }
    for address in &lookup {
        check_address(host.clone(), address.ip(), allow_loopback)?;
    }
    Ok(lookup)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> EndpointError {
        parse(url, false).expect_err(url)
    }

    #[test]
    fn only_https_without_credentials_is_accepted() {
        assert!(parse("https://hooks.example.com/in", false).is_ok());
        assert_eq!(
            refused("http://hooks.example.com/in"),
            EndpointError::NotHttps
        );
        assert_eq!(
            refused("ftp://hooks.example.com/in"),
            EndpointError::NotHttps
        );
        assert_eq!(
            refused("https://user:pw@hooks.example.com/"),
            EndpointError::Credentials
        );
        assert!(matches!(refused("not a url"), EndpointError::Malformed(_)));
        let long = format!("https://hooks.example.com/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(refused(&long), EndpointError::TooLong);
    }

    #[test]
    fn private_link_local_metadata_and_reserved_addresses_are_refused() {
        for url in [
            "https://10.0.0.5/",
            "https://172.16.1.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://127.0.0.1/",
            "https://[::1]/",
            "https://[fd00:ec2::254]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://[64:ff9b::a00:1]/",
            "https://224.0.0.1/",
            "https://255.255.255.255/",
            // Spellings of 127.0.0.1 that URL parsing normalises.
            "https://2130706433/",
            "https://0x7f.1/",
        ] {
            assert!(
                matches!(refused(url), EndpointError::NotPublic { .. }),
                "{url} was accepted"
            );
        }
        assert!(parse("https://93.184.216.34/", false).is_ok());
        assert!(parse("https://[2606:4700::1111]/", false).is_ok());
    }

    #[test]
    fn loopback_over_http_only_when_allowed() {
        assert_eq!(refused("http://127.0.0.1:8080/"), EndpointError::NotHttps);
        assert!(parse("http://127.0.0.1:8080/hook", true).is_ok());
        assert!(parse("http://localhost:8080/hook", true).is_ok());
        assert!(parse("http://[::1]:8080/hook", true).is_ok());
        // Allowing loopback allows nothing else.
        assert_eq!(
            parse("http://10.0.0.1/", true).unwrap_err(),
            EndpointError::NotHttps
        );
        assert!(matches!(
            parse("https://10.0.0.1/", true).unwrap_err(),
            EndpointError::NotPublic { .. }
        ));
    }

    #[tokio::test]
    async fn a_name_is_judged_by_what_it_resolves_to_at_delivery() {
        let localhost = Url::parse("https://localhost:9/hook").unwrap();
        assert!(matches!(
            resolve_for_delivery(&localhost, false).await,
            Err(EndpointError::NotPublic {
                kind: "loopback",
                ..
            })
        ));
        let allowed = resolve_for_delivery(&localhost, true).await.unwrap();
        assert!(allowed
            .iter()
            .all(|a| a.ip().is_loopback() && a.port() == 9));
        let nowhere = Url::parse("https://no-such-host.invalid/").unwrap();
        assert!(matches!(
            resolve_for_delivery(&nowhere, false).await,
            Err(EndpointError::Unresolved(_))
        ));
    }
}
