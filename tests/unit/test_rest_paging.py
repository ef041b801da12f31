"""Markers and the sorted index behind the /infra pages; the error object's field names."""

from __future__ import annotations

import pytest

from fleetyard.rest import errors, pagination, store, writes


def test_marker_round_trip_and_garbage() -> None:
    key = ("2026-11-27T10:00:00Z", "ABCDEFGHIJ")
    assert pagination.decode_marker(pagination.encode_marker(key)) == key
    assert pagination.decode_marker(None) is None and pagination.decode_marker("") is None
    for bad in ("garbage!", "e30", pagination.encode_marker(key)[:-3], "W10"):
        with pytest.raises(errors.ApiError) as caught:
            pagination.decode_marker(bad)
        assert caught.value.status == 400 and list(caught.value.field_errors or {}) == ["marker"]


def test_sorted_index_pages_are_stable_when_items_come_and_go() -> None:
    index = store.SortedIndex()
    for i in range(10):
        index.add((f"t{i:02d}", f"id{i}"), f"n{i}")
    first, after = index.page(None, 4)
    assert first == ["n0", "n1", "n2", "n3"] and after == ("t03", "id3")
    index.remove(("t01", "id1"))           # removed before the marker
    index.add(("t00", "id00"), "early")    # added before the marker
    second, after = index.page(after, 4)
    assert second == ["n4", "n5", "n6", "n7"]
    third, after = index.page(after, 4)
    assert third == ["n8", "n9"] and after is None
    assert len(index) == 10


def test_field_errors_name_rest_fields() -> None:
    found = errors.field_errors([
        {"loc": ("body", "config", "systemNodeGroup"), "type": "value_error",
         "msg": "Value error, config.systemNodeGroup.desiredSize must be between minSize and maxSize"},
        {"loc": ("body", "region"), "type": "missing", "msg": "Field required"},
        {"loc": ("query", "limit"), "type": "less_than_equal", "msg": "Input should be less than or equal to 100"},
        {"loc": ("body", "colour"), "type": "extra_forbidden", "msg": "Extra inputs are not permitted"},
    ])
    assert found == {"config.systemNodeGroup.desiredSize": "config.systemNodeGroup.desiredSize must be between "
                     "minSize and maxSize", "region": "is required",
                     "limit": "Input should be less than or equal to 100", "colour": "is not a known field"}


def test_apiserver_refusals_become_field_errors() -> None:
    cel = errors.from_status(422, {"message": "ProvisionedCluster is invalid", "details": {"causes": [
        {"field": "spec.config.kubernetesVersion", "message": "can be raised by one minor version at a time"},
        {"field": "spec.displayName", "message": "too long"}]}})
    assert cel.status == 400 and cel.field_errors == {"config.kubernetesVersion": "can be raised by one minor "
                                                      "version at a time", "name": "too long"}
    webhook = errors.from_status(400, {"message": 'admission webhook "x" denied the request: '
                                                 "config.systemNodeGroup.instanceTypes: m7g.huge is not offered"})
    assert list(webhook.field_errors or {}) == ["config.systemNodeGroup.instanceTypes"]
    assert errors.from_status(403, {"message": "forbidden"}).status == 403
    assert errors.from_status(500, {}).status == 502


def test_kubernetes_names_from_display_names() -> None:
    assert writes.k8s_name("Production Cluster") == "production-cluster"
    assert writes.k8s_name("  ÜBER / prod #2 ") == "ber-prod-2"
    assert writes.k8s_name("!!!") == "cluster"
    assert len(writes.k8s_name("x" * 300)) <= 53
