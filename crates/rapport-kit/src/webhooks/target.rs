//! Where a webhook may go. A partner's URL must not reach into the network the servers run
//! in (server-side request forgery): only http and https URLs with a host are accepted, and
//! every address the host stands for must be a public one. Refused are the unspecified,
//! loopback, private (RFC 1918), shared (CGNAT, 100.64.0.0/10), link-local, unique-local,
//! site-local, multicast, broadcast, documentation, benchmarking and reserved ranges, and IPv6
//! addresses that carry such an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4).
//!
//! The operator may allow networks anyway (a receiver on the internal network, tests on
//! loopback) with an allow-list of CIDR blocks, e.g. from `RAPPORT_WEBHOOK_ALLOW_NETWORKS`.
//!
//! This module decides on URLs and addresses; resolving a host is the sender's
//! ([`super::send::resolve`]), which connects to the very addresses it checked.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    str::FromStr,
};

use rapport_runtime::validation::FieldViolation;
use url::{Host, Position, Url};

/// The variable (and flag) operators set to allow networks, e.g. `10.20.0.0/16,fd00::/8`.
pub const ALLOW_NETWORKS_ENV: &str = "RAPPORT_WEBHOOK_ALLOW_NETWORKS";

/// Longest URL accepted.
pub const MAX_URL: usize = 2048;

/// A block of addresses in CIDR notation (`10.0.0.0/8`, `::1/128`; a bare address is a block
/// of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Self {
        Self {
            addr: IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
            prefix,
        }
    }

    /// An IPv6 block from the address's 128 bits, e.g. `0xfc00 << 112` for `fc00::`.
    const fn v6(bits: u128, prefix: u8) -> Self {
        Self {
            addr: IpAddr::V6(Ipv6Addr::from_bits(bits)),
            prefix,
        }
    }

    /// Whether `ip` is in the block (an IPv4 block holds no IPv6 address and the other way
    /// round).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or a CIDR block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(p) if p <= max => p,
                _ => return Err(format!("{s:?} has a prefix length other than 0 to {max}")),
            },
        };
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The refused ranges and what each is.
const REFUSED: &[(Network, &str)] = &[
    (Network::v4(0, 0, 0, 0, 32), "the unspecified address"),
    (Network::v4(0, 0, 0, 0, 8), "a \"this network\" address"),
    (Network::v4(127, 0, 0, 0, 8), "a loopback address"),
    (Network::v4(10, 0, 0, 0, 8), "a private address"),
    (Network::v4(172, 16, 0, 0, 12), "a private address"),
    (Network::v4(192, 168, 0, 0, 16), "a private address"),
    (Network::v4(100, 64, 0, 0, 10), "a shared (CGNAT) address"),
    (Network::v4(169, 254, 0, 0, 16), "a link-local address"),
    (Network::v4(192, 0, 0, 0, 24), "an IETF protocol address"),
    (Network::v4(192, 0, 2, 0, 24), "a documentation address"),
    (Network::v4(198, 51, 100, 0, 24), "a documentation address"),
    (Network::v4(203, 0, 113, 0, 24), "a documentation address"),
    (Network::v4(198, 18, 0, 0, 15), "a benchmarking address"),
    (Network::v4(224, 0, 0, 0, 4), "a multicast address"),
    (Network::v4(255, 255, 255, 255, 32), "the broadcast address"),
    (Network::v4(240, 0, 0, 0, 4), "a reserved address"),
    (Network::v6(0, 128), "the unspecified address"),
    (Network::v6(1, 128), "a loopback address"),
    (Network::v6(0xfc00 << 112, 7), "a unique-local address"),
    (Network::v6(0xfe80 << 112, 10), "a link-local address"),
    (Network::v6(0xfec0 << 112, 10), "a site-local address"),
    (Network::v6(0xff00 << 112, 8), "a multicast address"),
    (
        Network::v6(0x2001_0db8 << 96, 32),
        "a documentation address",
    ),
    (Network::v6(0x3fff << 112, 20), "a documentation address"),
    (Network::v6(0x0100 << 112, 64), "a discard-only address"),
];

/// IPv6 forms that carry an IPv4 address, and where it sits (the bits above it).
const CARRIERS: &[(Network, u32, &str)] = &[
    (Network::v6(0xffff << 32, 96), 0, "an IPv4-mapped"),
    (Network::v6(0, 96), 0, "an IPv4-compatible"),
    (Network::v6(0x0064_ff9b << 96, 96), 0, "a NAT64"),
    (Network::v6(0x2002 << 112, 16), 80, "a 6to4"),
];

