"""WebSocket streaming at ws/chat/ (protocol in the README): the same completions service as the
SSE view, several generations per socket, each cancellable. The credential is checked again with
every message (cached for STATE_CACHE_SECONDS, as for HTTP), so a deleted key, a signed-out session
or a user demoted to pending closes the socket (4401) instead of chatting on. Each client message
gets a request id (requestlog), carried by every server message it causes as `request_id`."""

import asyncio
import contextlib
import json
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from rest_framework.exceptions import APIException

from accounts import access, caller
from accounts.authentication import aauthenticate_token
from accounts.permissions import Unauthorized
from chat import completions
from config.common import errors, jsonbody, requestlog
from config.common.errors import ApplicationError

UNAUTHORIZED = 4401


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.user = None
        self.token = None
        self.tasks: dict[str, asyncio.Task] = {}
        headers = dict(self.scope.get("headers", ()))
        requestlog.begin(headers.get(b"x-request-id", b"").decode("latin-1"))  # the handshake's
        await self.accept()
        token = parse_qs(self.scope.get("query_string", b"").decode()).get("token", [None])[0]
        if token:
            await self._authenticate(token)

    async def disconnect(self, code):
        for task in self.tasks.values():
            task.cancel()

    async def _send(self, **message):
        context = requestlog.current()
        await self.send(text_data=json.dumps({**message, "request_id": context.request_id if context else None}))

    async def _error(self, status: int, detail: str, **fields):
        await self._send(**errors.ws_frame(ApplicationError(status, detail), **fields))

    async def _check(self, token: str) -> bool:
        """Authenticate `token` as this socket's credential; on failure, report and close."""
        try:
            user, _ = await aauthenticate_token(token, self.scope["path"])
            if not access.is_verified(user):
                raise Unauthorized()
        except APIException as exc:
            self.user = None
            for task in list(self.tasks.values()):
                task.cancel()
            await self._send(**errors.ws_frame(errors.as_application_error(exc)))
            await self.close(code=UNAUTHORIZED)
            return False
        self.user, self.token = user, token
        return True

    async def _authenticate(self, token: str) -> None:
        if await self._check(token):
            await self._send(type="ready")

    async def receive(self, text_data=None, bytes_data=None):
        requestlog.begin()  # this message's (a chat's task runs in a copy of this context)
        caller.begin()  # its caller too, noted again by the credential check below
        if self.user is not None:
            requestlog.note_user(self.user.pk)
        try:
            message = jsonbody.loads(text_data or "")
        except jsonbody.BadJson as exc:
            return await self._error(400, str(exc))
        if not isinstance(message, dict):
            return await self._error(400, "Messages must be JSON objects with a type.")
        message_type = message.get("type")
        if message_type == "auth":
            return await self._authenticate(str(message.get("token", "")))
        if self.user is None:
            await self._error(401, "Not authenticated")
            return await self.close(code=UNAUTHORIZED)
        if not await self._check(self.token):  # revoked, expired or demoted since the last message
            return
        request_id = str(message.get("id", ""))
        if message_type == "chat":
            if not request_id or request_id in self.tasks:
                return await self._error(400, "Each chat needs a new id.", id=request_id)
            task = asyncio.ensure_future(self._generate(request_id, message.get("body")))
            self.tasks[request_id] = task
            task.add_done_callback(lambda _: self.tasks.pop(request_id, None))
        elif message_type == "cancel":
            task = self.tasks.get(request_id)
            if task:
                task.cancel()
        else:
            await self._error(400, f"Unknown message type: {message_type!r}", id=request_id)

    async def _generate(self, request_id: str, body) -> None:
        context = requestlog.current()
        prefix = ('{"type": "chunk", "id": ' + json.dumps(request_id) + ', "request_id": '
                  + json.dumps(context.request_id if context else None) + ', "data": ')
        events = None
        try:
            prepared = await completions.prepare(self.user, body, force_stream=True)
            events = await completions.open_stream(prepared, sources_event=False)
            if prepared.sources:
                await self._send(type="sources", id=request_id, data=prepared.sources)
            async for payload in events:
                if payload == "[DONE]":
                    break
                await self.send(text_data=prefix + payload + "}")
            await self._send(type="done", id=request_id)
        except ApplicationError as exc:  # UpstreamError too
            await self._send(**errors.ws_frame(exc, id=request_id))
        except asyncio.CancelledError:
            if events is not None:
                await events.aclose()  # closes the upstream request
            with contextlib.suppress(Exception):  # the socket may be gone already
                await self._send(type="cancelled", id=request_id)
        finally:
            if events is not None:
                await events.aclose()
