//! Where HTTP and conductor tasks may connect. Link-local and cloud metadata
//! addresses are refused by default — after DNS resolution, so a name that resolves to one is
//! refused too — unless an allowed network covers them.

use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

use actix_tls::connect::Resolve;
use futures_util::future::LocalBoxFuture;
use ipnet::IpNet;

use crate::domain::net::parse_net;

/// The refused and the explicitly allowed networks; an allowed network wins.
#[derive(Debug, Clone, Default)]
pub struct NetPolicy {
    blocked: Vec<IpNet>,
    allowed: Vec<IpNet>,
}

impl NetPolicy {
    /// From `execution.http.blocked_networks` / `allowed_networks` (validated at config load).
    pub fn new(blocked: &[String], allowed: &[String]) -> Result<NetPolicy, String> {
        let parse = |v: &[String]| {
            v.iter()
                .map(|s| parse_net(s))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(NetPolicy {
            blocked: parse(blocked)?,
            allowed: parse(allowed)?,
        })
    }

    /// True when a task may not connect to `ip`. An IPv4-mapped IPv6 address is judged as the
    /// IPv4 address it carries.
    pub fn refuses(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.blocked.iter().any(|n| n.contains(&ip))
            && !self.allowed.iter().any(|n| n.contains(&ip))
    }

    /// The refusal message for `ip` (for the execution's error).
    pub fn message(ip: IpAddr) -> String {
        format!("address {ip} is blocked by execution.http.blocked_networks")
    }
}

#[derive(Debug)]
struct Blocked(String);

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Blocked {}

/// The client's resolver: looks the name up, then keeps only the addresses the policy allows.
/// Connections use exactly these addresses, so a name cannot resolve to a blocked address
/// between the check and the connect.
pub struct PolicyResolver(pub Rc<NetPolicy>);

impl Resolve for PolicyResolver {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> LocalBoxFuture<'a, Result<Vec<SocketAddr>, Box<dyn std::error::Error>>> {
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
            let (ok, refused): (Vec<SocketAddr>, Vec<SocketAddr>) =
                found.into_iter().partition(|a| !self.0.refuses(a.ip()));
            match (ok.is_empty(), refused.first()) {
                (true, Some(a)) => Err(Box::new(Blocked(format!(
                    "{host}: {}",
                    NetPolicy::message(a.ip())
                ))) as Box<dyn std::error::Error>),
                _ => Ok(ok),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|_| IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn blocked_unless_allowed() {
        let p = NetPolicy::new(
            &[
                "169.254.0.0/16".into(),
                "fe80::/10".into(),
                "100.100.100.200".into(),
                "127.0.0.0/8".into(),
            ],
            &["127.0.0.2/32".into()],
        )
        .unwrap_or_default();
        assert!(p.refuses(ip("169.254.169.254")));
        assert!(
            p.refuses(ip("::ffff:169.254.169.254")),
            "mapped IPv6 must not bypass"
        );
        assert!(p.refuses(ip("fe80::1")));
        assert!(p.refuses(ip("100.100.100.200")));
        assert!(!p.refuses(ip("100.100.100.201")));
        assert!(p.refuses(ip("127.0.0.1")));
        assert!(!p.refuses(ip("127.0.0.2")));
        assert!(!p.refuses(ip("10.0.0.1")));
    }
}