/// The IPv4 address an IPv6 address carries, and the form that carries it (`::` and `::1` are
/// themselves, not IPv4-compatible forms).
fn carried(ip: Ipv6Addr) -> Option<(Ipv4Addr, &'static str)> {
    if u128::from(ip) <= 1 {
        return None;
    }
    CARRIERS
        .iter()
        .find(|(net, _, _)| net.contains(IpAddr::V6(ip)))
        .map(|(_, shift, form)| (Ipv4Addr::from((u128::from(ip) >> shift) as u32), *form))
}

/// Why `ip` may not be a webhook's target, as the end of a sentence ("10.0.0.5 is …"), or
/// `None` when it is a public address. Ignores any allow-list.
pub fn refusal(ip: IpAddr) -> Option<String> {
    if let IpAddr::V6(v6) = ip
        && let Some((v4, form)) = carried(v6)
        && let Some(why) = refusal(IpAddr::V4(v4))
    {
        return Some(format!("{form} form of {v4}, {why}"));
    }
    REFUSED
        .iter()
        .find(|(net, _)| net.contains(ip))
        .map(|(_, why)| (*why).to_owned())
}

/// A webhook URL that passed the checks that need no lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    url: Url,
}

impl Target {
    /// The URL, normalized.
    pub fn url(&self) -> &Url {
        &self.url
    }
    /// Whether it is an https URL.
    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }
    /// The host: a name, or an address without brackets.
    pub fn host(&self) -> String {
        match self.url.host() {
            Some(Host::Ipv6(ip)) => ip.to_string(),
            Some(host) => host.to_string(),
            None => String::new(),
        }
    }
    /// The address the URL names, when it names one rather than a host name.
    pub fn ip(&self) -> Option<IpAddr> {
        match self.url.host()? {
            Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            Host::Domain(_) => None,
        }
    }
    /// The port, the scheme's when the URL gives none.
    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(80)
    }
    /// The `Host` header: the host as the URL writes it, and the port when it is not the
    /// scheme's.
    pub fn authority(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }
    /// The path and query to request (`/` at least).
    pub fn path_and_query(&self) -> &str {
        &self.url[Position::BeforePath..Position::AfterQuery]
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.url.fmt(f)
    }
}

/// The target policy: refused ranges, less what the operator allows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    allow: Vec<Network>,
}

impl Policy {
    /// A policy that allows the addresses of `allow` even when they are in a refused range.
    pub fn allowing(allow: Vec<Network>) -> Self {
        Self { allow }
    }

    /// A policy that allows every address, for a target the operator configured rather than a
    /// partner (the SMS gateway of [`crate::channels`]): it is trusted as the rest of the
    /// server's configuration is, and often runs on the internal network or beside the server.
    /// The URL checks (http or https, a host, no credentials) still apply.
    pub fn unrestricted() -> Self {
        Self::allowing(vec![Network::v4(0, 0, 0, 0, 0), Network::v6(0, 0)])
    }

    /// The networks it allows.
    pub fn allowed(&self) -> &[Network] {
        &self.allow
    }

    /// Whether the allow-list covers `ip`, or the IPv4 address it carries.
    fn allows(&self, ip: IpAddr) -> bool {
        let carried = match ip {
            IpAddr::V6(v6) => carried(v6).map(|(v4, _)| IpAddr::V4(v4)),
            IpAddr::V4(_) => None,
        };
        self.allow
            .iter()
            .any(|net| net.contains(ip) || carried.is_some_and(|v4| net.contains(v4)))
    }

    /// Checks one address `field`'s URL stands for; `host` is its name when the URL gives a
    /// name, for the message ("url: example.com resolves to 10.0.0.5, a private address").
    pub fn check_ip(
        &self,
        field: &str,
        host: Option<&str>,
        ip: IpAddr,
    ) -> Result<(), FieldViolation> {
        if self.allows(ip) {
            return Ok(());
        }
        match refusal(ip) {
            None => Ok(()),
            Some(why) => Err(violation(
                field,
                match host {
                    Some(host) => format!("{host} resolves to {ip}, {why}"),
                    None => format!("{ip} is {why}"),
                },
            )),
        }
    }

