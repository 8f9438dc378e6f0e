"""A background thread running one asyncio event loop, so synchronous code can await.

A Jupyter kernel already runs an event loop on its main thread; blocking it with ``asyncio.run`` or
patching it with nest_asyncio is fragile. Instead the async side of jupyter_desktop (RFB clients,
subprocesses) lives on this thread for the life of the process, and ``call`` waits for a result.
Local desktop processes are spawned from this thread, which matters: their ``PR_SET_PDEATHSIG`` fires
when the spawning thread exits, and this one lives as long as the process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_instance: LoopThread | None = None


class LoopCaller:
    """Run coroutines on an event loop that runs in another thread (``loop``'s, ``thread``), from any other."""

    def __init__(self, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        self.loop = loop
        self.thread = thread

    @classmethod
    def here(cls) -> LoopCaller:
        """For the running loop (a server's): call it from its thread."""
        return cls(asyncio.get_running_loop(), threading.current_thread())

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result (KeyboardInterrupt cancels it)."""
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError("jupyter_desktop's synchronous API cannot be called from its own event loop thread")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            if future.done():  # the coroutine's own TimeoutError (the same class since Python 3.11)
                raise
            future.cancel()
            raise TimeoutError(f"the desktop did not answer within {timeout:g} s") from None
        except BaseException:
            future.cancel()
            raise


class LoopThread(LoopCaller):
    """A thread of its own running a new event loop for the life of the process."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        super().__init__(asyncio.new_event_loop(), threading.Thread(target=self._run, name="jupyter-desktop-loop", daemon=True))
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()


def _after_fork_in_child() -> None:
    """A forked child has no loop thread, yet its copy of the loop shares the parent's selector (one epoll
    instance) and self-pipe: closing that copy, as its finalizer does at exit, would unregister the parent's
    sockets, and the parent's desktops would stop answering. The copy is marked closed, untouched (asyncio has no
    public way to abandon a loop); a later ``loop_thread()`` starts a new one."""
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the fork
    if _instance is not None:
        _instance.loop._closed = True  # type: ignore[attr-defined]
        _instance.loop.set_exception_handler(lambda loop, context: None)  # its tasks, pending forever, say nothing


os.register_at_fork(after_in_child=_after_fork_in_child)


def loop_thread() -> LoopThread:
    """The process's loop thread (a fresh one after fork: threads do not survive it)."""
    global _instance
    with _lock:
        if _instance is None or _instance.pid != os.getpid() or not _instance.thread.is_alive():
            _instance = LoopThread()
        return _instance
