//! The directory of compiled artifacts, used only while no one but the host's
//! user can change what is in it.
//!
//! Deserializing compiled code runs it, and the checksum in each file catches
//! corruption, not tampering: what protects the artifacts is that no one else
//! can write them. So the directory must be owned by the host's user and not
//! writable by group or others; so must each file read from it; and each of
//! the directory's ancestors must be owned by that user or root and not
//! writable by group or others unless sticky (as `/tmp` is), or someone else
//! could swap the directory. What this module creates is 0700 (directories)
//! or 0600 (files).
//!
//! Files are never opened through a symbolic link (`O_NOFOLLOW`). A new file
//! is written under a fresh temporary name with `O_EXCL`, which neither
//! follows a link nor reuses an existing file, then renamed over the old one
//! (which replaces a link rather than following it), so a reader sees the old
//! file or the whole new one.
//!
//! It knows nothing of what an artifact contains: `artifact` does.

use std::fs::{self, DirBuilder, File, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const DIRECTORY_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;
const GROUP_OR_OTHERS_WRITE: u32 = 0o022;
const STICKY: u32 = 0o1000;
const ROOT_UID: u32 = 0;
/// Temporary names tried before a write gives up (names are taken only by
/// leftovers of a crashed host with the same process id, or by concurrent
/// writers in this process).
const TEMPORARY_ATTEMPTS: u32 = 16;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot use {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{} is owned by uid {owner}, not by the host's user (uid {expected})", path.display())]
    NotOwned { path: PathBuf, owner: u32, expected: u32 },
    #[error("{} is writable by group or others (mode {mode:o}): run `chmod go-w` on it", path.display())]
    Writable { path: PathBuf, mode: u32 },
    #[error("{} is a symbolic link", path.display())]
    Symlink { path: PathBuf },
    #[error("{} is not a {expected}", path.display())]
    NotA { path: PathBuf, expected: &'static str },
}

impl CacheError {
    /// Whether the cache must not be used at all (someone else could have
    /// written to it), rather than a file being just missing or unreadable.
    pub fn is_untrusted(&self) -> bool {
        !matches!(self, CacheError::Io { .. })
    }

    fn io(path: &Path) -> impl FnOnce(io::Error) -> CacheError + '_ {
        move |source| CacheError::Io { path: path.to_owned(), source }
    }
}

/// A cache directory found safe for the host's user.
#[derive(Debug)]
pub struct CacheDir {
    /// Canonical: no symbolic link left in it.
    dir: PathBuf,
    uid: u32,
}

impl CacheDir {
    /// Creates `dir` (0700) if needed and checks that only the host's user
    /// can change it.
    pub fn open(dir: &Path) -> Result<Self, CacheError> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        Self::open_as(dir, unsafe { libc::geteuid() })
    }

    /// [`CacheDir::open`] for the user `uid`.
    fn open_as(dir: &Path, uid: u32) -> Result<Self, CacheError> {
        DirBuilder::new().recursive(true).mode(DIRECTORY_MODE).create(dir).map_err(CacheError::io(dir))?;
        Self::existing_as(dir, uid)
    }

    /// Checks an existing `dir` as [`CacheDir::open`] does, creating nothing
    /// (for `doctor`).
    pub fn existing(dir: &Path) -> Result<Self, CacheError> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        Self::existing_as(dir, unsafe { libc::geteuid() })
    }

    fn existing_as(dir: &Path, uid: u32) -> Result<Self, CacheError> {
        let dir = dir.canonicalize().map_err(CacheError::io(dir))?;
        let metadata = fs::metadata(&dir).map_err(CacheError::io(&dir))?;
        if !metadata.is_dir() {
            return Err(CacheError::NotA { path: dir, expected: "directory" });
        }
        check_private(&dir, &metadata, uid)?;
        for ancestor in dir.ancestors().skip(1) {
            let metadata = fs::metadata(ancestor).map_err(CacheError::io(ancestor))?;
            check_ancestor(ancestor, &metadata, uid)?;
        }
        Ok(CacheDir { dir, uid })
    }

    /// Checks the file `name` as [`CacheDir::read`] does, without reading it.
    pub fn check_file(&self, name: &str) -> Result<(), CacheError> {
        let path = self.dir.join(name);
        let metadata = fs::symlink_metadata(&path).map_err(CacheError::io(&path))?;
        if metadata.file_type().is_symlink() {
            return Err(CacheError::Symlink { path });
        }
        if !metadata.is_file() {
            return Err(CacheError::NotA { path, expected: "regular file" });
        }
        check_private(&path, &metadata, self.uid)
    }

    /// The names of the entries of the directory.
    pub fn entries(&self) -> Vec<String> {
        fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .collect()
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The contents of the file `name`, when it is the user's own.
    pub fn read(&self, name: &str) -> Result<Vec<u8>, CacheError> {
        let path = self.dir.join(name);
        // O_NONBLOCK: a FIFO in its place must not hang the host (it is then refused as not a file).
        let mut file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
            .map_err(|source| match source.raw_os_error() {
                Some(libc::ELOOP) => CacheError::Symlink { path: path.clone() },
                _ => CacheError::Io { path: path.clone(), source },
            })?;
        let metadata = file.metadata().map_err(CacheError::io(&path))?;
        if !metadata.is_file() {
            return Err(CacheError::NotA { path, expected: "regular file" });
        }
        check_private(&path, &metadata, self.uid)?;
        let mut contents = Vec::with_capacity(metadata.len() as usize);
        file.read_to_end(&mut contents).map_err(CacheError::io(&path))?;
        Ok(contents)
    }

    /// Replaces the file `name` with `contents` atomically.
    pub fn write(&self, name: &str, contents: &[u8]) -> Result<(), CacheError> {
        let path = self.dir.join(name);
        let (temporary, mut file) = self.create_temporary(name)?;
        let written = file
            .write_all(contents)
            .and_then(|()| file.sync_all())
            .and_then(|()| fs::rename(&temporary, &path));
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written.map_err(CacheError::io(&path))
    }

    /// A new file (0600) beside `name`, under a name no existing entry has.
    fn create_temporary(&self, name: &str) -> Result<(PathBuf, File), CacheError> {
        let pid = std::process::id();
        for attempt in 0..TEMPORARY_ATTEMPTS {
            let path = self.dir.join(temporary_name(name, pid, attempt));
            let created = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(FILE_MODE)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path);
            match created {
                Ok(file) => return Ok((path, file)),
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(error) => return Err(CacheError::Io { path, source: error }),
            }
        }
        Err(CacheError::Io {
            path: self.dir.join(temporary_name(name, pid, 0)),
            source: io::Error::new(io::ErrorKind::AlreadyExists, "every temporary name is taken"),
        })
    }
}

