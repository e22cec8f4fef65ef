"""The garbage collector of the server and worker processes, set for many objects in flight.

A request leaves no reference cycles behind (tests/test_heap.py), so refcounting frees it and the
cycle collector only ever finds objects still in use. With Python's defaults (a young collection
every 700 net allocations) the objects of a few hundred streams in flight are promoted and soon
trigger a full collection: 50–150 ms with the event loop stopped, measured as the whole difference
between a time to first token p95 of ~150 ms and ~300 ms for 200 simultaneous streams
(bench.run). So what start-up made is frozen out of every collection, and young collections run
every YOUNG_THRESHOLD net allocations. In the ingestion worker the same full collections, over
everything Django and the libraries load, made a 1 MB file's split take 94 ms instead of 15 ms: it
freezes them too, but keeps Python's thresholds, as the sync HTTP client's answers (megabytes of
embeddings each) are freed only by the cycle collector: spaced out, they took the worker from 270
to 420 MB over a 10 MB file."""

import gc

YOUNG_THRESHOLD = 10_000


def freeze() -> None:
    """Once the application is loaded: collect, and keep what is left out of every collection."""
    gc.collect()
    gc.freeze()


def settle() -> None:
    """freeze(), and space out collections (the server: its requests leave no cycles)."""
    freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
