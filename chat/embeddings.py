"""POST /api/embeddings and /api/v1/embeddings: OpenAI's embeddings API over any embedding model of
any connection. The model is resolved as for chat completions (registry.resolve: access, a preset
stands for its base model); its provider embeds the input in batches sent concurrently, on the same
embed path RAG uses; the answer is OpenAI's, floats or base64, with the tokens the upstream counted."""

import asyncio
import base64
import random
import struct
import time
from dataclasses import dataclass

from chat import validation
from config.common import requestlog
from config.common.errors import ApplicationError
from models_registry import providers, registry

BATCH = 256  # inputs per upstream request
CONCURRENT = 4  # batch requests in flight at once


def _encoded(vector: list[float], encoding: str | None):
    """OpenAI's base64 form is the little-endian float32 bytes of the vector."""
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


@dataclass(frozen=True)
class Answer:
    body: dict
    provider: providers.Provider
    upstream_seconds: float  # spent waiting on the upstream (the rest is the gateway's own time)


async def create(user, body) -> Answer:
    """The embeddings answer for an OpenAI embeddings request, or ApplicationError."""
    error = validation.embeddings_error(body)
    if error:
        raise ApplicationError(400, error)
    inputs = validation.EmbeddingsRequest.model_validate(body).input
    requestlog.note_model(body["model"])
    entry = await registry.resolve(user, body["model"])
    if entry is None:
        raise ApplicationError(400, "Model not found")
    provider = providers.provider_for(random.choice(entry.connections))
    extra = {"dimensions": body["dimensions"]} if body.get("dimensions") else {}
    limit = asyncio.Semaphore(CONCURRENT)

    async def batch(part: list) -> providers.Embedded:
        async with limit:
            return await provider.embeddings(entry.upstream_id, part, extra=extra, timeout=None)

    sent = time.perf_counter()
    tasks = [asyncio.ensure_future(batch(inputs[i:i + BATCH])) for i in range(0, len(inputs), BATCH)]
    try:
        batches = await asyncio.gather(*tasks)
    finally:  # one batch failed (or the client left): send no more
        for task in tasks:
            task.cancel()
    upstream_seconds = time.perf_counter() - sent
    vectors = [v for b in batches for v in b.vectors]
    tokens = sum(b.tokens for b in batches)
    encoding = body.get("encoding_format")
    return Answer({
        "object": "list", "model": entry.id,
        "data": [{"object": "embedding", "index": i, "embedding": _encoded(v, encoding)} for i, v in enumerate(vectors)],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }, provider, upstream_seconds)
