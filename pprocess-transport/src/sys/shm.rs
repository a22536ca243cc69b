//! Shared memory for the shared-memory transport: one `memfd`, mapped once
//! per end (`MAP_SHARED`), so each end unmaps its own view and a forked
//! child inherits the views it keeps.
//!
//! The ring protocol on top (who may touch which bytes when) lives in
//! `transport/shm.rs`; this file only maps, unmaps, and gives atomic and
//! bounds-checked access to the mapped bytes.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};

use nix::sys::memfd::{MFdFlags, memfd_create};

use crate::registry;

/// One process's view of a shared mapping. Unmapped on drop, under the
/// registry lock, so no child forked at that moment inherits a range that
/// is being given back.
#[derive(Debug)]
pub(crate) struct SharedMap {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: `SharedMap` owns its mapping (nothing else unmaps it), and the
// mapping is valid in whichever thread holds the value; shared access to
// its bytes goes through atomics or through the ring protocol, which gives
// each byte to one side at a time.
unsafe impl Send for SharedMap {}

impl SharedMap {
    /// Makes a `memfd` of `len` bytes (zeroed) and maps it twice, returning
    /// both views, each registered so that children forked later replace
    /// what is not theirs: a child keeps the first view only if it keeps
    /// one of `owners.0` (the descriptors of the transport end that owns
    /// it), the second likewise with `owners.1`. The memfd itself is
    /// closed before this returns: the views keep the memory alive.
    pub(crate) fn create_pair(
        len: usize,
        owners: ([RawFd; 2], [RawFd; 2]),
    ) -> io::Result<(SharedMap, SharedMap)> {
        let mut g = registry::lock();
        let fd = memfd_create(c"pprocess-shm", MFdFlags::MFD_CLOEXEC)?;
        let size = libc::off_t::try_from(len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "ring too large"))?;
        nix::unistd::ftruncate(&fd, size)?;
        let a = map_shared(&fd, len)?;
        let b = match map_shared(&fd, len) {
            Ok(b) => b,
            Err(e) => {
                unmap(a.ptr, a.len);
                std::mem::forget(a);
                return Err(e);
            }
        };
        drop(fd);
        let (fa, fb) = owners;
        let maps = &mut g.state().maps;
        maps.insert(a.addr(), (a.len, fa));
        maps.insert(b.addr(), (b.len, fb));
        Ok((a, b))
    }

    fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    /// The 64-bit atomic at `offset` (a multiple of 8, inside the map).
    pub(crate) fn u64_at(&self, offset: usize) -> &AtomicU64 {
        assert!(
            offset % 8 == 0 && offset + 8 <= self.len,
            "atomic outside the map"
        );
        // Aligned: the map starts on a page and `offset` is checked above.
        #[allow(clippy::cast_ptr_alignment)]
        let p = self.ptr.as_ptr().wrapping_add(offset).cast::<u64>();
        // SAFETY: `p` is inside the mapping (checked above), 8-aligned (the
        // map is page-aligned and `offset` a multiple of 8), and the mapping
        // lives as long as `&self`. Both processes touch this word only
        // through atomics.
        unsafe { AtomicU64::from_ptr(p) }
    }

    /// The 32-bit atomic at `offset` (a multiple of 4, inside the map).
    pub(crate) fn u32_at(&self, offset: usize) -> &AtomicU32 {
        assert!(
            offset % 4 == 0 && offset + 4 <= self.len,
            "atomic outside the map"
        );
        // Aligned: the map starts on a page and `offset` is checked above.
        #[allow(clippy::cast_ptr_alignment)]
        let p = self.ptr.as_ptr().wrapping_add(offset).cast::<u32>();
        // SAFETY: as for `u64_at`: inside the mapping, aligned, alive for
        // `&self`, touched only through atomics.
        unsafe { AtomicU32::from_ptr(p) }
    }

    /// Copies `src` into the map at `offset`.
    ///
    /// The caller owns those bytes under the ring protocol: the peer does
    /// not read them until a release store publishes them.
    pub(crate) fn copy_in(&self, offset: usize, src: &[u8]) {
        assert!(
            offset <= self.len && src.len() <= self.len - offset,
            "copy outside the map"
        );
        let dst = self.ptr.as_ptr().wrapping_add(offset);
        // SAFETY: `dst .. dst + src.len()` is inside the mapping (checked
        // above), which is writable and cannot overlap `src` (a slice of
        // this process's own memory, never of a ring). The ring protocol
        // gives these bytes to the writer alone until it publishes them.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) }
    }

    /// Copies bytes at `offset` out of the map into `dst`.
    ///
    /// The caller owns those bytes under the ring protocol: an acquire
    /// load has shown them published, and the peer does not overwrite them
    /// until a release store gives them back.
    pub(crate) fn copy_out(&self, offset: usize, dst: &mut [u8]) {
        assert!(
            offset <= self.len && dst.len() <= self.len - offset,
            "copy outside the map"
        );
        let src = self.ptr.as_ptr().wrapping_add(offset);
        // SAFETY: `src .. src + dst.len()` is inside the mapping (checked
        // above) and `dst` is a distinct buffer of this process; the ring
        // protocol keeps the writer off these bytes while they are read.
        unsafe { std::ptr::copy_nonoverlapping(src, dst.as_mut_ptr(), dst.len()) }
    }
}

impl Drop for SharedMap {
    fn drop(&mut self) {
        let mut g = registry::lock();
        g.state().maps.remove(&self.addr());
        unmap(self.ptr, self.len);
    }
}

fn map_shared(fd: &OwnedFd, len: usize) -> io::Result<SharedMap> {
    // SAFETY: a fresh mapping chosen by the kernel (no address given), of
    // a descriptor that is open for the call; it overlaps nothing this
    // process uses.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let ptr = NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))?;
    Ok(SharedMap { ptr, len })
}

fn unmap(ptr: NonNull<u8>, len: usize) {
    // SAFETY: `ptr .. ptr + len` is a mapping this process made with
    // `map_shared` (or its anonymous stand-in in a child) and that its sole
    // owner is giving up; no reference into it outlives the owner.
    let _ = unsafe { libc::munmap(ptr.as_ptr().cast(), len) };
}

/// In a freshly forked child: puts private anonymous memory in place of
/// every inherited shared view at `(addr, len)`, so the child no longer
/// shares another channel's ring, while the objects that own those views
/// still point at valid memory (zeros: an empty ring) and unmap it when
/// they are dropped.
pub(crate) fn replace_with_anonymous(maps: impl Iterator<Item = (usize, usize)>) -> io::Result<()> {
    for (addr, len) in maps {
        // SAFETY: `addr .. addr + len` is a view the library mapped and
        // still tracks, owned by a `SharedMap` in this (single-threaded,
        // just forked) process; `MAP_FIXED` replaces exactly that range
        // atomically, so the owner keeps a valid mapping of the same size.
        let p = unsafe {
            libc::mmap(
                addr as *mut libc::c_void,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
