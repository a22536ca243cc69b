//! Work on this machine: forked workers, from a fork server when one could
//! be started (the process had one thread), else from this process.

use pprocess_exchange::{Builder, ForkServer, MessagePack, num_cores};

#[derive(Debug)]
pub(crate) struct Local {
    builder: Builder<MessagePack>,
    server: Option<ForkServer>,
}

impl Local {
    pub(crate) fn new() -> Local {
        let server = ForkServer::start().ok();
        let builder = match &server {
            Some(s) => s.builder(),
            None => Builder::new(),
        };
        Local { builder, server }
    }

    pub(crate) fn has_fork_server(&self) -> bool {
        self.server.is_some()
    }

    #[allow(
        clippy::unused_self,
        reason = "the same shape as Ranks::size, which the backend dispatches to alike"
    )]
    pub(crate) fn workers(&self) -> usize {
        num_cores()
    }

    pub(crate) fn builder(&self) -> Builder<MessagePack> {
        self.builder.clone()
    }
}
