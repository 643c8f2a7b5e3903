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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_names_this_executable() {
        let id = build_id();
        assert_ne!(id.exe[1], 0, "inode of the running executable");
        assert_eq!(id, build_id());
    }
}
