//! Files in a conversation: what a message says about each file it carries.
//!
//! The bytes never travel over the socket. A file is uploaded over HTTP
//! first (`POST /files`, see docs/protocol.md), which answers with an
//! [`Attachment`]; the `send` frame then names the uploads it carries by id.

use serde::{Deserialize, Serialize};

/// Most files one message may carry (the server's own limit may be lower).
pub const MAX_ATTACHMENTS: usize = 10;

/// Longest file name kept, in characters (longer ones are shortened,
/// keeping the extension).
pub const MAX_FILE_NAME_CHARS: usize = 120;

/// One uploaded file, as a message carries it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Attachment {
    /// The upload's id: random, so that file addresses cannot be guessed
    /// (serving still checks who asks).
    pub id: String,
    /// The name it was uploaded with, cleaned (no path, no control characters).
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// What the content is, judged from its bytes (never from the name).
    pub content_type: String,
    /// Pixels, for images (the thumbnail keeps the aspect ratio before it
    /// loads, so the thread does not jump).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

impl Attachment {
    /// Shown inline as a picture (the server made a thumbnail).
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/") && self.width.is_some()
    }

    /// Where the file is downloaded from (the name is for the browser's
    /// "save as"; the server goes by the id).
    pub fn url(&self) -> String {
        format!("/files/{}/{}", self.id, url_segment(&self.name))
    }

    /// Where the image's thumbnail is.
    pub fn thumb_url(&self) -> String {
        format!("/files/thumb/{}", self.id)
    }

    /// "the visitor sent an image: cat.png" — what the assistant and the
    /// inbox preview read instead of the bytes.
    pub fn describe(&self) -> String {
        let what = if self.is_image() {
            "an image"
        } else {
            "a file"
        };
        format!("{what}: {}", self.name)
    }

    /// The kind shown on a file card ("PDF", "ZIP", "Text").
    pub fn kind_label(&self) -> String {
        crate::i18n::Locale::En.t(self.kind())
    }

    /// The kind of file, as a message of [`crate::i18n`] ("kind-pdf").
    pub fn kind(&self) -> &'static str {
        match self.content_type.as_str() {
            "application/pdf" => "kind-pdf",
            "application/zip" => "kind-zip",
            "text/plain" => "kind-text",
            t if t.starts_with("image/") => "kind-image",
            t if t.contains("word") || t.contains("opendocument.text") => "kind-document",
            t if t.contains("sheet") || t.contains("excel") => "kind-spreadsheet",
            t if t.contains("presentation") || t.contains("powerpoint") => "kind-slides",
            _ => "kind-file",
        }
    }
}

/// A size as people read it: "812 B", "14.2 KB", "3.1 MB".
pub fn human_size(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KB {
        format!("{bytes} B")
    } else if b < KB * KB {
        format!("{:.1} KB", b / KB)
    } else {
        format!("{:.1} MB", b / (KB * KB))
    }
}

/// Percent-encodes a file name for one path segment of a URL.
pub fn url_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A file name fit to keep and show: the last path part only, without
/// control or bidirectional-override characters, at most
/// [`MAX_FILE_NAME_CHARS`] (the extension kept); "file" when nothing is left.
pub fn clean_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        return "file".into();
    }
    if cleaned.chars().count() <= MAX_FILE_NAME_CHARS {
        return cleaned.to_owned();
    }
    let (stem, ext) = match cleaned.rsplit_once('.') {
        Some((stem, ext)) if ext.chars().count() <= 10 && !stem.is_empty() => (stem, ext),
        _ => (cleaned, ""),
    };
    let keep = MAX_FILE_NAME_CHARS - ext.chars().count() - 2;
    let stem: String = stem.chars().take(keep).collect();
    if ext.is_empty() {
        format!("{stem}…")
    } else {
        format!("{stem}….{ext}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_controls_and_length_but_keep_the_extension() {
        assert_eq!(clean_file_name("C:\\Users\\ana\\report.pdf"), "report.pdf");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("evil\u{202E}gpj.exe"), "evilgpj.exe");
        assert_eq!(clean_file_name("a\nb\0.txt"), "ab.txt");
        assert_eq!(clean_file_name("  "), "file");
        assert_eq!(clean_file_name(".htaccess"), "htaccess");
        let long = format!("{}.png", "x".repeat(500));
        let kept = clean_file_name(&long);
        assert_eq!(kept.chars().count(), MAX_FILE_NAME_CHARS);
        assert!(kept.ends_with("….png"), "{kept}");
    }

    #[test]
    fn urls_escape_the_name() {
        let a = Attachment {
            id: "abc".into(),
            name: "my report (1).pdf".into(),
            size: 3,
            content_type: "application/pdf".into(),
            width: None,
            height: None,
        };
        assert_eq!(a.url(), "/files/abc/my%20report%20%281%29.pdf");
        assert!(!a.is_image());
        assert_eq!(a.describe(), "a file: my report (1).pdf");
    }

    #[test]
    fn sizes_read_like_people_say_them() {
        assert_eq!(human_size(812), "812 B");
        assert_eq!(human_size(14_540), "14.2 KB");
        assert_eq!(human_size(10 * 1024 * 1024), "10.0 MB");
    }
}
