//! Function addresses that cross to another process of the same program.
//!
//! A remote function is a pair of code addresses: a *trampoline* (a
//! monomorphised instance of [`trampoline`], which knows the argument and
//! result types and the codec) and the user's `fn(A) -> R`. Both are sent
//! as offsets from [`anchor`], a function of this crate: within one
//! executable every function keeps its distance from every other, whatever
//! address the loader chose (ASLR), so an offset made in one process of the
//! program names the same function in any other process running the same
//! executable file (a fork server, or an MPI rank).
//!
//! Turning an address back into a function is the unsafe step. It is only
//! done for an [`FnAddr`], which can be had in two ways: from real function
//! pointers ([`FnAddr::new`]), or from bytes whose keyed digest
//! (SipHash-2-4 under the program's secret [`key`]) matches
//! ([`FnAddr::from_wire`]). Corrupt or foreign bytes are an error, never
//! a jump, as long as the key stays secret: a process takes another's key
//! only through `ProgramKey::adopt`, which is `unsafe` for that reason.

use std::io::Read;
use std::sync::OnceLock;

use crate::remote::failure::Failure;

/// Bytes of an [`FnAddr`] on the wire: two offsets and a digest.
pub(crate) const WIRE_LEN: usize = 24;

/// What the typed code of a remote call does with one invocation: decode
/// the arguments from `args`, call `f`, encode the result into `out`.
pub(crate) trait Body<A, R> {
    /// Runs `f` on the arguments in `args`; appends the encoded result to
    /// `out`.
    fn run(f: fn(A) -> R, args: &[u8], out: &mut Vec<u8>) -> Result<(), Failure>;
}

/// The erased form of every trampoline.
type Erased = fn(usize, &[u8], &mut Vec<u8>) -> Result<(), Failure>;

/// The typed entry point behind a remote function: rebuilds `fn(A) -> R`
/// from its address and hands it to the body `B`.
fn trampoline<A, R, B: Body<A, R>>(
    f: usize,
    args: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), Failure> {
    // SAFETY: this trampoline is only reached through an `FnAddr`, whose
    // pair of addresses was either taken from `trampoline::<A, R, B>` and a
    // real `fn(A) -> R` by `FnAddr::new` (in this process, or in the
    // process of the same executable that sent its digest-checked offsets),
    // so `f` is the address of a function of exactly this type. Function
    // pointers and `usize` have the same size on every target Rust
    // supports for this crate (Linux), and `f` is not null.
    let f: fn(A) -> R = unsafe { std::mem::transmute::<usize, fn(A) -> R>(f) };
    B::run(f, args, out)
}

/// The fixed point offsets are measured from. Never inlined, so it has an
/// address of its own in the executable.
#[inline(never)]
fn anchor() {}

fn anchor_addr() -> usize {
    anchor as fn() as usize
}

/// The program's secret for digests: 128 random bits, made on first use and
/// inherited by every process forked afterwards (so the fork server and its
/// workers share it), or adopted from another process with [`adopt_key`].
fn key_cell() -> &'static OnceLock<[u64; 2]> {
    static KEY: OnceLock<[u64; 2]> = OnceLock::new();
    &KEY
}

/// The program's secret, made now if it was not yet.
pub(crate) fn key() -> [u64; 2] {
    *key_cell().get_or_init(fresh_key)
}

