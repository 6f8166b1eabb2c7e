//! `tidings docs FILE -o DIR` and `tidings docs serve FILE`: one self-contained HTML page
//! of any document, rendered by the `tidings-docs` crate ([`render`], [`escape`]), which
//! service binaries use too (`--asyncapi-serve`). Here: reading the file (references
//! inlined), writing the page, and serving it with live reload.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
pub use tidings_docs::{escape, render};
use tidings_docs::LIVE_RELOAD;

use crate::refs::Resolver;
use crate::source::Source;

/// Arguments of `tidings docs`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DocsArgs {
    /// `serve`: serve the page and re-render it when the file changes.
    #[command(subcommand)]
    pub command: Option<DocsCommand>,
    /// The document.
    pub file: Option<PathBuf>,
    /// The directory to write `index.html` into.
    #[arg(short, long, default_value = "docs-html")]
    pub output: PathBuf,
}

/// Subcommands of `tidings docs`.
#[derive(Debug, Subcommand)]
pub enum DocsCommand {
    /// Serve the page over HTTP (127.0.0.1 by default); it reloads when the file changes.
    Serve(ServeArgs),
}

/// Arguments of `tidings docs serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The document.
    pub file: PathBuf,
    /// Address to listen on. Loopback by default: the page is for the person at this machine.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
}

/// Reads, inlines and renders `path`.
pub fn render_file(path: &Path, live: bool) -> Result<String, crate::source::LoadError> {
    let source = Source::load(path)?;
    let mut resolver = Resolver::new(&source.path);
    let doc = crate::refs::inline(&mut resolver, &source.path, &source.value, &source.value);
    Ok(render(&doc, live))
}

/// Runs `tidings docs`; the exit code.
pub fn run(args: &DocsArgs) -> u8 {
    match (&args.command, &args.file) {
        (Some(DocsCommand::Serve(s)), _) => serve(s),
        (None, Some(file)) => match render_file(file, false) {
            Err(e) => {
                eprintln!("{e}");
                2
            }
            Ok(html) => {
                let target = args.output.join("index.html");
                let written = std::fs::create_dir_all(&args.output).and_then(|()| std::fs::write(&target, html));
                match written {
                    Ok(()) => {
                        println!("{}", target.display());
                        0
                    }
                    Err(e) => {
                        eprintln!("{}: cannot write: {e}", target.display());
                        2
                    }
                }
            }
        },
        (None, None) => {
            eprintln!("tidings docs: name a document: `tidings docs FILE -o DIR` or `tidings docs serve FILE`");
            2
        }
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Serves the page; re-renders when the file's modification time changes.
fn serve(args: &ServeArgs) -> u8 {
    let server = match tiny_http::Server::http(&args.addr) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", args.addr);
            return 2;
        }
    };
    if let Err(e) = render_file(&args.file, true) {
        eprintln!("{e}");
        return 2;
    }
    eprintln!("serving {} on http://{}/ (Ctrl-C to stop)", args.file.display(), server.server_addr());
    let mut cached: Option<(Option<SystemTime>, String)> = None;
    loop {
        let request = match server.recv_timeout(Duration::from_secs(1)) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                eprintln!("server error: {e}");
                return 2;
            }
        };
        let stamp = modified(&args.file);
        let version = format!("{:?}", stamp);
        if request.url() == "/__version" {
            let _ = request.respond(tiny_http::Response::from_string(version));
            continue;
        }
        if cached.as_ref().is_none_or(|(s, _)| *s != stamp) {
            let html = match render_file(&args.file, true) {
                Ok(h) => h,
                // A half-saved file: show the error instead of the page, reload when fixed.
                Err(e) => format!(
                    "<!DOCTYPE html><html><body><h1>Cannot render</h1><pre>{}</pre><script>{LIVE_RELOAD}</script></body></html>",
                    escape(&e.to_string())
                ),
            };
            cached = Some((stamp, html));
        }
        let html = cached.as_ref().map(|(_, h)| h.clone()).unwrap_or_default();
        let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"text/html; charset=utf-8"[..]);
        let mut response = tiny_http::Response::from_string(html);
        if let Ok(h) = header {
            response = response.with_header(h);
        }
        let _ = request.respond(response);
    }
}
