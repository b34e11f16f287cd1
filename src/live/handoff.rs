// SPDX-License-Identifier: GPL-2.0-only
//! A bounded channel between the dispatch loop and its helper threads that shares no lock.
//!
//! Why not `std::sync::mpsc`: its sender wakes a waiting receiver (and its receiver a waiting
//! sender) under a mutex that the other side also takes while it registers or unregisters
//! itself. The `stall-self` case caught the loop asleep in a futex wait inside
//! `std::sync::mpmc::waker::SyncWaker::notify` (its only voluntary switch in that run, stop 25's
//! CI): the loop had waited on a lock a helper held. Here the queue is crossbeam's lock-free
//! `ArrayQueue` (allocated once, at creation) and a waiting receiver is woken with
//! `Thread::unpark` (an atomic swap, and a futex wake only if it sleeps): a send never waits.
//! A helper's blocking `send` into a full queue retries after `SEND_RETRY`, never the loop.
//!
//! The API is the subset of `std::sync::mpsc` the scheduler uses, with std's error types.

use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};
use std::sync::{Arc, OnceLock};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;

/// How long a blocking `send` into a full queue sleeps before it tries again.
const SEND_RETRY: Duration = Duration::from_millis(1);

struct Shared<T> {
    queue: ArrayQueue<T>,
    /// The thread that waits in `recv`, set the first time it waits (woken by each send).
    receiver: OnceLock<Thread>,
    senders: AtomicUsize,
    receiver_gone: AtomicBool,
}

/// The sending side; clone it for more senders.
pub struct SyncSender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving side (one thread waits on it).
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// A channel holding at most `capacity` messages (at least 1).
pub fn sync_channel<T>(capacity: usize) -> (SyncSender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        queue: ArrayQueue::new(capacity.max(1)),
        receiver: OnceLock::new(),
        senders: AtomicUsize::new(1),
        receiver_gone: AtomicBool::new(false),
    });
    (
        SyncSender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

impl<T> SyncSender<T> {
    /// Queue `msg` if there is room; never waits.
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        if self.shared.receiver_gone.load(Ordering::Acquire) {
            return Err(TrySendError::Disconnected(msg));
        }
        self.shared.queue.push(msg).map_err(TrySendError::Full)?;
        self.wake_receiver();
        Ok(())
    }

    /// Queue `msg`, sleeping while the queue is full (helpers only: the loop uses `try_send`).
    pub fn send(&self, mut msg: T) -> Result<(), SendError<T>> {
        loop {
            match self.try_send(msg) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(m)) => return Err(SendError(m)),
                Err(TrySendError::Full(m)) => msg = m,
            }
            thread::sleep(SEND_RETRY);
        }
    }

    fn wake_receiver(&self) {
        // Pairs with the fence in `Receiver::wait`: either it sees our message or we see it.
        fence(Ordering::SeqCst);
        if let Some(t) = self.shared.receiver.get() {
            t.unpark();
        }
    }
}

impl<T> Clone for SyncSender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::AcqRel);
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for SyncSender<T> {
    fn drop(&mut self) {
        // The last sender gone: a waiting receiver must see the disconnection.
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.wake_receiver();
        }
    }
}

impl<T> Receiver<T> {
    /// A message if one is queued; never waits.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.shared.queue.pop() {
            Some(msg) => Ok(msg),
            None if self.disconnected() => {
                // A last message may have landed before the last sender left.
                self.shared.queue.pop().ok_or(TryRecvError::Disconnected)
            }
            None => Err(TryRecvError::Empty),
        }
    }

    /// Wait for a message until every sender is gone.
    pub fn recv(&self) -> Result<T, RecvError> {
        loop {
            match self.wait(None) {
                Ok(msg) => return Ok(msg),
                Err(TryRecvError::Disconnected) => return Err(RecvError),
                Err(TryRecvError::Empty) => {}
            }
        }
    }

    /// Wait for a message at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let end = Instant::now() + timeout;
        loop {
            match self.wait(Some(end)) {
                Ok(msg) => return Ok(msg),
                Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
                Err(TryRecvError::Empty) if Instant::now() >= end => {
                    return Err(RecvTimeoutError::Timeout)
                }
                Err(TryRecvError::Empty) => {}
            }
        }
    }

    /// One try, then one park (until a send, the deadline, or a spurious wakeup).
    fn wait(&self, end: Option<Instant>) -> Result<T, TryRecvError> {
        self.shared.receiver.get_or_init(thread::current);
        fence(Ordering::SeqCst);
        match self.try_recv() {
            Err(TryRecvError::Empty) => {}
            done => return done,
        }
        match end {
            Some(end) => thread::park_timeout(end.saturating_duration_since(Instant::now())),
            None => thread::park(),
        }
        self.try_recv()
    }

    fn disconnected(&self) -> bool {
        self.shared.senders.load(Ordering::Acquire) == 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.receiver_gone.store(true, Ordering::Release);
    }
}

impl<T> Iterator for Receiver<T> {
    type Item = T;
    /// The next message; None once every sender is gone.
    fn next(&mut self) -> Option<T> {
        self.recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_send_fails_when_full_and_after_the_receiver_left() {
        let (tx, rx) = sync_channel::<u32>(1);
        tx.try_send(1).unwrap();
        assert!(matches!(tx.try_send(2), Err(TrySendError::Full(2))));
        assert_eq!(rx.try_recv(), Ok(1));
        drop(rx);
        assert!(matches!(tx.try_send(3), Err(TrySendError::Disconnected(3))));
        assert!(tx.send(4).is_err());
    }

    #[test]
    fn a_waiting_receiver_gets_every_message_then_sees_the_senders_leave() {
        let (tx, rx) = sync_channel::<u32>(4);
        let reader = thread::spawn(move || rx.collect::<Vec<_>>());
        let tx2 = tx.clone();
        let other = thread::spawn(move || (0..500).for_each(|i| tx2.send(1000 + i).unwrap()));
        (0..500).for_each(|i| tx.send(i).unwrap());
        other.join().unwrap();
        drop(tx);
        let got = reader.join().unwrap();
        assert_eq!(got.len(), 1000);
        // Each sender's messages arrive in its own order.
        let mine: Vec<u32> = got.iter().copied().filter(|v| *v < 1000).collect();
        assert_eq!(mine, (0..500).collect::<Vec<_>>());
    }

    #[test]
    fn recv_timeout_times_out_then_reports_disconnection() {
        let (tx, rx) = sync_channel::<u32>(2);
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(20)),
            Err(RecvTimeoutError::Timeout)
        );
        tx.try_send(7).unwrap();
        drop(tx);
        assert_eq!(rx.recv_timeout(Duration::from_millis(20)), Ok(7));
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(20)),
            Err(RecvTimeoutError::Disconnected)
        );
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }
}
