//! JSON pointer helpers.

/// Appends one token to a JSON pointer, escaping `~` and `/`.
pub(crate) fn join(pointer: &str, token: &str) -> String {
    format!("{pointer}/{}", token.replace('~', "~0").replace('/', "~1"))
}
