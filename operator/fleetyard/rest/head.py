"""HEAD wherever GET is served (RFC 9110, 9.3.2): the GET answer's status and headers, no body.

A plain ASGI middleware installed by `fleetyard.rest.main`: the request goes to the routes as a GET
(FastAPI's routes, unlike Starlette's, do not add HEAD beside GET), and the body is dropped on the way
out while `Content-Length` stays what GET would send. Paths without GET answer HEAD with 405.
"""

from __future__ import annotations

from typing import Any


class Head:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)
