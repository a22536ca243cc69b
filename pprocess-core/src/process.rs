//! Process handles: pid, waiting, killing.

use std::fmt;

use crate::Result;

/// A process id, as the operating system gives it.
pub type Pid = i32;

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// It called `exit`/`_exit` with this code.
    Exited(i32),
    /// A signal (by number) ended it.
    Signaled(i32),
}

impl ExitStatus {
    /// Whether the process exited with code 0.
    #[must_use]
    pub fn success(self) -> bool {
        self == ExitStatus::Exited(0)
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Exited(code) => write!(f, "exit code {code}"),
            ExitStatus::Signaled(sig) => write!(f, "killed by signal {sig}"),
        }
    }
}

/// A child process that can be waited for and killed.
///
/// Every child must be reaped exactly once; implementations remember the
/// status once they have it, so waiting again returns it again.
pub trait Process: fmt::Debug {
    /// The child's pid.
    fn pid(&self) -> Pid;

    /// Blocks until the child ends, and returns how it ended.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) if `waitpid` fails.
    fn wait(&mut self) -> Result<ExitStatus>;

    /// Returns how the child ended, or `Ok(None)` if it is still running.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) if `waitpid` fails.
    fn try_wait(&mut self) -> Result<Option<ExitStatus>>;

    /// Sends `SIGKILL` to the child (if it has not been reaped yet).
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) if `kill` fails.
    fn kill(&mut self) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_display_and_success() {
        assert!(ExitStatus::Exited(0).success());
        assert!(!ExitStatus::Exited(1).success());
        assert!(!ExitStatus::Signaled(9).success());
        assert_eq!(ExitStatus::Signaled(9).to_string(), "killed by signal 9");
    }
}
