//! Waiting on what happens in the background (jobs, event consumers), and on concurrent calls.

use std::{fmt::Debug, future::Future, time::Duration};

use tonic::{Code, Status};

/// Polls `done` every 100 ms, 200 times at most, failing the test with `what` if it never holds.
pub async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

/// Sends `calls` at once, retries of one request under one request id, and returns their
/// answers: every one must be answered, and all alike.
pub async fn answered_alike<T, F>(calls: impl IntoIterator<Item = F>) -> Vec<T>
where
    T: PartialEq + Debug,
    F: Future<Output = Result<T, Status>>,
{
    let answers: Vec<T> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.expect("every retry is answered"))
        .collect();
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    answers
}

/// Calls `call` every 100 ms while it answers UNAVAILABLE (a dependency coming back after a
/// cut), 50 times at most; its first other answer, or the last UNAVAILABLE.
pub async fn past_unavailable<T>(
    mut call: impl AsyncFnMut() -> Result<T, Status>,
) -> Result<T, Status> {
    let mut answer = call().await;
    for _ in 0..49 {
        match &answer {
            Err(st) if st.code() == Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                answer = call().await;
            }
            _ => break,
        }
    }
    answer
}