    /// Reads the URL in `field`: http or https, with a host, no user name or password, at most
    /// [`MAX_URL`] characters; an address in it is checked here, a host name when it is
    /// resolved. The fragment is dropped (it is never sent).
    pub fn parse_url(&self, field: &str, raw: &str) -> Result<Target, FieldViolation> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(violation(field, "is required"));
        }
        if raw.chars().count() > MAX_URL {
            return Err(violation(
                field,
                format!("must be at most {MAX_URL} characters"),
            ));
        }
        let mut url =
            Url::parse(raw).map_err(|e| violation(field, format!("is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(violation(
                field,
                format!("must be an http or https URL, not {}", url.scheme()),
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(violation(field, "must not contain a user name or password"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(violation(field, "must name a host"));
        }
        url.set_fragment(None);
        let target = Target { url };
        if let Some(ip) = target.ip() {
            self.check_ip(field, None, ip)?;
        }
        Ok(target)
    }
}

impl FromStr for Policy {
    type Err = String;
    /// Reads an allow-list: CIDR blocks separated by commas or whitespace; empty allows nothing.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|part| !part.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(Self::allowing)
    }
}

pub(super) fn violation(field: &str, description: impl Into<String>) -> FieldViolation {
    FieldViolation {
        field: field.to_owned(),
        description: description.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_url(policy: &Policy, url: &str) -> String {
        policy.parse_url("url", url).unwrap_err().to_string()
    }

    #[test]
    fn every_internal_range_is_refused_by_name() {
        let cases = [
            ("http://0.0.0.0/", "url: 0.0.0.0 is the unspecified address"),
            (
                "http://0.1.2.3/",
                "url: 0.1.2.3 is a \"this network\" address",
            ),
            ("http://127.0.0.1/", "url: 127.0.0.1 is a loopback address"),
            ("http://127.9.9.9/", "url: 127.9.9.9 is a loopback address"),
            ("http://10.0.0.5/", "url: 10.0.0.5 is a private address"),
            ("http://172.16.0.1/", "url: 172.16.0.1 is a private address"),
            (
                "http://172.31.255.255/",
                "url: 172.31.255.255 is a private address",
            ),
            (
                "http://192.168.1.1/",
                "url: 192.168.1.1 is a private address",
            ),
            (
                "http://100.64.0.1/",
                "url: 100.64.0.1 is a shared (CGNAT) address",
            ),
            (
                "http://100.127.255.254/",
                "url: 100.127.255.254 is a shared (CGNAT) address",
            ),
            (
                "http://169.254.169.254/",
                "url: 169.254.169.254 is a link-local address",
            ),
            (
                "http://192.0.0.8/",
                "url: 192.0.0.8 is an IETF protocol address",
            ),
            (
                "http://192.0.2.1/",
                "url: 192.0.2.1 is a documentation address",
            ),
            (
                "http://198.51.100.7/",
                "url: 198.51.100.7 is a documentation address",
            ),
            (
                "http://203.0.113.9/",
                "url: 203.0.113.9 is a documentation address",
            ),
            (
                "http://198.19.0.1/",
                "url: 198.19.0.1 is a benchmarking address",
            ),
            ("http://224.0.0.1/", "url: 224.0.0.1 is a multicast address"),
            (
                "http://239.255.255.250/",
                "url: 239.255.255.250 is a multicast address",
            ),
            (
                "http://255.255.255.255/",
                "url: 255.255.255.255 is the broadcast address",
            ),
            ("http://240.0.0.1/", "url: 240.0.0.1 is a reserved address"),
            ("http://[::]/", "url: :: is the unspecified address"),
            ("http://[::1]:8080/", "url: ::1 is a loopback address"),
            (
                "http://[fc00::1]/",
                "url: fc00::1 is a unique-local address",
            ),
            (
                "http://[fd12:3456::1]/",
                "url: fd12:3456::1 is a unique-local address",
            ),
            ("http://[fe80::1]/", "url: fe80::1 is a link-local address"),
            ("http://[fec0::1]/", "url: fec0::1 is a site-local address"),
            ("http://[ff02::1]/", "url: ff02::1 is a multicast address"),
            (
                "http://[2001:db8::1]/",
                "url: 2001:db8::1 is a documentation address",
            ),
            (
                "http://[3fff::1]/",
                "url: 3fff::1 is a documentation address",
            ),
            ("http://[100::1]/", "url: 100::1 is a discard-only address"),
            (
                "http://[::ffff:127.0.0.1]/",
                "url: ::ffff:127.0.0.1 is an IPv4-mapped form of 127.0.0.1, a loopback address",
            ),
            (
                "http://[::ffff:a00:5]/",
                "url: ::ffff:10.0.0.5 is an IPv4-mapped form of 10.0.0.5, a private address",
            ),
            (
                "http://[::169.254.169.254]/",
                "url: ::a9fe:a9fe is an IPv4-compatible form of 169.254.169.254, a link-local address",
            ),
            (
                "http://[64:ff9b::192.168.0.1]/",
                "url: 64:ff9b::c0a8:1 is a NAT64 form of 192.168.0.1, a private address",
            ),
            (
                "http://[2002:7f00:1::]/",
                "url: 2002:7f00:1:: is a 6to4 form of 127.0.0.1, a loopback address",
            ),
            // Other spellings of an IPv4 address are read as browsers read them.
            ("http://2130706433/", "url: 127.0.0.1 is a loopback address"),
            ("http://0x7f.1/", "url: 127.0.0.1 is a loopback address"),
            ("http://0177.0.0.1/", "url: 127.0.0.1 is a loopback address"),
        ];
        for (url, want) in cases {
            assert_eq!(refused_url(&Policy::default(), url), want, "{url}");
        }
    }

    #[test]
    fn public_addresses_and_names_pass() {
        let p = Policy::default();
        for url in [
            "https://203.0.114.1/hook",
            "http://8.8.8.8:8080/a?b=c",
            "https://[2606:4700::1111]/",
            "https://[::ffff:8.8.8.8]/",
            "https://hooks.example.com/x",
            "http://172.32.0.1/",
            "http://100.128.0.1/",
        ] {
            assert!(p.parse_url("url", url).is_ok(), "{url}");
        }
    }

    #[test]
    fn only_http_urls_with_a_host_and_no_credentials() {
        let p = Policy::default();
        let cases = [
            ("", "url: is required"),
            (
                "ftp://example.com/",
                "url: must be an http or https URL, not ftp",
            ),
            (
                "file:///etc/passwd",
                "url: must be an http or https URL, not file",
            ),
            (
                "example.com/hook",
                "url: is not a URL: relative URL without a base",
            ),
            (
                "https://user:pw@example.com/",
                "url: must not contain a user name or password",
            ),
            (
                "https://user@example.com/",
                "url: must not contain a user name or password",
            ),
        ];
        for (url, want) in cases {
            assert_eq!(refused_url(&p, url), want, "{url}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL));
        assert_eq!(
            refused_url(&p, &long),
            "url: must be at most 2048 characters"
        );
    }

    #[test]
    fn a_target_knows_what_to_connect_to_and_request() {
        let p = Policy::default();
        let t = p
            .parse_url("url", " https://Hooks.Example.com:8443/in/coming?x=1#frag ")
            .unwrap();
        assert_eq!(t.host(), "hooks.example.com");
        assert_eq!(t.port(), 8443);
        assert_eq!(t.authority(), "hooks.example.com:8443");
        assert_eq!(t.path_and_query(), "/in/coming?x=1");
        assert!(t.is_https());
        assert_eq!(t.ip(), None);
        assert_eq!(
            t.to_string(),
            "https://hooks.example.com:8443/in/coming?x=1"
        );
        let t = p.parse_url("url", "http://[2606:4700::1111]").unwrap();
        assert_eq!((t.host().as_str(), t.port()), ("2606:4700::1111", 80));
        assert_eq!(t.authority(), "[2606:4700::1111]");
        assert_eq!(t.path_and_query(), "/");
    }

    #[test]
    fn the_allow_list_lets_its_networks_through() {
        let p: Policy = "127.0.0.0/8, 10.1.0.0/16 fd00::/8".parse().unwrap();
        for url in [
            "http://127.0.0.1:9000/",
            "http://10.1.2.3/",
            "http://[fd00::5]/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            assert!(p.parse_url("url", url).is_ok(), "{url}");
        }
        assert_eq!(
            refused_url(&p, "http://10.2.0.1/"),
            "url: 10.2.0.1 is a private address"
        );
        assert_eq!(
            refused_url(&p, "http://[::1]/"),
            "url: ::1 is a loopback address"
        );
        let everything: Policy = "0.0.0.0/0,::/0".parse().unwrap();
        assert_eq!(everything, Policy::unrestricted());
        assert!(everything.parse_url("url", "http://[::1]/").is_ok());
        assert!(
            everything
                .parse_url("url", "http://169.254.169.254/")
                .is_ok()
        );
    }

    #[test]
    fn resolved_addresses_are_refused_naming_the_host() {
        let p = Policy::default();
        let ip: IpAddr = "10.0.0.5".parse().unwrap();
        assert_eq!(
            p.check_ip("url", Some("internal.example"), ip)
                .unwrap_err()
                .to_string(),
            "url: internal.example resolves to 10.0.0.5, a private address"
        );
    }

    #[test]
    fn allow_lists_are_read_strictly() {
        assert_eq!(Policy::from_str("").unwrap(), Policy::default());
        let p: Policy = "192.168.1.1".parse().unwrap();
        assert_eq!(p.allowed()[0].to_string(), "192.168.1.1/32");
        assert_eq!(
            Policy::from_str("10.0.0.0/33").unwrap_err(),
            "\"10.0.0.0/33\" has a prefix length other than 0 to 32"
        );
        assert_eq!(
            Policy::from_str("intranet").unwrap_err(),
            "\"intranet\" is not an IP address or a CIDR block"
        );
        assert!(Policy::from_str("::/129").is_err());
    }
}
