//! Waking the far end of a ring: a parked thread, an async task's [`Waker`](std::task::Waker),
//! or a scheduler's [`Notify`] hook. Registration and waking are lock-free and allocate nothing.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::task::Waker;
use std::thread::{self, Thread};
use std::time::Duration;

use atomic_waker::AtomicWaker;

/// How long a waiting ring end sleeps at most before it looks again, should a wake-up be
/// missed (it is normally woken at once by the other end).
pub(crate) const PARK_TIMEOUT: Duration = Duration::from_millis(1);

/// A wake-up hook for a scheduler that drives ring ends itself (neither a parked thread nor an
/// async task): [`RingSender::set_notify`](crate::RingSender::set_notify) and
/// [`RingReceiver::set_notify`](crate::RingReceiver::set_notify) install one, and the *other*
/// end calls [`notify`](Notify::notify) whenever it makes progress that may unblock this end
/// (an item became available, a slot was freed, the link closed).
///
/// `notify` runs on the other end's thread, inside its `send`/`recv`: it must be quick and must
/// not block or allocate (set a flag, push a task id into a pre-allocated queue, unpark a
/// worker). It may be called spuriously.
pub trait Notify: Send + Sync {
    /// The other end of the ring made progress.
    fn notify(&self);
}

/// The three ways one ring end can be woken. Every target that is set is woken.
pub(crate) struct WakeSlot {
    thread: OnceLock<Thread>,
    waker: AtomicWaker,
    notify: OnceLock<Arc<dyn Notify>>,
}

impl fmt::Debug for WakeSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WakeSlot")
            .field("thread", &self.thread.get().map(Thread::id))
            .field("notify", &self.notify.get().is_some())
            .finish_non_exhaustive()
    }
}

impl WakeSlot {
    pub(crate) fn new() -> Self {
        WakeSlot {
            thread: OnceLock::new(),
            waker: AtomicWaker::new(),
            notify: OnceLock::new(),
        }
    }

    /// Registers the calling thread (the first registration wins; later calls do nothing).
    pub(crate) fn register_thread(&self) {
        self.thread.get_or_init(thread::current);
    }

    /// Registers a task's waker. The caller must look at the ring again afterwards before it
    /// returns `Pending` (register, then re-check: no wake-up is lost).
    pub(crate) fn register_waker(&self, waker: &Waker) {
        self.waker.register(waker);
    }

    /// Installs the scheduler hook; `false` when one was already installed.
    pub(crate) fn set_notify(&self, notify: Arc<dyn Notify>) -> bool {
        self.notify.set(notify).is_ok()
    }

    /// Wakes every registered target.
    pub(crate) fn wake(&self) {
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
        self.waker.wake();
        if let Some(n) = self.notify.get() {
            n.notify();
        }
    }
}

/// Spin, then yield, then park with a timeout.
#[derive(Default)]
pub(crate) struct Backoff(u32);

impl Backoff {
    /// True at the step where a waiting thread should register itself for unparking (just
    /// before the first park).
    pub(crate) fn about_to_park(&self) -> bool {
        self.0 == 10
    }

    pub(crate) fn wait(&mut self) {
        match self.0 {
            0..=6 => {
                for _ in 0..(1u32 << self.0) {
                    std::hint::spin_loop();
                }
            }
            7..=9 => thread::yield_now(),
            _ => thread::park_timeout(PARK_TIMEOUT),
        }
        self.0 = self.0.saturating_add(1);
    }
}
