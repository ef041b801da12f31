"""The admission webhooks are called only for what they check (their matchConditions, on the real
apiserver): bookkeeping UPDATEs (labels, unrelated annotations, finalizers; what Kopf and the operator
write most) reach no webhook, while a spec change, a changed id label or a tampered stamp still do."""

from __future__ import annotations

import re
import urllib.request

import kubernetes
import pytest

from fleetyard.models import kinds
from tests.conftest import create, get

TEAM_HOOKS = ("stamp-team", "id-team", "team-principals")


def _calls(env) -> dict[str, float]:
    port = env.webhooks.env["FLEETYARD_METRICS_PORT"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return {m[1]: float(m[2]) for m in re.finditer(
        r'^fleetyard_admission_requests_total\{webhook="([^"]+)"\} ([0-9.e+]+)$', text, re.M)}


def _delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {hook: after.get(hook, 0.0) - before.get(hook, 0.0) for hook in TEAM_HOOKS}


def _patch(custom, namespace: str, body: dict) -> None:
    custom.patch_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kinds.TEAM.plural, "data", body)


def test_bookkeeping_updates_reach_no_webhook_and_what_they_check_still_does(env, namespace, custom) -> None:
    create(custom, namespace, kinds.TEAM, {"metadata": {"name": "data"}, "spec": {"displayName": "Data"}})
    before = _calls(env)
    _patch(custom, namespace, {"metadata": {"labels": {"example.com/owner": "platform"},
                                            "annotations": {"example.com/note": "bookkeeping"},
                                            "finalizers": ["example.com/hold"]}})
    _patch(custom, namespace, {"metadata": {"finalizers": None}})
    assert _delta(before, _calls(env)) == {hook: 0.0 for hook in TEAM_HOOKS}

    before = _calls(env)
    _patch(custom, namespace, {"spec": {"displayName": "Data platform"}})
    edited = get(custom, namespace, kinds.TEAM, "data")
    delta = _delta(before, _calls(env))
    # at least once: the apiserver runs admission again when the write meets a conflict (the operator
    # writing the Team's bookkeeping at that moment); the id check still not at all
    assert delta["stamp-team"] >= 1 and delta["team-principals"] >= 1 and delta["id-team"] == 0.0, delta
    stamps = edited["metadata"]["annotations"]
    assert stamps[kinds.UPDATED_BY_ANNOTATION]  # the stamp ran: who changed the spec is recorded

    before = _calls(env)
    _patch(custom, namespace, {"metadata": {"annotations": {kinds.UPDATED_BY_ANNOTATION: "someone-else"}}})
    assert get(custom, namespace, kinds.TEAM, "data")["metadata"]["annotations"][kinds.UPDATED_BY_ANNOTATION] == \
        stamps[kinds.UPDATED_BY_ANNOTATION]  # a tampered stamp is still put back
    with pytest.raises(kubernetes.client.ApiException) as refused:
        _patch(custom, namespace, {"metadata": {"labels": {kinds.ID_LABEL: "ABCDEFGHIJ"}}})
    assert refused.value.status == 422 and "immutable" in refused.value.body
    delta = _delta(before, _calls(env))
    assert delta["stamp-team"] >= 1 and delta["id-team"] == 1.0 and delta["team-principals"] == 0.0
