//! Idle memory of the real `rapport serve`: start the binary that sits next to this one
//! (standalone, defaults, a fresh data directory), wait until it reports SERVING, let it idle,
//! read its resident set from /proc, stop it with SIGTERM.

use std::{
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};

use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// How long the server idles before its memory is read.
pub const IDLE: Duration = Duration::from_secs(3);

/// Memory of an idle server.
#[derive(Debug, Clone, Copy)]
pub struct Idle {
    /// Resident set size, bytes.
    pub rss_bytes: u64,
    /// Peak resident set size so far, bytes.
    pub peak_bytes: u64,
    /// Time from spawn to SERVING.
    pub startup: Duration,
}

/// Why the measurement did not happen.
pub enum Skip {
    /// No binary to run.
    NoBinary(PathBuf),
    /// It ran but something failed.
    Failed(String),
}

/// Measures an idle standalone `rapport serve`.
pub async fn idle_serve() -> Result<Idle, Skip> {
    let exe = std::env::current_exe().map_err(|e| Skip::Failed(e.to_string()))?;
    let binary = exe.with_file_name(format!("rapport{}", std::env::consts::EXE_SUFFIX));
    if !binary.is_file() {
        return Err(Skip::NoBinary(binary));
    }
    let fail = |what: &str, e: &dyn std::fmt::Display| Skip::Failed(format!("{what}: {e}"));
    let dir = tempfile::tempdir().map_err(|e| fail("temp dir", &e))?;
    let listen = free_port().map_err(|e| fail("free port", &e))?;
    let metrics = free_port().map_err(|e| fail("free port", &e))?;
    let mut command = tokio::process::Command::new(&binary);
    command
        .arg("serve")
        .arg("--listen")
        .arg(listen.to_string())
        .arg("--metrics-listen")
        .arg(metrics.to_string())
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--shutdown-drain-secs")
        .arg("0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    // Standalone with defaults, whatever this shell has configured.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("RAPPORT_") {
            command.env_remove(key);
        }
    }
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| fail(&format!("cannot start {}", binary.display()), &e))?;
    let pid = child
        .id()
        .ok_or_else(|| Skip::Failed("the server exited at once".into()))?;

    let result = async {
        wait_serving(listen, &mut child).await?;
        let startup = started.elapsed();
        tokio::time::sleep(IDLE).await;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(|e| fail("cannot read /proc", &e))?;
        Ok(Idle {
            rss_bytes: status_kib(&status, "VmRSS:").unwrap_or(0) * 1024,
            peak_bytes: status_kib(&status, "VmHWM:").unwrap_or(0) * 1024,
            startup,
        })
    }
    .await;

    // SIGTERM for a graceful stop, as an orchestrator would; SIGKILL if it lingers.
    let _ = tokio::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .await;
    if tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
    result
}

async fn wait_serving(
    addr: std::net::SocketAddr,
    child: &mut tokio::process::Child,
) -> Result<(), Skip> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(code)) = child.try_wait() {
            return Err(Skip::Failed(format!("rapport serve exited with {code}")));
        }
        if serving(addr).await {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Skip::Failed(
                "rapport serve did not report SERVING within 30 s".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn serving(addr: std::net::SocketAddr) -> bool {
    let check = async {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .ok()?
            .connect()
            .await
            .ok()?;
        let reply = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .ok()?;
        Some(reply.into_inner().status() == ServingStatus::Serving)
    };
    tokio::time::timeout(Duration::from_secs(1), check)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> std::io::Result<std::net::SocketAddr> {
    std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// The value in KiB of `field` (e.g. `VmRSS:`) in a /proc status file.
fn status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::status_kib;

    #[test]
    fn reads_proc_status_fields() {
        let status = "Name:\trapport\nVmHWM:\t   30000 kB\nVmRSS:\t   24576 kB\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(24576));
        assert_eq!(status_kib(status, "VmHWM:"), Some(30000));
        assert_eq!(status_kib(status, "VmSwap:"), None);
    }
}
