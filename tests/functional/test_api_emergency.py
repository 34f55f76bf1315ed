"""Emergency access over HTTP (issue 8): no break-glass through an API token, a clear 429 at
the limit, the privacy officer's notices, the emergency search, and readable review decisions."""

from __future__ import annotations

from tests.support.audit import events
from tests.support.signin import complete, new_member

REASON = "Unconscious patient on scene, we need the allergy list now."


def base(world) -> str:
    return f"/api/v1/tenants/{world.tenant_a}"


def technician(client, env, world):
    return complete(client, env, new_member(client, world, position="IT Support Technician"))


def open_glass(client, headers, world, reason=REASON):
    return client.post(
        f"{base(world)}/break-glass",
        headers=headers,
        json={"person_id": str(world.patient), "reason": reason},
    )


def test_break_glass_through_an_api_token_is_refused(client, env, world) -> None:
    response = open_glass(client, world["it_support"].headers, world)
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "session" in response.json()["detail"]
    assert not events(env.vault, world.tenant_a, action="break_glass.start", outcome="allowed")


def test_break_glass_refuses_filler_as_a_reason(client, env, world) -> None:
    tech = technician(client, env, world)
    response = open_glass(client, tech.headers(), world, reason="aaaaaaaaaa")
    assert response.status_code == 422
    assert "sentence" in response.json()["detail"]


def test_break_glass_limit_is_a_clear_429_problem(client, env, world) -> None:
    tech = technician(client, env, world)
    for _ in range(3):
        assert open_glass(client, tech.headers(), world).status_code == 201
    refused = open_glass(client, tech.headers(), world)
    assert refused.status_code == 429
    problem = refused.json()
    assert problem["type"].endswith("break-glass-limit") or "limit" in problem["title"].lower()
    assert "privacy officer" in problem["detail"]


def test_privacy_officer_reads_and_acknowledges_phi_free_notices(client, env, world) -> None:
    tech = technician(client, env, world)
    grant = open_glass(client, tech.headers(), world).json()
    officer = world["officer"].headers
    notices = client.get(f"{base(world)}/notifications", headers=officer)
    assert notices.status_code == 200
    [notice] = notices.json()
    assert notice["kind"] == "break_glass.start" and notice["ref_id"] == grant["id"]
    assert set(notice) == {"id", "kind", "ref_id", "created_at", "read_at"}
    for secret in (REASON, *world.secrets.values()):
        assert secret not in notices.text
    read = client.post(f"{base(world)}/notifications/{notice['id']}/read", headers=officer)
    assert read.status_code == 200 and read.json()["read_at"]
    assert client.get(f"{base(world)}/notifications", headers=officer).json() == []


def test_emergency_only_search_needs_a_reason_and_then_is_audited(client, env, world) -> None:
    tech = technician(client, env, world)
    url = f"{base(world)}/people/search"
    answers = [
        client.post(url, headers=tech.headers(), json={"mrn": mrn})
        for mrn in (world.secrets["mrn"], "NOBODY-00000")
    ]
    assert [a.status_code for a in answers] == [422, 422]
    assert answers[0].json()["detail"] == answers[1].json()["detail"]
    found = client.post(
        url, headers=tech.headers(), json={"mrn": world.secrets["mrn"], "emergency_reason": REASON}
    )
    assert found.status_code == 200 and [p["id"] for p in found.json()] == [str(world.patient)]
    [event] = events(env.vault, world.tenant_a, action="emergency.search", outcome="allowed")
    assert event.break_glass == 1
    kinds = [
        n["kind"]
        for n in client.get(f"{base(world)}/notifications", headers=world["officer"].headers).json()
    ]
    assert kinds == ["emergency.search"]


def test_a_review_decision_is_readable_afterwards(client, env, world) -> None:
    tech = technician(client, env, world)
    grant = open_glass(client, tech.headers(), world).json()
    officer = world["officer"]
    client.post(
        f"{base(world)}/break-glass/{grant['id']}/review",
        headers=officer.headers,
        json={"disposition": "inappropriate", "note": "Refer to the sanctions policy."},
    )
    [kept] = client.get(
        f"{base(world)}/break-glass",
        headers=officer.headers,
        params={"review_status": "inappropriate"},
    ).json()
    assert kept["id"] == grant["id"] and kept["reviewed_by"] == str(officer.member_id)
    assert kept["reviewed_at"] and kept["review_note"] == "Refer to the sanctions policy."
    again = client.post(
        f"{base(world)}/break-glass/{grant['id']}/review",
        headers=officer.headers,
        json={"disposition": "appropriate"},
    )
    assert again.status_code == 409
