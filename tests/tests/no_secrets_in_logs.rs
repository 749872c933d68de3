//! API keys and bodies never reach the logs, on success or failure paths.

use integration_tests::{pix_body, Backend, Harness, KEY_A};
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn api_keys_and_documents_are_not_logged() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = Harness::new(Backend::Memory).await;
    assert_eq!(h.create(KEY_A, "log-1", &pix_body(1990)).await.status, 201);
    assert_eq!(h.create(KEY_A, "log-2", &pix_body(1051)).await.status, 201);
    assert_eq!(h.create(KEY_A, "log-3", &pix_body(1053)).await.status, 502);
    let wrong_key = "sk_live_wrong_key_that_must_not_leak";
    assert_eq!(
        h.create(wrong_key, "log-4", &pix_body(1990)).await.status,
        401
    );

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("\"status\":201"),
        "request lines are logged: {logs}"
    );
    for secret in [
        KEY_A,
        wrong_key,
        "52998224725",
        "maria@example.com",
        "Maria Souza",
    ] {
        assert!(!logs.contains(secret), "`{secret}` leaked into the logs");
    }
}
