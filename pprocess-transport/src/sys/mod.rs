//! The only place in this crate with `unsafe`: `fork`, `_exit`, and
//! replacing inherited descriptors in a child.

mod fd;
mod fork;

pub(crate) use fd::{own_fd, poll_one, poll_write_or_read, replace_with_dev_null, set_nonblocking};
pub(crate) use fork::{ForkResult, die_with_parent, exit_now, fork, pidfd_open};
