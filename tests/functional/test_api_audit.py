"""Break-glass and the audit trail over HTTP: the privacy officer's view."""

from __future__ import annotations

from datetime import timedelta

from phivault.clock import FrozenClock
from tests.support.signin import complete, new_member


def base(world) -> str:
    return f"/api/v1/tenants/{world.tenant_a}"


def test_break_glass_flow_is_flagged_for_review(client, env, world) -> None:
    note = f"{base(world)}/records/{world.records['sensitive_note']}"
    it = world["it_support"].headers
    assert client.get(note, headers=it).status_code == 404
    # Break-glass is a signed-in person's act (never a token's): an Emergency-only session.
    tech = complete(client, env, new_member(client, world, position="IT Support Technician"))
    reason = "Patient unresponsive at home, checking the medication history."
    opened = client.post(
        f"{base(world)}/break-glass",
        headers=tech.headers(),
        json={"person_id": str(world.patient), "reason": reason},
    )
    assert opened.status_code == 201, opened.text
    grant = opened.json()
    assert grant["review_status"] == "pending"
    read = client.get(note, headers=tech.headers())
    assert read.status_code == 200 and read.json()["break_glass"] is True
    queue = client.get(f"{base(world)}/break-glass", headers=world["officer"].headers).json()
    assert [g["id"] for g in queue] == [grant["id"]]
    assert queue[0]["reason"] == reason
    flagged = client.get(
        f"{base(world)}/audit/events",
        headers=world["officer"].headers,
        params={"break_glass": "true"},
    ).json()
    assert {e["action"] for e in flagged} >= {"break_glass.start", "record.read"}
    reviewed = client.post(
        f"{base(world)}/break-glass/{grant['id']}/review",
        headers=world["officer"].headers,
        json={"disposition": "inappropriate", "note": "refer to sanctions"},
    )
    assert reviewed.status_code == 200 and reviewed.json()["review_status"] == "inappropriate"
    ended = client.post(f"{base(world)}/break-glass/{grant['id']}/end", headers=tech.headers())
    assert ended.status_code == 200
    assert client.get(note, headers=tech.headers()).status_code == 404


def test_break_glass_minutes_are_bounded(client, env, world) -> None:
    tech = complete(client, env, new_member(client, world, position="IT Support Technician"))
    response = client.post(
        f"{base(world)}/break-glass",
        headers=tech.headers(),
        json={
            "person_id": str(world.patient),
            "reason": "Long emergency shift, the patient is still unresponsive.",
            "minutes": 100000,
        },
    )
    assert response.status_code == 422


def test_nobody_reviews_their_own_break_glass(client, env, world) -> None:
    officer = complete(
        client,
        env,
        new_member(client, world, position="Office Manager", privacy_officer=True),
    )
    grant = client.post(
        f"{base(world)}/break-glass",
        headers=officer.headers(),
        json={
            "person_id": str(world.patient),
            "reason": "After-hours emergency call, patient fell.",
        },
    ).json()
    response = client.post(
        f"{base(world)}/break-glass/{grant['id']}/review",
        headers=officer.headers(),
        json={"disposition": "appropriate"},
    )
    assert response.status_code == 409


def test_audit_query_by_person_actor_and_time(client, env, world) -> None:
    clock: FrozenClock = env.clock
    clock.advance(days=1)
    start = clock()
    client.get(f"{base(world)}/records/{world.records['note']}", headers=world["clinician"].headers)
    client.get(f"{base(world)}/records/{world.records['note']}", headers=world["coder"].headers)
    officer = world["officer"].headers
    by_person = client.get(
        f"{base(world)}/audit/events",
        headers=officer,
        params={"person_id": str(world.patient), "since": start.isoformat()},
    ).json()
    assert {e["actor_id"] for e in by_person} == {
        str(world["clinician"].member_id),
        str(world["coder"].member_id),
    }
    by_actor = client.get(
        f"{base(world)}/audit/events",
        headers=officer,
        params={"actor_id": str(world["coder"].member_id)},
    ).json()
    assert by_actor and all(e["actor_id"] == str(world["coder"].member_id) for e in by_actor)
    event = by_actor[0]
    assert event["purpose"] == "treatment" and event["outcome"] == "allowed"
    assert event["fields"] and "text" not in event["fields"]  # the coder never saw the note text
    window = client.get(
        f"{base(world)}/audit/events",
        headers=officer,
        params={
            "until": (start - timedelta(seconds=1)).isoformat(),
            "since": (start - timedelta(hours=1)).isoformat(),
        },
    ).json()
    assert window == []


def test_audit_entries_carry_ids_not_values(client, world) -> None:
    client.post(
        f"{base(world)}/people/search",
        headers=world["clinician"].headers,
        json={"mrn": world.secrets["mrn"]},
    )
    everything = client.get(
        f"{base(world)}/audit/events", headers=world["officer"].headers, params={"limit": 500}
    ).text
    for value in world.secrets.values():
        assert value not in everything


def test_audit_is_for_privacy_officers(client, world) -> None:
    for persona in ("clinician", "coder"):
        assert (
            client.get(f"{base(world)}/audit/events", headers=world[persona].headers).status_code
            == 403
        )
    assert (
        client.get(f"{base(world)}/audit/events", headers=world["other_staff"].headers).status_code
        == 404
    )


def test_verify_endpoint_reports_intact_chain(client, world) -> None:
    body = client.get(f"{base(world)}/audit/verify", headers=world["officer"].headers).json()
    assert body["intact"] is True and body["first_bad_event"] is None and body["events"] > 5


def test_refusals_show_up_for_the_privacy_officer(client, world) -> None:
    client.get(f"{base(world)}/records/{world.records['note']}", headers=world["outsider"].headers)
    refused = client.get(
        f"{base(world)}/audit/events",
        headers=world["officer"].headers,
        params={"outcome": "refused", "actor_id": str(world["outsider"].member_id)},
    ).json()
    assert refused and refused[0]["reason"] == "no-grant"
