//! The build identity both sides of the handshake compute and compare.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::OnceLock;

use crate::entry::layout_fingerprint;
use crate::wire::BuildId;

/// The executable a worker is started from. On Linux `/proc/self/exe` is a link to the
/// running image itself, which stays valid even if the file was replaced or deleted since.
pub(crate) fn executable() -> std::io::Result<std::path::PathBuf> {
    let proc_exe = Path::new("/proc/self/exe");
    if proc_exe.exists() {
        Ok(proc_exe.to_path_buf())
    } else {
        std::env::current_exe()
    }
}

/// This process's build identity, computed once.
pub fn build_id() -> &'static BuildId {
    static ID: OnceLock<BuildId> = OnceLock::new();
    ID.get_or_init(|| {
        let exe = executable()
            .and_then(std::fs::metadata)
            .map(|m| {
                [
                    m.dev(),
                    m.ino(),
                    m.size(),
                    m.mtime() as u64,
                    m.mtime_nsec() as u64,
                ]
            })
            // Without a readable executable the layout fingerprint and version still guard.
            .unwrap_or([0; 5]);
        BuildId {
            exe,
            layout: layout_fingerprint(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    })
}

/// This build's identity by content, for workers on other machines (the MPI shell): the size
/// and a hash of the executable's bytes instead of its device, inode and modification time,
/// which differ between two copies of one build. Computed once (reading the executable,
/// some milliseconds per ten megabytes).
pub fn content_build_id() -> &'static BuildId {
    static ID: OnceLock<BuildId> = OnceLock::new();
    ID.get_or_init(|| {
        let exe = executable()
            .and_then(|path| content_hash(&path))
            .map(|(size, hash)| [0, 0, size, hash, 0])
            .unwrap_or([0; 5]);
        BuildId {
            exe,
            layout: layout_fingerprint(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    })
}

/// The size and a 64-bit hash of a file's bytes. `DefaultHasher::new()` has fixed keys, and
/// both sides run the same build, hence the same algorithm.
fn content_hash(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::hash::Hasher;
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.write(&buf[..n]);
    }
    Ok((size, hasher.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_names_this_executable() {
        let id = build_id();
        assert_ne!(id.exe[1], 0, "inode of the running executable");
        assert_eq!(id, build_id());
    }

    #[test]
    fn the_content_identity_names_this_executable_by_its_bytes() {
        let id = content_build_id();
        let size = std::fs::metadata(executable().unwrap()).unwrap().len();
        assert_eq!(id.exe[2], size);
        assert_ne!(id.exe[3], 0, "hash of the executable's bytes");
        assert_eq!(id.layout, build_id().layout);
        assert_ne!(id, build_id(), "the two identities are distinct kinds");
    }
}
