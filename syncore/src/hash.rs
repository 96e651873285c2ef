//! Content addressing: 32-byte digests and the algorithms that make them.
//!
//! A [`Digest`] names bytes by their content. syncore hashes with BLAKE3 by default and can
//! use SHA-256 instead for compatibility with SHA-256 content-addressed systems; both produce
//! 32 bytes. Every store and manifest records its [`HashAlgo`], and a replica never mixes the
//! two in one store. This module only hashes; it never decides what to hash or where bytes go.

use std::fmt;
use std::str::FromStr;

use sha2::Digest as _;

use crate::error::{Error, Result};

/// A 32-byte content digest, shown and parsed as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Digest([u8; Digest::LEN]);

impl Digest {
    /// Length of a digest in bytes.
    pub const LEN: usize = 32;

    /// Wraps raw digest bytes.
    pub const fn from_bytes(bytes: [u8; Digest::LEN]) -> Self {
        Digest(bytes)
    }

    /// Reads a digest from a slice that must be exactly [`Digest::LEN`] bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; Digest::LEN] = bytes.try_into().map_err(|_| {
            Error::invalid(format!(
                "digest must be {} bytes, got {}",
                Digest::LEN,
                bytes.len()
            ))
        })?;
        Ok(Digest(arr))
    }

    /// The raw digest bytes.
    pub const fn as_bytes(&self) -> &[u8; Digest::LEN] {
        &self.0
    }

    /// The digest as 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// Parses 64 hex characters (either case).
    pub fn from_hex(hex: &str) -> Result<Self> {
        let bytes = hex.as_bytes();
        if bytes.len() != 2 * Digest::LEN {
            return Err(Error::invalid(format!(
                "hex digest must be {} characters, got {}",
                2 * Digest::LEN,
                bytes.len()
            )));
        }
        let mut out = [0u8; Digest::LEN];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let hi = hex_value(pair[0]);
            let lo = hex_value(pair[1]);
            match (hi, lo) {
                (Some(hi), Some(lo)) => out[i] = (hi << 4) | lo,
                _ => {
                    return Err(Error::invalid(format!(
                        "hex digest has a non-hex character near position {}",
                        2 * i
                    )))
                }
            }
        }
        Ok(Digest(out))
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 2 * Digest::LEN];
        for (i, b) in self.0.iter().enumerate() {
            buf[2 * i] = HEX[usize::from(b >> 4)];
            buf[2 * i + 1] = HEX[usize::from(b & 0x0f)];
        }
        // The buffer holds only ASCII hex digits.
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Digest::from_hex(s)
    }
}

impl AsRef<[u8]> for Digest {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<[u8; Digest::LEN]> for Digest {
    fn from(bytes: [u8; Digest::LEN]) -> Self {
        Digest(bytes)
    }
}

/// The hash algorithm a store or manifest uses for its digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HashAlgo {
    /// BLAKE3 (the default): fast, parallel, secure.
    #[default]
    Blake3,
    /// SHA-256, for compatibility with SHA-256 content-addressed systems.
    Sha256,
}

impl HashAlgo {
    /// Every algorithm, in code order.
    pub const ALL: [HashAlgo; 2] = [HashAlgo::Blake3, HashAlgo::Sha256];

    /// The one-byte code used for this algorithm in syncore's binary formats.
    pub const fn code(self) -> u8 {
        match self {
            HashAlgo::Blake3 => 1,
            HashAlgo::Sha256 => 2,
        }
    }

    /// The algorithm for a one-byte format code.
    pub fn from_code(code: u8) -> Result<Self> {
        match code {
            1 => Ok(HashAlgo::Blake3),
            2 => Ok(HashAlgo::Sha256),
            other => Err(Error::Unsupported(format!(
                "unknown hash algorithm code {other}"
            ))),
        }
    }

