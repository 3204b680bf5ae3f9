//! HTML escaping, one rule for every page dhub writes (the platform's search page, the annual
//! report, the public version of a decision document).

/// Appends `text` to `out`, escaped for HTML element content and quoted attribute values alike
/// (also valid XML content, apart from `&#39;`, which XML accepts too).
pub fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// [`escape_into`] a new string.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    escape_into(text, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_markup_character_is_escaped_and_the_rest_kept() {
        assert_eq!(
            escape(r#"<a href="x">张三 & '李四'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;张三 &amp; &#39;李四&#39;&lt;/a&gt;"
        );
    }
}
