//! The standalone signing secret, kept in the data directory with owner-only permissions.

use std::io::{self, Write};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The standalone HS256 secret at `<data_dir>/jwt-secret`, created on first use (32 random
/// bytes, stored base64, mode 0600). Returns the secret and whether it was just created.
pub fn load_or_create_secret(data_dir: &Path) -> io::Result<(Vec<u8>, bool)> {
    let path = data_dir.join(SECRET_FILE);
    match read_secret(&path) {
        Ok(secret) => return Ok((secret, false)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(data_dir)?;

    let secret: [u8; SECRET_LEN] = rand::random();
    // Written in full to a private temp file first so nobody ever reads a partial secret.
    let tmp = data_dir.join(format!(
        ".{SECRET_FILE}.{}.{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let written = write_private(&tmp, format!("{}\n", BASE64.encode(secret)).as_bytes());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // A hard link is a rename that refuses to replace: if another process started at the same
    // moment and won, both end up using its secret instead of each trusting its own.
    let linked = std::fs::hard_link(&tmp, &path);
    let outcome = match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        // Some filesystems have no hard links; a plain rename is still atomic there.
        Err(_) => std::fs::rename(&tmp, &path).map(|()| true),
    };
    let _ = std::fs::remove_file(&tmp);
    if outcome? {
        sync_dir(data_dir);
        Ok((secret.to_vec(), true))
    } else {
        Ok((read_secret(&path)?, false))
    }
}

fn read_secret(path: &Path) -> io::Result<Vec<u8>> {
    let text = std::fs::read_to_string(path)?;
    warn_if_readable_by_others(path);
    let secret = BASE64.decode(text.trim()).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })?;
    if secret.len() < SECRET_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: the secret must be at least {SECRET_LEN} bytes",
                path.display()
            ),
        ));
    }
    Ok(secret)
}

fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Makes the new directory entry durable; best effort, since the secret itself is already
/// synced and a lost entry only means a new secret on the next start.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "the JWT secret is readable by other users; chmod 600 it");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Name of the standalone HS256 secret file inside the data directory.
pub(super) const SECRET_FILE: &str = "jwt-secret";

/// Length of a generated HS256 secret; 256 bits matches the HMAC-SHA256 block security.
pub(super) const SECRET_LEN: usize = 32;
