//! The unit of remote work: a function plus serde arguments.
//!
//! A fork server's worker and an MPI rank run work that was not made in
//! their memory, so a closure's captures cannot reach them: what crosses is
//! a [`RemoteFn`] (which function, by its place in the executable) and the
//! arguments, encoded by a codec.

mod body;
pub(crate) mod failure;

use std::fmt;
use std::marker::PhantomData;

use pprocess_core::{Codec, Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use failure::Failure;

use crate::codec::MessagePack;
use crate::sys::{self, FnAddr, WIRE_LEN};

/// A function that can run in another process of this program — a
/// [`ForkServer`](crate::ForkServer)'s worker, or an MPI rank — with
/// arguments and a result encoded by the codec `C`.
///
/// It is made from a plain `fn(A) -> R`: a `fn` item, or a closure that
/// captures nothing (which coerces to one). Nothing is registered: the
/// function is named by its distance from a fixed function of this crate,
/// which is the same in every process that runs the same executable file
/// wherever the loader put it, and the wire form carries a keyed digest
/// (SipHash-2-4 under a secret that the processes of one program share), so
/// bytes from anywhere else are refused, not called.
///
/// Two shapes of work: [`RemoteFn::new`] takes one `A` and gives one `R`;
/// [`RemoteFn::each`] takes a chunk of items and gives their results, as
/// the workers of a remote `pmap` do.
///
/// # Examples
///
/// ```
/// use pprocess_transport::{MessagePack, RemoteFn};
///
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// let f: RemoteFn = RemoteFn::new(square);
/// // What a worker receives: the function's wire form and the arguments.
/// let wire = f.to_bytes();
/// let mut args = Vec::new();
/// f.encode_args(&12u64, &mut args)?;
///
/// // In the worker (here: the same process).
/// let g = RemoteFn::<MessagePack>::from_bytes(&wire)?;
/// let mut out = Vec::new();
/// g.invoke(&args, &mut out).expect("square does not panic");
/// assert_eq!(g.decode_result::<u64>(&out)?, 144);
/// # Ok::<(), pprocess_core::Error>(())
/// ```
///
/// # Implementation notes
///
/// Functions must live in the executable itself, not in a shared library
/// loaded at an address of its own (Rust links crates statically by
/// default, so this holds unless a crate is built as a `dylib`). The
/// processes must run the same executable file: a fork server always does;
/// MPI ranks are checked when they connect.
pub struct RemoteFn<C = MessagePack> {
    addr: FnAddr,
    _codec: PhantomData<fn() -> C>,
}

impl<C> Clone for RemoteFn<C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for RemoteFn<C> {}

impl<C> PartialEq for RemoteFn<C> {
    fn eq(&self, other: &Self) -> bool {
        self.addr == other.addr
    }
}

impl<C> Eq for RemoteFn<C> {}

impl<C> fmt::Debug for RemoteFn<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteFn")
            .field("addr", &self.addr)
            .field("codec", &std::any::type_name::<C>())
            .finish()
    }
}

impl<C: Codec> RemoteFn<C> {
    /// A remote function that takes one `A` (encoded by `C`) and returns one
    /// `R`.
    pub fn new<A, R>(f: fn(A) -> R) -> Self
    where
        A: DeserializeOwned + 'static,
        R: Serialize + 'static,
    {
        // The first call makes the program's secret; every process forked
        // from now on inherits it.
        let _ = sys::key();
        RemoteFn {
            addr: FnAddr::new::<A, R, body::Call<C>>(f),
            _codec: PhantomData,
        }
    }

    /// A remote function over chunks of items: it takes `(first, items)` —
    /// the position of the chunk's first item in the whole input, and the
    /// items as a sequence of `A` — and returns the sequence of results.
    /// A panic on an item fails the chunk with the message
    /// `item {position} panicked: {message}`.
    ///
    /// # Examples
    ///
    /// ```
    /// use pprocess_transport::{MessagePack, RemoteFn};
    ///
    /// let f = RemoteFn::<MessagePack>::each(|s: String| s.len());
    /// let mut args = Vec::new();
    /// f.encode_args(&(10usize, ["a", "bcd"]), &mut args)?;
    /// let mut out = Vec::new();
    /// f.invoke(&args, &mut out).unwrap();
    /// assert_eq!(f.decode_result::<Vec<usize>>(&out)?, [1, 3]);
    /// # Ok::<(), pprocess_core::Error>(())
    /// ```
    pub fn each<A, R>(f: fn(A) -> R) -> Self
    where
        A: DeserializeOwned + 'static,
        R: Serialize + 'static,
    {
        let _ = sys::key();
        RemoteFn {
            addr: FnAddr::new::<A, R, body::Each<C>>(f),
            _codec: PhantomData,
        }
    }

