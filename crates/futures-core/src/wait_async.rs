//! `.await` for futures: `IntoFuture` for `Future<T>` and `&Future<T>`, woken through the
//! task's `Waker` (no polling, no runtime dependency).

use std::future::IntoFuture;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::Error;
use crate::future::Future;

/// The `std::future::Future` returned by [`Future::wait_async`] and `(&future).await`: resolves
/// to the borrowed value. Dropping it unregisters its waker.
#[must_use = "futures do nothing unless awaited"]
pub struct WaitAsync<'a, T> {
    future: &'a Future<T>,
    key: Option<u64>,
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

/// The `std::future::Future` of `future.await`: resolves to the owned value (moved out if the
/// awaited handle was the last one, cloned otherwise).
#[must_use = "futures do nothing unless awaited"]
pub struct IntoWaitAsync<T> {
    future: Option<Future<T>>,
    key: Option<u64>,
}

impl<T: Clone> std::future::Future for IntoWaitAsync<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY-free: IntoWaitAsync is Unpin (it holds no self-references).
        let this = self.get_mut();
        let Some(future) = this.future.as_ref() else {
            return Poll::Ready(Err(Error::InvalidState("polled after completion".into())));
        };
        match future.poll_done(&mut this.key, cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                let future = this.future.take().expect("checked above");
                Poll::Ready(future.into_result())
            }
        }
    }
}

impl<T> Drop for IntoWaitAsync<T> {
    fn drop(&mut self) {
        if let (Some(key), Some(future)) = (self.key.take(), self.future.as_ref()) {
            future.shared.unregister(key);
        }
    }
}

impl<T> Unpin for IntoWaitAsync<T> {}

/// `future.await` yields `Result<T, Error>`; see [`IntoWaitAsync`].
///
/// ```
/// use cfutures_core::Promise;
/// use std::future::{Future as _, IntoFuture};
/// use std::pin::pin;
/// use std::task::{Context, Poll, Waker};
///
/// let (promise, future) = Promise::new();
/// promise.set_result(String::from("hi")).unwrap();
/// let mut wait = pin!(future.into_future());
/// let mut cx = Context::from_waker(Waker::noop());
/// assert_eq!(wait.as_mut().poll(&mut cx), Poll::Ready(Ok(String::from("hi"))));
/// ```
impl<T: Clone> IntoFuture for Future<T> {
    type Output = Result<T, Error>;
    type IntoFuture = IntoWaitAsync<T>;

    fn into_future(self) -> Self::IntoFuture {
        IntoWaitAsync {
            future: Some(self),
            key: None,
        }
    }
}
