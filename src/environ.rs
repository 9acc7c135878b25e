//! An environment block: `NAME=value` entries separated by NUL, as in
//! `/proc/<pid>/environ`. It may hold secrets, so it zeroes itself when dropped.

use zeroize::Zeroizing;

/// Largest environment block read (Linux caps argv + envp far below this).
pub const MAX_ENVIRON: usize = 4 * 1024 * 1024;

#[derive(Default)]
pub struct Environ {
    raw: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Environ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Environ({} entries)", self.entries().count())
    }
}

impl Environ {
    /// Takes a raw block (NUL-separated), cut at [`MAX_ENVIRON`].
    pub fn from_raw(mut raw: Vec<u8>) -> Environ {
        raw.truncate(MAX_ENVIRON);
        Environ { raw: Zeroizing::new(raw) }
    }

    /// Builds a block from pairs (a login environment, a test).
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> Environ {
        let mut raw = Vec::new();
        for (k, v) in pairs {
            raw.extend_from_slice(k.as_ref().as_bytes());
            raw.push(b'=');
            raw.extend_from_slice(v.as_ref().as_bytes());
            raw.push(0);
        }
        Environ::from_raw(raw)
    }

    /// The raw block, for the scanner.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// Entries in order; an entry without `=` has an empty value. Names and
    /// values that are not UTF-8 are skipped (no SDK reads them).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.raw.split(|&b| b == 0).filter(|e| !e.is_empty()).filter_map(|e| {
            let e = std::str::from_utf8(e).ok()?;
            Some(e.split_once('=').unwrap_or((e, "")))
        })
    }

    /// The value of `name`; the last entry wins, as `getenv` finds it in practice.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries().filter(|(k, _)| *k == name).last().map(|(_, v)| v)
    }

    /// The name of the `n`th entry (1-based, counting empty ones as the
    /// scanner counts records), as text (bytes that are not UTF-8 escaped).
    /// An entry without `=` has no name: it is shown whole, redacted, so
    /// that a secret in it cannot pass.
    pub fn name_of_record(&self, n: u64) -> Option<String> {
        let entry = self.raw.split(|&b| b == 0).nth(n.checked_sub(1)? as usize)?;
        Some(match entry.iter().position(|&b| b == b'=') {
            Some(i) => crate::credential::redact(&crate::escape::bytes(&entry[..i])),
            None => format!("(no name) {}", crate::credential::redact(&crate::escape::bytes(entry))),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Only the entries an AWS SDK reads ([`is_sdk_variable`]), in order.
    pub fn sdk_view(&self) -> Environ {
        let mut raw = Vec::new();
        let mut start = 0;
        for end in memchr::memchr_iter(0, &self.raw).chain(std::iter::once(self.raw.len())) {
            let entry = &self.raw[start..end];
            start = end + 1;
            // Names are short: look for `=` in the first bytes only.
            let head = &entry[..entry.len().min(64)];
            let name = memchr::memchr(b'=', head).map_or(head, |i| &head[..i]);
            if !entry.is_empty() && std::str::from_utf8(name).is_ok_and(is_sdk_variable) {
                raw.extend_from_slice(entry);
                raw.push(0);
            }
        }
        Environ::from_raw(raw)
    }
}

/// Whether an SDK model reads this variable: every `AWS_*` and `AMAZON_*`
/// name, `HOME`, `BOTO_CONFIG` and aws-config's `SECRET_ACCESS_KEY` fallback.
pub fn is_sdk_variable(name: &str) -> bool {
    name.starts_with("AWS_")
        || name.starts_with("AMAZON_")
        || matches!(name, "HOME" | "BOTO_CONFIG" | "SECRET_ACCESS_KEY")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_lookup() {
        let e = Environ::from_raw(b"A=1\0B=x=y\0\0NOVALUE\0A=2\0\xff=bad\0".to_vec());
        assert_eq!(e.get("A"), Some("2"));
        assert_eq!(e.get("B"), Some("x=y"));
        assert_eq!(e.get("NOVALUE"), Some(""));
        assert_eq!(e.get("C"), None);
        assert_eq!(e.name_of_record(2).as_deref(), Some("B"));
        assert_eq!(e.name_of_record(6).as_deref(), Some("\\xFF"));
        assert_eq!(e.name_of_record(4).as_deref(), Some("(no name) NOVALUE"));
        assert_eq!(e.name_of_record(0), None);
    }
}
