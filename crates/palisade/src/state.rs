//! The state file: the ruleset as `iptables-save -c` text, standing in for
//! the kernel when no daemon runs. Commands hold an exclusive lock on
//! `FILE.lock` while they run and replace the file atomically (write a
//! temporary file, then rename), so a reader never sees half a ruleset.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use palisade_rules::state_file;
use palisade_rules::Ruleset;

/// How long to wait for the lock: iptables' `-w [SECONDS]`.
#[derive(Debug, Clone, Copy)]
pub enum Wait {
    /// No `-w`: fail at once if another command holds the lock.
    No,
    /// `-w` without a number: wait as long as it takes.
    Forever,
    Seconds(u32),
}

#[derive(Debug)]
pub enum StateError {
    /// Another command holds the lock (iptables' exit 4 message).
    Locked {
        waited: bool,
    },
    Io(String),
    /// The file does not parse as iptables-save text.
    Corrupt(String),
}

pub struct StateFile {
    path: PathBuf,
    /// Held for the lifetime of this value.
    _lock: File,
}

fn lock_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

impl StateFile {
    /// Takes the lock of the state file at `path`.
    pub fn lock(path: &Path, wait: Wait) -> Result<StateFile, StateError> {
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path(path))
            .map_err(|e| StateError::Io(format!("{}: {e}", lock_path(path).display())))?;
        let start = Instant::now();
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(StateError::Io(format!("lock {}: {e}", path.display())))
                }
            }
            match wait {
                Wait::No => return Err(StateError::Locked { waited: false }),
                Wait::Seconds(s) if start.elapsed() >= Duration::from_secs(s.into()) => {
                    return Err(StateError::Locked { waited: true })
                }
                _ => sleep(Duration::from_millis(1)),
            }
        }
        Ok(StateFile {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    /// Reads the ruleset; a missing file is a host with no tables.
    pub fn load(&self) -> Result<Ruleset, StateError> {
        load_unlocked(&self.path)
    }

    /// Replaces the file with `rs` (write + fsync + rename).
    pub fn store(&self, rs: &Ruleset) -> Result<(), StateError> {
        let text = state_file::save(rs);
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(format!(".tmp{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let io = |e: std::io::Error| StateError::Io(format!("{}: {e}", self.path.display()));
        let mut f = File::create(&tmp).map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        Ok(())
    }
}

/// Reads a state file without the lock (a reader sees either the old or
/// the new file thanks to the atomic rename).
pub fn load_unlocked(path: &Path) -> Result<Ruleset, StateError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Ruleset::default()),
        Err(e) if e.kind() == ErrorKind::InvalidData => {
            return Err(StateError::Corrupt(format!(
                "{}: not UTF-8 text",
                path.display()
            )))
        }
        Err(e) => return Err(StateError::Io(format!("{}: {e}", path.display()))),
    };
    state_file::load(&text).map_err(|e| {
        StateError::Corrupt(format!(
            "{}: {}",
            path.display(),
            e.message("iptables-restore").trim_end()
        ))
    })
}
