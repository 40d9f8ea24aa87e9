//! What [`Server::bind`](super::Server::bind) accepts: the addresses of `ToSocketAddrs`, plus
//! Go's `:port` (every interface), and errors that name the address.

use crate::Error;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, ToSocketAddrs};

/// An address to listen on: what [`std::net::ToSocketAddrs`] accepts (`"127.0.0.1:9100"`,
/// `"localhost:9100"`, a [`SocketAddr`], `(ip, port)`), plus the Go exporters'
/// `--web.listen-address` form `":9100"`, an empty host meaning every IPv4 interface
/// (`0.0.0.0:9100`).
///
/// ```
/// use promexport::ListenAddress;
/// assert_eq!(":9100".socket_addrs()?, ["0.0.0.0:9100".parse().unwrap()]);
/// assert_eq!("127.0.0.1:9100".socket_addrs()?, ["127.0.0.1:9100".parse().unwrap()]);
/// # Ok::<(), promexport::Error>(())
/// ```
pub trait ListenAddress {
    /// The socket addresses to try, in order; an error naming the address when there are none.
    fn socket_addrs(&self) -> Result<Vec<SocketAddr>, Error>;
}

fn resolve(shown: &str, addr: impl ToSocketAddrs) -> Result<Vec<SocketAddr>, Error> {
    let context = |error: std::io::Error| {
        Error::Io(std::io::Error::new(
            error.kind(),
            format!("cannot listen on {shown}: {error}"),
        ))
    };
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs().map_err(context)?.collect();
    if addrs.is_empty() {
        return Err(context(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it resolves to no address",
        )));
    }
    Ok(addrs)
}

impl ListenAddress for str {
    fn socket_addrs(&self) -> Result<Vec<SocketAddr>, Error> {
        let shown = format!("{self:?}");
        match self.strip_prefix(':') {
            // Go's `net.Listen` reads an empty host as every interface; getaddrinfo("") fails.
            Some(port) => resolve(&shown, (Ipv4Addr::UNSPECIFIED, port_number(&shown, port)?)),
            None => resolve(&shown, self),
        }
    }
}

fn port_number(shown: &str, port: &str) -> Result<u16, Error> {
    port.parse().map_err(|_| {
        Error::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("cannot listen on {shown}: `{port}` is not a port number (0 to 65535)"),
        ))
    })
}

impl ListenAddress for String {
    fn socket_addrs(&self) -> Result<Vec<SocketAddr>, Error> {
        self.as_str().socket_addrs()
    }
}

impl<T: ListenAddress + ?Sized> ListenAddress for &T {
    fn socket_addrs(&self) -> Result<Vec<SocketAddr>, Error> {
        (**self).socket_addrs()
    }
}

impl ListenAddress for (&str, u16) {
    fn socket_addrs(&self) -> Result<Vec<SocketAddr>, Error> {
        match self.0 {
            "" => resolve(&format!("{:?}", self), (Ipv4Addr::UNSPECIFIED, self.1)),
            host => resolve(&format!("{:?}", self), (host, self.1)),
        }
    }
}

impl ListenAddress for (String, u16) {
    fn socket_addrs(&self) -> Result<Vec<SocketAddr>, Error> {
        (self.0.as_str(), self.1).socket_addrs()
    }
}

/// Addresses that need no lookup.
macro_rules! resolved {
    ($($address:ty),*) => {$(
        impl ListenAddress for $address {
            fn socket_addrs(&self) -> Result<Vec<SocketAddr>, Error> {
                resolve(&format!("{:?}", self), *self)
            }
        }
    )*};
}

resolved!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ListenAddress for [SocketAddr] {
    fn socket_addrs(&self) -> Result<Vec<SocketAddr>, Error> {
        resolve(&format!("{self:?}"), self)
    }
}

#[cfg(test)]
mod tests {
    use super::ListenAddress;
    use std::net::SocketAddr;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_empty_host_is_every_interface() {
        assert_eq!(":9100".socket_addrs().unwrap(), [addr("0.0.0.0:9100")]);
        assert_eq!(
            String::from(":0").socket_addrs().unwrap(),
            [addr("0.0.0.0:0")]
        );
        assert_eq!(("", 9100).socket_addrs().unwrap(), [addr("0.0.0.0:9100")]);
        assert_eq!("[::1]:9100".socket_addrs().unwrap(), [addr("[::1]:9100")]);
    }

    #[test]
    fn errors_name_the_address() {
        for (bad, named) in [
            (":http", "\":http\""),
            (":70000", "\":70000\""),
            ("127.0.0.1:port", "\"127.0.0.1:port\""),
            ("no port", "\"no port\""),
        ] {
            let error = bad.socket_addrs().unwrap_err().to_string();
            assert!(error.contains(named), "{error}");
        }
    }
}
