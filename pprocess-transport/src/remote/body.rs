//! The typed code behind a remote function: decode, call, encode.

use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};

use pprocess_core::Codec;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Failure;
use crate::process::panic_message;
use crate::sys::Body;

/// One `A` in, one `R` out.
pub(super) struct Call<C>(PhantomData<C>);

/// `(first, items)` in, the items' results out.
pub(super) struct Each<C>(PhantomData<C>);

fn codec_failure(what: &str, e: pprocess_core::Error) -> Failure {
    Failure {
        panicked: false,
        message: format!("{what}: {e}"),
    }
}

fn panicked(payload: Box<dyn std::any::Any + Send>, at: Option<usize>) -> Failure {
    let message = panic_message(&*payload);
    // The payload is never dropped: its destructor could panic again.
    std::mem::forget(payload);
    Failure {
        panicked: true,
        message: match at {
            Some(i) => format!("item {i} panicked: {message}"),
            None => message,
        },
    }
}

impl<A, R, C> Body<A, R> for Call<C>
where
    A: DeserializeOwned,
    R: Serialize,
    C: Codec,
{
    fn run(f: fn(A) -> R, args: &[u8], out: &mut Vec<u8>) -> Result<(), Failure> {
        let args: A = C::decode(args).map_err(|e| codec_failure("bad arguments", e))?;
        let result = catch_unwind(AssertUnwindSafe(|| f(args))).map_err(|p| panicked(p, None))?;
        C::encode(&result, out).map_err(|e| codec_failure("bad result", e))
    }
}

impl<A, R, C> Body<A, R> for Each<C>
where
    A: DeserializeOwned,
    R: Serialize,
    C: Codec,
{
    fn run(f: fn(A) -> R, args: &[u8], out: &mut Vec<u8>) -> Result<(), Failure> {
        let (first, items): (usize, Vec<A>) =
            C::decode(args).map_err(|e| codec_failure("bad arguments", e))?;
        let mut results = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let r = catch_unwind(AssertUnwindSafe(|| f(item)))
                .map_err(|p| panicked(p, Some(first + i)))?;
            results.push(r);
        }
        C::encode(&results, out).map_err(|e| codec_failure("bad result", e))
    }
}
