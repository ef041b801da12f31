"""Id assignment, authorship stamps and cross-object checks made by the admission webhooks."""

from __future__ import annotations

from fleetyard.controllers import admission_rules
from fleetyard.models import ids, kinds

NOW = "2026-11-27T12:00:00Z"


def _obj(labels=None, annotations=None, spec=None) -> dict:
    return {"metadata": {"labels": labels or {}, "annotations": annotations or {}}, "spec": spec or {"a": 1}}


def test_create_assigns_an_id_and_stamps_the_creator() -> None:
    out = admission_rules.stamp("CREATE", None, _obj(), "alice", NOW, lambda _: False)
    assert ids.is_valid(out["labels"][kinds.ID_LABEL])
    assert out["annotations"][kinds.CREATED_BY_ANNOTATION] == "alice"
    assert out["annotations"][kinds.UPDATED_BY_ANNOTATION] == "alice"


def test_create_keeps_a_valid_id_the_user_chose() -> None:
    out = admission_rules.stamp("CREATE", None, _obj(labels={kinds.ID_LABEL: "ABCDE12345"}), "a", NOW, lambda _: False)
    assert "labels" not in out


def test_forged_creator_is_overwritten_on_create_and_restored_on_update() -> None:
    out = admission_rules.stamp("CREATE", None, _obj(annotations={kinds.CREATED_BY_ANNOTATION: "mallory"}),
                                "alice", NOW, lambda _: False)
    assert out["annotations"][kinds.CREATED_BY_ANNOTATION] == "alice"
    old = _obj(annotations={kinds.CREATED_BY_ANNOTATION: "alice"})
    new = _obj(annotations={kinds.CREATED_BY_ANNOTATION: "mallory"}, spec={"a": 2})
    out = admission_rules.stamp("UPDATE", old, new, "bob", NOW, lambda _: False)
    assert out["annotations"][kinds.CREATED_BY_ANNOTATION] == "alice"
    assert out["annotations"][kinds.UPDATED_BY_ANNOTATION] == "bob"


def test_metadata_only_update_does_not_change_updated_by() -> None:
    old = _obj(annotations={kinds.UPDATED_BY_ANNOTATION: "alice"})
    new = _obj(annotations={kinds.UPDATED_BY_ANNOTATION: "alice"}, labels={"x": "y"})
    assert admission_rules.stamp("UPDATE", old, new, "operator", NOW, lambda _: False) == {}


def test_id_label_rules() -> None:
    taken = {"TAKEN12345"}.__contains__
    assert "must be 10" in admission_rules.id_label_error("CREATE", None, _obj(labels={kinds.ID_LABEL: "x"}), taken)
    assert "already used" in admission_rules.id_label_error(
        "CREATE", None, _obj(labels={kinds.ID_LABEL: "TAKEN12345"}), taken)
    old = _obj(labels={kinds.ID_LABEL: "ABCDE12345"})
    assert "immutable" in admission_rules.id_label_error("UPDATE", old, _obj(), taken)
    assert admission_rules.id_label_error("UPDATE", old, old, taken) is None


def test_cluster_network_must_share_connection_and_region() -> None:
    spec = {"connectionRef": {"name": "a"}, "networkRef": {"name": "n"}, "region": "us-east-1"}
    net = {"spec": {"connectionRef": {"name": "b"}, "region": "us-east-1"}}
    assert "belongs to Connection b" in admission_rules.network_connection_error(spec, net)
    net["spec"]["connectionRef"]["name"] = "a"
    net["spec"]["region"] = "eu-west-1"
    assert "spec.region" in admission_rules.network_connection_error(spec, net)
    assert admission_rules.network_connection_error(spec, None) is None


def test_ids_are_ten_upper_case_characters_and_avoid_taken_ones() -> None:
    seen = set()
    for _ in range(200):
        value = ids.new_id(seen.__contains__)
        assert ids.is_valid(value) and value not in seen
        seen.add(value)