    /// The algorithm's lowercase name: `"blake3"` or `"sha256"`.
    pub const fn name(self) -> &'static str {
        match self {
            HashAlgo::Blake3 => "blake3",
            HashAlgo::Sha256 => "sha256",
        }
    }

    /// Hashes `data` in one call.
    pub fn digest(self, data: &[u8]) -> Digest {
        match self {
            HashAlgo::Blake3 => Digest(*blake3::hash(data).as_bytes()),
            HashAlgo::Sha256 => Digest(sha2::Sha256::digest(data).into()),
        }
    }

    /// A streaming hasher for this algorithm.
    pub fn hasher(self) -> Hasher {
        match self {
            HashAlgo::Blake3 => Hasher(HasherState::Blake3(Box::new(blake3::Hasher::new()))),
            HashAlgo::Sha256 => Hasher(HasherState::Sha256(sha2::Sha256::new())),
        }
    }
}

impl fmt::Display for HashAlgo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HashAlgo {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "blake3" => Ok(HashAlgo::Blake3),
            "sha256" | "sha-256" => Ok(HashAlgo::Sha256),
            _ => Err(Error::invalid(format!(
                "unknown hash algorithm {s:?} (expected \"blake3\" or \"sha256\")"
            ))),
        }
    }
}

/// An incremental hasher; feed it with [`Hasher::update`] and finish with [`Hasher::finalize`].
#[derive(Clone)]
pub struct Hasher(HasherState);

#[derive(Clone)]
enum HasherState {
    Blake3(Box<blake3::Hasher>),
    Sha256(sha2::Sha256),
}

impl Hasher {
    /// Adds bytes to the hash.
    pub fn update(&mut self, data: &[u8]) -> &mut Self {
        match &mut self.0 {
            HasherState::Blake3(h) => {
                h.update(data);
            }
            HasherState::Sha256(h) => h.update(data),
        }
        self
    }

    /// The digest of everything fed so far.
    pub fn finalize(&self) -> Digest {
        match &self.0 {
            HasherState::Blake3(h) => Digest(*h.finalize().as_bytes()),
            HasherState::Sha256(h) => Digest(h.clone().finalize().into()),
        }
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let algo = match self.0 {
            HasherState::Blake3(_) => HashAlgo::Blake3,
            HasherState::Sha256(_) => HashAlgo::Sha256,
        };
        f.debug_tuple("Hasher").field(&algo).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn known_answers() {
        assert_eq!(
            HashAlgo::Blake3.digest(b"abc").to_hex(),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
        assert_eq!(
            HashAlgo::Sha256.digest(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn streaming_equals_one_shot() {
        for algo in [HashAlgo::Blake3, HashAlgo::Sha256] {
            let mut h = algo.hasher();
            h.update(b"hello ").update(b"world");
            assert_eq!(h.finalize(), algo.digest(b"hello world"));
        }
    }

    #[test]
    fn hex_roundtrip_and_errors() {
        let d = HashAlgo::Blake3.digest(b"x");
        assert_eq!(d.to_hex().parse::<Digest>().unwrap(), d);
        assert_eq!(d.to_hex().to_uppercase().parse::<Digest>().unwrap(), d);
        assert_eq!(
            "abc".parse::<Digest>().unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let bad = "g".repeat(64);
        assert_eq!(
            bad.parse::<Digest>().unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert!(Digest::from_slice(&[0u8; 31]).is_err());
        assert_eq!(format!("{d:?}"), format!("Digest({d})"));
    }

    #[test]
    fn algo_codes_and_names() {
        for algo in [HashAlgo::Blake3, HashAlgo::Sha256] {
            assert_eq!(HashAlgo::from_code(algo.code()).unwrap(), algo);
            assert_eq!(algo.name().parse::<HashAlgo>().unwrap(), algo);
        }
        assert_eq!(HashAlgo::default(), HashAlgo::Blake3);
        assert_eq!(
            HashAlgo::from_code(9).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        assert_eq!(
            "md5".parse::<HashAlgo>().unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}
