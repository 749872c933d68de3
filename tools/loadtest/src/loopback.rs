//! The one rule every address in this tool obeys: 127.0.0.1 only. Load and faults are aimed at
//! a machine on purpose; a typo must not aim them at someone else's.

use std::net::{Ipv4Addr, SocketAddr};

/// `Ok` for 127.0.0.1:port, an error naming the address otherwise.
pub fn require(addr: &SocketAddr) -> Result<(), String> {
    if addr.ip() == Ipv4Addr::LOCALHOST {
        Ok(())
    } else {
        Err(format!(
            "refusing {addr}: this tool only talks to 127.0.0.1"
        ))
    }
}

/// Parses `http://127.0.0.1:PORT[/…]` (the only base URL accepted) into its socket address.
pub fn base_url(url: &str) -> Result<SocketAddr, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("refusing {url}: only http://127.0.0.1:PORT"))?;
    let host_port = rest.split('/').next().unwrap_or_default();
    let addr: SocketAddr = host_port
        .parse()
        .map_err(|_| format!("refusing {url}: only http://127.0.0.1:PORT"))?;
    require(&addr)?;
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ipv4_loopback_passes() {
        assert!(base_url("http://127.0.0.1:8080").is_ok());
        assert!(base_url("http://127.0.0.1:8080/v1").is_ok());
        for bad in [
            "http://localhost:8080",
            "https://127.0.0.1:8080",
            "http://10.0.0.7:8080",
            "http://[::1]:8080",
            "http://0.0.0.0:8080",
            "http://127.0.0.2:8080",
            "127.0.0.1:8080",
        ] {
            assert!(base_url(bad).is_err(), "{bad}");
        }
    }
}
