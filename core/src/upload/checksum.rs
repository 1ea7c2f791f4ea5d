//! The SHA-256 a client declares: accepted as 64 hex digits (any case) or as the 44
//! characters of standard padded base64 (what S3's `x-amz-checksum-sha256` carries), kept
//! in one canonical form, lower-case hex, and turned into base64 for the store.
//!
//! Invariant: `parse` accepts exactly the two spellings of 32 bytes and nothing else
//! (base64 with non-zero padding bits is refused, as strict decoders refuse it), so the
//! API's pattern, this parser and the stores agree.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// A SHA-256 digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sha256Digest([u8; 32]);

/// The pattern the API documents for `sha256`: hex of any case, or padded base64 whose
/// last character before `=` leaves the padding bits zero.
pub const SHA256_PATTERN: &str = "^([0-9A-Fa-f]{64}|[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=)$";

impl Sha256Digest {
    /// The digest of raw bytes (what a hasher produced).
    pub fn from_bytes(digest: [u8; 32]) -> Self {
        Sha256Digest(digest)
    }

    /// The digest written as 64 hex digits or 44 characters of padded base64.
    pub fn parse(text: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        match text.len() {
            64 => {
                for (i, pair) in text.as_bytes().chunks_exact(2).enumerate() {
                    out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
                }
                Some(Self(out))
            }
            44 => {
                let bytes = STANDARD.decode(text).ok()?;
                out.copy_from_slice(bytes.get(..32).filter(|_| bytes.len() == 32)?);
                Some(Self(out))
            }
            _ => None,
        }
    }

    /// The composite checksum S3 reports for a multipart object assembled from parts with
    /// these digests (in part order): the SHA-256 of the parts' raw digests, concatenated,
    /// in base64, then `-` and the number of parts. `None` for no parts.
    pub fn composite(parts: &[Sha256Digest]) -> Option<String> {
        use sha2::{Digest, Sha256};
        if parts.is_empty() {
            return None;
        }
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part.0);
        }
        Some(format!(
            "{}-{}",
            STANDARD.encode(hasher.finalize()),
            parts.len()
        ))
    }

    /// Lower-case hex: the form Sluice stores and returns.
    pub fn hex(&self) -> String {
        use std::fmt::Write as _;
        self.0.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }

    /// Standard padded base64: the form of `x-amz-checksum-sha256`.
    pub fn base64(&self) -> String {
        STANDARD.encode(self.0)
    }
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SHA-256 of "hello".
    const HEX: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    const B64: &str = "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=";

    #[test]
    fn hex_of_any_case_and_base64_name_the_same_digest() {
        let digest = Sha256Digest::parse(HEX).expect("hex");
        assert_eq!(Sha256Digest::parse(&HEX.to_uppercase()), Some(digest));
        assert_eq!(Sha256Digest::parse(B64), Some(digest));
        assert_eq!(digest.hex(), HEX);
        assert_eq!(digest.base64(), B64);
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            &HEX[..63],
            &format!("{HEX}0"),
            &HEX.replace('2', "g"),
            &B64.replace('=', "A"),
            // Non-zero padding bits: `Q` would be canonical, `R` is not.
            "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCR=",
            // URL-safe alphabet.
            &B64.replace('+', "-"),
            "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLm===",
        ] {
            assert_eq!(Sha256Digest::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_documented_pattern_matches_what_parse_accepts() {
        // Every base64 digest ends in one of the 16 characters the pattern lists.
        for byte in 0..=255u8 {
            let b64 = Sha256Digest([byte; 32]).base64();
            let before_pad = b64.as_bytes()[42];
            assert!(b"AEIMQUYcgkosw048".contains(&before_pad), "{b64}");
        }
        assert!(SHA256_PATTERN.contains("{42}[AEIMQUYcgkosw048]="));
    }
}
