//! `tidings codegen avro` through the binary: the generated file of
//! `examples/avro-codegen` is up to date (`--check`, exit 0), a stale copy fails the
//! check (exit 1) and is rewritten, and a bad schema exits 2 with the file and pointer.

mod common;

use common::{tidings, temp_dir, workspace};

fn example_schemas() -> Vec<String> {
    let dir = workspace().join("examples/avro-codegen/schemas");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".avsc"))
        .collect();
    files.sort();
    files
}

#[test]
fn check_passes_on_the_example_and_fails_on_a_stale_copy() {
    let output = workspace().join("examples/avro-codegen/src/events.rs");
    let mut args = vec!["codegen".to_owned(), "avro".to_owned()];
    args.extend(example_schemas());
    args.extend(["-o".to_owned(), output.display().to_string(), "--check".to_owned()]);
    let out = tidings(&args);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    // The same files into a copy of the crate whose events.rs is stale.
    let dir = temp_dir("codegen");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
    std::fs::create_dir_all(dir.join("schemas")).unwrap();
    for f in example_schemas() {
        let name = std::path::Path::new(&f).file_name().unwrap().to_owned();
        std::fs::copy(&f, dir.join("schemas").join(name)).unwrap();
    }
    let copy = dir.join("src/events.rs");
    std::fs::write(&copy, std::fs::read_to_string(&output).unwrap().replace("pub priority", "pub urgency")).unwrap();
    let schemas: Vec<String> = example_schemas()
        .iter()
        .map(|f| dir.join("schemas").join(std::path::Path::new(f).file_name().unwrap()).display().to_string())
        .collect();
    let run = |check: bool| {
        let mut args = vec!["codegen".to_owned(), "avro".to_owned()];
        args.extend(schemas.clone());
        args.extend(["-o".to_owned(), copy.display().to_string()]);
        if check {
            args.push("--check".into());
        }
        tidings(&args)
    };
    let out = run(true);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is stale"));
    assert_eq!(run(false).status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), std::fs::read_to_string(&output).unwrap(), "the manifest found above -o: same paths, same bytes");
    assert_eq!(run(true).status.code(), Some(0));

    std::fs::write(dir.join("schemas/bad.avsc"), r#"{"type":"record","name":"B","fields":[{"name":"x","type":["int","string"]}]}"#).unwrap();
    let out = tidings(&["codegen", "avro", &dir.join("schemas/bad.avsc").display().to_string(), "-o", &copy.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.avsc#/fields/0/type: union [int, string]: only unions of null and one type"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
