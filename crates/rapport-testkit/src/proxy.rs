//! A TCP proxy between a server and a dependency (Redis, PostgreSQL, a peer), for tests that cut
//! the dependency off and bring it back, as a network partition or a restart would.
//!
//! While cut, the proxy drops every connection it carries and every new one as soon as it is
//! accepted (the client sees its connection reset or closed, as when the other end restarts), or,
//! with [`Proxy::stall`], holds them open and forwards nothing (as a partition that drops
//! packets: the client waits for answers that never come).

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU8, AtomicU64, Ordering},
    },
};

use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream},
    sync::watch,
};

const OPEN: u8 = 0;
const CUT: u8 = 1;
const STALLED: u8 = 2;

/// A running proxy; dropping it stops it.
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    state: Arc<AtomicU8>,
    /// Bumped on every cut: connections of an earlier generation end.
    generation: watch::Sender<u64>,
    accepted: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Forwards connections to `127.0.0.1:<port of target>` on a new port of 127.0.0.1.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let state = Arc::new(AtomicU8::new(OPEN));
        let (generation, _) = watch::channel(0u64);
        let accepted = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn({
            let (state, generation, accepted) =
                (state.clone(), generation.clone(), accepted.clone());
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    accepted.fetch_add(1, Ordering::Relaxed);
                    if state.load(Ordering::Acquire) == CUT {
                        drop(client);
                        continue;
                    }
                    let (state, ended) = (state.clone(), generation.subscribe());
                    tokio::spawn(carry(client, target, state, ended));
                }
            }
        });
        Proxy {
            addr,
            state,
            generation,
            accepted,
            task,
        }
    }

    /// A proxy in front of the `host:port` in `url` (e.g. `redis://127.0.0.1:6379/0`), and
    /// `url` pointing at the proxy instead.
    pub async fn for_url(url: &str) -> (Proxy, String) {
        let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((u, h)) => (format!("{u}@"), h),
            None => (String::new(), authority),
        };
        let target: SocketAddr = tokio::net::lookup_host(host_port)
            .await
            .expect("resolve the target")
            .find(SocketAddr::is_ipv4)
            .expect("an IPv4 address of the target");
        let proxy = Proxy::start(target).await;
        let url = format!("{scheme}://{userinfo}{}/{path}", proxy.addr);
        (proxy, url)
    }

    /// Drops every connection, and every new one while cut.
    pub fn cut(&self) {
        self.state.store(CUT, Ordering::Release);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Keeps connections open but forwards nothing, either way, until restored; new
    /// connections are accepted and stall too.
    pub fn stall(&self) {
        self.state.store(STALLED, Ordering::Release);
    }

    /// Forwards again: new connections reach the target (connections dropped by a cut stay
    /// dropped; stalled ones resume).
    pub fn restore(&self) {
        self.state.store(OPEN, Ordering::Release);
    }

    /// Connections accepted so far (including those refused while cut).
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

/// Carries one connection until either side closes it or a cut ends its generation.
async fn carry(
    client: TcpStream,
    target: SocketAddr,
    state: Arc<AtomicU8>,
    mut ended: watch::Receiver<u64>,
) {
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let start = *ended.borrow_and_update();
    let up = pump(&mut cr, &mut sw, state.clone());
    let down = pump(&mut sr, &mut cw, state);
    tokio::select! {
        _ = async { tokio::join!(up, down) } => {}
        _ = async {
            while ended.changed().await.is_ok() {
                if *ended.borrow() != start {
                    return;
                }
            }
        } => {}
    }
    let _ = cw.shutdown().await;
    let _ = sw.shutdown().await;
}

/// Copies `from` to `to` while the proxy is not stalled.
async fn pump(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    state: Arc<AtomicU8>,
) {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while state.load(Ordering::Acquire) == STALLED {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn echo(addr: SocketAddr) -> std::io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        tokio::time::timeout(std::time::Duration::from_secs(2), s.read_exact(&mut buf))
            .await
            .map_err(|_| std::io::Error::other("timed out"))??;
        Ok(buf.to_vec())
    }

    #[tokio::test]
    async fn forwards_cuts_and_restores() {
        let proxy = Proxy::start(echo_server().await).await;
        assert_eq!(echo(proxy.addr).await.expect("through"), b"ping");
        let mut held = TcpStream::connect(proxy.addr).await.expect("connect");
        proxy.cut();
        assert!(echo(proxy.addr).await.is_err(), "refused while cut");
        let mut buf = [0u8; 1];
        let read = tokio::time::timeout(std::time::Duration::from_secs(2), held.read(&mut buf))
            .await
            .expect("the held connection ends");
        assert!(matches!(read, Ok(0) | Err(_)));
        proxy.restore();
        assert_eq!(echo(proxy.addr).await.expect("back"), b"ping");
    }
}
