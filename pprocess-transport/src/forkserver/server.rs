//! The fork server's own loop: it runs in the clean process forked by
//! `ForkServer::start`, and forks a worker for each request.

use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};

use pprocess_core::Pid;

use super::protocol::{self, Received, Spawn};
use super::worker;
use crate::sys::{self, FnAddr, ForkResult};
use crate::transport::{SocketPair, TrackedFd};

/// Serves requests on `control` until the program closes its end, then
/// ends the process. `program` is the pid of the program (the parent of
/// this server and of every worker). Never returns.
pub(super) fn run(control: TrackedFd, program: Pid) -> ! {
    loop {
        let received = match protocol::receive_request(control.as_fd()) {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(
                    io::stderr(),
                    "pprocess: fork server {}: {e}",
                    std::process::id()
                );
                sys::exit_now(1);
            }
        };
        let reply = match received {
            Received::Closed => sys::exit_now(0),
            Received::Malformed => Err(libc::EINVAL),
            Received::Spawn(req, fd) => spawn(&req, fd, &control, program),
        };
        if protocol::send_reply(control.as_fd(), reply).is_err() {
            // The program is gone.
            sys::exit_now(0);
        }
    }
}

/// Forks a worker for `req` on the channel end `fd` (closed here in the
/// server). Returns its pid or an errno.
fn spawn(req: &Spawn, fd: OwnedFd, control: &TrackedFd, program: Pid) -> Result<Pid, i32> {
    let Some(func) = FnAddr::from_wire(&req.func) else {
        return Err(libc::EBADMSG);
    };
    let max_frame = usize::try_from(req.max_frame).unwrap_or(usize::MAX);
    match sys::fork_sibling() {
        Err(e) => Err(e.raw_os_error().unwrap_or(libc::EAGAIN)),
        Ok(ForkResult::Parent(pid)) => {
            drop(fd);
            Ok(pid)
        }
        Ok(ForkResult::Child) => {
            if req.die_with_parent {
                sys::die_with_parent(program);
            }
            // A worker keeps nothing of the server but its own channel.
            // (`control` is closed by number: its owner, the server's loop,
            // is never unwound in this process.)
            crate::registry::lock().state().fds.remove(&control.raw());
            let _ = nix::unistd::close(control.raw());
            let mut transport = SocketPair::from_fd(fd);
            let code = worker::serve(&mut transport, func, max_frame);
            drop(transport);
            let _ = io::stdout().flush();
            let _ = io::stderr().flush();
            sys::exit_now(code)
        }
    }
}
