//! The closed-loop driver: `clients` concurrent tasks take request numbers from one counter
//! until `total` are done; each job is one or a few requests. Closed loop (a client sends its
//! next request when the last one answered) so the load never outruns what the server serves.

use crate::client::Answer;
use crate::invariants::KeyLog;
use crate::stats::Stats;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// What one job sent: each answer, with the idempotency key for creates.
pub type Sent = Vec<(Option<String>, Answer)>;

/// Runs `total` jobs over `clients` tasks; the tally of every answer and the creates' key log.
pub async fn drive<F, Fut>(clients: usize, total: usize, job: F) -> (Stats, KeyLog)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Sent> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..clients.max(1))
        .map(|_| {
            let (next, job) = (next.clone(), job.clone());
            tokio::spawn(async move {
                let (mut stats, mut log) = (Stats::default(), KeyLog::default());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return (stats, log);
                    }
                    for (key, a) in job(i).await {
                        stats.record(a.status, a.took);
                        if let Some(k) = key {
                            log.add(&k, &a);
                        }
                    }
                }
            })
        })
        .collect();
    let (mut stats, mut log) = (Stats::default(), KeyLog::default());
    for t in futures::future::join_all(tasks).await {
        match t {
            Ok((s, l)) => {
                stats.merge(s);
                log.merge(l);
            }
            Err(e) => eprintln!("a client task ended abnormally: {e}"),
        }
    }
    stats.wall = t0.elapsed();
    (stats, log)
}
