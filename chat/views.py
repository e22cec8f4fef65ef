import time

from django.http import HttpResponse, StreamingHttpResponse

from accounts.async_views import authenticated
from chat import completions
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


async def _sse(events):
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
    if prepared.stream:
        sent = time.perf_counter()
        events = await completions.open_stream(prepared)
        response = StreamingHttpResponse(drain.guarded(_sse(events), CUT_OFF), content_type="text/event-stream", headers=SSE_HEADERS)
        response[OVERHEAD_HEADER] = f"{(sent - started) * 1000:.2f}"
        metrics.observe_overhead(prepared.entry.id, prepared.provider.conn, sent - started)
        return response
    sent = time.perf_counter()
    body = await completions.complete(prepared)
    received = time.perf_counter()
    response = HttpResponse(body, content_type="application/json")
    overhead = (sent - started) + (time.perf_counter() - received)
    response[OVERHEAD_HEADER] = f"{overhead * 1000:.2f}"
    metrics.observe_overhead(prepared.entry.id, prepared.provider.conn, overhead)
    return response
