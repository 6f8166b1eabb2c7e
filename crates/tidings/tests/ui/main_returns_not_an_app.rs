// A describing `main` returns the `App`, not what `run` returns.
#[tidings::main]
fn main() -> Result<(), tidings::Error> {
    Ok(())
}
