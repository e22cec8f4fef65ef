"""Database work from async code on the request path.

Django ties a connection to the thread (and under ASGI, to each request's own thread) until the
request ends, so a long stream would hold a pooled connection for its whole life. Instead, each unit
of ORM work runs in the shared thread pool and hands its connection back to the pool at once."""

import contextvars
import functools
from concurrent.futures import Future, ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.db import connections


def releasing(fn):
    """`fn` (a whole unit of ORM work on a pool thread) handing its connections back when done."""

    @functools.wraps(fn)
    def unit(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    return unit


def hand_back() -> None:
    """Give this thread's connections back to the pool now: for a sync view answering with a stream
    whose body does its own units of work (`db_call`), so the request holds none while it streams."""
    connections.close_all()


_side = ThreadPoolExecutor(max_workers=8, thread_name_prefix="side-work")


def in_parallel(fn, *args) -> Future:
    """Start `fn(*args)` on another thread (its own database connection, released when done) while
    the caller goes on with other work: for sync code that has two independent things to wait on.
    It runs in a copy of the caller's context (the request's log context; submit copies none). When
    `fn` uses the database, wait for it holding no connection (`hand_back` first): callers holding
    every pooled connection would otherwise each wait for work that can get none."""
    return _side.submit(contextvars.copy_context().run, releasing(fn), *args)


def db_call(fn):
    """Async version of `fn` (a whole unit of ORM work) that releases its connection when done."""
    return sync_to_async(releasing(fn), thread_sensitive=False)
