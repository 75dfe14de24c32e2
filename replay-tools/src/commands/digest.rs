//! `digest` and `keygen`: a signed statement of the whole log at a checkpoint,
//! which an auditor keeps outside the system.
//!
//! The digest holds the checkpoint, the number of events and streams, and the root
//! hash over every stream's head hash ([`log_root`]), signed with Ed25519. Later,
//! `verify --digest` computes the root again at the same checkpoint: any event at
//! or before it that was altered, removed or inserted changes the root, and the
//! signature shows the digest itself was not edited to match. Only the public key
//! is needed to verify, so the signing key can stay with the auditor.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use clap::Args;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use eventlog::integrity::{log_head, log_root, LogRoot};
use eventlog::Checkpoint;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

/// Sign a digest of the whole log at its head (or a checkpoint), for an auditor
/// to keep and later check with `verify --digest`.
#[derive(Debug, Args)]
pub struct DigestArgs {
    /// The Ed25519 signing key: a file holding its 32-byte seed in hex, as
    /// `keygen` writes it.
    #[arg(long)]
    pub signing_key: PathBuf,
    /// Where to write the digest (JSON); `-` writes to standard output.
    #[arg(long, short, default_value = "-")]
    pub output: PathBuf,
    /// The checkpoint to digest (`<transaction_id>:<global_position>`, as a
    /// projector's checkpoint reads); the log's head when omitted.
    #[arg(long)]
    pub at: Option<Checkpoint>,
}

/// Make an Ed25519 key pair for signing digests: the secret seed goes to `--out`
/// (readable by its owner only), the public key to `--out` + `.pub` and stdout.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    #[arg(long)]
    pub out: PathBuf,
}

/// What a digest states, and its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedDigest {
    pub format: String,
    #[serde(flatten)]
    pub root: LogRoot,
    pub created_at: DateTime<Utc>,
    /// Hex. Informative only: a verifier brings the key it trusts.
    pub public_key: String,
    /// Ed25519 over [`SignedDigest::message`], hex.
    pub signature: String,
}

const FORMAT: &str = "commerce-log-digest/1";

impl SignedDigest {
    /// The bytes signed: every statement of the digest, one per line.
    fn message(root: &LogRoot, created_at: &DateTime<Utc>) -> Vec<u8> {
        format!(
            "{FORMAT}\n{}\n{}\n{}\n{}\n{}\n{}\n",
            root.transaction_id,
            root.global_position,
            root.events,
            root.streams,
            root.root_hash,
            created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        )
        .into_bytes()
    }

    pub fn sign(root: LogRoot, key: &SigningKey, created_at: DateTime<Utc>) -> Self {
        let signature = key.sign(&Self::message(&root, &created_at));
        SignedDigest {
            format: FORMAT.to_owned(),
            root,
            created_at,
            public_key: hex::encode(key.verifying_key().as_bytes()),
            signature: hex::encode(signature.to_bytes()),
        }
    }

    /// Whether `key` signed exactly these statements.
    pub fn check_signature(&self, key: &VerifyingKey) -> anyhow::Result<()> {
        if self.format != FORMAT {
            bail!(
                "unknown digest format {:?} (expected {FORMAT})",
                self.format
            );
        }
        let bytes: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .context("the digest's signature is not 64 bytes of hex")?;
        key.verify(
            &Self::message(&self.root, &self.created_at),
            &Signature::from_bytes(&bytes),
        )
        .context("the digest's signature does not match the public key: the digest was altered or signed by another key")
    }
}

pub async fn run(pool: &PgPool, args: DigestArgs) -> anyhow::Result<ExitCode> {
    let key = read_signing_key(&args.signing_key)?;
    let at = match args.at {
        Some(at) => at,
        None => {
            crate::settle_horizon(pool).await?;
            log_head(pool)
                .await
                .context("failed to read the log's head")?
        }
    };
    let root = log_root(pool, at).await.context("failed to read the log")?;
    let digest = SignedDigest::sign(root, &key, Utc::now());
    let json = serde_json::to_string_pretty(&digest)?;
    if args.output.as_os_str() == "-" {
        say!("{json}")?;
    } else {
        fs::write(&args.output, format!("{json}\n"))
            .with_context(|| format!("failed to write {}", args.output.display()))?;
    }
    eprintln!(
        "signed the log at {} ({} events, {} streams): root {}",
        digest.root.checkpoint(),
        digest.root.events,
        digest.root.streams,
        digest.root.root_hash
    );
    Ok(ExitCode::SUCCESS)
}

pub fn keygen(args: &KeygenArgs) -> anyhow::Result<ExitCode> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness for a key: {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    write_secret(&args.out, &hex::encode(seed))?;
    let public = hex::encode(key.verifying_key().as_bytes());
    let public_path = PathBuf::from(format!("{}.pub", args.out.display()));
    fs::write(&public_path, format!("{public}\n"))
        .with_context(|| format!("failed to write {}", public_path.display()))?;
    say!("{public}")?;
    eprintln!(
        "signing key in {}, public key in {}",
        args.out.display(),
        public_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Creates the file readable by its owner only, refusing to overwrite a key.
fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| {
        format!(
            "failed to create {} (an existing key is never overwritten)",
            path.display()
        )
    })?;
    file.write_all(format!("{text}\n").as_bytes())?;
    Ok(())
}

fn read_signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("failed to read the signing key {}", path.display()))?;
    let seed: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .with_context(|| format!("{} does not hold a 32-byte key in hex", path.display()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// A public key given as hex, or as the path of a file holding it.
pub fn read_public_key(given: &str) -> anyhow::Result<VerifyingKey> {
    let text = if Path::new(given).is_file() {
        fs::read_to_string(given).with_context(|| format!("failed to read {given}"))?
    } else {
        given.to_owned()
    };
    let bytes: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .context("the public key is not 32 bytes of hex (or a file holding them)")?;
    VerifyingKey::from_bytes(&bytes).context("not an Ed25519 public key")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> LogRoot {
        LogRoot {
            transaction_id: 900,
            global_position: 42,
            events: 42,
            streams: 7,
            root_hash: "ab".repeat(32),
        }
    }

    #[test]
    fn a_digest_verifies_with_its_key_and_with_no_other() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let digest = SignedDigest::sign(root(), &key, Utc::now());
        digest.check_signature(&key.verifying_key()).unwrap();
        let other = SigningKey::from_bytes(&[8; 32]);
        assert!(digest.check_signature(&other.verifying_key()).is_err());
    }

    #[test]
    fn any_edited_statement_breaks_the_signature() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let digest = SignedDigest::sign(root(), &key, Utc::now());
        let edits: [fn(&mut SignedDigest); 5] = [
            |d| d.root.events -= 1,
            |d| d.root.global_position += 1,
            |d| d.root.streams += 1,
            |d| d.root.root_hash = "cd".repeat(32),
            |d| d.created_at += chrono::Duration::seconds(1),
        ];
        for edit in edits {
            let mut edited = digest.clone();
            edit(&mut edited);
            assert!(
                edited.check_signature(&key.verifying_key()).is_err(),
                "{edited:?}"
            );
        }
    }

    #[test]
    fn a_digest_survives_its_json_form() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let digest = SignedDigest::sign(root(), &key, Utc::now());
        let back: SignedDigest =
            serde_json::from_str(&serde_json::to_string(&digest).unwrap()).unwrap();
        assert_eq!(back, digest);
        back.check_signature(&key.verifying_key()).unwrap();
    }
}
