//! The `tidings` binary: see [`tidings_cli`].

fn main() -> std::process::ExitCode {
    tidings_cli::cli::main()
}
