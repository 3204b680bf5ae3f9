// placeholder so the workspace manifest parses; the redaction engineer replaces it.
fn main() {}
