//! Helpers of the I/O scenarios: peers on plain threads (outside any runtime and any
//! scope), and a look at the process's open descriptors.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// The loopback address with a port chosen by the OS.
pub(crate) fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A TCP server on a thread of its own: it accepts one connection, writes `reply` after
/// `after` of real time (or nothing, for `None`), then holds the connection open until
/// the client closes it (or 30 s pass).
pub(crate) fn peer(after: Option<Duration>, reply: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind(loopback()).expect("bind a loopback peer");
    let addr = listener.local_addr().expect("the peer's address");
    std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else {
            return;
        };
        if let Some(after) = after {
            std::thread::sleep(after);
            let _ = conn.write_all(reply);
        }
        let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
        let mut sink = [0u8; 64];
        while matches!(conn.read(&mut sink), Ok(n) if n > 0) {}
    });
    addr
}

/// A client on a thread of its own: connects to `addr`, then reports what reading gives:
/// `Ok(0)` when the server closed the connection.
pub(crate) fn client(addr: SocketAddr) -> std::thread::JoinHandle<std::io::Result<usize>> {
    std::thread::spawn(move || {
        let mut conn = TcpStream::connect(addr)?;
        conn.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut buf = [0u8; 64];
        conn.read(&mut buf)
    })
}

/// The inodes of this process's open sockets bound to a local TCP or UDP `port` on
/// loopback (from `/proc/net/{tcp,udp}`), that some descriptor of the process refers to.
/// Empty where `/proc` is missing.
pub(crate) fn open_sockets_on(port: u16) -> Vec<u64> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/udp"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(inode)) = (fields.get(1), fields.get(9)) else {
                continue;
            };
            let local_port = local
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port)
                && let Ok(inode) = inode.parse::<u64>()
                && inode != 0
            {
                inodes.push(inode);
            }
        }
    }
    let ours = open_socket_inodes();
    inodes.retain(|inode| ours.contains(inode));
    inodes
}

/// The socket inodes the process's descriptors refer to.
fn open_socket_inodes() -> Vec<u64> {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    dir.filter_map(|entry| {
        let link = std::fs::read_link(entry.ok()?.path()).ok()?;
        let link = link.to_str()?;
        link.strip_prefix("socket:[")?
            .strip_suffix(']')?
            .parse()
            .ok()
    })
    .collect()
}

/// Whether the descriptor table of this process can be read (Linux).
pub(crate) fn can_see_descriptors() -> bool {
    std::path::Path::new("/proc/self/fd").exists() && std::path::Path::new("/proc/net/tcp").exists()
}

/// Sends `SIGUSR1` to this process, from the `kill` command (no `unsafe` needed).
pub(crate) fn raise_sigusr1() -> std::io::Result<()> {
    let status = std::process::Command::new("kill")
        .args(["-USR1", &std::process::id().to_string()])
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "kill -USR1 failed: {status}"
        )))
    }
}
