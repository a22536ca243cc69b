//! Why a remote call produced no result.

use std::fmt;

/// Why an invocation of a [`RemoteFn`](crate::RemoteFn) produced no
/// result: the function panicked, or its arguments or result could not be
/// decoded or encoded.
///
/// # Examples
///
/// ```
/// use pprocess_transport::{MessagePack, RemoteFn};
///
/// fn halve(x: u32) -> u32 {
///     assert!(x % 2 == 0, "{x} is odd");
///     x / 2
/// }
/// let f = RemoteFn::<MessagePack>::new(halve);
/// let mut args = Vec::new();
/// f.encode_args(&7u32, &mut args)?;
/// let failure = f.invoke(&args, &mut Vec::new()).unwrap_err();
/// assert!(failure.panicked);
/// assert_eq!(failure.message, "7 is odd");
/// # Ok::<(), pprocess_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The function panicked (as opposed to its arguments or result failing
    /// to decode or encode).
    pub panicked: bool,
    /// What to tell the caller: the panic message, or the codec's error.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}
