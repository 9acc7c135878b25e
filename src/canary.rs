//! Canary (honeytoken) accounts: AWS accounts whose access keys exist to be
//! found, and alert their owner when used. Shipped as data
//! (`patterns/canary/accounts.toml`), replaceable with `--canary-accounts`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::credential::AccountId;

const BUILT_IN: &str = include_str!("../patterns/canary/accounts.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    issuer: Vec<Issuer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Issuer {
    name: String,
    accounts: Vec<String>,
}

/// Which accounts issue canary keys, and who runs each.
#[derive(Clone, Debug)]
pub struct CanaryAccounts {
    issuer_of: BTreeMap<u64, String>,
}

/// The safe default: the built-in list.
impl Default for CanaryAccounts {
    fn default() -> CanaryAccounts {
        CanaryAccounts::built_in()
    }
}

impl CanaryAccounts {
    /// The list rolecall ships.
    pub fn built_in() -> CanaryAccounts {
        CanaryAccounts::parse(BUILT_IN).expect("patterns/canary/accounts.toml is valid")
    }

    /// A list in the same format, from `path`.
    pub fn load(path: &Path) -> Result<CanaryAccounts> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        CanaryAccounts::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    fn parse(text: &str) -> Result<CanaryAccounts> {
        let file: File = toml::from_str(text)?;
        let mut issuer_of = BTreeMap::new();
        for issuer in file.issuer {
            for a in &issuer.accounts {
                let Some(id) = parse_account(a) else { bail!("{a:?} is not a 12-digit account ID") };
                issuer_of.insert(id, issuer.name.clone());
            }
        }
        Ok(CanaryAccounts { issuer_of })
    }

    /// Who issues canary keys in `account`, if anyone known does.
    pub fn issuer(&self, account: AccountId) -> Option<&str> {
        self.issuer_of.get(&account.0).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.issuer_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.issuer_of.is_empty()
    }
}

/// A 12-digit AWS account ID.
pub fn parse_account(s: &str) -> Option<u64> {
    (s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::KeyId;

    #[test]
    fn the_built_in_list_names_thinksts_accounts() {
        let list = CanaryAccounts::built_in();
        assert_eq!(list.len(), 26);
        // A key ID that decodes to 717712589309, one of canarytokens.org's.
        let key = KeyId::parse(b"AKIA2OGYBAH6STMMNXNN").unwrap();
        assert_eq!(list.issuer(key.account().unwrap()), Some("Thinkst Canarytokens (canarytokens.org)"));
        assert_eq!(list.issuer(AccountId(123456789012)), None);
    }

    #[test]
    fn a_bad_list_says_what_is_wrong() {
        let e = CanaryAccounts::parse("[[issuer]]\nname = \"x\"\naccounts = [\"12345\"]\n").unwrap_err();
        assert!(e.to_string().contains("\"12345\" is not a 12-digit account ID"), "{e}");
        assert!(CanaryAccounts::parse("[[issuer]]\nname = \"x\"\n").is_err());
    }
}
