//! A PostgreSQL of one test's own, started and stopped by the test (outages).

use std::path::{Path, PathBuf};
use std::time::Duration;
use taskforge::embedded_pg::{EmbeddedOptions, EmbeddedPostgres};

use crate::cluster::{connect, exec, on_runtime, with_database};

/// A PostgreSQL of one test's own, which the test can stop and start again (outages).
pub(crate) struct PrivateCluster {
    dir: PathBuf,
    url: String,
    stop: Option<std::sync::mpsc::Sender<()>>,
    done: Option<std::thread::JoinHandle<()>>,
}

impl PrivateCluster {
    /// Creates and starts a cluster in `dir` (which must be traversable by `postgres`).
    pub(crate) fn start(dir: &Path) -> PrivateCluster {
        let mut c = PrivateCluster {
            dir: dir.to_path_buf(),
            url: String::new(),
            stop: None,
            done: None,
        };
        c.up();
        let admin = c.url.clone();
        on_runtime(async move {
            let mut conn = connect(&admin).await?;
            exec(&mut conn, "CREATE DATABASE outage").await
        })
        .unwrap_or_else(|e| panic!("{e}"));
        c.url = with_database(&c.url, "outage");
        c
    }

    /// The database URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Starts the server (again), on a thread that holds it until [`PrivateCluster::down`].
    pub(crate) fn up(&mut self) {
        let opts = EmbeddedOptions {
            cluster_dir: self.dir.join("postgres"),
            bin_dir: None,
            os_user: "postgres".into(),
            start_timeout: Duration::from_secs(60),
            unsafe_fast: true,
        };
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let done = std::thread::spawn(move || match EmbeddedPostgres::start(&opts) {
            Ok(mut pg) => {
                let _ = ready_tx.send(Ok(pg.url("postgres")));
                let _ = stop_rx.recv();
                pg.stop();
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e.to_string()));
            }
        });
        let url = ready_rx
            .recv_timeout(Duration::from_secs(90))
            .unwrap_or_else(|e| panic!("private cluster: {e}"))
            .unwrap_or_else(|e| panic!("private cluster: {e}"));
        if self.url.is_empty() {
            self.url = url;
        }
        self.stop = Some(stop_tx);
        self.done = Some(done);
    }

    /// Stops the server and waits until it is gone.
    pub(crate) fn down(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.done.take() {
            let _ = h.join();
        }
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        self.down();
    }
}
