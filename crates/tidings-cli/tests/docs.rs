//! `tidings docs`: a self-contained page of the order example (checked as text and, in a
//! real headless Chromium, as a DOM), every string escaped, and `serve` re-rendering on
//! change.
//!
//! The browser test FAILS when `chromium` is missing, unless `TIDINGS_SKIP_BROWSER=1`
//! (Debian: `apt-get install chromium`; `scripts/brokers/install.sh` installs it).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{corpus, temp_dir, tidings, workspace};

fn order_example() -> PathBuf {
    workspace().join("tests/golden/order-demo.yaml")
}

fn render(file: &Path, name: &str) -> (PathBuf, String) {
    let dir = temp_dir(name);
    let out = tidings(&["docs".to_owned(), file.display().to_string(), "-o".into(), dir.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let page = dir.join("index.html");
    let html = std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
    (page, html)
}

/// What the order example must show: its channels and messages.
const ORDER_NAMES: [&str; 4] = ["orders.created", "orders.accepted", "OrderCreated", "OrderAccepted"];

#[test]
fn the_order_example_page_is_self_contained() {
    let (_, html) = render(&order_example(), "docs-order");
    for name in ORDER_NAMES {
        assert!(html.contains(name), "{name} missing");
    }
    assert!(html.contains("id=\"channel-orders.created\""));
    assert!(html.contains("id=\"message-OrderCreated\""));
    assert!(html.contains("id=\"search\""), "no search box");
    // No network: no external script, stylesheet, image or font.
    for needle in ["<script src", "<link", "<img", "@import", "url(http"] {
        assert!(!html.contains(needle), "found {needle}");
    }
    // Payload fields are listed.
    assert!(html.contains("<code>order_id</code>"), "payload fields missing");
}

#[test]
fn every_string_from_the_document_is_escaped() {
    let dir = temp_dir("docs-escape");
    let doc = dir.join("evil.yaml");
    std::fs::write(
        &doc,
        "asyncapi: 3.0.0\ninfo:\n  title: '<script>alert(1)</script>'\n  version: '1\" onmouseover=\"x'\n  description: '<img src=x onerror=alert(2)>'\nchannels:\n  '<b>c</b>':\n    address: '<i>a</i>'\n    messages:\n      '\"><svg>':\n        payload:\n          type: object\n          properties:\n            '<u>f</u>': {type: string, description: '</td><script>alert(3)</script>'}\n",
    )
    .unwrap_or_default();
    let (_, html) = render(&doc, "docs-escape-out");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(html.contains("1&quot; onmouseover=&quot;x"));
    assert!(html.contains("&lt;/td&gt;&lt;script&gt;alert(3)"));
    for raw in ["<script>alert", "<img src=x", "<b>c</b>", "<i>a</i>", "<svg>", "<u>f</u>"] {
        assert!(!html.contains(raw), "unescaped {raw}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_page_renders_in_a_real_browser() {
    let (page, _) = render(&order_example(), "docs-browser");
    let browser = ["chromium", "chromium-browser"].into_iter().find(|b| {
        Command::new(b).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
    });
    let Some(browser) = browser else {
        if std::env::var("TIDINGS_SKIP_BROWSER").as_deref() == Ok("1") {
            eprintln!("SKIPPED (TIDINGS_SKIP_BROWSER=1): chromium is not installed");
            return;
        }
        panic!("chromium is not installed (Debian: apt-get install chromium; scripts/brokers/install.sh does it); set TIDINGS_SKIP_BROWSER=1 to skip knowingly");
    };
    let profile = temp_dir("docs-chromium-profile");
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            &format!("--user-data-dir={}", profile.display()),
            "--dump-dom",
            &format!("file://{}", page.display()),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {browser}: {e}"));
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("<main>"), "no DOM from {browser}:\n{dom}\n{}", String::from_utf8_lossy(&out.stderr));
    for name in ORDER_NAMES {
        assert!(dom.contains(name), "{name} not in the rendered DOM");
    }
    // The browser parsed the cards: the channel and message articles are in the DOM.
    assert!(dom.contains("<article class=\"card channel\" id=\"channel-orders.created\""), "{dom}");
    assert!(dom.contains("<article class=\"card message\" id=\"message-OrderAccepted\""), "{dom}");
    let _ = std::fs::remove_dir_all(&profile);
}

/// Kills the server child when the test ends, pass or fail.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(url: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match ureq::get(url).call() {
            Ok(mut r) => return r.body_mut().read_to_string().unwrap_or_default(),
            Err(e) if Instant::now() > deadline => panic!("GET {url}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

#[test]
fn serve_binds_loopback_and_rerenders_when_the_file_changes() {
    let help = tidings(&["docs", "serve", "--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("[default: 127.0.0.1:8080]"));

    let dir = temp_dir("docs-serve");
    let doc = dir.join("api.yaml");
    let original = std::fs::read_to_string(corpus().join("valid/a-producer.yaml")).unwrap_or_default();
    std::fs::write(&doc, &original).unwrap_or_default();
    let child = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["docs", "serve", &doc.display().to_string(), "--addr", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning tidings docs serve: {e}"));
    let mut child = Child(child);
    let mut line = String::new();
    if let Some(stderr) = child.0.stderr.take() {
        let _ = BufReader::new(stderr).read_line(&mut line);
    }
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no loopback URL in {line:?}"))
        .to_owned();
    let first = get(&url);
    assert!(first.contains("Order Producer Service"), "{first}");
    let version = get(&format!("{url}__version"));
    std::thread::sleep(Duration::from_millis(50));
    std::fs::write(&doc, original.replace("Order Producer Service", "Renamed &lt; Service")).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = get(&url);
        if page.contains("Renamed &amp;lt; Service") {
            break;
        }
        assert!(Instant::now() < deadline, "the page was not re-rendered:\n{page}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_ne!(get(&format!("{url}__version")), version, "the reload stamp did not change");
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unusable_input_exits_2() {
    let out = tidings(&["docs".to_owned(), corpus().join("unusable/syntax-error.yaml").display().to_string(), "-o".into(), temp_dir("docs-bad").display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("syntax-error.yaml:"));
}
