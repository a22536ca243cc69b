//! The one promise of this crate that the compiler cannot check: a rank
//! takes rank 0's program key, so that it runs the remote functions rank 0
//! sends (see `ProgramKey::adopt`).

use pprocess_core::{Error, Result};
use pprocess_transport::ProgramKey;

/// Adopts `key`, rank 0's program key, once rank 0's executable is known
/// to be this one: `theirs`, the fingerprint rank 0 sent with the key,
/// must equal `mine`, this process's.
///
/// # Errors
///
/// [`Error::Protocol`] if the fingerprints differ (nothing is adopted), or
/// if this process already has another key.
#[allow(unsafe_code)]
pub(crate) fn adopt_rank0_key(key: [u8; 16], theirs: u64, mine: u64) -> Result<()> {
    if theirs != mine {
        return Err(Error::Protocol(format!(
            "this rank runs another executable than rank 0 (fingerprint {mine:#x}, not {theirs:#x})"
        )));
    }
    // SAFETY: `key` is rank 0's `ProgramKey::current()`, broadcast by rank 0
    // over the job's own communicator (nothing outside the job writes to
    // it), and rank 0 runs the same executable file as this process (the
    // fingerprints of the two files are equal), so every remote function
    // made under this key names a function of this executable.
    unsafe { ProgramKey::adopt(key) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_executable_adopts_nothing() {
        let key = [1u8; 16];
        let err = adopt_rank0_key(key, 1, 2).unwrap_err();
        assert!(err.to_string().contains("another executable"), "{err}");
        // This process's key is still its own: adopting it again is fine.
        adopt_rank0_key(ProgramKey::current().to_bytes(), 3, 3).unwrap();
    }
}
