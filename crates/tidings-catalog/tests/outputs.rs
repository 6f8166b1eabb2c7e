//! The catalog's outputs over the `shop` fixtures: HTML, graphs, JSON, Backstage,
//! EventCatalog, and the command line (text, JSON, exit codes).

use std::path::{Path, PathBuf};

use clap::Parser;
use serde_json::Value;
use tidings_catalog::cli::{execute, CatalogCommand};
use tidings_catalog::load::{load, LoadOptions};
use tidings_catalog::model::{Catalog, SourceDocument};
use tidings_catalog::{ecosystem, graph, html, CatalogConfig};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

fn shop() -> Catalog {
    let options = LoadOptions {
        config: Some(fixtures().join("shop.toml")),
        ..LoadOptions::default()
    };
    load(&[fixtures().join("shop")], &options).expect("the shop loads")
}

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: CatalogCommand,
}

/// Runs `catalog ARGS...` and returns (exit code, stdout, stderr).
fn cli(args: &[&str]) -> (u8, String, String) {
    let cli = Cli::try_parse_from(std::iter::once("catalog").chain(args.iter().copied()))
        .expect("valid arguments");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = execute(&cli.command, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn shop_args() -> [String; 3] {
    [
        fixtures().join("shop").display().to_string(),
        "--config".to_owned(),
        fixtures().join("shop.toml").display().to_string(),
    ]
}

#[test]
fn who_consumes_on_the_command_line_in_text_and_json() {
    let [dir, flag, config] = shop_args();
    let (code, out, err) = cli(&[
        "who-consumes",
        "CustomerDataDeletionRequest",
        &dir,
        &flag,
        &config,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("CustomerDataDeletionRequest is consumed by 2 service(s):\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "  analytics  nats:privacy.deletions  (operation forget_customer, group analytics)"
        ),
        "{out}"
    );
    // The unusable files are reported on stderr, with their names.
    assert!(
        err.contains("broken.yaml") && err.contains("legacy.yaml"),
        "{err}"
    );

    let (code, out, _) = cli(&[
        "who-consumes",
        "CustomerDataDeletionRequest",
        &dir,
        &flag,
        &config,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json["services"],
        serde_json::json!(["analytics", "billing"])
    );
    assert_eq!(
        json["consumers"][1]["channel"],
        "kafka:privacy.deletion-requests"
    );
    assert_eq!(json["diagnostics"].as_array().unwrap().len(), 3);
}

#[test]
fn unknown_names_exit_1_with_suggestions_and_strict_exits_1() {
    let [dir, ..] = shop_args();
    let (code, out, err) = cli(&["who-produces", "ordercreated", &dir]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.contains("no message `ordercreated` in the catalog (did you mean OrderCreated?)"),
        "{err}"
    );
    let (code, _, err) = cli(&["service", "order", &dir]);
    assert_eq!(code, 1);
    assert!(err.contains("did you mean orders?"), "{err}");
    let (code, _, err) = cli(&["orphans", &dir, "--strict"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("(strict)") && err.contains("broken.yaml"),
        "{err}"
    );
}

#[test]
fn flows_lint_service_and_orphans_commands() {
    let [dir, flag, config] = shop_args();
    let (code, out, _) = cli(&["flows", "OrderCreated", &dir, &flag, &config]);
    assert_eq!(code, 0);
    assert!(
        out.contains("  orders -> kafka:orders.created =bridge (avro -> json)=> sqs:order-events -> fulfilment\n"),
        "{out}"
    );
    let (code, out, _) = cli(&["lint", &dir, &flag, &config]);
    assert_eq!(code, 1, "a breaking change fails lint: {out}");
    assert!(out.contains("error[breaking-change] OrderCreated: `orders` sends OrderCreated that `analytics` cannot read"), "{out}");
    assert!(out.ends_with("lint: 3 finding(s), 1 error(s)\n"), "{out}");
    let (_, out, _) = cli(&["lint", &dir, &flag, &config, "--format", "json"]);
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["errors"], 1);
    let (code, out, _) = cli(&["service", "fulfilment", &dir, &flag, &config]);
    assert_eq!(code, 0);
    assert!(
        out.contains("OrderCreated on sqs:order-events (operation pick); sent by orders"),
        "{out}"
    );
    let (_, out, _) = cli(&["orphans", &dir, &flag, &config]);
    assert_eq!(out, "produced, never consumed: OrderCancelled by orders on kafka:orders.cancelled (operation publish_cancellation)\n");
    // Without problems, lint passes.
    let (code, _, _) = cli(&[
        "lint",
        &fixtures().join("shop/billing.json").display().to_string(),
    ]);
    assert_eq!(code, 0);
}

#[test]
fn graphs_as_mermaid_dot_and_svg() {
    let [dir, flag, config] = shop_args();
    let (_, mermaid, _) = cli(&["graph", "--message", "OrderCreated", &dir, &flag, &config]);
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    assert!(
        mermaid.contains(" -.->|\"bridge (avro -> json)\"| "),
        "{mermaid}"
    );
    assert!(
        mermaid.contains("[(\"order-events<br/><small>sqs</small>\")]"),
        "{mermaid}"
    );
    let (_, dot, _) = cli(&["graph", "--as", "dot", &dir, &flag, &config]);
    assert!(dot.contains("\"channel:kafka:privacy.deletion-requests\" -> \"channel:nats:privacy.deletions\" [label=\"bridge\", style=dashed];"), "{dot}");
    assert!(dot.contains("\"service:customer-privacy\" -> \"channel:kafka:privacy.deletion-requests\" [label=\"CustomerDataDeletionRequest\"];"), "{dot}");
    let (_, svg, _) = cli(&[
        "graph",
        "--as",
        "svg",
        "--service",
        "orders",
        &dir,
        &flag,
        &config,
    ]);
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert!(
        svg.contains(">fulfilment</text>") && svg.contains(">analytics</text>"),
        "{svg}"
    );
}

#[test]
fn the_html_catalog_has_a_page_per_service_and_message_and_works_offline() {
    let catalog = shop();
    let pages = html::render(&catalog);
    let names: Vec<String> = pages.keys().map(|p| p.display().to_string()).collect();
    for expected in [
        "index.html",
        "services/orders.html",
        "services/customer-privacy.html",
        "messages/CustomerDataDeletionRequest.html",
        "messages/OrderCancelled.html",
    ] {
        assert!(
            names.contains(&expected.to_owned()),
            "{expected} missing from {names:?}"
        );
    }
    assert_eq!(pages.len(), 1 + 5 + 3);
    let index = &pages[Path::new("index.html")];
    assert!(index.contains("<input id=\"search\""));
    assert!(index.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(index.contains("href=\"services/orders.html\""));
    let message = &pages[Path::new("messages/OrderCreated.html")];
    assert!(
        message.contains(
            "orders \u{2192} kafka:orders.created \u{2192} sqs:order-events \u{2192} fulfilment"
        ),
        "paths listed"
    );
    assert!(message.contains("href=\"../services/fulfilment.html\""));
    for (path, page) in &pages {
        // Nothing is fetched: no external script, style, image or font.
        for needle in ["src=\"http", "href=\"http", "@import", "url(http"] {
            assert!(!page.contains(needle), "{} has {needle}", path.display());
        }
    }
}

#[test]
fn everything_from_a_document_is_escaped_in_html() {
    let hostile = "<script>alert(1)</script>";
    let yaml = format!(
        "asyncapi: 3.0.0\ninfo:\n  title: '{hostile}'\n  version: '1'\n  description: '\"><img src=x onerror=alert(2)>'\nchannels:\n  c:\n    address: '</svg><script>alert(3)</script>'\n    messages:\n      '<b>M</b>':\n        payload: {{type: object, description: '</pre><script>alert(4)</script>'}}\noperations:\n  op:\n    action: send\n    channel: {{$ref: '#/channels/c'}}\n"
    );
    let document = tidings_asyncapi::Document::from_yaml(&yaml).unwrap();
    let catalog = Catalog::build(
        vec![SourceDocument {
            path: PathBuf::from("hostile.yaml"),
            document,
        }],
        CatalogConfig::default(),
        "",
        Vec::new(),
    );
    let pages = html::render(&catalog);
    assert_eq!(pages.len(), 3);
    for (path, page) in &pages {
        for n in 1..=4 {
            assert!(
                !page.contains(&format!("<script>alert({n})")),
                "{} lets alert({n}) through",
                path.display()
            );
        }
        assert!(!page.contains("<img src=x"), "{}", path.display());
        // The only scripts are the search index (JSON) and the search code.
        assert_eq!(page.matches("<script").count(), 2, "{}", path.display());
    }
    assert!(pages.keys().any(
        |p| p.display().to_string() == "services/~3Cscript~3Ealert~281~29~3C~2Fscript~3E.html"
    ));
}

#[test]
fn backstage_entities_carry_the_computed_relations() {
    let catalog = shop();
    let out = fixtures().join("out").join("catalog-info.yaml");
    let text = ecosystem::backstage(&catalog, &out);
    let entities: Vec<Value> = text
        .split("\n---\n")
        .map(|doc| serde_yaml_ng::from_str(doc).expect("each entity is YAML"))
        .collect();
    assert_eq!(
        entities.len(),
        1 + 2 * 5,
        "a System, then an API and a Component per service"
    );
    assert_eq!(entities[0]["kind"], "System");
    let find = |kind: &str, name: &str| {
        entities
            .iter()
            .find(|e| e["kind"] == kind && e["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
            .clone()
    };
    let api = find("API", "orders-api");
    assert_eq!(api["spec"]["type"], "asyncapi");
    assert_eq!(api["spec"]["owner"], "team-orders");
    assert_eq!(api["spec"]["lifecycle"], "experimental");
    assert_eq!(api["spec"]["definition"]["$text"], "../shop/orders.yaml");
    assert_eq!(api["spec"]["system"], "shop");
    let analytics = find("Component", "analytics");
    assert_eq!(
        analytics["spec"]["providesApis"],
        serde_json::json!(["analytics-api"])
    );
    assert_eq!(
        analytics["spec"]["consumesApis"],
        serde_json::json!(["customer-privacy-api", "orders-api"])
    );
    assert_eq!(
        find("Component", "fulfilment")["spec"]["consumesApis"],
        serde_json::json!(["orders-api"])
    );
    assert_eq!(
        find("Component", "orders")["spec"]["consumesApis"],
        serde_json::json!([])
    );
}

#[test]
fn eventcatalog_configuration_names_every_document_owner_and_the_domain() {
    let catalog = shop();
    let block = ecosystem::eventcatalog_block(&catalog, &fixtures());
    assert!(
        block.starts_with("[\n  '@eventcatalog/generator-asyncapi',\n"),
        "{block}"
    );
    assert!(
        block.contains("{ path: path.join(__dirname, \"shop\", \"orders.yaml\"), id: \"orders\", name: \"orders\", owners: [\"team-orders\", \"team-checkout\"] },"),
        "{block}"
    );
    assert!(
        block.contains("path.join(__dirname, \"shop\", \"billing.json\")"),
        "{block}"
    );
    assert!(
        block.contains("domain: { id: \"shop\", name: \"Shop\", version: \"1.0.0\" },"),
        "{block}"
    );
    let config = ecosystem::eventcatalog_config(&catalog, &fixtures());
    assert!(config.contains("const __dirname = path.dirname(url.fileURLToPath(import.meta.url));"));
    assert!(
        config.contains("  generators: [\n    [\n      '@eventcatalog/generator-asyncapi',"),
        "{config}"
    );
}

#[test]
fn json_and_build_write_everything() {
    let catalog = shop();
    let json: Value = serde_json::to_value(&catalog).unwrap();
    assert_eq!(
        json["services"]["orders"]["endpoints"][0]["channel"],
        "kafka:orders.cancelled"
    );
    assert!(json["channels"]["sqs:order-events"]["receivers"]
        .as_array()
        .unwrap()
        .contains(&"fulfilment".into()));
    assert_eq!(json["bridges"].as_array().unwrap().len(), 2);

    let dir = std::env::temp_dir().join(format!("tidings-catalog-build-{}", std::process::id()));
    let written = tidings_catalog::cli::build_all(&catalog, &dir).unwrap();
    assert_eq!(written, 9 + 5);
    for file in [
        "index.html",
        "catalog.json",
        "system.mmd",
        "system.dot",
        "catalog-info.yaml",
        "eventcatalog.config.js",
    ] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    let mermaid = std::fs::read_to_string(dir.join("system.mmd")).unwrap();
    assert_eq!(mermaid, graph::to_mermaid(&graph::system_graph(&catalog)));
    std::fs::remove_dir_all(&dir).unwrap();
}
