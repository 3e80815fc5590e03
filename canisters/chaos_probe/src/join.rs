//! Awaits several futures at once, so the calls of one access probe are in flight together and
//! the whole probe ends within about one call timeout (20 sequential 10 s timeouts would not
//! fit in a caller's 300 s bounded wait). A small local combinator instead of a dependency.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Resolves to every future's output, in input order, once all have completed.
pub fn join_all<F: Future + Unpin>(futures: Vec<F>) -> JoinAll<F> {
    let outputs = futures.iter().map(|_| None).collect();
    JoinAll {
        pending: futures.into_iter().map(Some).collect(),
        outputs,
    }
}

pub struct JoinAll<F: Future> {
    pending: Vec<Option<F>>,
    outputs: Vec<Option<F::Output>>,
}

impl<F: Future + Unpin> Unpin for JoinAll<F> {}

impl<F: Future + Unpin> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        for (slot, output) in this.pending.iter_mut().zip(this.outputs.iter_mut()) {
            if let Some(future) = slot {
                if let Poll::Ready(value) = Pin::new(future).poll(cx) {
                    *output = Some(value);
                    *slot = None;
                }
            }
        }
        if this.pending.iter().any(Option::is_some) {
            return Poll::Pending;
        }
        Poll::Ready(this.outputs.iter_mut().filter_map(Option::take).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    /// Ready after being polled `n` more times.
    struct Countdown(u32, &'static str);

    impl Future for Countdown {
        type Output = &'static str;
        fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<&'static str> {
            if self.0 == 0 {
                Poll::Ready(self.1)
            } else {
                self.0 -= 1;
                Poll::Pending
            }
        }
    }

    #[test]
    fn outputs_come_back_in_input_order_after_the_slowest() {
        let mut cx = Context::from_waker(Waker::noop());
        let mut all = join_all(vec![
            Countdown(2, "a"),
            Countdown(0, "b"),
            Countdown(1, "c"),
        ]);
        assert!(Pin::new(&mut all).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut all).poll(&mut cx).is_pending());
        assert_eq!(
            Pin::new(&mut all).poll(&mut cx),
            Poll::Ready(vec!["a", "b", "c"])
        );
    }

    #[test]
    fn nothing_to_join_is_ready_at_once() {
        let mut cx = Context::from_waker(Waker::noop());
        let mut all = join_all(Vec::<Countdown>::new());
        assert_eq!(Pin::new(&mut all).poll(&mut cx), Poll::Ready(vec![]));
    }
}
