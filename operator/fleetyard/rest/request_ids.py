"""Request ids: taken from a sane incoming `X-Request-Id` or made up, put on every response, in
every error body (`details.requestId`) and in every log line of the request (`requestId`).

A plain ASGI middleware (Starlette's BaseHTTPMiddleware costs too much per request); it also
turns an unexpected exception into the seed's 500 error object so that response carries the id.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import time
from typing import Any

HEADER = "x-request-id"
SANE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
access_log = logging.getLogger("fleetyard.rest.access")
log = logging.getLogger(__name__)


def current() -> str:
    return _current.get()


class RequestIds:
    def __init__(self, app: Any, access: bool = True) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1").strip() for k, v in scope.get("headers") or [] if k == b"x-request-id"),
                        "")
        request_id = incoming if SANE.match(incoming) else secrets.token_hex(8)
        token = _current.set(request_id)
        started = time.perf_counter()
        state = {"status": 0}

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:  # noqa: BLE001 - answered as the seed's error object, logged with the id
            log.exception("unexpected error")
            if not state["status"]:
                body = json.dumps({"code": "InternalError", "message": "internal error; the request id "
                                   "identifies it in the logs", "errorType": "server",
                                   "details": {"retryable": True, "retryAfter": None, "fieldErrors": None,
                                               "requestId": request_id, "causedBy": None}}).encode()
                await send_with_id({"type": "http.response.start", "status": 500,
                                    "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": body})
        finally:
            if self.access:
                access_log.info("%s %s %s", scope["method"], scope["path"], state["status"] or 500,
                                extra={"status": state["status"] or 500,
                                       "durationMs": round((time.perf_counter() - started) * 1000, 2)})
            _current.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id of the request being served."""

    STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
    TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"

    def __init__(self) -> None:
        super().__init__()
        self._second: tuple[int, str] = (-1, "")  # the last second formatted (every access line asks)

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if self._second[0] != second:
            self._second = (second, self.formatTime(record, self.TIME_FORMAT))
        out: dict[str, Any] = {
            "time": self._second[1], "level": record.levelname.lower(),
            "logger": record.name, "message": record.getMessage(),
        }
        if current():
            out["requestId"] = current()
        out.update({k: v for k, v in vars(record).items() if k not in self.STANDARD})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return _ENCODER.encode(out)


_ENCODER = json.JSONEncoder(default=str)  # = json.dumps(..., default=str), without a new encoder per line
