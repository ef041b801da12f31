"""Every error the REST API answers, as the seed's error object, and the translation of what goes
wrong underneath (request validation, the apiserver's Status on a write) into it.

`ApiError` is raised by routers and dependencies; `install(app)` registers the handlers. The
request id of the response header is repeated in `details.requestId`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import fastapi
import fastapi.exceptions
import starlette.exceptions
import starlette.routing
from fastapi import responses

from fleetyard.rest import request_ids

log = logging.getLogger(__name__)

CODES = {400: "InvalidRequest", 401: "Unauthenticated", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
         409: "Conflict", 415: "UnsupportedMediaType", 422: "InvalidRequest", 429: "TooManyRequests",
         500: "InternalError", 502: "UpstreamError", 503: "Unavailable", 504: "Timeout"}
# pydantic's type errors -> the JSON type the field wants (strict: nothing else is converted)
JSON_TYPES = {"int_type": "an integer", "int_parsing": "an integer", "string_type": "a string",
              "bool_type": "a boolean", "float_type": "a number", "list_type": "an array",
              "dict_type": "an object", "model_type": "an object", "model_attributes_type": "an object"}
# A message that starts with a field path ("config.systemNodeGroup.desiredSize must ...") names its field.
LEADING_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*|\[\*\]|\[\d+\])+)[: ]")


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, code: str | None = None,
                 field_errors: dict[str, str] | None = None, retryable: bool = False,
                 retry_after: int | None = None, caused_by: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or CODES.get(status, "Error")
        self.field_errors = field_errors
        self.retryable = retryable
        self.retry_after = retry_after
        self.caused_by = caused_by
        self.headers = headers or {}


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} was not found")


def invalid(field: str, message: str) -> ApiError:
    return ApiError(400, f"{field}: {message}", field_errors={field: message})


def body(err: ApiError) -> dict[str, Any]:
    """The seed's error object, every field present (null when it does not apply)."""
    details = {"retryable": err.retryable, "retryAfter": err.retry_after, "fieldErrors": err.field_errors or None,
               "requestId": request_ids.current() or None, "causedBy": err.caused_by}
    error_type = "client" if err.status < 500 else "server"
    return {"code": err.code, "message": err.message, "errorType": error_type, "details": details}


def headers(err: ApiError) -> dict[str, str]:
    """The error's headers, with `Retry-After` beside `details.retryAfter` (RFC 9110, 10.2.3)."""
    out = dict(err.headers)
    if err.retry_after is not None:
        out["Retry-After"] = str(err.retry_after)
    return out


def field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'config', 'systemNodeGroup', 'instanceTypes', 0) -> config.systemNodeGroup.instanceTypes[0]."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before", "function-wrap", "list[str]"):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {str: "a string", list: "an array", dict: "an object"}.get(type(value), type(value).__name__)


