//! Networks named in configuration: a CIDR (`10.0.0.0/8`) or a single address.

use std::net::IpAddr;

use ipnet::IpNet;

/// Parses a CIDR (`10.0.0.0/8`) or a single address (`100.100.100.200`).
pub fn parse_net(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{s}` is not a CIDR network or an IP address"))
}

#[cfg(test)]
mod tests {
    use super::parse_net;

    #[test]
    fn networks_and_single_addresses_parse() {
        assert_eq!(parse_net(" 10.0.0.0/8 ").map(|n| n.prefix_len()), Ok(8));
        assert_eq!(parse_net("100.100.100.200").map(|n| n.prefix_len()), Ok(32));
        assert_eq!(parse_net("::1").map(|n| n.prefix_len()), Ok(128));
        assert!(parse_net("nope").is_err());
        assert!(parse_net("10.0.0.0/33").is_err());
    }
}
