//! A small HTTP/1.1 server for one page and its document, on `std::net` (no runtime,
//! no dependency): what a service binary's `--asyncapi-serve` runs.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// What [`serve`] answers: the HTML page and the raw document.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// `/` and `/index.html`.
    pub html: String,
    /// `/asyncapi.yaml`.
    pub yaml: String,
    /// `/asyncapi.json`.
    pub json: String,
}

/// The longest request head read; anything longer is answered 431.
const MAX_HEAD: usize = 16 * 1024;

/// Serves `page` on `listener` until the process ends: `GET /` (or `/index.html`) the
/// page, `/asyncapi.yaml` and `/asyncapi.json` the document, 404 for anything else, 405
/// for other methods than GET and HEAD. One thread per connection; a client has 10 s to
/// send its request. Returns only when accepting fails.
pub fn serve(listener: TcpListener, page: Page) -> std::io::Result<()> {
    let page = Arc::new(page);
    loop {
        let (stream, _) = listener.accept()?;
        let page = page.clone();
        std::thread::spawn(move || {
            let _ = answer(stream, &page);
        });
    }
}

fn answer(mut stream: TcpStream, page: &Page) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            return respond(&mut stream, "431 Request Header Fields Too Large", "text/plain", b"request too large\n", true);
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut parts = text.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split(['?', '#']).next().unwrap_or("");
    let with_body = method != "HEAD";
    if method != "GET" && method != "HEAD" {
        return respond(&mut stream, "405 Method Not Allowed", "text/plain", b"only GET and HEAD\n", with_body);
    }
    match path {
        "/" | "/index.html" => respond(&mut stream, "200 OK", "text/html; charset=utf-8", page.html.as_bytes(), with_body),
        "/asyncapi.yaml" => respond(&mut stream, "200 OK", "application/yaml; charset=utf-8", page.yaml.as_bytes(), with_body),
        "/asyncapi.json" => respond(&mut stream, "200 OK", "application/json", page.json.as_bytes(), with_body),
        _ => respond(&mut stream, "404 Not Found", "text/plain", b"not found: try /, /asyncapi.yaml or /asyncapi.json\n", with_body),
    }
}

fn respond(stream: &mut TcpStream, status: &str, content_type: &str, body: &[u8], with_body: bool) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if with_body {
        stream.write_all(body)?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: std::net::SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_the_page_and_the_document_and_nothing_else() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let page = Page { html: "<h1>hi</h1>".into(), yaml: "asyncapi: 3.0.0\n".into(), json: "{}".into() };
        std::thread::spawn(move || serve(listener, page));
        let home = get(addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(home.starts_with("HTTP/1.1 200 OK\r\n") && home.contains("text/html") && home.ends_with("<h1>hi</h1>"), "{home}");
        assert!(get(addr, "GET /asyncapi.yaml HTTP/1.1\r\n\r\n").ends_with("asyncapi: 3.0.0\n"));
        assert!(get(addr, "GET /asyncapi.json?x=1 HTTP/1.1\r\n\r\n").contains("application/json"));
        assert!(get(addr, "GET /etc/passwd HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(get(addr, "POST / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        let head = get(addr, "HEAD / HTTP/1.1\r\n\r\n");
        assert!(head.contains("Content-Length: 11") && head.ends_with("\r\n\r\n"), "{head}");
    }
}
