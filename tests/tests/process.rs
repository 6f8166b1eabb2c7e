//! The service binaries as processes: the demos run to the end, a service stops
//! gracefully on SIGTERM, and bad configuration is an error with a non-zero exit.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tidings_workspace_tests::{service_binaries, ServiceBinary};

fn bin(name: &str) -> &'static ServiceBinary {
    service_binaries()
        .iter()
        .find(|b| b.name == name)
        .unwrap_or_else(|| panic!("no service binary `{name}`"))
}

fn command(name: &str) -> Command {
    let mut cmd = Command::new(&bin(name).path);
    cmd.stdin(Stdio::null());
    // The tests decide the servers; a developer's environment must not.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("TIDINGS_SERVER_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("RUST_LOG", "info");
    cmd
}

/// Runs to the end (bounded), returning (success, stdout, stderr).
fn run(mut cmd: Command) -> (bool, String, String) {
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let (tx, rx) = mpsc::channel();
    let pid = child.id();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            panic!("process {pid} still running after 60 s")
        })
        .expect("wait");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn the_order_demo_ships_every_order() {
    let (ok, stdout, stderr) = run(command("order-demo"));
    assert!(ok, "order-demo failed:\n{stdout}\n{stderr}");
    for n in 1..=5 {
        assert!(stdout.contains(&format!("shipping desk: order-{n} accepted")), "{stdout}");
    }
    assert!(stdout.contains("all 5 orders shipped"), "{stdout}");
}

#[test]
fn the_quickstart_answers_every_greeting() {
    let (ok, stdout, stderr) = run(command("quickstart"));
    assert!(ok, "{stderr}");
    for name in ["Ada", "Grace", "Linus"] {
        assert!(stdout.contains(&format!("hello, {name}!")), "{stdout}");
    }
}

#[test]
fn sigterm_stops_a_service_gracefully() {
    let mut child = command("order-fulfilment").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    // Wait (bounded) until both consumers are up.
    while log.iter().filter(|l: &&String| l.contains("consumer started")).count() < 2 {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => log.push(line),
            Err(_) => {
                let _ = child.kill();
                panic!("order-fulfilment did not start its consumers:\n{}", log.join("\n"));
            }
        }
    }
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let mut exit = None;
    for _ in 0..600 {
        if let Some(s) = child.try_wait().expect("try_wait") {
            exit = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let Some(exit) = exit else {
        let _ = child.kill();
        panic!("order-fulfilment still running 30 s after SIGTERM");
    };
    log.extend(rx.try_iter());
    assert!(exit.success(), "exit {exit}:\n{}", log.join("\n"));
    assert!(log.iter().any(|l| l.contains("shutdown signal received")), "{}", log.join("\n"));
}

#[test]
fn an_unknown_broker_scheme_fails_with_a_readable_error() {
    let mut cmd = command("order-fulfilment");
    cmd.args(["--server", "default=bogus://user:hunter2@somewhere:1"]);
    let (ok, stdout, stderr) = run(cmd);
    assert!(!ok, "must fail:\n{stdout}\n{stderr}");
    assert!(stderr.contains("bogus"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password leaked: {stderr}");
}

#[test]
fn asyncapi_with_an_unusable_server_url_exits_non_zero() {
    let mut cmd = command("order-fulfilment");
    cmd.args(["--asyncapi", "--server", "default=kafka://"]);
    let (ok, stdout, stderr) = run(cmd);
    assert!(!ok, "must fail:\n{stdout}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stdout.is_empty(), "no half document on stdout: {stdout}");
}

#[test]
fn help_lists_the_flags_and_exits_zero() {
    let mut cmd = command("order-fulfilment");
    cmd.arg("--help");
    let (ok, stdout, stderr) = run(cmd);
    assert!(ok, "--help must succeed:\n{stdout}\n{stderr}");
    for flag in ["--asyncapi[=<FORMAT>]", "--asyncapi-out <PATH>", "--asyncapi-serve [<ADDR>]", "--server <NAME=URL>"] {
        assert!(stdout.contains(flag), "{flag} missing from:\n{stdout}");
    }
    assert!(stdout.contains("Usage: order-fulfilment [OPTIONS]"), "{stdout}");
}

#[test]
fn a_flag_the_service_does_not_take_exits_two_and_names_it() {
    for (args, expected) in [
        (&["--asyncapi=xml"][..], "invalid value 'xml' for '--asyncapi[=<FORMAT>]'"),
        (&["--asyncapis"], "invalid option '--asyncapis'"),
        (&["--server"], "missing argument for option '--server'"),
        (&["orders"], "unexpected argument 'orders'"),
    ] {
        let mut cmd = command("order-fulfilment");
        cmd.args(args);
        let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).output().expect("run");
        let stderr = String::from_utf8_lossy(&child.stderr);
        assert_eq!(child.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: ") && stderr.contains(expected), "{args:?}: {stderr}");
        assert!(child.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
}

#[test]
fn a_rust_log_that_does_not_parse_logs_at_info_and_says_so() {
    let mut cmd = command("order-fulfilment");
    // A span filter: the default build's `RUST_LOG` takes levels and targets only.
    cmd.env("RUST_LOG", "[accept]=debug").args(["--server", "default=memory://"]);
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut log = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
        let started = line.contains("consumer started");
        log.push(line);
        if started {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = log.join("\n");
    assert!(text.contains("RUST_LOG not understood") && text.contains("[accept]=debug"), "{text}");
    assert!(text.contains("INFO") && text.contains("consumer started"), "info is still logged:\n{text}");
}