    /// The wire form (24 bytes): which function, for a process of the same
    /// program.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; WIRE_LEN] {
        self.addr.to_wire()
    }

    /// Reads a wire form made by [`RemoteFn::to_bytes`] in a process of
    /// this program (this one, a fork of it, or one that adopted its key).
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] if the bytes are not 24 long or their digest does
    /// not match: they were made by another program or run, or corrupted.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let addr = FnAddr::from_wire(bytes).ok_or_else(|| {
            Error::Protocol(format!(
                "remote function rejected: {} bytes that this program did not make",
                bytes.len()
            ))
        })?;
        Ok(RemoteFn {
            addr,
            _codec: PhantomData,
        })
    }

    /// Encodes arguments for this function (an `A`, or for
    /// [`RemoteFn::each`] a `(usize, sequence of A)`), appending to `out`.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] if the codec cannot represent them.
    pub fn encode_args<T: Serialize + ?Sized>(&self, args: &T, out: &mut Vec<u8>) -> Result<()> {
        C::encode(args, out)
    }

    /// Decodes a result that [`RemoteFn::invoke`] encoded.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] naming `R` if the bytes are not one.
    pub fn decode_result<R: DeserializeOwned>(&self, bytes: &[u8]) -> Result<R> {
        C::decode(bytes)
    }

    /// Runs the function once, here: decodes the arguments from `args`,
    /// calls the function (a panic is caught), and appends the encoded
    /// result to `out`.
    ///
    /// # Errors
    ///
    /// A [`Failure`] if the arguments do not decode, the function panics,
    /// or the result does not encode.
    pub fn invoke(&self, args: &[u8], out: &mut Vec<u8>) -> std::result::Result<(), Failure> {
        self.addr.invoke(args, out)
    }

    pub(crate) fn addr(&self) -> FnAddr {
        self.addr
    }
}

/// The secret that lets the processes of one program accept each other's
/// [`RemoteFn`]s.
///
/// Every process makes its own on first use, and a process forked after
/// that inherits it (so a fork server and its workers share the program's).
/// Processes that are not forks of one another — the ranks of an MPI job,
/// which run the same executable — must share one: the first sends
/// [`ProgramKey::current`]'s bytes to the others, which
/// [`ProgramKey::adopt`] them before they read any remote function.
///
/// Adopting is `unsafe`: a remote function is an address in the
/// executable, and the key is what keeps bytes made elsewhere from being
/// called. A process that adopted a key anyone could know would accept
/// forged bytes, and calling them is undefined behaviour.
///
/// # Examples
///
/// ```
/// use pprocess_transport::ProgramKey;
///
/// let key = ProgramKey::current().to_bytes();
/// // Adopting the key a process already has is allowed; another one is not.
/// // SAFETY: the key is this process's own.
/// unsafe { ProgramKey::adopt(key)? };
/// let mut other = key;
/// other[0] ^= 1;
/// // SAFETY: this process has a key already, so this one is refused, not
/// // adopted.
/// assert!(unsafe { ProgramKey::adopt(other) }.is_err());
/// # Ok::<(), pprocess_core::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ProgramKey([u64; 2]);

impl fmt::Debug for ProgramKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgramKey(..)")
    }
}

impl ProgramKey {
    /// This process's key (made now if it had none).
    #[must_use]
    pub fn current() -> ProgramKey {
        ProgramKey(sys::key())
    }

    /// The key's 16 bytes, to send to another process of the program.
    #[must_use]
    pub fn to_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.0[0].to_le_bytes());
        out[8..].copy_from_slice(&self.0[1].to_le_bytes());
        out
    }
}