fn temporary_name(name: &str, pid: u32, attempt: u32) -> String {
    format!("{name}.{pid}-{attempt}.tmp")
}

/// The cache directory or one of its files: the user's own, written by no one else.
fn check_private(path: &Path, metadata: &Metadata, uid: u32) -> Result<(), CacheError> {
    if metadata.uid() != uid {
        return Err(CacheError::NotOwned { path: path.to_owned(), owner: metadata.uid(), expected: uid });
    }
    check_not_writable_by_others(path, metadata)
}

/// A directory above the cache: no one but the user (or root) can swap what is below it.
fn check_ancestor(path: &Path, metadata: &Metadata, uid: u32) -> Result<(), CacheError> {
    if metadata.uid() != uid && metadata.uid() != ROOT_UID {
        return Err(CacheError::NotOwned { path: path.to_owned(), owner: metadata.uid(), expected: uid });
    }
    if metadata.mode() & STICKY != 0 {
        return Ok(());
    }
    check_not_writable_by_others(path, metadata)
}

fn check_not_writable_by_others(path: &Path, metadata: &Metadata) -> Result<(), CacheError> {
    let mode = metadata.mode() & 0o7777;
    if mode & GROUP_OR_OTHERS_WRITE != 0 {
        return Err(CacheError::Writable { path: path.to_owned(), mode });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{PermissionsExt, symlink};
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// A fresh directory under the system's temp dir, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Self {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let name = format!("mcr-cache-test-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
            let path = std::env::temp_dir().join(name);
            fs::create_dir(&path).expect("create a scratch dir");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o700)).expect("chmod the scratch dir");
            Scratch(path.canonicalize().expect("canonical scratch dir"))
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    fn mode_of(path: &Path) -> u32 {
        fs::symlink_metadata(path).expect("stat").mode() & 0o7777
    }

    fn own_uid() -> u32 {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() }
    }

    #[test]
    fn a_new_directory_is_private_and_round_trips_a_file() {
        let scratch = Scratch::new();
        let dir = scratch.path().join("nested").join("cache");
        let cache = CacheDir::open(&dir).expect("a fresh directory is trusted");
        assert_eq!(mode_of(&dir), DIRECTORY_MODE);
        cache.write("artifact", b"compiled").expect("write");
        assert_eq!(cache.read("artifact").expect("read"), b"compiled");
        assert_eq!(mode_of(&dir.join("artifact")), FILE_MODE);
        let names: Vec<_> = fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().file_name()).collect();
        assert_eq!(names, ["artifact"], "no temporary file is left behind");
    }

    #[test]
    fn a_directory_writable_by_others_is_refused() {
        let scratch = Scratch::new();
        for mode in [0o777, 0o770, 0o702] {
            chmod(scratch.path(), mode);
            let error = CacheDir::open(scratch.path()).expect_err("writable by others");
            assert!(matches!(error, CacheError::Writable { .. }) && error.is_untrusted(), "mode {mode:o}: {error}");
        }
        chmod(scratch.path(), 0o755);
        CacheDir::open(scratch.path()).expect("readable but not writable by others is trusted");
    }

    #[test]
    fn a_directory_under_a_directory_writable_by_others_is_refused_unless_sticky() {
        let scratch = Scratch::new();
        let dir = scratch.path().join("cache");
        CacheDir::open(&dir).expect("under a private directory");
        chmod(scratch.path(), 0o777);
        let error = CacheDir::open(&dir).expect_err("its parent lets others swap it");
        assert!(matches!(&error, CacheError::Writable { path, .. } if path == scratch.path()), "{error}");
        chmod(scratch.path(), 0o1777);
        CacheDir::open(&dir).expect("a sticky parent, like /tmp, is fine");
    }

    #[test]
    fn a_directory_or_file_of_another_user_is_refused() {
        let scratch = Scratch::new();
        let someone_else = own_uid() + 1;
        let error = CacheDir::open_as(scratch.path(), someone_else).expect_err("owned by us, not them");
        assert!(matches!(error, CacheError::NotOwned { expected, .. } if expected == someone_else), "{error}");

        let cache = CacheDir::open(scratch.path()).expect("our own directory");
        cache.write("artifact", b"compiled").expect("write");
        let as_someone_else = CacheDir { dir: cache.dir.clone(), uid: someone_else };
        let error = as_someone_else.read("artifact").expect_err("a file of another user");
        assert!(matches!(error, CacheError::NotOwned { .. }), "{error}");
    }

    #[test]
    fn a_file_writable_by_others_is_refused() {
        let scratch = Scratch::new();
        let cache = CacheDir::open(scratch.path()).expect("trusted");
        cache.write("artifact", b"compiled").expect("write");
        chmod(&scratch.path().join("artifact"), 0o666);
        let error = cache.read("artifact").expect_err("writable by others");
        assert!(matches!(error, CacheError::Writable { .. }) && error.is_untrusted(), "{error}");
    }

    #[test]
    fn a_symbolic_link_is_never_followed() {
        let scratch = Scratch::new();
        let cache = CacheDir::open(&scratch.path().join("cache")).expect("trusted");
        let victim = scratch.path().join("victim");
        fs::write(&victim, b"someone else's data").unwrap();
        symlink(&victim, scratch.path().join("cache").join("artifact")).unwrap();

        let error = cache.read("artifact").expect_err("a link in place of the file");
        assert!(matches!(error, CacheError::Symlink { .. }) && error.is_untrusted(), "{error}");

        cache.write("artifact", b"compiled").expect("write replaces the link");
        assert_eq!(fs::read(&victim).unwrap(), b"someone else's data", "the link's target is untouched");
        assert!(fs::symlink_metadata(scratch.path().join("cache").join("artifact")).unwrap().is_file());
        assert_eq!(cache.read("artifact").expect("read"), b"compiled");
    }

    #[test]
    fn a_temporary_file_never_clobbers_an_existing_entry() {
        let scratch = Scratch::new();
        let cache = CacheDir::open(&scratch.path().join("cache")).expect("trusted");
        let victim = scratch.path().join("victim");
        fs::write(&victim, b"someone else's data").unwrap();
        let pid = std::process::id();
        let taken_by_file = cache.dir.join(temporary_name("artifact", pid, 0));
        fs::write(&taken_by_file, b"an earlier host's leftover").unwrap();
        symlink(&victim, cache.dir.join(temporary_name("artifact", pid, 1))).unwrap();

        cache.write("artifact", b"compiled").expect("write under the next free name");
        assert_eq!(cache.read("artifact").expect("read"), b"compiled");
        assert_eq!(fs::read(&taken_by_file).unwrap(), b"an earlier host's leftover");
        assert_eq!(fs::read(&victim).unwrap(), b"someone else's data");
        assert!(!cache.dir.join(temporary_name("artifact", pid, 2)).exists(), "the temporary file was renamed");
    }
}
