//! Group commit: requests of one kind that arrive while earlier ones are being written wait
//! together and are written together, in one transaction.
//!
//! A write's cost is mostly per transaction, not per row: the round trips, the lock statement,
//! the commit's log flush, and on SQLite the one writer's turn and its log pages. Under load,
//! requests that queue behind a running write therefore cost little more written together than
//! one of them alone. A lone request never waits for company: a lane takes whatever has queued
//! the moment it is free, so at low load every batch holds one request.

use std::{
    collections::VecDeque,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
};

use tokio::sync::oneshot;

use crate::{Error, Result};

type Run<J, R> = dyn Fn(Vec<J>) -> Pin<Box<dyn Future<Output = Vec<R>> + Send>> + Send + Sync;

/// Gathers jobs `J` into batches and runs them, at most `lanes` batches at a time, each of at
/// most `max` jobs. The run answers each job with an `R`, in the order of the jobs.
pub struct Batcher<J, R> {
    inner: Arc<Inner<J, R>>,
}

struct Inner<J, R> {
    lanes: usize,
    max: usize,
    run: Box<Run<J, R>>,
    state: Mutex<State<J, R>>,
}

struct State<J, R> {
    queue: VecDeque<(J, oneshot::Sender<R>)>,
    running: usize,
}

impl<J: Send + 'static, R: Send + 'static> Batcher<J, R> {
    /// A batcher that writes batches with `run`, which must answer every job of its batch, in
    /// order.
    pub fn new<F, Fut>(lanes: usize, max: usize, run: F) -> Self
    where
        F: Fn(Vec<J>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<R>> + Send + 'static,
    {
        Self {
            inner: Arc::new(Inner {
                lanes: lanes.max(1),
                max: max.max(1),
                run: Box::new(move |jobs| Box::pin(run(jobs))),
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    running: 0,
                }),
            }),
        }
    }

    /// Queues `job` and waits for its answer. A lane is started when fewer than `lanes` run; a
    /// lane stops once the queue is empty, so an idle batcher holds no task.
    pub async fn submit(&self, job: J) -> Result<R> {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut state = self.inner.lock();
            state.queue.push_back((job, reply));
            let start = state.running < self.inner.lanes;
            state.running += usize::from(start);
            start
        };
        if start {
            tokio::spawn(lane(self.inner.clone()));
        }
        answer
            .await
            .map_err(|_| Error::internal("the batch holding this request failed"))
    }
}

impl<J, R> Inner<J, R> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<J, R>> {
        // The lock guards only queue bookkeeping, which cannot panic half done.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next batch, or `None` (and one lane fewer) when nothing waits.
    fn next(&self) -> Option<Vec<(J, oneshot::Sender<R>)>> {
        let mut state = self.lock();
        if state.queue.is_empty() {
            state.running -= 1;
            return None;
        }
        let n = state.queue.len().min(self.max);
        Some(state.queue.drain(..n).collect())
    }
}

/// Runs batches until the queue is empty. Each batch runs in a task of its own, so a panic in
/// one fails that batch's requests and not the lane.
async fn lane<J: Send + 'static, R: Send + 'static>(inner: Arc<Inner<J, R>>) {
    while let Some(batch) = inner.next() {
        let (jobs, replies): (Vec<J>, Vec<oneshot::Sender<R>>) = batch.into_iter().unzip();
        if let Ok(answers) = tokio::spawn((inner.run)(jobs)).await {
            for (reply, answer) in replies.into_iter().zip(answers) {
                // A caller that gave up no longer listens.
                let _ = reply.send(answer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn answers_each_job_in_order() {
        let b = Batcher::new(1, 8, |jobs: Vec<u32>| async move {
            jobs.into_iter().map(|j| j * 2).collect::<Vec<_>>()
        });
        assert_eq!(b.submit(21).await.unwrap(), 42);
        let answers = futures::future::join_all((0..100).map(|i| b.submit(i))).await;
        for (i, a) in answers.into_iter().enumerate() {
            assert_eq!(a.unwrap(), 2 * i as u32);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn gathers_what_queues_behind_a_running_batch() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let b = Arc::new(Batcher::new(1, 16, move |jobs: Vec<u32>| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(jobs.len());
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                jobs
            }
        }));
        let answers = futures::future::join_all((0..40).map(|i| {
            let b = b.clone();
            async move { b.submit(i).await.unwrap() }
        }))
        .await;
        assert_eq!(answers, (0..40).collect::<Vec<_>>());
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 40);
        assert!(sizes.iter().all(|&n| n <= 16), "{sizes:?}");
        assert!(sizes.len() < 40, "nothing was gathered: {sizes:?}");
    }

    #[tokio::test]
    async fn runs_at_most_its_lanes_at_once() {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (r, m) = (running.clone(), most.clone());
        let b = Arc::new(Batcher::new(2, 1, move |jobs: Vec<u32>| {
            let (r, m) = (r.clone(), m.clone());
            async move {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                r.fetch_sub(1, Ordering::SeqCst);
                jobs
            }
        }));
        futures::future::join_all((0..12).map(|i| {
            let b = b.clone();
            async move { b.submit(i).await.unwrap() }
        }))
        .await;
        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert_eq!(running.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_panicking_batch_fails_its_requests_and_not_the_next() {
        let b = Batcher::new(1, 4, |jobs: Vec<u32>| async move {
            assert!(!jobs.contains(&13), "unlucky");
            jobs
        });
        assert!(b.submit(13).await.is_err());
        assert_eq!(b.submit(7).await.unwrap(), 7);
    }
}
