//! JSON and text renderings of what the commands return.

use cardap::{ApRecord, DirEntry};
use std::io::Write;

/// Writes one line to stdout; a closed stdout ends the process quietly.
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("cardap: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// The JSON of a record or an AP list (`serde::Serialize` of the core's
/// `json` feature).
fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // Serializing records and lists cannot fail: every map key is a string.
    serde_json::to_string(value).unwrap_or_default()
}

pub fn print_record(r: &ApRecord, as_json: bool) {
    if as_json {
        outln!("{}", json(r));
        return;
    }
    outln!("name       {}", escape(r.name()));
    outln!("type       {}", r.ap_type().name());
    outln!("aid        {}", hex::encode_upper(r.aid()));
    outln!("user_id    {}", escape(r.user_id().as_str()));
    for (k, v) in r.info() {
        outln!("{:<10} {}", escape(k), hex::encode_upper(v));
    }
    if let Some(d) = r.data() {
        outln!("data       {}", hex::encode_upper(d));
    }
    for (k, v) in r.fields() {
        outln!("{:<10} {}", escape(k), escape(v));
    }
    outln!("apdus      {}", r.apdus());
    outln!("");
}

pub fn print_dir(entries: &[DirEntry], as_json: bool) {
    if as_json {
        outln!("{}", json(entries));
        return;
    }
    for e in entries {
        outln!(
            "{}  {}",
            hex::encode_upper(e.aid()),
            escape(e.label().unwrap_or(""))
        );
    }
}

/// Text from a card (or a reader name) made safe for a terminal: control
/// characters (C0, DEL, C1, which start escape sequences), and the bidi and
/// line-separator controls, are shown as `\u{..}` escapes; everything else,
/// Japanese text included, is kept.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let unsafe_char = c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200E}' | '\u{200F}')
            || ('\u{202A}'..='\u{202E}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c);
        if unsafe_char {
            out.extend(c.escape_unicode());
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    out
}

/// An error message on one line, terminal-safe.
pub fn one_line(text: &str) -> String {
    escape(&text.replace(['\n', '\r'], " "))
}

/// A command APDU in hex for display, with the data of commands that carry a
/// secret (VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER: PINs) replaced
/// by `<redacted N bytes>`.
pub fn redacted_command(command: &[u8]) -> String {
    const SECRET_INS: [u8; 3] = [0x20, 0x24, 0x2C];
    match command {
        [_, ins, _, _, rest @ ..] if SECRET_INS.contains(ins) && !rest.is_empty() => {
            let head = command.get(..4).map(hex::encode_upper).unwrap_or_default();
            format!("{head}<redacted {} bytes>", rest.len())
        }
        _ => hex::encode_upper(command),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls_and_keeps_text() {
        assert_eq!(escape("\u{1b}[2J\u{7}ok"), "\\u{1b}[2J\\u{7}ok");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape("図書館 library"), "図書館 library");
        assert_eq!(escape("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(one_line("a\nb"), "a b");
    }

    #[test]
    fn pins_are_not_shown() {
        let verify = [0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34];
        let shown = redacted_command(&verify);
        assert_eq!(shown, "00200080<redacted 5 bytes>");
        assert!(!shown.contains("31323334"));
        assert_eq!(
            redacted_command(&[0x00, 0xB0, 0x81, 0x00, 0x00]),
            "00B0810000"
        );
    }
}
