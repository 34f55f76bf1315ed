"""Audit actions are one enum: nothing in src/ spells an action as a string of its own, every
event the vault writes names a member of the enum, and the audit viewer's filter offers every
one of them."""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path

from sqlalchemy import select

from phivault.audit.actions import AuditAction, AuditGroup, grouped
from phivault.audit.models import AuditEvent
from phivault.db.engine import Scope
from tests.support.signin import complete, new_member

SRC = Path(__file__).resolve().parents[3] / "src" / "phivault"


def test_every_action_has_a_group_and_values_are_unique() -> None:
    values = [a.value for a in AuditAction]
    assert len(values) == len(set(values))
    assert all(isinstance(a.group, AuditGroup) for a in AuditAction)
    listed = [a for items in grouped().values() for a in items]
    assert sorted(listed) == sorted(AuditAction)


def test_no_module_spells_an_action_outside_the_enum() -> None:
    """A string literal equal to an action's value, anywhere in src/ but the enum's own
    module, is an action the enum does not own (and the viewer may not offer)."""
    values = {a.value for a in AuditAction}
    found = []
    for path in SRC.rglob("*.py"):
        if path.name == "actions.py" and path.parent.name == "audit":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in values:
                found.append(f"{path.relative_to(SRC)}:{node.lineno} {node.value}")
    assert found == []


def test_every_event_of_the_test_world_names_an_enum_action(env) -> None:
    with env.vault.db.transaction(Scope.everything()) as session:
        actions = set(session.scalars(select(AuditEvent.action).distinct()))
    assert actions, "the world wrote no events"
    assert actions <= {a.value for a in AuditAction}


def test_the_viewer_filter_offers_every_action_in_its_group(client, env, world) -> None:
    officer = new_member(
        client, world, position="Director", privacy_officer=True, administrator=True
    )
    complete(client, env, officer)
    response = client.get(f"/t/{world.tenant_a}/audit")
    assert response.status_code == 200
    select_html = re.search(r'<select id="f-action".*?</select>', response.text, re.S)
    assert select_html
    groups = dict(
        (html.unescape(label), re.findall(r"<option[^>]*>([^<]+)</option>", body))
        for label, body in re.findall(
            r'<optgroup label="([^"]+)">(.*?)</optgroup>', select_html.group(0), re.S
        )
    )
    assert groups == {g: [a.value for a in items] for g, items in grouped().items()}
    offered = {a for items in groups.values() for a in items}
    # Some of those the hand-written list missed, offered now.
    assert {
        "document.void",
        "document.upload.begin",
        "workforce.manager.set",
        "workforce.invite.accept",
        "access_review.list",
        "workforce.reset.list",
        "access.gate",
    } <= offered
