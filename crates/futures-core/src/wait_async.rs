//! `.await` for futures: `std::future::Future` for `Future<T>` (moving the value out) and
//! `IntoFuture` for `&Future<T>` (borrowing it), woken through the task's `Waker` (no polling,
//! no runtime dependency).

use std::future::IntoFuture;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::Error;
use crate::future::Future;
use crate::shared::Key;

/// The `std::future::Future` returned by [`Future::wait_async`] and `(&future).await`: resolves
/// to the borrowed value. Dropping it unregisters its waker.
#[must_use = "futures do nothing unless awaited"]
pub struct WaitAsync<'a, T> {
    future: &'a Future<T>,
    key: Option<Key>,
}

impl<T> Future<T> {
    /// A `std::future::Future` that resolves to this future's value (borrowed), so async code
    /// can `.await` it in any runtime. It never runs the task inline.
    ///
    /// ```
    /// use cfutures_core::Promise;
    /// use std::future::Future as _;
    /// use std::pin::pin;
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let (promise, future) = Promise::new();
    /// let mut wait = pin!(future.wait_async());
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(wait.as_mut().poll(&mut cx).is_pending());
    /// promise.set_result(5).unwrap();
    /// assert_eq!(wait.poll(&mut cx), Poll::Ready(Ok(&5)));
    /// ```
    pub fn wait_async(&self) -> WaitAsync<'_, T> {
        WaitAsync {
            future: self,
            key: None,
        }
    }
}

impl<'a, T> std::future::Future for WaitAsync<'a, T> {
    type Output = Result<&'a T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let future = this.future;
        future
            .shared
            .poll_done(&mut this.key, cx)
            .map(|()| future.outcome_now())
    }
}

impl<T> Drop for WaitAsync<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.future.shared.unregister(key);
        }
    }
}

impl<'a, T> IntoFuture for &'a Future<T> {
    type Output = Result<&'a T, Error>;
    type IntoFuture = WaitAsync<'a, T>;

    fn into_future(self) -> Self::IntoFuture {
        self.wait_async()
    }
}

/// `future.await` (and any combinator over `std::future::Future`s) yields `Result<T, Error>`,
/// moving the value out of the last handle; see [`Future`]'s "Moving the value out".
///
/// ```
/// use cfutures_core::Promise;
/// use std::future::Future as _;
/// use std::pin::pin;
/// use std::task::{Context, Poll, Waker};
///
/// struct NotClone(u8);
/// let (promise, future) = Promise::new();
/// let mut wait = pin!(future);
/// let mut cx = Context::from_waker(Waker::noop());
/// assert!(wait.as_mut().poll(&mut cx).is_pending());
/// promise.set_result(NotClone(9)).unwrap();
/// assert!(matches!(wait.poll(&mut cx), Poll::Ready(Ok(NotClone(9)))));
/// ```
impl<T> std::future::Future for Future<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `Future<T>` is `Unpin`: it holds an `Arc` and a key, no self-references.
        let this = self.get_mut();
        let shared = &this.shared;
        if shared.poll_done(&mut this.poll_key, cx).is_pending() {
            return Poll::Pending;
        }
        if shared.poll_callbacks(&mut this.poll_key, cx).is_pending() {
            return Poll::Pending;
        }
        let outcome = shared
            .take_if_last()
            .unwrap_or_else(|| Err(Error::shared_handles()));
        Poll::Ready(outcome)
    }
}
