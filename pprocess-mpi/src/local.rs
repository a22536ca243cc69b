//! Work on this machine: forked workers, from a fork server when one could
//! be started (the process had one thread), else from this process.

use pprocess_core::Result;
use pprocess_exchange::{Builder, ForkServer, Map, MessagePack, num_cores, pmap_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;

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

    pub(crate) fn pmap<T, R>(&self, f: fn(T) -> R, items: Vec<T>) -> Result<Vec<R>>
    where
        T: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        pmap_fn(&self.builder, f, items, None)
    }

    pub(crate) fn map<T, R>(&self, f: fn(T) -> R, items: Vec<T>) -> Result<Vec<Result<R>>>
    where
        T: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let mut map = Map::<R>::with_builder(self.builder.clone())?.limit(num_cores());
        for item in items {
            map.call_fn(f, item)?;
        }
        Ok(map.collect())
    }
}
