"""Limits enforced at admission (DECISIONS #20): a model call reserves its worst case (prompt tokens
plus max_tokens, or the model's default cap, and what that would cost) against every limit that
applies to it — its API key's, its user's (else its role's default), its groups', its model's — in
one atomic step (counters.py), and settles to the real usage when it ends. So concurrent calls can
never take a budget over: the ones that would not fit are refused (429) before any upstream call.

Limit rows and prices are read once per STATE_CACHE_SECONDS (one small query for both tables), so
a call adds no query; with no limit for its caller it touches no counter either."""

import asyncio
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from accounts import caller, counters
from accounts.caller import Caller
from accounts.models import GroupMember, ModelPrice, UsageLimit
from config import runtime
from config.common.db import db_call
from config.common.errors import ApplicationError
from config.common.ttl_cache import MISSING, TTLCache

MINUTE = 60
CONCURRENCY_TTL = 3600  # a process that died mid-call frees its slots within the hour


@dataclass(frozen=True, slots=True)
class Price:
    input_per_million: Decimal
    output_per_million: Decimal
    default_max_tokens: int | None

    def usd(self, prompt: int, completion: int) -> Decimal:
        return (prompt * self.input_per_million + completion * self.output_per_million) / 1_000_000

    def micro_usd(self, prompt: int, completion: int) -> int:
        """Millionths of a dollar, rounded up (prices are per million tokens, so this is exact math)."""
        return math.ceil(prompt * self.input_per_million + completion * self.output_per_million)


@dataclass(frozen=True, slots=True)
class Rules:
    limits: dict[tuple[str, str], UsageLimit]
    prices: dict[str, Price]
    groups: dict[str, list[str]]  # user id -> the ids of its groups that have a limit


_rules = TTLCache(max_entries=1)


def forget() -> None:
    """Drop this process's copy of the limits and prices (after an admin changed them)."""
    _rules.clear()


def _load() -> Rules:
    limits = {(row.scope_type, row.scope_id): row for row in UsageLimit.objects.all()}
    limited_groups = [scope_id for scope_type, scope_id in limits if scope_type == "group"]
    groups: dict[str, list[str]] = {}
    if limited_groups:  # only members of groups with limits matter: one query, cached with the rest
        for user_id, group_id in GroupMember.objects.filter(group_id__in=limited_groups).values_list("user_id", "group_id"):
            groups.setdefault(str(user_id), []).append(str(group_id))
    return Rules(
        limits=limits,
        prices={row.model: Price(row.input_per_million, row.output_per_million, row.default_max_tokens)
                for row in ModelPrice.objects.all()},
        groups=groups,
    )


def rules() -> Rules:
    return _rules.get_or_load("rules", _load)


async def arules() -> Rules:
    """The rules, read at most once per request (its calls — a RAG embedding, then the chat — share
    them) and once per STATE_CACHE_SECONDS in a process."""
    who = caller.current()
    if who is not None and who.rules is not None:  # the rules, or the load another call started
        return who.rules if isinstance(who.rules, Rules) else await asyncio.shield(who.rules)
    cached = _rules.peek("rules")
    if cached is not MISSING:
        found = cached
    else:  # concurrent calls of one request (embedding batches) share this one load
        loading = asyncio.ensure_future(db_call(rules)())
        if who is not None:
            who.rules = loading
        found = await asyncio.shield(loading)
    if who is not None:
        who.rules = found
    return found


def applicable(rules: Rules, caller: Caller, model: str) -> list[UsageLimit]:
    """The limit rows that bind a call: the key's, the user's (else the role's default), the
    user's groups', the model's."""
    found = []
    if caller.key is not None and (row := rules.limits.get(("key", caller.key_id))):
        found.append(row)
    if caller.user_id is not None:
        row = rules.limits.get(("user", caller.user_id)) or rules.limits.get(("role", caller.role or ""))
        if row:
            found.append(row)
        found += [row for gid in rules.groups.get(str(caller.user_id), ()) if (row := rules.limits.get(("group", gid)))]
    if row := rules.limits.get(("model", model)):
        found.append(row)
    return found


# --- calendar periods ----------------------------------------------------------------------------


