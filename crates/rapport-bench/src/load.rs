//! A closed-loop load driver: each worker sends its next request as soon as the previous one
//! answers, for a warm-up and then a measured window; latencies of the window are kept whole
//! (one `u32` of microseconds per request), so percentiles are exact.

use std::time::{Duration, Instant};

/// One kind of request a worker repeats.
pub trait Op: Send + 'static {
    /// Sends one request; an error is counted, with its text kept for the report.
    fn call(&mut self) -> impl Future<Output = Result<(), String>> + Send;
}

/// What a load run measured.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Requests that succeeded in the window.
    pub ok: u64,
    /// Requests that failed in the window.
    pub errors: u64,
    /// The window's length.
    pub window: Duration,
    /// Latencies of the successful requests, in microseconds, sorted.
    pub latencies_us: Vec<u32>,
    /// The first error seen, if any.
    pub first_error: Option<String>,
}

impl Outcome {
    /// Successful requests per second.
    pub fn throughput(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64().max(1e-9)
    }

    /// The `q` quantile (0..=1) of latency in milliseconds (nearest rank).
    pub fn quantile_ms(&self, q: f64) -> f64 {
        quantile_ms(&self.latencies_us, q)
    }
}

/// `samples` in microseconds, sorted, as [`quantile_ms`] reads them.
pub fn sorted_micros(samples: Vec<Duration>) -> Vec<u32> {
    let mut us: Vec<u32> = samples
        .into_iter()
        .map(|d| u32::try_from(d.as_micros()).unwrap_or(u32::MAX))
        .collect();
    us.sort_unstable();
    us
}

/// The `q` quantile (nearest rank) of sorted microsecond samples, in milliseconds; 0 when empty.
pub fn quantile_ms(sorted_us: &[u32], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted_us.len() as f64).ceil() as usize;
    let i = rank.clamp(1, sorted_us.len()) - 1;
    f64::from(sorted_us[i]) / 1000.0
}

/// Runs every op in `ops` on its own task for `warmup` (not measured), then runs `between`
/// (while the last warm-up requests finish), then measures `window`.
pub async fn run<O: Op>(
    ops: Vec<O>,
    warmup: Duration,
    window: Duration,
    between: impl Future<Output = ()>,
) -> Outcome {
    let warm_end = Instant::now() + warmup;
    let (go, started) = tokio::sync::watch::channel::<Option<Instant>>(None);
    let tasks: Vec<_> = ops
        .into_iter()
        .map(|mut op| {
            let mut started = started.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(16 * 1024);
                let mut errors = 0u64;
                let mut first_error = None;
                while Instant::now() < warm_end {
                    let _ = op.call().await;
                }
                // Copied out at once: the borrow of the channel must not live across awaits.
                let end = match started.wait_for(Option::is_some).await {
                    Ok(end) => *end,
                    Err(_) => None,
                };
                let Some(end) = end else {
                    return (latencies, errors, first_error);
                };
                loop {
                    let start = Instant::now();
                    if start >= end {
                        break;
                    }
                    match op.call().await {
                        Ok(()) => {
                            let us = start.elapsed().as_micros();
                            latencies.push(u32::try_from(us).unwrap_or(u32::MAX));
                        }
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                }
                (latencies, errors, first_error)
            })
        })
        .collect();
    tokio::time::sleep_until(warm_end.into()).await;
    between.await;
    let _ = go.send(Some(Instant::now() + window));
    gather(tasks, window).await
}

/// What a worker's task gives back: latencies of its successes (µs), its errors, the first.
pub type WorkerResult = (Vec<u32>, u64, Option<String>);

/// The outcome over `window` of workers' `tasks`; a task that panicked counts as an error.
pub async fn gather(
    tasks: Vec<tokio::task::JoinHandle<WorkerResult>>,
    window: Duration,
) -> Outcome {
    let mut out = Outcome {
        window,
        ..Outcome::default()
    };
    for task in tasks {
        match task.await {
            Ok((latencies, errors, first_error)) => {
                out.latencies_us.extend(latencies);
                out.errors += errors;
                if out.first_error.is_none() {
                    out.first_error = first_error;
                }
            }
            Err(e) => {
                out.errors += 1;
                out.first_error
                    .get_or_insert(format!("worker panicked: {e}"));
            }
        }
    }
    out.ok = out.latencies_us.len() as u64;
    out.latencies_us.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let samples: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(quantile_ms(&samples, 0.5), 50.0);
        assert_eq!(quantile_ms(&samples, 0.99), 99.0);
        assert_eq!(quantile_ms(&samples, 1.0), 100.0);
        assert_eq!(quantile_ms(&[], 0.5), 0.0);
        assert_eq!(quantile_ms(&[7000], 0.99), 7.0);
    }

    struct Sleep;

    impl Op for Sleep {
        async fn call(&mut self) -> Result<(), String> {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok(())
        }
    }

    #[tokio::test]
    async fn counts_only_the_window() {
        let out = run(
            vec![Sleep, Sleep],
            Duration::from_millis(50),
            Duration::from_millis(200),
            async {},
        )
        .await;
        assert_eq!(out.errors, 0);
        // Two workers, ~5 ms per request, 200 ms: about 80 requests.
        assert!((40..=90).contains(&out.ok), "{}", out.ok);
        assert!(out.quantile_ms(0.5) >= 5.0);
    }
}
