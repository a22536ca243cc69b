//! The only place in this crate with `unsafe`: `fork`, `_exit`, replacing
//! inherited descriptors in a child, calling functions by address
//! (remote functions), and mapping shared memory (the shared-memory
//! transport).

mod fd;
mod fork;
mod remote;
mod shm;

pub(crate) use fd::{own_fd, poll_one, poll_write_or_read, replace_with_dev_null, set_nonblocking};
pub(crate) use fork::{ForkResult, die_with_parent, exit_now, fork, fork_sibling, pidfd_open};
pub(crate) use remote::{Body, FnAddr, WIRE_LEN, key};
pub(crate) use shm::{SharedMap, replace_with_anonymous};
