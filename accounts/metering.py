"""The metering seam: the provider layer (models_registry/providers, the one interface to upstreams)
opens a `Call` for every model call — chat JSON and streams, passthroughs, embeddings — and ends it
with the tokens the upstream reported (or a tokenizer's estimate). Opening a generation checks the
API key's model scope and admits it against the limits (limits.py); ending it settles the
reservation and queues one ledger row (usage_ledger.py). USAGE_METERING=false turns all of it off."""

import time
from datetime import UTC, datetime

from django.conf import settings

from accounts import access, caller, limits, usage_ledger
from accounts.caller import Caller
from config.common.errors import ApplicationError

OK, ERROR, CANCELLED = "ok", "error", "cancelled"
MODEL_OUT_OF_SCOPE = "This API key may not use the model {model!r}."


class Call:
    """One model call from its admission to its end; `finish` exactly once (later calls are ignored)."""

    __slots__ = ("caller", "model", "connection", "endpoint", "streamed", "prompt_estimate", "price",
                 "reservation", "started", "ttft", "done", "enabled")

    def __init__(self, *, who: Caller | None, model: str, connection: str, endpoint: str, streamed: bool,
                 prompt_estimate: int, price: limits.Price | None, reservation: limits.Reservation | None,
                 enabled: bool = True):
        self.caller, self.model, self.connection, self.endpoint = who, model, connection, endpoint
        self.streamed, self.prompt_estimate, self.price, self.reservation = streamed, prompt_estimate, price, reservation
        self.started = time.perf_counter()
        self.ttft: float | None = None
        self.done = not enabled
        self.enabled = enabled

    @property
    def cap(self) -> int | None:
        """max_tokens to send upstream: the call named none and a token limit reserved this many."""
        return self.reservation.cap if self.reservation is not None else None

    def first_token(self) -> None:
        if self.ttft is None:
            self.ttft = time.perf_counter() - self.started

    def finish(self, status: str, prompt_tokens: int | None = None, completion_tokens: int | None = None,
               estimated_completion: int = 0) -> None:
        """End the call: the upstream's token counts when it gave them, else the prompt's estimate
        and `estimated_completion` (the row is then marked estimated)."""
        if self.done:
            return
        self.done = True
        estimated = prompt_tokens is None or completion_tokens is None
        prompt = prompt_tokens if prompt_tokens is not None else self.prompt_estimate
        completion = completion_tokens if completion_tokens is not None else estimated_completion
        cost = self.price.usd(prompt, completion) if self.price else None
        if self.reservation is not None:
            self.reservation.settle(prompt + completion, self.price.micro_usd(prompt, completion) if self.price else 0)
        who = self.caller
        usage_ledger.record(dict(  # a plain dict: the model instance is built by the writer thread
            created_at=datetime.now(UTC), user_id=who.user_id if who else None, api_key_id=who.key_id if who else None,
            model=self.model[:256], connection=self.connection[:256], endpoint=self.endpoint,
            prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
            cost=cost, status=status,
            duration_ms=(time.perf_counter() - self.started) * 1000,
            ttft_ms=self.ttft * 1000 if self.ttft is not None else None, streamed=self.streamed, estimated=estimated))


def _disabled(model: str) -> Call:
    return Call(who=None, model=model, connection="", endpoint="", streamed=False, prompt_estimate=0, price=None,
                reservation=None, enabled=False)


async def begin(*, model: str, connection: str, endpoint: str, streamed: bool, prompt_estimate: int,
                max_tokens: int | None) -> Call:
    """Open a generation: the key's model scope (403), then admission (429 before any upstream call)."""
    if not settings.USAGE_METERING:
        return _disabled(model)
    who = caller.current()
    if not access.key_allows(access.MODEL, model):
        raise ApplicationError(403, MODEL_OUT_OF_SCOPE.format(model=model))
    rules = await limits.arules()
    reservation = None
    if who is not None and who.user_id is not None:
        reservation = await limits.admit(caller=who, model=model, prompt_tokens=prompt_estimate, max_tokens=max_tokens)
    return Call(who=who, model=model, connection=connection, endpoint=endpoint, streamed=streamed,
                prompt_estimate=prompt_estimate, price=rules.prices.get(model), reservation=reservation)


async def charged(*, model: str, connection: str, endpoint: str, prompt_tokens: int | None, estimate: int,
                  started: float) -> None:
    """A call that reserved nothing (an embedding) and has ended: its ledger row, and its tokens added
    to the counters of the limits that apply."""
    if not settings.USAGE_METERING:
        return
    rules = await limits.arules()
    call = _unreserved(rules, model, connection, endpoint, estimate, started)
    _finish_unreserved(call, prompt_tokens)
    if call.caller is not None and call.caller.user_id is not None:
        tokens = prompt_tokens if prompt_tokens is not None else estimate
        await limits.acharge(caller=call.caller, model=model, tokens=tokens,
                             cost=call.price.micro_usd(tokens, 0) if call.price else 0)


def charged_sync(*, model: str, connection: str, endpoint: str, prompt_tokens: int | None, estimate: int,
                 started: float) -> None:
    """The same for synchronous callers (the ingestion worker, sync views), with no database work on
    their thread: the ledger row only (its cost is priced when it is written); the counters are not
    charged."""
    if settings.USAGE_METERING:
        _finish_unreserved(_unreserved(None, model, connection, endpoint, estimate, started), prompt_tokens)


def _unreserved(rules: limits.Rules | None, model, connection, endpoint, estimate, started) -> Call:
    call = Call(who=caller.current(), model=model, connection=connection, endpoint=endpoint, streamed=False,
                prompt_estimate=estimate, price=rules.prices.get(model) if rules else None, reservation=None)
    call.started = started
    return call


def _finish_unreserved(call: Call, prompt_tokens: int | None) -> None:
    call.finish(OK, prompt_tokens, 0 if prompt_tokens is not None else None)
