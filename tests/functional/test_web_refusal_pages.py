"""A refusal page says what it is: "Not permitted" (heading and title) for what the member may
not do, "Not found" only for what is absent; a person missing and a person the member may not
see still get the same page."""

from __future__ import annotations

import re
import uuid

from tests.support.signin import complete, new_member


def _heading_and_title(html: str) -> tuple[str, str]:
    heading = re.search(r"<h1>(.*?)</h1>", html, re.S)
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert heading and title
    return heading.group(1).strip(), title.group(1).strip()


def test_a_refusal_page_is_headed_not_permitted_not_not_found(client, env, world) -> None:
    complete(client, env, new_member(client, world, position="Scheduler"))
    response = client.get(f"/t/{world.tenant_a}/audit")  # a scheduler does not read the audit
    assert response.status_code == 403
    heading, title = _heading_and_title(response.text)
    assert heading == "Not permitted"
    assert title.startswith("Not permitted")
    assert "Not found" not in response.text


def test_a_missing_person_and_a_forbidden_person_get_the_same_page(client, env, world) -> None:
    """Tenant A's member asks tenant B (no standing there) for B's patient and for an id that
    names nobody: the two answers are the same page, ids aside."""
    complete(client, env, new_member(client, world))
    b = world.tenant_b
    pages = []
    for person in (world.patient_b, uuid.uuid4()):
        response = client.get(f"/t/{b}/people/{person}", params={"purpose": "treatment"})
        pages.append((response.status_code, response.text.replace(str(person), "<id>")))
    assert pages[0] == pages[1]
    assert pages[0][0] == 404
    assert _heading_and_title(pages[0][1])[0] == "Not found"


def test_an_emergency_only_member_gets_the_same_page_for_a_patient_and_for_nobody(
    client, env, world
) -> None:
    complete(client, env, new_member(client, world, position="IT Support Technician"))
    a = world.tenant_a
    pages = []
    for person in (world.patient, uuid.uuid4()):
        response = client.get(f"/t/{a}/people/{person}", params={"purpose": "treatment"})
        pages.append((response.status_code, response.text.replace(str(person), "<id>")))
    assert pages[0] == pages[1]
    assert pages[0][0] == 404
    assert "Not permitted" not in pages[0][1]
