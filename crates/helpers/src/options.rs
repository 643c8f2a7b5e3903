//! `MapOptions`: the keyword arguments of Python's `Executor.map`.

use std::time::Duration;

use cfutures_core::Error;

/// Options of [`map`](crate::map) and [`map_chunked`](crate::map_chunked): Python's `timeout`
/// and `buffersize` keyword arguments. The default is no timeout and no bound (every item is
/// submitted during the call).
///
/// ```
/// use cfutures_helpers::MapOptions;
/// use std::time::Duration;
///
/// let options = MapOptions::new().timeout(Duration::from_secs(5)).buffersize(64);
/// assert_eq!(options.get_timeout(), Some(Duration::from_secs(5)));
/// assert_eq!(options.get_buffersize(), Some(64));
/// assert_eq!(MapOptions::default(), MapOptions::new());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MapOptions {
    timeout: Option<Duration>,
    buffersize: Option<usize>,
}

impl MapOptions {
    /// No timeout, no bound.
    pub const fn new() -> Self {
        MapOptions {
            timeout: None,
            buffersize: None,
        }
    }

    /// The whole iteration must be done within `timeout` of the `map` call; past it the
    /// iterator yields one [`Error::Timeout`], cancels what has not started and ends.
    pub const fn timeout(self, timeout: Duration) -> Self {
        self.timeout_opt(Some(timeout))
    }

    /// As [`timeout`](Self::timeout), with `None` for no timeout (convenient for executors
    /// that pass their caller's option through).
    pub const fn timeout_opt(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
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

    /// The bound on items in flight, if any.
    pub const fn get_buffersize(&self) -> Option<usize> {
        self.buffersize
    }

    /// Checks the options as `map` does: a zero `buffersize` is an
    /// [`Error::InvalidArgument`] with Python's message.
    ///
    /// ```
    /// use cfutures_core::Error;
    /// use cfutures_helpers::MapOptions;
    ///
    /// let err = MapOptions::new().buffersize(0).validate().unwrap_err();
    /// assert_eq!(err, Error::InvalidArgument("buffersize must be None or > 0".into()));
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        if self.buffersize == Some(0) {
            return Err(Error::InvalidArgument(
                "buffersize must be None or > 0".into(),
            ));
        }
        Ok(())
    }
}
