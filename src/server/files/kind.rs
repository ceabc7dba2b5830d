//! What a file is, judged from its first bytes (`infer`'s signatures), never
//! from its name or what the browser claims; and whether it may be kept.

/// Types kept by default: pictures, PDF, plain text, office documents
/// (Microsoft's and OpenDocument) and zip archives. Nothing a browser would
/// run: no HTML, SVG, XML or scripts.
const ALLOWED: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "text/plain",
];

/// Pictures the server reads to make thumbnails.
pub const IMAGES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

/// The verdict on a file's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Kept, as this type.
    Allowed(&'static str),
    /// Recognised, not kept ("text/html", "application/x-executable").
    Refused(String),
}

/// Judges `bytes` (the whole file: text is only text if all of it is).
pub fn judge(bytes: &[u8]) -> Kind {
    if let Some(found) = infer::get(bytes) {
        let mime = found.mime_type();
        return match ALLOWED.iter().find(|allowed| **allowed == mime) {
            Some(allowed) => Kind::Allowed(allowed),
            None => Kind::Refused(mime.to_owned()),
        };
    }
    // No signature: text if it is UTF-8 without control bytes other than
    // line breaks and tabs (a form feed, a NUL: binary of some kind).
    match std::str::from_utf8(bytes) {
        Ok(text)
            if !text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) =>
        {
            if looks_like_markup(text) {
                Kind::Refused("text/html".into())
            } else {
                Kind::Allowed("text/plain")
            }
        }
        _ => Kind::Refused("application/octet-stream".into()),
    }
}

/// Text a browser might take for a page: starts with a tag. It is served as
/// plain text anyway, but such a file is refused rather than kept.
fn looks_like_markup(text: &str) -> bool {
    let start = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    start.starts_with('<')
}

/// What people call a refused type, for the error they read.
pub fn describe(mime: &str) -> String {
    match mime {
        "text/html" | "application/xhtml+xml" => "a web page (HTML)".into(),
        "image/svg+xml" => "an SVG image".into(),
        "application/octet-stream" => "an unrecognised binary file".into(),
        m if m.contains("executable") || m.contains("msdownload") || m.contains("elf") => {
            "a program".into()
        }
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_decides_not_the_name() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
        assert_eq!(judge(png), Kind::Allowed("image/png"));
        assert_eq!(judge(b"%PDF-1.7\n..."), Kind::Allowed("application/pdf"));
        assert_eq!(
            judge("Hello,\r\nworld\twith ünïcödé".as_bytes()),
            Kind::Allowed("text/plain")
        );
        // A page renamed to .png, a script, a program: refused.
        assert!(matches!(
            judge(b"<html><script>alert(1)</script></html>"),
            Kind::Refused(_)
        ));
        assert!(matches!(
            judge(b"  <svg onload=alert(1)>"),
            Kind::Refused(_)
        ));
        assert!(matches!(judge(b"MZ\x90\0\x03\0\0\0"), Kind::Refused(_)));
        assert!(matches!(judge(b"\x7fELF\x02\x01\x01"), Kind::Refused(_)));
        assert!(matches!(judge(b"text\0with a nul"), Kind::Refused(_)));
    }
}
