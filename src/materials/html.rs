//! The server's own check of a news article's body (HTML). The admin UI
//! sanitizes what its editor produces, but a body is never trusted for that:
//! a body with a script-like tag, an event-handler attribute (`on…`) or a
//! `javascript:`/`vbscript:`/`data:` link is REFUSED (422 naming the
//! article's `content`), not silently stripped, so what is stored and sent
//! to WeChat is exactly what the admin saw and saved.

/// Tags refused anywhere in a body.
const REFUSED_TAGS: &[&str] = &[
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "input",
    "button", "textarea", "select", "link", "meta", "base", "svg", "math",
];

/// Why `html` may not be an article body, or None.
pub fn unsafe_part(html: &str) -> Option<String> {
    let bytes = html.as_bytes();
    let mut i = 0;
    while let Some(start) = html[i..].find('<').map(|p| p + i) {
        let mut j = start + 1;
        if bytes.get(j) == Some(&b'!') || bytes.get(j) == Some(&b'?') {
            i = j;
            continue;
        }
        if bytes.get(j) == Some(&b'/') {
            j += 1;
        }
        let name_end = html[j..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(html.len(), |p| p + j);
        let name = html[j..name_end].to_ascii_lowercase();
        if name.is_empty() {
            i = start + 1;
            continue;
        }
        if REFUSED_TAGS.contains(&name.as_str()) {
            return Some(format!("<{name}>"));
        }
        // Attributes up to the closing '>', quotes respected.
        let mut k = name_end;
        loop {
            while k < bytes.len() && (bytes[k].is_ascii_whitespace() || bytes[k] == b'/') {
                k += 1;
            }
            if k >= bytes.len() || bytes[k] == b'>' {
                break;
            }
            let attr_end = html[k..]
                .find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '>' || c == '/')
                .map_or(html.len(), |p| p + k);
            let attr = html[k..attr_end].to_ascii_lowercase();
            k = attr_end.max(k + 1);
            while k < bytes.len() && bytes[k].is_ascii_whitespace() {
                k += 1;
            }
            let mut value = String::new();
            if k < bytes.len() && bytes[k] == b'=' {
                k += 1;
                while k < bytes.len() && bytes[k].is_ascii_whitespace() {
                    k += 1;
                }
                if k < bytes.len() && (bytes[k] == b'"' || bytes[k] == b'\'') {
                    let quote = bytes[k] as char;
                    let end = html[k + 1..].find(quote).map_or(html.len(), |p| p + k + 1);
                    value = html[k + 1..end].to_string();
                    k = (end + 1).min(html.len());
                } else {
                    let end = html[k..]
                        .find(|c: char| c.is_ascii_whitespace() || c == '>')
                        .map_or(html.len(), |p| p + k);
                    value = html[k..end].to_string();
                    k = end;
                }
            }
            if attr.starts_with("on") {
                return Some(format!("{attr}="));
            }
            if matches!(
                attr.as_str(),
                "href" | "src" | "action" | "formaction" | "xlink:href"
            ) {
                let plain: String = value
                    .chars()
                    .filter(|c| !c.is_whitespace() && !c.is_control())
                    .collect::<String>()
                    .to_ascii_lowercase();
                for scheme in ["javascript:", "vbscript:", "data:"] {
                    if plain.starts_with(scheme) || plain.starts_with("&#") {
                        return Some(format!("{attr}={scheme}"));
                    }
                }
            }
        }
        i = k.min(html.len()).max(start + 1);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::unsafe_part;

    #[test]
    fn refuses_scripts_handlers_and_script_links() {
        assert_eq!(
            unsafe_part("<p>hi</p><SCRIPT>x()</SCRIPT>").as_deref(),
            Some("<script>")
        );
        assert_eq!(
            unsafe_part("<p onclick=\"x()\">hi</p>").as_deref(),
            Some("onclick=")
        );
        assert_eq!(
            unsafe_part("<img src=x OnError=alert(1)>").as_deref(),
            Some("onerror=")
        );
        assert!(unsafe_part("<a href=\" javascript:alert(1)\">x</a>").is_some());
        assert!(unsafe_part("<a href='&#106;avascript:x'>x</a>").is_some());
    }

    #[test]
    fn accepts_ordinary_article_html() {
        let body = "<h2>标题</h2><p>Some <strong>bold</strong> text, 1 < 2 and a > b.</p>\
                    <ul><li>one</li></ul><a href=\"https://example.com/?a=1&b=2\">link</a>\
                    <img src=\"http://mmbiz.qpic.cn/x.png\"><p title=\"online\">x</p>";
        assert_eq!(unsafe_part(body), None);
    }
}
