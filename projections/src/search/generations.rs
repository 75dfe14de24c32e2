//! The index directory: one sub-directory per generation (`gen-000001`, …) and a
//! `CURRENT` file naming the one searches read.
//!
//! A rebuild writes a new generation beside the current one; when it has caught
//! up, `CURRENT` is replaced in one rename and the old generation deleted. A
//! generation newer than `CURRENT` is therefore a rebuild in progress (resumed
//! after a restart), and one older is left over from a swap.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use tantivy::directory::MmapDirectory;
use tantivy::Index;

use super::schema::{register_tokenizers, SearchFields};
use crate::Error;
use eventlog::Checkpoint;

const CURRENT: &str = "CURRENT";
const PREFIX: &str = "gen-";

fn io_error(
    what: &str,
    path: &Path,
    error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    Error::SearchStorage {
        context: format!("cannot {what} {}", path.display()),
        source: error.into(),
    }
}

/// The generations under one root directory.
#[derive(Debug, Clone)]
pub struct Generations {
    root: PathBuf,
}

impl Generations {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Generations { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, generation: u64) -> PathBuf {
        self.root.join(format!("{PREFIX}{generation:06}"))
    }

    /// The generation searches read; `None` before the first one exists.
    pub fn current(&self) -> Result<Option<u64>, Error> {
        let path = self.root.join(CURRENT);
        match fs::read_to_string(&path) {
            Ok(text) => text
                .trim()
                .strip_prefix(PREFIX)
                .and_then(|n| n.parse().ok())
                .map(Some)
                .ok_or_else(|| io_error("understand", &path, format!("{text:?}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read", &path, e)),
        }
    }

    /// Points searches at `generation`: written beside, then renamed over, so a
    /// reader sees the old name or the new one, never half of either.
    pub fn set_current(&self, generation: u64) -> Result<(), Error> {
        let path = self.root.join(CURRENT);
        let temporary = self.root.join(format!("{CURRENT}.new"));
        let mut file =
            fs::File::create(&temporary).map_err(|e| io_error("create", &temporary, e))?;
        file.write_all(format!("{PREFIX}{generation:06}\n").as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error("write", &temporary, e))?;
        fs::rename(&temporary, &path).map_err(|e| io_error("replace", &path, e))?;
        // The rename itself lasts only once the directory is on disk.
        fs::File::open(&self.root)
            .and_then(|dir| dir.sync_all())
            .map_err(|e| io_error("sync", &self.root, e))
    }

    /// Every generation on disk, oldest first.
    pub fn list(&self) -> Result<Vec<u64>, Error> {
        let entries = fs::read_dir(&self.root).map_err(|e| io_error("list", &self.root, e))?;
        let mut generations: Vec<u64> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                entry
                    .file_name()
                    .to_str()?
                    .strip_prefix(PREFIX)?
                    .parse()
                    .ok()
            })
            .collect();
        generations.sort_unstable();
        Ok(generations)
    }

    /// Opens `generation`, creating it (empty) when missing.
    pub fn open(&self, generation: u64, fields: &SearchFields) -> Result<Index, Error> {
        let path = self.path(generation);
        fs::create_dir_all(&path).map_err(|e| io_error("create", &path, e))?;
        let directory = MmapDirectory::open(&path).map_err(|e| io_error("open", &path, e))?;
        let index = Index::builder()
            .schema(fields.schema.clone())
            .open_or_create(directory)?;
        register_tokenizers(&index);
        Ok(index)
    }

    /// The current generation, creating the first one when there is none.
    pub fn open_current(&self, fields: &SearchFields) -> Result<(u64, Index), Error> {
        fs::create_dir_all(&self.root).map_err(|e| io_error("create", &self.root, e))?;
        match self.current()? {
            Some(generation) => Ok((generation, self.open(generation, fields)?)),
            None => {
                let generation = self.list()?.last().map_or(1, |last| last + 1);
                let index = self.open(generation, fields)?;
                self.set_current(generation)?;
                Ok((generation, index))
            }
        }
    }

    pub fn remove(&self, generation: u64) -> Result<(), Error> {
        let path = self.path(generation);
        match fs::remove_dir_all(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error("remove", &path, e)),
        }
    }
}

/// The log position an index's last commit reached (its payload); the start of
/// the log for an index never committed.
pub fn committed_position(index: &Index) -> Result<Checkpoint, Error> {
    match index.load_metas()?.payload {
        None => Ok(Checkpoint::START),
        Some(payload) => payload.parse().map_err(|reason: String| {
            Error::SearchIndex(format!("commit payload is not a position: {reason}"))
        }),
    }
}
