//! The public surface on platforms the process pool does not support (anything but Linux):
//! the same types and methods, so programs and the `cfutures` facade still build; every
//! constructor fails with [`Error::Other`] wrapping an [`io::ErrorKind::Unsupported`] error,
//! so no pool can exist and the other methods are never reached.

use std::io;

use cfutures_core::{Error, Future, Shutdown};
use cfutures_helpers::{MapChunked, MapOptions};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn unsupported() -> Error {
    Error::other(io::Error::new(
        io::ErrorKind::Unsupported,
        "cfutures-process runs only on Linux",
    ))
}

/// Settings for a [`ProcessPoolExecutor`]; on this platform [`build`](Self::build) fails.
#[derive(Clone, Debug, Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ProcessPoolBuilder {
    _private: (),
}

impl ProcessPoolBuilder {
    /// A builder with Python's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// See the Linux documentation.
    pub fn max_workers(self, _max_workers: usize) -> Self {
        self
    }

    /// See the Linux documentation.
    pub fn initializer<F, A>(self, _initializer: F, _arg: A) -> Self
    where
        F: Fn(A) + Copy + Send + 'static,
        A: Serialize + DeserializeOwned + 'static,
    {
        self
    }

    /// See the Linux documentation.
    pub fn max_tasks_per_child(self, _max_tasks: usize) -> Self {
        self
    }

    /// See the Linux documentation.
    pub fn max_frame_size(self, _bytes: usize) -> Self {
        self
    }

    /// See the Linux documentation.
    pub fn task_timeout(self, _limit: std::time::Duration) -> Self {
        self
    }

    /// Fails: the process pool is not supported on this platform.
    pub fn build(self) -> Result<ProcessPoolExecutor, Error> {
        Err(unsupported())
    }
}

/// Python's `ProcessPoolExecutor`; on this platform it cannot be built.
#[derive(Debug)]
pub struct ProcessPoolExecutor {
    _never: std::convert::Infallible,
}

impl ProcessPoolExecutor {
    /// Fails: the process pool is not supported on this platform.
    pub fn new(_max_workers: usize) -> Result<Self, Error> {
        Err(unsupported())
    }

    /// A builder whose `build` fails on this platform.
    pub fn builder() -> ProcessPoolBuilder {
        ProcessPoolBuilder::new()
    }

    /// Never reached: no pool exists on this platform.
    pub fn submit<F, A, R>(&self, _f: F, _arg: A) -> Result<Future<R>, Error>
    where
        F: Fn(A) -> R + Copy + Send + 'static,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        match self._never {}
    }

    /// Never reached: no pool exists on this platform.
    pub fn submit_with_timeout<F, A, R>(
        &self,
        _f: F,
        _arg: A,
        _limit: std::time::Duration,
    ) -> Result<Future<R>, Error>
    where
        F: Fn(A) -> R + Copy + Send + 'static,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        match self._never {}
    }

    /// Never reached: no pool exists on this platform.
    pub fn map<'a, F, A, R, I>(
        &self,
        _f: F,
        _items: I,
        _chunksize: usize,
    ) -> Result<MapChunked<'a, R>, Error>
    where
        F: Fn(A) -> R + Copy + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: 'a,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        match self._never {}
    }

    /// Never reached: no pool exists on this platform.
    pub fn map_with<'a, F, A, R, I>(
        &self,
        _f: F,
        _items: I,
        _chunksize: usize,
        _options: MapOptions,
    ) -> Result<MapChunked<'a, R>, Error>
    where
        F: Fn(A) -> R + Copy + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: 'a,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        match self._never {}
    }

    /// Never reached: no pool exists on this platform.
    pub fn shutdown(&self, _how: Shutdown) {
        match self._never {}
    }

    /// Never reached: no pool exists on this platform.
    pub fn terminate_workers(&self) {
        match self._never {}
    }

    /// Never reached: no pool exists on this platform.
    pub fn kill_workers(&self) {
        match self._never {}
    }

    /// Never reached: no pool exists on this platform.
    pub fn max_workers(&self) -> usize {
        match self._never {}
    }

    /// Never reached: no pool exists on this platform.
    pub fn worker_count(&self) -> usize {
        match self._never {}
    }

    /// Never reached: no pool exists on this platform.
    pub fn worker_pids(&self) -> Vec<u32> {
        match self._never {}
    }
}
