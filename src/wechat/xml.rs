//! Reads WeChat's flat XML documents into ordered (path, text) fields, e.g.
//! `("Content", "hi")` or `("ScanCodeInfo.ScanType", "qrcode")`. Nothing is
//! dropped: unknown elements are kept as fields too.

use quick_xml::events::Event;
use quick_xml::Reader;

const MAX_DEPTH: usize = 8;
const MAX_FIELDS: usize = 512;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    #[error("XML with a DOCTYPE is refused")]
    Doctype,
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("the document has no <xml> root element")]
    NoRoot,
    #[error("XML nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("XML has more than {MAX_FIELDS} elements")]
    TooManyFields,
    #[error("the character U+0000 (NUL) is not allowed in XML")]
    Nul,
}

/// The fields of one document, in document order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// First value at `path`.
    pub fn get(&self, path: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, v)| v.as_str())
    }

    /// Value at `path`, or "" when absent.
    pub fn text(&self, path: &str) -> String {
        self.get(path).unwrap_or_default().to_string()
    }

    /// Every value at `path` (repeated elements such as picture lists).
    pub fn all(&self, path: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn parse_num<T: std::str::FromStr>(&self, path: &str) -> Option<T> {
        self.get(path).and_then(|v| v.trim().parse().ok())
    }
}

/// Parses `<xml>…</xml>`; children become fields named by their path below the root.
pub fn parse(xml: &str) -> Result<Fields, XmlError> {
    // XML 1.0 forbids U+0000 even inside CDATA, and no database of ours could
    // store it: refused like any malformed document, never half-stored.
    if xml.contains('\0') {
        return Err(XmlError::Nul);
    }
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    let mut fields = Vec::new();
    let mut text = String::new();
    let mut saw_root = false;
    loop {
        match reader
            .read_event()
            .map_err(|e| XmlError::Malformed(e.to_string()))?
        {
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Start(start) => {
                let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                if path.is_empty() {
                    if name != "xml" {
                        return Err(XmlError::NoRoot);
                    }
                    saw_root = true;
                }
                path.push(name);
                if path.len() > MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                text.clear();
            }
            Event::Empty(empty) => {
                if path.is_empty() {
                    return Err(XmlError::NoRoot);
                }
                let name = String::from_utf8_lossy(empty.name().as_ref()).into_owned();
                push_field(&mut fields, &path, &name, String::new())?;
            }
            Event::Text(t) => {
                let unescaped = t
                    .unescape()
                    .map_err(|e| XmlError::Malformed(e.to_string()))?;
                text.push_str(&unescaped);
            }
            Event::CData(c) => {
                let raw = c.into_inner();
                text.push_str(
                    std::str::from_utf8(&raw).map_err(|e| XmlError::Malformed(e.to_string()))?,
                );
            }
            Event::End(_) => {
                let name = path
                    .pop()
                    .ok_or_else(|| XmlError::Malformed("unbalanced end tag".into()))?;
                if path.is_empty() {
                    // The root closed: anything after it is ignored, as WeChat does.
                    break;
                }
                // Only leaves carry text; a parent's value is what its leaves said.
                if !text.is_empty() || !fields_under(&fields, &path, &name) {
                    push_field(&mut fields, &path, &name, std::mem::take(&mut text))?;
                }
                text.clear();
            }
            Event::Eof => {
                if !saw_root {
                    return Err(XmlError::NoRoot);
                }
                if !path.is_empty() {
                    return Err(XmlError::Malformed(
                        "the document ends inside an element".into(),
                    ));
                }
                break;
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
        }
    }
    Ok(Fields(fields))
}

fn key(path: &[String], name: &str) -> String {
    // path[0] is the root `xml`, left out of field names.
    let mut key = path[1..].join(".");
    if !key.is_empty() {
        key.push('.');
    }
    key.push_str(name);
    key
}

fn fields_under(fields: &[(String, String)], path: &[String], name: &str) -> bool {
    let prefix = format!("{}.", key(path, name));
    fields.iter().any(|(p, _)| p.starts_with(&prefix))
}

fn push_field(
    fields: &mut Vec<(String, String)>,
    path: &[String],
    name: &str,
    value: String,
) -> Result<(), XmlError> {
    if fields.len() >= MAX_FIELDS {
        return Err(XmlError::TooManyFields);
    }
    fields.push((key(path, name), value));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_nested_cdata_and_entities() {
        let fields = parse(
            "<?xml version=\"1.0\"?><xml><ToUserName><![CDATA[gh_1]]></ToUserName><CreateTime>123</CreateTime>\
             <Content><![CDATA[a ]]]]><![CDATA[> b]]></Content><Esc>1 &lt; 2 &amp; 你好</Esc>\
             <ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType><ScanResult>x</ScanResult></ScanCodeInfo>\
             <SendPicsInfo><Count>2</Count><PicList><item><PicMd5Sum>m1</PicMd5Sum></item><item><PicMd5Sum>m2</PicMd5Sum></item></PicList></SendPicsInfo>\
             <Empty/><Blank></Blank></xml>",
        )
        .unwrap();
        assert_eq!(fields.get("ToUserName"), Some("gh_1"));
        assert_eq!(fields.parse_num::<i64>("CreateTime"), Some(123));
        assert_eq!(fields.get("Content"), Some("a ]]> b"));
        assert_eq!(fields.get("Esc"), Some("1 < 2 & 你好"));
        assert_eq!(fields.get("ScanCodeInfo.ScanType"), Some("qrcode"));
        assert_eq!(
            fields.all("SendPicsInfo.PicList.item.PicMd5Sum"),
            vec!["m1", "m2"]
        );
        assert_eq!(fields.get("Empty"), Some(""));
        assert_eq!(fields.get("Blank"), Some(""));
        assert_eq!(fields.get("ScanCodeInfo"), None);
    }

    #[test]
    fn refusals() {
        assert_eq!(
            parse("<!DOCTYPE xml [<!ENTITY e \"x\">]><xml><A>&e;</A></xml>"),
            Err(XmlError::Doctype)
        );
        assert_eq!(parse("<root><A>1</A></root>"), Err(XmlError::NoRoot));
        assert_eq!(parse(""), Err(XmlError::NoRoot));
        assert!(matches!(
            parse("<xml><A>1</B></xml>"),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(
            parse("<xml><A>1</A>"),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(
            parse("<xml><A>&unknown;</A></xml>"),
            Err(XmlError::Malformed(_))
        ));
        let deep = format!("<xml>{}{}</xml>", "<a>".repeat(10), "</a>".repeat(10));
        assert_eq!(parse(&deep), Err(XmlError::TooDeep));
    }
}
