//! The `order-avro` binary as a child process, for the tests that run it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// Starts the binary with `args` and `envs`; its stderr lines arrive on the receiver.
pub fn spawn(args: &[&str], envs: &[(&str, &str)]) -> (Child, Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_order-avro"))
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

/// Sends SIGTERM and asserts that the process stops cleanly within 30 s.
pub fn stop(child: Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let mut child = child;
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait());
    });
    let status = done_rx.recv_timeout(Duration::from_secs(30)).expect("stops within 30 s").expect("waits");
    assert!(status.success(), "{status}");
}
