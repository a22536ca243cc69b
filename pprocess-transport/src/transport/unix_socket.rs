//! The Unix-domain-socket transport of background processes: a connected
//! stream, and the listening side with safe handling of the socket file.

use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, accept4, connect, socket};
use pprocess_core::{Error, Result};

use super::TrackedFd;

/// The longest socket path Linux accepts (`sun_path` holds 108 bytes with
/// the terminating NUL).
pub const MAX_ADDRESS_LEN: usize = 107;

/// A connected Unix-domain stream socket: the transport between a
/// background process and whoever connects to its address.
///
/// Writes use `MSG_NOSIGNAL`, as for [`SocketPair`](crate::SocketPair).
#[derive(Debug)]
pub struct UnixSocket {
    fd: TrackedFd,
}

fn address_error(address: &Path, reason: impl Into<String>) -> Error {
    Error::Address {
        address: address.display().to_string(),
        reason: reason.into(),
    }
}

/// Refuses addresses the kernel would truncate or reject.
pub(crate) fn check_address(address: &Path) -> Result<()> {
    let len = address.as_os_str().len();
    if len == 0 {
        return Err(address_error(address, "the address is empty"));
    }
    if len > MAX_ADDRESS_LEN {
        return Err(address_error(
            address,
            format!(
                "path of {len} bytes exceeds the {MAX_ADDRESS_LEN}-byte limit of a unix socket address"
            ),
        ));
    }
    Ok(())
}

impl UnixSocket {
    /// Connects to a process listening at `address`.
    ///
    /// # Errors
    ///
    /// [`Error::Address`] if the path is too long, nothing is there, or
    /// nobody listens (the process has ended); [`Error::Io`] otherwise.
    pub fn connect(address: impl AsRef<Path>) -> Result<UnixSocket> {
        let address = address.as_ref();
        check_address(address)?;
        let unix_address =
            UnixAddr::new(address).map_err(|e| address_error(address, e.to_string()))?;
        // Made and registered under the registry's lock, so that no child
        // forked meanwhile by another thread inherits it untracked; the
        // connection (which may wait for room in the listener's backlog)
        // is made after.
        let [fd] = TrackedFd::make_all(|| {
            let fd = socket(
                AddressFamily::Unix,
                SockType::Stream,
                SockFlag::SOCK_CLOEXEC,
                None,
            )?;
            Ok([fd])
        })?;
        connect(fd.raw(), &unix_address).map_err(|e| match e {
            Errno::ENOENT => address_error(address, "no socket at this address"),
            Errno::ECONNREFUSED => address_error(address, "nobody listens (the process has ended)"),
            _ => address_error(address, io::Error::from(e).to_string()),
        })?;
        Ok(UnixSocket { fd })
    }
}

super::stream_socket_impls!(UnixSocket);

