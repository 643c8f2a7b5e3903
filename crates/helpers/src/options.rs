//! `MapOptions`: the keyword arguments of Python's `Executor.map`.

use std::time::Duration;

use cfutures_core::Error;

/// Options of every map of this crate (and of every executor's `map`): Python's `timeout`,
/// `chunksize` and `buffersize` keyword arguments. The default is no timeout, chunks of one
/// item and no bound (every item is submitted during the call).
///
/// `chunksize` is read by the chunked maps ([`map_chunked`](crate::map_chunked),
/// [`map_unordered_chunked`](crate::map_unordered_chunked)), which the process pool uses; the
/// item-by-item maps ignore it, as Python's `ThreadPoolExecutor.map` does.
///
/// ```
/// use cfutures_helpers::MapOptions;
/// use std::time::Duration;
///
/// let options = MapOptions::new().timeout(Duration::from_secs(5)).chunksize(16).buffersize(64);
/// assert_eq!(options.get_timeout(), Some(Duration::from_secs(5)));
/// assert_eq!(options.get_chunksize(), 16);
/// assert_eq!(options.get_buffersize(), Some(64));
/// assert_eq!(MapOptions::default(), MapOptions::new());
/// assert_eq!(MapOptions::new().get_chunksize(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MapOptions {
    timeout: Option<Duration>,
    chunksize: usize,
    buffersize: Option<usize>,
}

impl Default for MapOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl MapOptions {
    /// No timeout, chunks of 1, no bound.
    pub const fn new() -> Self {
        MapOptions {
            timeout: None,
            chunksize: 1,
            buffersize: None,
        }
    }

    /// The whole iteration must be done within `timeout` of the `map` call; past it the
    /// iterator yields the timeout ([`Error::Timeout`]), cancels what has not started and
    /// ends.
    pub const fn timeout(self, timeout: Duration) -> Self {
        self.timeout_opt(Some(timeout))
    }

    /// As [`timeout`](Self::timeout), with `None` for no timeout (convenient for executors
    /// that pass their caller's option through).
    pub const fn timeout_opt(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Items per submission for the chunked maps (Python's `chunksize`, default 1): one round
    /// trip per chunk instead of per item. Must be at least 1; [`validate`](Self::validate)
    /// rejects 0 with [`Error::InvalidArgument`], like Python's `ValueError`.
    pub const fn chunksize(mut self, chunksize: usize) -> Self {
        self.chunksize = chunksize;
        self
    }

    /// At most `buffersize` submitted items (or chunks) whose results have not been yielded
    /// yet: the input is pulled lazily, one item per result yielded, so an endless input runs
    /// in bounded memory. Must be at least 1; `map` rejects 0 with
    /// [`Error::InvalidArgument`], like Python's `ValueError`.
    pub const fn buffersize(self, buffersize: usize) -> Self {
        self.buffersize_opt(Some(buffersize))
    }

    /// As [`buffersize`](Self::buffersize), with `None` for no bound.
    pub const fn buffersize_opt(mut self, buffersize: Option<usize>) -> Self {
        self.buffersize = buffersize;
        self
    }

    /// The timeout, if any.
    pub const fn get_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Items per chunk (1 unless set).
    pub const fn get_chunksize(&self) -> usize {
        self.chunksize
    }

    /// The bound on items in flight, if any.
    pub const fn get_buffersize(&self) -> Option<usize> {
        self.buffersize
    }

    /// Checks the options as every map does, with Python's messages and in Python's order
    /// (`ProcessPoolExecutor.map` checks `chunksize` before `Executor.map` checks
    /// `buffersize`): a zero `chunksize` or `buffersize` is an [`Error::InvalidArgument`].
    ///
    /// ```
    /// use cfutures_core::Error;
    /// use cfutures_helpers::MapOptions;
    ///
    /// let err = MapOptions::new().buffersize(0).validate().unwrap_err();
    /// assert_eq!(err, Error::InvalidArgument("buffersize must be None or > 0".into()));
    /// let err = MapOptions::new().chunksize(0).buffersize(0).validate().unwrap_err();
    /// assert_eq!(err, Error::InvalidArgument("chunksize must be >= 1.".into()));
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        if self.chunksize == 0 {
            return Err(Error::InvalidArgument("chunksize must be >= 1.".into()));
        }
        if self.buffersize == Some(0) {
            return Err(Error::InvalidArgument(
                "buffersize must be None or > 0".into(),
            ));
        }
        Ok(())
    }
}
