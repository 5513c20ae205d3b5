//! Requests to the customers service as a client sends them: CreateCustomer, GetCustomer, and
//! ImportCustomers streams.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use rapport_proto::customers as pb;
use tokio_stream::wrappers::ReceiverStream;

use crate::{
    data::{Generator, Maker},
    load::Op,
    pool::IdPool,
    stores::Client,
};

fn status_text(s: &tonic::Status) -> String {
    format!("{:?}: {}", s.code(), s.message())
}

/// One worker creating customers, keeping the names it got back.
pub struct Create {
    client: Client,
    maker: Maker,
    names: Arc<Mutex<Vec<String>>>,
}

impl Create {
    /// A worker sending on `client`.
    pub fn new(client: Client, maker: Maker, names: Arc<Mutex<Vec<String>>>) -> Self {
        Self {
            client,
            maker,
            names,
        }
    }

    async fn create(&mut self) -> Result<(), String> {
        // Every documented client sends a request id, so that a retry is safe; the measured
        // create records it in the transaction of the customer.
        let request = pb::CreateCustomerRequest {
            customer: Some(self.maker.customer(false)),
            request_id: uuid::Uuid::now_v7().simple().to_string(),
        };
        let created = self
            .client
            .create_customer(request)
            .await
            .map_err(|s| status_text(&s))?
            .into_inner();
        self.names
            .lock()
            .map_err(|_| "poisoned".to_owned())?
            .push(created.name);
        Ok(())
    }
}

impl Op for Create {
    fn call(&mut self) -> impl Future<Output = Result<(), String>> + Send {
        self.create()
    }
}

/// One worker reading customers by name.
pub struct Get {
    client: Client,
    pool: IdPool,
}

impl Get {
    /// A worker sending on `client`, reading names drawn from `pool`.
    pub fn new(client: Client, pool: IdPool) -> Self {
        Self { client, pool }
    }

    async fn get(&mut self) -> Result<(), String> {
        let name = self.pool.next_id().to_owned();
        let got = self
            .client
            .get_customer(pb::GetCustomerRequest { name: name.clone() })
            .await
            .map_err(|s| status_text(&s))?
            .into_inner();
        if got.name != name {
            return Err(format!("asked for {name}, got {}", got.name));
        }
        Ok(())
    }
}

impl Op for Get {
    fn call(&mut self) -> impl Future<Output = Result<(), String>> + Send {
        self.get()
    }
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    /// Rows sent.
    pub sent: u64,
    /// Rows created (flagged possible duplicates included).
    pub created: u64,
    /// Rows refused as duplicates.
    pub duplicates: u64,
    /// Rows refused as invalid.
    pub invalid: u64,
    /// Rows whose batch got no answer (the stream failed).
    pub lost: u64,
    /// The first stream error.
    pub first_error: Option<String>,
    /// From the first row sent to the last answer.
    pub elapsed: Duration,
    /// Time between consecutive answers on a stream (one batch's commit, once the stream is
    /// busy), in microseconds, sorted.
    pub batch_us: Vec<u32>,
}

impl Imported {
    /// Rows created per second.
    pub fn rows_per_sec(&self) -> f64 {
        self.created as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Imports `rows` generated customers over `clients.len()` concurrent ImportCustomers streams,
/// `batch` rows per message; the streams take the next batch from a shared counter.
pub async fn import(
    clients: Vec<Client>,
    generator: &Generator,
    rows: u64,
    batch: u64,
) -> Imported {
    let next_batch = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let streams: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut client)| {
            let next_batch = next_batch.clone();
            let mut maker = generator.maker(1_000 + i as u64);
            tokio::spawn(async move {
                let (send, receive) = tokio::sync::mpsc::channel::<pb::ImportCustomersRequest>(2);
                let sent = Arc::new(AtomicU64::new(0));
                let counted = sent.clone();
                let feeder = tokio::spawn(async move {
                    loop {
                        let first = next_batch.fetch_add(1, Ordering::Relaxed) * batch;
                        if first >= rows {
                            break;
                        }
                        let n = batch.min(rows - first);
                        let customers = (0..n).map(|_| maker.customer(true)).collect();
                        if send
                            .send(pb::ImportCustomersRequest { customers })
                            .await
                            .is_err()
                        {
                            break;
                        }
                        counted.fetch_add(n, Ordering::Relaxed);
                    }
                });
                let mut out = Imported::default();
                match client.import_customers(ReceiverStream::new(receive)).await {
                    Err(s) => out.first_error = Some(status_text(&s)),
                    Ok(reply) => {
                        let mut answers = reply.into_inner();
                        let mut last = Instant::now();
                        loop {
                            match answers.message().await {
                                Ok(Some(msg)) => {
                                    let now = Instant::now();
                                    let us = (now - last).as_micros();
                                    out.batch_us.push(u32::try_from(us).unwrap_or(u32::MAX));
                                    last = now;
                                    for r in msg.results {
                                        match r.status() {
                                            pb::ImportRowStatus::Created
                                            | pb::ImportRowStatus::CreatedFlagged => {
                                                out.created += 1
                                            }
                                            pb::ImportRowStatus::Duplicate => out.duplicates += 1,
                                            _ => out.invalid += 1,
                                        }
                                    }
                                }
                                Ok(None) => break,
                                Err(s) => {
                                    out.first_error = Some(status_text(&s));
                                    break;
                                }
                            }
                        }
                    }
                }
                feeder.abort();
                let _ = feeder.await;
                out.sent = sent.load(Ordering::Relaxed);
                out
            })
        })
        .collect();
    let mut total = Imported::default();
    for stream in streams {
        match stream.await {
            Ok(out) => {
                total.sent += out.sent;
                total.created += out.created;
                total.duplicates += out.duplicates;
                total.invalid += out.invalid;
                total.batch_us.extend(out.batch_us);
                if total.first_error.is_none() {
                    total.first_error = out.first_error;
                }
            }
            Err(e) => {
                total
                    .first_error
                    .get_or_insert(format!("import stream panicked: {e}"));
            }
        }
    }
    total.elapsed = started.elapsed();
    total.lost = total
        .sent
        .saturating_sub(total.created + total.duplicates + total.invalid);
    total.batch_us.sort_unstable();
    total
}
