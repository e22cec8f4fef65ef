import json
import time

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse

from accounts.async_views import authenticated
from chat import anthropic, completions, embeddings, messages
from config import drain
from config.common import jsonbody, metrics
from config.common import wire_schema as wire
from config.common.errors import ApplicationError
from config.common.http import endpoint
from config.common.schema import documented

OVERHEAD_HEADER = "X-Gateway-Overhead-Ms"
CUT_OFF = drain.sse_ending(done=True)  # the drain ends a chat stream as a failed one: error event, [DONE]
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def parse_json(request):
    try:
        return jsonbody.loads(request.body or b"null")
    except jsonbody.BadJson as exc:
        raise ApplicationError(400, str(exc))


async def sse(events):
    """Chunk payloads as SSE events (also the tasks' streams)."""
    try:
        async for payload in events:
            yield f"data: {payload}\n\n".encode()
    finally:
        await events.aclose()  # client gone: close the upstream request too


@documented(post={"request": wire.ChatCompletionRequest, "responses": wire.answers(wire.ChatCompletion, stream="sse"),
                   "summary": "Chat completion (OpenAI format), streamed when `stream` is true"})
@endpoint("POST")
@authenticated("user")
async def chat_completions(request):
    """Errors (ApplicationError, UpstreamError among them) are rendered by `authenticated`."""
    started = time.perf_counter()
    prepared = await completions.prepare(request.user, parse_json(request))
    return await _answer(prepared, started, lambda events: drain.guarded(sse(events), CUT_OFF), lambda body: body)


async def _answer(prepared: completions.Prepared, started: float, streamed, whole, *, sources_event: bool = True):
    """The upstream's answer: `streamed(events)` gives a stream's body, `whole(bytes)` a JSON one's."""
    if prepared.stream:
        sent = time.perf_counter()
        events = await completions.open_stream(prepared, sources_event=sources_event)
        response = StreamingHttpResponse(streamed(events), content_type="text/event-stream", headers=SSE_HEADERS)
        response[OVERHEAD_HEADER] = f"{(sent - started) * 1000:.2f}"
        metrics.observe_overhead(prepared.entry.id, prepared.provider.conn, sent - started)
        return response
    sent = time.perf_counter()
    body = whole(await completions.complete(prepared))
    received = time.perf_counter()
    response = HttpResponse(body, content_type="application/json")
    overhead = (sent - started) + (time.perf_counter() - received)
    response[OVERHEAD_HEADER] = f"{overhead * 1000:.2f}"
    metrics.observe_overhead(prepared.entry.id, prepared.provider.conn, overhead)
    return response


@documented(post={"request": wire.EmbeddingsRequest, "responses": wire.answers(wire.EmbeddingsResponse),
                   "summary": "Embeddings (OpenAI format) from any embedding model the caller may use"})
@endpoint("POST")
@authenticated("user")
async def embeddings_view(request):
    """POST /api/embeddings, /api/v1/embeddings (OpenAI's embeddings API)."""
    started = time.perf_counter()
    answer = await embeddings.create(request.user, parse_json(request))
    response = JsonResponse(answer.body)
    overhead = time.perf_counter() - started - answer.upstream_seconds
    response[OVERHEAD_HEADER] = f"{overhead * 1000:.2f}"
    metrics.observe_overhead(answer.body["model"], answer.provider.conn, overhead)
    return response


def _anthropic_cut_off() -> list[bytes]:
    return [anthropic.error_event(drain.cut_off_error().detail)]


@documented(post={"request": wire.MessagesRequest,
                   "responses": {**wire.answers(wire.AnthropicResponse), (200, "text/event-stream"): wire.ANTHROPIC_SSE},
                   "summary": "Anthropic's Messages API on the chat completion path, streamed when `stream` is true"})
@endpoint("POST")
@authenticated("user")
async def messages_view(request):
    """POST /api/v1/messages, /api/message (Anthropic's Messages API)."""
    started = time.perf_counter()
    body = parse_json(request)
    prepared = await messages.prepare(request.user, body)
    model = body["model"]
    return await _answer(prepared, started,
                         lambda events: drain.guarded(anthropic.stream(events, model), _anthropic_cut_off),
                         lambda raw: json.dumps(anthropic.to_message(json.loads(raw), model)).encode(),
                         sources_event=False)


@documented(post={"request": wire.MessagesRequest, "responses": wire.answers(wire.TokenCount),
                   "summary": "A Messages request's input tokens (counted upstream when it can, else estimated)"})
@endpoint("POST")
@authenticated("user")
async def count_tokens_view(request):
    """POST /api/v1/messages/count_tokens, /api/message/count_tokens."""
    return JsonResponse({"input_tokens": await messages.count_tokens(request.user, parse_json(request))})