impl crate::remote::ProgramKey {
    /// Makes `bytes` this process's key, so that it accepts the remote
    /// functions of the process whose key it is.
    ///
    /// # Safety
    ///
    /// `bytes` must be the key ([`ProgramKey::current`]) of a process that
    /// runs the same executable file as this one, received over a channel
    /// nothing else can write to (an MPI job's own communicator). A key that
    /// other code could know lets it forge remote functions, which this
    /// process would then call: undefined behaviour. If this process
    /// already has a key, nothing is adopted.
    ///
    /// [`ProgramKey::current`]: crate::remote::ProgramKey::current
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`](pprocess_core::Error::Protocol) if this process
    /// already has a different key (it made one, or made a
    /// [`RemoteFn`](crate::RemoteFn), before adopting).
    pub unsafe fn adopt(bytes: [u8; 16]) -> pprocess_core::Result<()> {
        let mut a = [0u8; 8];
        let mut b = [0u8; 8];
        a.copy_from_slice(&bytes[..8]);
        b.copy_from_slice(&bytes[8..]);
        adopt_key([u64::from_le_bytes(a), u64::from_le_bytes(b)]).map_err(|_| {
            pprocess_core::Error::Protocol(
                "cannot adopt a program key: this process already has another one".into(),
            )
        })
    }
}

/// Takes `key` as the program's secret, so that this process accepts the
/// remote functions of the process that made it. Fails if this process
/// already has a different one.
fn adopt_key(key: [u64; 2]) -> Result<(), [u64; 2]> {
    let got = *key_cell().get_or_init(|| key);
    if got == key { Ok(()) } else { Err(got) }
}

fn fresh_key() -> [u64; 2] {
    let mut bytes = [0u8; 16];
    let from_kernel = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_ok();
    if !from_kernel {
        // std's hasher keys come from the system's random source too.
        use std::hash::BuildHasher;
        let s = std::collections::hash_map::RandomState::new();
        bytes[..8].copy_from_slice(&s.hash_one(1u8).to_le_bytes());
        bytes[8..].copy_from_slice(&s.hash_one(2u8).to_le_bytes());
    }
    let (a, b) = bytes.split_at(8);
    [
        u64::from_le_bytes(a.try_into().unwrap_or_default()),
        u64::from_le_bytes(b.try_into().unwrap_or_default()),
    ]
}

fn digest(invoke: u64, f: u64) -> u64 {
    // SipHash-2-4 keyed with the secret: a message authentication code, so
    // that only offsets made by this program are ever turned into calls.
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new_with_keys(key()[0], key()[1]);
    std::hash::Hasher::write(&mut h, &invoke.to_le_bytes());
    std::hash::Hasher::write(&mut h, &f.to_le_bytes());
    std::hash::Hasher::finish(&h)
}

/// A remote function's two code addresses, valid in this process.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FnAddr {
    invoke: usize,
    f: usize,
}

impl std::fmt::Debug for FnAddr {
    #[allow(
        clippy::cast_possible_wrap,
        reason = "the wrapped difference from the anchor is shown as a signed offset"
    )]
    fn fmt(&self, fmt: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let base = anchor_addr();
        write!(
            fmt,
            "FnAddr {{ invoke: anchor{:+#x}, f: anchor{:+#x} }}",
            self.invoke.wrapping_sub(base) as isize,
            self.f.wrapping_sub(base) as isize
        )
    }
}

impl FnAddr {
    /// The addresses of `f` and of its trampoline with body `B`.
    pub(crate) fn new<A, R, B: Body<A, R>>(f: fn(A) -> R) -> Self {
        let invoke: Erased = trampoline::<A, R, B>;
        FnAddr {
            invoke: invoke as usize,
            f: f as usize,
        }
    }

    /// The wire form: the two offsets from the anchor and their digest.
    pub(crate) fn to_wire(self) -> [u8; WIRE_LEN] {
        let base = anchor_addr();
        let invoke = self.invoke.wrapping_sub(base) as u64;
        let f = self.f.wrapping_sub(base) as u64;
        let mut out = [0u8; WIRE_LEN];
        out[..8].copy_from_slice(&invoke.to_le_bytes());
        out[8..16].copy_from_slice(&f.to_le_bytes());
        out[16..].copy_from_slice(&digest(invoke, f).to_le_bytes());
        out
    }

    /// Reads the wire form; `None` if it is not [`WIRE_LEN`] bytes or its
    /// digest does not match (made by another program, another run
    /// without a shared key, or corrupt).
    pub(crate) fn from_wire(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; WIRE_LEN] = bytes.try_into().ok()?;
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            u64::from_le_bytes(w)
        };
        let (invoke, f, sum) = (word(0), word(1), word(2));
        if digest(invoke, f) != sum {
            return None;
        }
        let base = anchor_addr();
        let invoke = base.wrapping_add(usize::try_from(invoke).ok()?);
        let f = base.wrapping_add(usize::try_from(f).ok()?);
        if invoke == 0 || f == 0 {
            return None;
        }
        Some(FnAddr { invoke, f })
    }

    /// Runs one invocation: decodes `args`, calls the function, appends the
    /// encoded result to `out`.
    pub(crate) fn invoke(self, args: &[u8], out: &mut Vec<u8>) -> Result<(), Failure> {
        // SAFETY: `self.invoke` is the address of a `trampoline::<A, R, B>`
        // instance (an `Erased` function): `FnAddr::new` took it from one,
        // and `FnAddr::from_wire` only accepts offsets carrying the digest
        // that this program's key gives to offsets `to_wire` made from such
        // an `FnAddr`, in this executable. It is not null.
        let invoke: Erased = unsafe { std::mem::transmute::<usize, Erased>(self.invoke) };
        invoke(self.f, args, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Double;
    impl Body<u32, u32> for Double {
        fn run(f: fn(u32) -> u32, args: &[u8], out: &mut Vec<u8>) -> Result<(), Failure> {
            let x = u32::from_le_bytes(args.try_into().map_err(|_| Failure {
                panicked: false,
                message: "four bytes".into(),
            })?);
            out.extend_from_slice(&f(x).to_le_bytes());
            Ok(())
        }
    }

    fn twice(x: u32) -> u32 {
        x * 2
    }

    #[test]
    fn wire_round_trip_calls_the_same_function() {
        let addr = FnAddr::new::<u32, u32, Double>(twice);
        let back = FnAddr::from_wire(&addr.to_wire()).expect("digest matches");
        assert_eq!(back, addr);
        let mut out = Vec::new();
        back.invoke(&21u32.to_le_bytes(), &mut out).unwrap();
        assert_eq!(out, 42u32.to_le_bytes());
    }

    #[test]
    fn any_changed_bit_is_refused() {
        let wire = FnAddr::new::<u32, u32, Double>(twice).to_wire();
        for bit in 0..WIRE_LEN * 8 {
            let mut bad = wire;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(FnAddr::from_wire(&bad).is_none(), "bit {bit} accepted");
        }
        assert!(FnAddr::from_wire(&wire[..WIRE_LEN - 1]).is_none());
    }

    #[test]
    fn another_key_is_refused_once_one_is_set() {
        let mine = key();
        assert_eq!(adopt_key(mine), Ok(()));
        assert_eq!(adopt_key([mine[0] ^ 1, mine[1]]), Err(mine));
    }
}