/// A listening socket bound at a filesystem address, mode 0600.
#[derive(Debug)]
pub(crate) struct Listener {
    fd: TrackedFd,
    address: PathBuf,
    dev: u64,
    ino: u64,
    /// The pid of the process that removes the socket file on drop (0:
    /// none): the one that serves it, not the one that bound it before
    /// forking, nor the server's own children.
    owner: u32,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Listener {
    /// Binds at `address`.
    ///
    /// The socket is bound in a fresh owner-only directory beside the
    /// address, made mode 0600, and then hard-linked into place, so it is
    /// never reachable with wider permissions and an existing file is never
    /// replaced. An existing file at the address is removed only if it is a
    /// socket nobody listens on (left by a killed process).
    pub(crate) fn bind(address: &Path) -> Result<Listener> {
        check_address(address)?;
        if let Ok(meta) = fs::symlink_metadata(address) {
            if !meta.file_type().is_socket() {
                return Err(address_error(
                    address,
                    "a file that is not a socket is there; it was left alone",
                ));
            }
            match UnixStream::connect(address) {
                Ok(_) => return Err(address_error(address, "a live process listens there")),
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    fs::remove_file(address).map_err(|e| {
                        address_error(address, format!("cannot remove stale socket: {e}"))
                    })?;
                }
                Err(e) => return Err(address_error(address, e.to_string())),
            }
        }
        let parent = match address.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let temp_dir = parent.join(format!(
            ".pprocess-{}-{}.tmp",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&temp_dir)
            .map_err(|e| {
                address_error(
                    address,
                    format!("cannot create {}: {e}", temp_dir.display()),
                )
            })?;
        let temp = temp_dir.join("s");
        // The temporary path is longer than the address; a socket address
        // holds at most 107 bytes. Bind through the directory's descriptor
        // (`/proc/self/fd/N/s`, about 20 bytes) so that every address
        // `check_address` accepts can be bound.
        let dir = fs::File::open(&temp_dir);
        let short = dir
            .as_ref()
            .ok()
            .map(|d| PathBuf::from(format!("/proc/self/fd/{}/s", d.as_raw_fd())))
            .filter(|p| p.as_os_str().len() <= MAX_ADDRESS_LEN);
        // Made and registered under the registry's lock (as every
        // descriptor of the library is), and non-blocking, so that `accept`
        // never blocks under that lock.
        let bind = |path: &Path| {
            TrackedFd::make_all(|| {
                let listener = UnixListener::bind(path)?;
                listener.set_nonblocking(true)?;
                Ok([OwnedFd::from(listener)])
            })
        };
        let bound = bind(short.as_deref().unwrap_or(&temp))
            .or_else(|e| {
                if short.is_some() && temp.as_os_str().len() <= MAX_ADDRESS_LEN {
                    bind(&temp)
                } else {
                    Err(e)
                }
            })
            .and_then(|l| {
                fs::set_permissions(&temp, fs::Permissions::from_mode(0o600))?;
                fs::hard_link(&temp, address)?;
                Ok(l)
            })
            .map_err(|e| match e.kind() {
                io::ErrorKind::AlreadyExists => {
                    address_error(address, "another file appeared at the address")
                }
                _ => address_error(address, e.to_string()),
            });
        let _ = fs::remove_file(&temp);
        drop(dir);
        let _ = fs::remove_dir(&temp_dir);
        let [fd] = bound?;
        let meta = fs::symlink_metadata(address)?;
        Ok(Listener {
            fd,
            address: address.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
            owner: 0,
        })
    }

    /// Makes this process the one that removes the socket file.
    pub(crate) fn take_ownership(&mut self) {
        self.owner = std::process::id();
    }

    pub(crate) fn address(&self) -> &Path {
        &self.address
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.as_fd().as_raw_fd()
    }

    /// The listening descriptor (readable when a peer waits).
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Waits for the next peer.
    ///
    /// The wait is outside the registry's lock and the `accept` under it
    /// (the listener is non-blocking, so it cannot wait there): a child
    /// that another thread forks meanwhile never inherits the new socket
    /// untracked, which would keep the connection open after this process
    /// has closed it.
    pub(crate) fn accept(&self) -> Result<UnixSocket> {
        loop {
            crate::sys::poll_one(self.fd(), false, None)?;
            let accepted = TrackedFd::make_all(|| {
                let raw = accept4(self.fd.raw(), SockFlag::SOCK_CLOEXEC)?;
                Ok([crate::sys::own_fd(raw)])
            });
            match accepted {
                Ok([fd]) => return Ok(UnixSocket { fd }),
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EINTR | libc::ECONNABORTED | libc::EAGAIN)
                    ) =>
                {
                    continue;
                }
                Err(e) => return Err(Error::Io(e)),
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if self.owner != std::process::id() {
            return;
        }
        // Remove the file only if it is still ours, not a replacement.
        if let Ok(meta) = fs::symlink_metadata(&self.address) {
            if meta.dev() == self.dev && meta.ino() == self.ino {
                let _ = fs::remove_file(&self.address);
            }
        }
    }
}
