// Neither an async `main` nor one that returns the app: nothing for the attribute to run.
#[tidings::main]
fn main() {
    let _ = tidings::app!();
}
