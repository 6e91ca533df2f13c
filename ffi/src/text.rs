//! Strings handed out to C: UTF-8 bytes followed by a NUL that the length
//! does not count, so a caller may use them as C strings when the text holds
//! no NUL of its own.

/// An owned, NUL-terminated UTF-8 string with an explicit length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text(Box<[u8]>);

/// Texts may hold card data (decoded fields, user IDs, the JSON of a
/// record): wiped when freed.
impl Drop for Text {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl Text {
    pub(crate) fn new(s: &str) -> Self {
        let mut bytes = Vec::with_capacity(s.len() + 1);
        bytes.extend_from_slice(s.as_bytes());
        bytes.push(0);
        Self(bytes.into_boxed_slice())
    }

    /// The start of the text; `len()` bytes follow, then a NUL.
    pub(crate) fn as_ptr(&self) -> *const std::ffi::c_char {
        self.0.as_ptr().cast()
    }

    /// The length in bytes, without the terminating NUL.
    pub(crate) fn len(&self) -> usize {
        self.0.len().saturating_sub(1)
    }

    /// The text, without the terminating NUL.
    pub(crate) fn as_str(&self) -> &str {
        let bytes = self.0.get(..self.len()).unwrap_or_default();
        std::str::from_utf8(bytes).unwrap_or_default()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Self::new(&s)
    }
}