def period_bounds(period: str, now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The calendar day, week (from Monday) or month holding `now`, in `zone`."""
    local = now.astimezone(zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        start -= timedelta(days=start.weekday())
        end = start + timedelta(days=7)
    elif period == "month":
        start = start.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        end = start + timedelta(days=1)
    # across a DST change the wall-clock arithmetic above is what a person means by "a day"
    return start, end.replace(tzinfo=zone)


def reset_text(seconds: float) -> str:
    """OpenAI's reset format: 1s, 6m0s, 2h3m4s."""
    seconds = max(0, math.ceil(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


# --- admission and settlement --------------------------------------------------------------------


@dataclass(slots=True)
class Counter:
    check: counters.Check
    kind: str  # requests, tokens, concurrent, budget_tokens, budget_cost
    reset: float  # seconds until the window ends


@dataclass(slots=True)
class Reservation:
    """What a call holds until it ends; `settle` exactly once."""

    tokens: int = 0
    cost: int = 0  # micro-USD
    counters: list[Counter] = field(default_factory=list)
    cap: int | None = None  # max_tokens to send upstream: the call named none, and its worst case was reserved with this
    settled: bool = False

    def settle(self, tokens: int, cost: int) -> None:
        if self.settled or not self.counters:
            self.settled = True
            return
        self.settled = True
        items = []
        for counter in self.counters:
            if counter.kind == "concurrent":
                items.append((counter.check.key, -1, 0))
            elif counter.kind in ("tokens", "budget_tokens") and tokens != self.tokens:
                items.append((counter.check.key, tokens - self.tokens, 0))
            elif counter.kind == "budget_cost" and cost != self.cost:
                items.append((counter.check.key, cost - self.cost, 0))
        if items:
            counters.store().settle_soon(items)


def _counters(limit: UsageLimit, tokens: int, cost: int, now: datetime, zone: ZoneInfo) -> list[Counter]:
    scope = f"{limit.scope_type}:{limit.scope_id}"
    epoch = now.timestamp()
    minute, into_minute = divmod(int(epoch), MINUTE)
    minute_reset = MINUTE - (epoch - minute * MINUTE)
    found = []
    if limit.requests_per_minute is not None:
        found.append(Counter(counters.Check(f"rpm:{scope}:{minute}", limit.requests_per_minute, 1, 2 * MINUTE),
                             "requests", minute_reset))
    if limit.tokens_per_minute is not None:
        found.append(Counter(counters.Check(f"tpm:{scope}:{minute}", limit.tokens_per_minute, tokens, 2 * MINUTE),
                             "tokens", minute_reset))
    if limit.max_concurrent is not None:
        found.append(Counter(counters.Check(f"conc:{scope}", limit.max_concurrent, 1, CONCURRENCY_TTL), "concurrent", 1))
    if limit.token_budget is not None or limit.cost_budget is not None:
        start, end = period_bounds(limit.budget_period, now, zone)
        ttl = int((end - now).total_seconds()) + 86400
        tag = f"{limit.budget_period}:{start.date().isoformat()}"
        reset = (end - now).total_seconds()
        if limit.token_budget is not None:
            found.append(Counter(counters.Check(f"tok:{scope}:{tag}", limit.token_budget, tokens, ttl), "budget_tokens", reset))
        if limit.cost_budget is not None:
            found.append(Counter(counters.Check(f"usd:{scope}:{tag}", int(limit.cost_budget * 1_000_000), cost, ttl),
                                 "budget_cost", reset))
    return found


def status(rows: list[UsageLimit], zone: str) -> list[list[dict]]:
    """What each limit row's counters hold now (one read of the counter store for all of them): per
    counter its kind, limit, use so far, what is left and when its window resets. Cost budgets in USD."""
    now = datetime.now(ZoneInfo("UTC"))
    found = [_counters(row, 0, 0, now, ZoneInfo(zone)) for row in rows]
    keys = [c.check.key for row_counters in found for c in row_counters]
    values = iter(counters.store().values(keys) if keys else [])
    out = []
    for row_counters in found:
        items = []
        for counter in row_counters:
            used, most = next(values), counter.check.limit
            if counter.kind == "budget_cost":
                used, most = used / 1_000_000, most / 1_000_000
            items.append({"kind": counter.kind, "limit": most, "used": used, "remaining": max(0, most - used),
                          "reset": None if counter.kind == "concurrent" else reset_text(counter.reset)})
        out.append(items)
    return out


REFUSALS = {
    "requests": "Rate limit reached: {limit} requests per minute.",
    "tokens": "Rate limit reached: {limit} tokens per minute (this request may use up to {amount}).",
    "concurrent": "Too many requests at once: at most {limit} in flight.",
    "budget_tokens": "Token budget exhausted: {remaining} of {limit} tokens left this period, and this request "
                     "may use up to {amount}; lower max_tokens or wait for the reset.",
    "budget_cost": "Cost budget exhausted: this request may cost more than what is left this period.",
}


def _headers(found: list[Counter], values: list[int], admitted: bool) -> dict[str, str]:
    """OpenAI's x-ratelimit-* headers from the tightest request and token counters."""
    headers = {}
    for kind, name in (("requests", "requests"), ("tokens", "tokens")):
        pairs = [(c, v) for c, v in zip(found, values, strict=True) if c.kind == kind]
        if not pairs and kind == "tokens":
            pairs = [(c, v) for c, v in zip(found, values, strict=True) if c.kind == "budget_tokens"]
        if not pairs:
            continue
        counter, value = min(pairs, key=lambda p: p[0].check.limit - p[1])
        headers[f"x-ratelimit-limit-{name}"] = str(counter.check.limit)
        headers[f"x-ratelimit-remaining-{name}"] = str(max(0, counter.check.limit - value))
        headers[f"x-ratelimit-reset-{name}"] = reset_text(counter.reset)
    return headers


async def admit(*, caller: Caller, model: str, prompt_tokens: int, max_tokens: int | None) -> Reservation:
    """`max_tokens`: what the call may generate at most (0: an embedding; None: it did not say, so
    the model's default cap is reserved and sent upstream). Reserve the call's worst case against every limit that applies, or raise 429 (with
    Retry-After and the rate limit headers; they go on the caller for the response either way)."""
    current = await arules()
    found = applicable(current, caller, model)
    if not found:
        return Reservation()
    config = runtime.cached_snapshot() or await db_call(runtime.snapshot)()
    cap = max_tokens if max_tokens is not None else default_cap(current, model, config)
    price = current.prices.get(model)
    tokens = prompt_tokens + cap
    cost = price.micro_usd(prompt_tokens, cap) if price else 0
    now = datetime.now(ZoneInfo("UTC"))
    zone = ZoneInfo(config["USAGE_TIME_ZONE"])
    counters_ = [c for limit in found for c in _counters(limit, tokens, cost, now, zone)]
    if not counters_:
        return Reservation()
    refused, values = await counters.store().areserve([c.check for c in counters_])
    caller.headers.update(_headers(counters_, values, not refused))
    if refused:
        counter = counters_[refused - 1]
        detail = REFUSALS[counter.kind].format(limit=counter.check.limit, amount=counter.check.amount,
                                               remaining=max(0, counter.check.limit - values[refused - 1]))
        retry = "1" if counter.kind == "concurrent" else str(max(1, math.ceil(counter.reset)))
        raise ApplicationError(429, detail, {**caller.headers, "Retry-After": retry})
    return Reservation(tokens, cost, counters_, cap=cap if max_tokens is None and needs_cap(current, caller, model) else None)


def default_cap(current: Rules, model: str, config: dict) -> int:
    """The completion tokens a call that names no max_tokens may use: the model's cap, else the
    runtime default (both are sent upstream as the call's max_tokens when limits apply)."""
    price = current.prices.get(model)
    return (price.default_max_tokens if price and price.default_max_tokens else None) or config["USAGE_DEFAULT_MAX_TOKENS"]


def needs_cap(current: Rules, caller: Caller, model: str) -> bool:
    """Whether a call's worst case matters (some token or cost limit applies to it)."""
    return any(row.tokens_per_minute is not None or row.token_budget is not None or row.cost_budget is not None
               for row in applicable(current, caller, model))


async def acharge(*, caller: Caller, model: str, tokens: int, cost: int) -> None:
    current = await arules()
    if applicable(current, caller, model):
        config = runtime.cached_snapshot() or await db_call(runtime.snapshot)()
        _charge(current, config, caller, model, tokens, cost)


def _charge(current: Rules, config: dict, caller: Caller, model: str, tokens: int, cost: int) -> None:
    found = applicable(current, caller, model)
    now = datetime.now(ZoneInfo("UTC"))
    zone = ZoneInfo(config["USAGE_TIME_ZONE"])
    items = []
    for counter in (c for limit in found for c in _counters(limit, tokens, cost, now, zone)):
        if counter.kind in ("tokens", "budget_tokens"):
            items.append((counter.check.key, tokens, counter.check.ttl))
        elif counter.kind == "budget_cost" and cost:
            items.append((counter.check.key, cost, counter.check.ttl))
    if items:
        counters.store().settle_soon(items)