def field_errors(errors: list[dict[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for error in errors:
        kind = error.get("type")
        if kind == "json_invalid":  # pydantic's loc is the character offset: the body is what is wrong
            offset = next((p for p in (error.get("loc") or ())[1:] if isinstance(p, int)), None)
            where = f" at character {offset}" if offset is not None else ""
            reason = (error.get("ctx") or {}).get("error", "cannot decode")
            out.setdefault("body", f"is not valid JSON{where}: {reason}")
            continue
        message = str(error.get("msg") or "is invalid").removeprefix("Value error, ")
        name = field_name(error.get("loc") or ())
        named = LEADING_FIELD.match(message)
        # a message naming its field ("config.x.y must ...") names it better, unless it is the
        # same field with [*] where the location has the item's index
        if named and (name == "body" or named.group(1).startswith(name.split("[")[0])) and \
                named.group(1) != re.sub(r"\[\d+\]", "[*]", name):
            name = named.group(1)
        if kind == "missing":
            message = "is required"
        elif kind == "extra_forbidden":
            message = "is not a known field"
        elif kind in JSON_TYPES and "input" in error:
            given = json_type(error["input"])
            message = f"must be {JSON_TYPES[kind]}, not {given}" + (
                " (leave the field out to keep its current or default value)" if given == "null" else "")
        out.setdefault(name, message)
    return out


def from_status(status: int, payload: dict[str, Any]) -> ApiError:
    """The apiserver's Status of a refused write -> an ApiError naming the REST fields."""
    message = str(payload.get("message") or payload.get("reason") or f"the Kubernetes API answered {status}")
    causes = (payload.get("details") or {}).get("causes") or []
    fields: dict[str, str] = {}
    for cause in causes:
        name = rest_field(str(cause.get("field") or ""))
        if name:
            fields.setdefault(name, str(cause.get("message") or cause.get("reason") or "is invalid"))
    if status in (400, 422):
        if not fields:
            # admission webhooks answer with a message only; ours start with the field they are about
            tail = message.split("denied the request: ", 1)[-1]
            named = LEADING_FIELD.match(tail)
            fields = {named.group(1) if named else "body": tail}
            message = tail
        return ApiError(400, message, field_errors=fields)
    if status == 403:
        return ApiError(403, message)
    if status == 404:
        return ApiError(404, message)
    if status == 409:
        return ApiError(409, message, retryable=True)
    if status == 429:
        return ApiError(429, message, retryable=True, retry_after=1)
    return ApiError(502, message, retryable=True, caused_by=f"kubernetes api {status}")


def rest_field(path: str) -> str:
    """spec.config.kubernetesVersion -> config.kubernetesVersion; spec.displayName -> name."""
    path = path.removeprefix("spec.")
    if path == "displayName":
        return "name"
    return path


def allowed_methods(request: fastapi.Request) -> list[str]:
    """Every method the document lists for the request's path, and HEAD where GET is (Starlette's 405
    names only the methods of the first route that matched the path, and FastAPI makes one route per
    method)."""
    methods: set[str] = set()
    for template, item in request.app.openapi().get("paths", {}).items():
        if starlette.routing.compile_path(template)[0].match(request.url.path):
            methods |= {m.upper() for m in item}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def not_found_message(request: fastapi.Request) -> str:
    """No route: say so, and name the path without its trailing slash if that one exists (never a redirect:
    a client following one could lose its Authorization header or its method)."""
    path = request.url.path
    trimmed = path.rstrip("/")
    if trimmed and trimmed != path and any(starlette.routing.compile_path(t)[0].match(trimmed)
                                           for t in request.app.openapi().get("paths", {})):
        return f"no endpoint at {path}; the resource is at {trimmed} (without the trailing slash)"
    return f"no endpoint at {path}"


def _respond(err: ApiError) -> responses.JSONResponse:
    if err.status >= 500:
        log.warning("request failed: %s %s", err.code, err.message)
    return responses.JSONResponse(body(err), status_code=err.status, headers=headers(err))


def install(app: fastapi.FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: fastapi.Request, exc: ApiError) -> responses.JSONResponse:
        return _respond(exc)

    @app.exception_handler(fastapi.exceptions.RequestValidationError)
    async def _validation(_: fastapi.Request, exc: fastapi.exceptions.RequestValidationError,
                          ) -> responses.JSONResponse:
        fields = field_errors(list(exc.errors()))
        first = next(iter(fields.items()), ("body", "is invalid"))
        return _respond(ApiError(400, f"{first[0]}: {first[1]}", field_errors=fields))

    @app.exception_handler(starlette.exceptions.HTTPException)
    async def _http(request: fastapi.Request, exc: starlette.exceptions.HTTPException) -> responses.JSONResponse:
        extra = dict(exc.headers or {})
        message = str(exc.detail)
        if exc.status_code == 405:
            extra["Allow"] = ", ".join(allowed_methods(request)) or extra.get("Allow", "")
        elif exc.status_code == 404 and message == "Not Found":  # Starlette's: no route matched
            message = not_found_message(request)
        return _respond(ApiError(exc.status_code, message, headers=extra))

    @app.exception_handler(Exception)
    async def _unexpected(_: fastapi.Request, exc: Exception) -> responses.JSONResponse:
        log.exception("unexpected error")
        return _respond(ApiError(500, "internal error; the request id identifies it in the logs",
                                 retryable=True))
