//! Secret-holding types. Their `Debug` never shows the contents, they have no
//! `Display`, and their memory is wiped when they are dropped, so a secret
//! cannot reach a log line through `{:?}` or linger in freed memory.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Secret bytes (a private key, an API secret, a token). Wiped on drop.
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of `bytes`; the caller's buffer becomes the secret's, so
    /// no unwiped copy is left behind.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// Copies `bytes`. The caller stays responsible for wiping its own copy.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// The secret itself. Named so that every use stands out in review.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret as UTF-8 text, or `None` when it is not valid UTF-8.
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBytes(***)")
    }
}

impl From<SecretString> for SecretBytes {
    fn from(mut s: SecretString) -> Self {
        // Moving the String's buffer out leaves an empty String behind, so the
        // bytes exist exactly once, inside the returned value.
        Self(std::mem::take(&mut s.0).into_bytes())
    }
}

/// Secret text (a password, a PHC hash). Wiped on drop.
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(s: String) -> Self {
        Self(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Counts characters rather than bytes, for length rules on passwords.
    pub fn char_count(&self) -> usize {
        self.0.chars().count()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

/// Compares without stopping at the first differing byte, so the time taken
/// does not reveal how much of a guess was right. Lengths are not hidden.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        same_bytes(&self.0, &other.0)
    }
}

impl Eq for SecretBytes {}

impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        same_bytes(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for SecretString {}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        Self(s)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_contents() {
        let b = SecretBytes::from_slice(b"hunter2-bytes");
        let s = SecretString::new("hunter2-text".to_owned());
        assert_eq!(format!("{b:?}"), "SecretBytes(***)");
        assert_eq!(format!("{s:?}"), "SecretString(***)");
        assert_eq!(
            format!("{:#?}", Some(&b)),
            "Some(\n    SecretBytes(***),\n)"
        );
    }

    #[test]
    fn zeroize_clears_buffer() {
        let mut b = SecretBytes::from_slice(b"abc");
        b.zeroize();
        assert!(b.is_empty());
        let mut s = SecretString::new("abc".to_owned());
        s.zeroize();
        assert!(s.is_empty());
    }

    #[test]
    fn equality() {
        assert_eq!(
            SecretBytes::from_slice(b"abc"),
            SecretBytes::from_slice(b"abc")
        );
        assert_ne!(
            SecretBytes::from_slice(b"abc"),
            SecretBytes::from_slice(b"abd")
        );
        assert_ne!(
            SecretBytes::from_slice(b"abc"),
            SecretBytes::from_slice(b"ab")
        );
        assert_ne!(SecretBytes::from_slice(b""), SecretBytes::from_slice(b"\0"));
        assert_eq!(
            SecretString::new("pw".into()),
            SecretString::new("pw".into())
        );
        assert_ne!(
            SecretString::new("pw".into()),
            SecretString::new("pW".into())
        );
    }

    #[test]
    fn conversion_keeps_bytes() {
        let b: SecretBytes = SecretString::new("pässword".to_owned()).into();
        assert_eq!(b.expose(), "pässword".as_bytes());
        assert_eq!(b.expose_str(), Some("pässword"));
        assert_eq!(SecretBytes::from_slice(&[0xff]).expose_str(), None);
    }
}
