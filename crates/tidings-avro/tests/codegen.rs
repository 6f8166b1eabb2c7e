//! `tidings codegen avro`: a snapshot of the output for a schema set (records, nested
//! and shared types, enums, arrays, maps, optional unions, defaults, logical types,
//! namespaces, names that are not Rust style), the errors for schemas it cannot
//! generate (each naming the file and the JSON pointer), and `--check`.
//! `examples/avro-codegen` proves that generated code compiles (the derives check it
//! against the schemas) and round-trips through the codec.

use std::path::{Path, PathBuf};

use tidings_avro::cli::{codegen as run_cli, CodegenArgs, CodegenCommand};
use tidings_avro::codegen::{generate, CodegenError, Options, UuidType};

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn options(files: &[&str]) -> Options {
    Options {
        files: files.iter().map(|f| manifest().join(f)).collect(),
        manifest_dir: manifest(),
        output: Some(manifest().join("src/events.rs")),
        uuid: UuidType::String,
    }
}

fn temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tidings-codegen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file
}

fn error_of(text: &str) -> CodegenError {
    let file = temp("bad.avsc", text);
    let e = generate(&Options { files: vec![file.clone()], ..options(&[]) }).expect_err("an error");
    assert_eq!(e.file, file.display().to_string());
    e
}

#[test]
fn the_output_for_a_schema_set() {
    let text = generate(&options(&["tests/codegen/payment.avsc", "tests/codegen/batch.avsc", "tests/codegen/method.avsc"])).unwrap();
    insta::assert_snapshot!(text);
}

#[test]
fn uuid_fields_can_be_uuid_uuid() {
    let text = generate(&Options { uuid: UuidType::Uuid, ..options(&["tests/codegen/payment.avsc"]) }).unwrap();
    assert!(text.contains("use uuid::Uuid;"), "{text}");
    assert!(text.contains("pub payment_id: Uuid,"), "{text}");
    assert!(text.contains("Uuid::parse_str(\"00000000-0000-0000-0000-000000000001\").unwrap_or_default()"), "{text}");
}

#[test]
fn bad_schemas_are_errors_naming_the_file_and_the_pointer() {
    let e = error_of("{\"type\": \"record\",\n \"name\": ");
    assert_eq!(e.pointer, "2:9", "{e}");
    assert!(e.message.starts_with("not JSON"), "{e}");

    let e = error_of(r#"{"type":"record","name":"A","fields":[{"name":"x","type":"string"},{"name":"y","type":{"type":"map"}}]}"#);
    assert_eq!((e.pointer.as_str(), e.message.starts_with("not a valid Avro schema: a map needs `values`")), ("/fields/1/type", true), "{e}");

    let e = error_of(r#"{"type":"record","name":"A","fields":[{"name":"x","type":"integer"}]}"#);
    assert_eq!(e.pointer, "/fields/0/type", "{e}");
    assert!(e.to_string().contains("bad.avsc#/fields/0/type: not a valid Avro schema: `integer` is neither"), "{e}");

    let e = error_of(r#"{"type":"record","name":"A","fields":[{"name":"x","type":{"type":"array","items":["null","int","string"]}}]}"#);
    assert_eq!(e.pointer, "/fields/0/type/items", "{e}");
    assert!(e.message.contains("only unions of null and one type"), "{e}");

    let e = error_of(r#"{"type":"record","name":"A","fields":[{"name":"h","type":{"type":"fixed","name":"H","size":64}}]}"#);
    assert_eq!(e.pointer, "/fields/0/type", "{e}");
    assert!(e.message.contains("at most 32"), "{e}");

    let e = error_of(r#"{"type":"record","name":"A","fields":[{"name":"d","type":{"type":"fixed","name":"D","size":16},"default":"x"}]}"#);
    assert_eq!(e.pointer, "/fields/0/default", "{e}");
    assert!(e.message.contains("cannot write the default of `d`: 1 bytes for a fixed of 16"), "{e}");

    let e = error_of(r#"{"type":"record","name":"A","fields":[{"name":"o","type":["null","int"]}, {"name":"b","type":{"type":"record","name":"B","fields":[{"name":"d","type":{"type":"fixed","name":"Dur","size":12,"logicalType":"duration"}}]}}]}"#);
    assert_eq!(e.pointer, "/fields/1/type/fields/0/type", "{e}");
    assert!(e.message.contains("duration has no Rust type yet"), "{e}");

    // apache-avro names the field of a bad default; the pointer is found from that.
    let e = error_of(r#"{"type":"record","name":"A","fields":[{"name":"ok","type":"int"},{"name":"n","type":"int","default":"x"}]}"#);
    assert_eq!(e.pointer, "/fields/1/default", "{e}");

    let e = error_of(r#""string""#);
    assert_eq!(e.pointer, "");
    assert!(e.message.contains("the top-level type is string"), "{e}");

    let e = error_of(r#"{"type":"record","name":"A","fields":[{"name":"a_b","type":"int"},{"name":"aB","type":"int"}]}"#);
    assert_eq!(e.pointer, "/fields/1/name", "{e}");
}

#[test]
fn one_name_with_two_definitions_is_an_error() {
    let e = generate(&options(&["tests/codegen/payment.avsc", "tests/codegen-conflict/refund.avsc"])).unwrap_err();
    assert!(e.file.ends_with("refund.avsc"), "{e}");
    assert_eq!(e.pointer, "/fields/0/type");
    assert!(e.message.starts_with("`billing.v1.payment_received` is defined differently in"), "{e}");
}

fn cli(files: &[&str], output: &Path, check: bool) -> (u8, String) {
    let cmd = CodegenCommand::Avro(CodegenArgs {
        files: files.iter().map(|f| manifest().join(f)).collect(),
        output: Some(output.to_path_buf()),
        check,
        manifest_dir: Some(manifest()),
        uuid: UuidType::String,
    });
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_cli(&cmd, &mut out, &mut err);
    (code, String::from_utf8(out).unwrap() + &String::from_utf8(err).unwrap())
}

#[test]
fn check_fails_on_a_stale_file_and_passes_once_written() {
    let output = temp("events.rs", "// old\n");
    let files = ["tests/codegen/method.avsc"];
    let (code, text) = cli(&files, &output, true);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("is stale"), "{text}");
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "// old\n", "--check writes nothing");
    assert_eq!(cli(&files, &output, false).0, 0);
    let (code, text) = cli(&files, &output, true);
    assert_eq!((code, text.trim_end()), (0, format!("up to date    {}", output.display()).as_str()));
    let (code, text) = cli(&["tests/codegen/missing.avsc"], &output, false);
    assert_eq!(code, 2);
    assert!(text.contains("missing.avsc#: cannot read it"), "{text}");
}
