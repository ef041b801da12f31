"""HTTP manners of the REST API without a cluster: the error object with every field, `Retry-After`
beside `retryAfter`, a malformed body named as `body`, HEAD wherever GET is, and no redirect for a
trailing slash. The app is built as `fleetyard api` builds it, its caches never loaded (so every
/infra or /me request is the 503 a starting server answers)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from fleetyard import settings
from fleetyard.rest import errors, main

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi import testclient


@pytest.fixture(scope="module")
def client() -> Iterator[testclient.TestClient]:
    # no `with`: the lifespan (Kubernetes client, informers) does not run, so nothing is ever synced
    yield testclient.TestClient(main.create_app(settings.Settings()), follow_redirects=False)


def test_the_error_object_has_every_field() -> None:
    assert errors.body(errors.ApiError(404, "cluster X was not found")) == {
        "code": "NotFound", "message": "cluster X was not found", "errorType": "client",
        "details": {"retryable": False, "retryAfter": None, "fieldErrors": None, "requestId": None, "causedBy": None}}


@pytest.mark.parametrize("status,payload,retry_after", [
    (429, {"message": "slow down"}, "1"), (409, {"message": "conflict"}, None), (500, {}, None),
])
def test_retry_after_is_a_header_too(status: int, payload: dict, retry_after: str | None) -> None:
    err = errors.from_status(status, payload)
    assert errors.headers(err).get("Retry-After") == retry_after
    assert errors.body(err)["details"]["retryAfter"] == (int(retry_after) if retry_after else None)


def test_a_starting_server_answers_503_with_retry_after(client: testclient.TestClient) -> None:
    response = client.get("/infra/clusters")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1" and response.json()["details"]["retryAfter"] == 1
    assert response.json()["details"]["requestId"] == response.headers["x-request-id"]


@pytest.mark.parametrize("path", ["/healthz", "/openapi.json", "/infra/clusters", "/me/clusters/ABCDEFGHIJ"])
def test_head_answers_what_get_answers_without_the_body(client: testclient.TestClient, path: str) -> None:
    get, head = client.get(path), client.head(path)
    assert head.status_code == get.status_code
    assert head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers.get("content-type") == get.headers.get("content-type")


def test_head_where_there_is_no_get_is_405(client: testclient.TestClient) -> None:
    response = client.head("/infra/connections/ABCDEFGHIJ/clusters/ABCDEFGHIJ/provision")
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    allowed = client.put("/infra/clusters/ABCDEFGHIJ").headers["allow"]
    assert allowed == "DELETE, GET, HEAD"


@pytest.mark.parametrize("path,hint", [
    ("/infra/clusters/", "the resource is at /infra/clusters (without the trailing slash)"),
    ("/me/clusters/ABCDEFGHIJ/", "the resource is at /me/clusters/ABCDEFGHIJ"),
    ("/infra/nothing/", None),
])
def test_a_trailing_slash_is_not_redirected(client: testclient.TestClient, path: str, hint: str | None) -> None:
    response = client.get(path)
    assert response.status_code == 404 and "location" not in response.headers
    body = response.json()
    assert body["code"] == "NotFound" and body["message"].startswith(f"no endpoint at {path}")
    assert (hint in body["message"]) if hint else ("resource is at" not in body["message"])


def test_malformed_json_is_reported_as_the_body() -> None:
    fields = errors.field_errors([{"type": "json_invalid", "loc": ("body", 16), "msg": "JSON decode error",
                                   "input": {}, "ctx": {"error": "Expecting ',' delimiter"}}])
    assert fields == {"body": "is not valid JSON at character 16: Expecting ',' delimiter"}
