"""Role directory and workforce grants over HTTP."""

from __future__ import annotations

import uuid

from tests.support.signin import Account, complete
from tests.support.world import second_privacy_officer


def base(world) -> str:
    return f"/api/v1/tenants/{world.tenant_a}"


def test_directory_is_the_weld_preset(client, world) -> None:
    entries = client.get(f"{base(world)}/directory", headers=world["scheduler"].headers).json()
    by_title = {e["title"]: e for e in entries}
    assert (
        by_title["Emergency Medical Technician Paramedic"]["role_category"]
        == "Direct Health Care Provider"
    )
    assert by_title["Emergency Medical Technician Paramedic"]["access_category"] == "full"
    assert by_title["Office Technician"]["role_category"] == "Direct Support Staff"
    assert by_title["Medical Coder"]["access_category"] == "summary"
    assert by_title["Scheduler"]["access_category"] == "minimum"
    assert by_title["IT Support Technician"]["access_category"] == "emergency"


def test_officer_adds_a_role_category_position_and_member(client, env, world) -> None:
    officer = world["officer"].headers
    role = client.post(
        f"{base(world)}/directory/role-categories",
        headers=officer,
        json={"name": "Transport Drivers", "access_category": "minimum"},
    )
    assert role.status_code == 201
    position = client.post(
        f"{base(world)}/directory/positions",
        headers=officer,
        json={"title": "Wheelchair Van Driver", "role_category_id": role.json()["id"]},
    )
    assert position.status_code == 201
    member = client.post(
        f"{base(world)}/members",
        headers=officer,
        json={
            "username": "driver1",
            "display_name": "Driver One",
            "position_id": position.json()["id"],
        },
    )
    assert member.status_code == 201
    account = complete(
        client,
        env,
        Account("driver1", member.json()["initial_password"], uuid.UUID(member.json()["id"])),
    )
    plan = client.get(
        f"{base(world)}/records/{world.records['care_plan']}", headers=account.headers("operations")
    )
    assert plan.status_code == 200
    assert set(plan.json()["fields"]) == {"service_type"}


def test_bad_access_category_is_refused(client, world) -> None:
    response = client.post(
        f"{base(world)}/directory/role-categories",
        headers=world["officer"].headers,
        json={"name": "Oddballs", "access_category": "everything"},
    )
    assert response.status_code == 422
    assert "access_category" in response.json()["detail"]


def test_staff_cannot_manage_the_directory_or_workforce(client, world) -> None:
    headers = world["clinician"].headers
    assert (
        client.post(
            f"{base(world)}/directory/role-categories",
            headers=headers,
            json={"name": "X", "access_category": "full"},
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"{base(world)}/members",
            headers=headers,
            json={
                "username": "sneaky",
                "display_name": "S",
                "position_id": str(world.positions_a["Director"]),
            },
        ).status_code
        == 403
    )
    # A refused caller cannot probe usernames: an existing one gets the same answer.
    assert (
        client.post(
            f"{base(world)}/members",
            headers=headers,
            json={
                "username": "officer",
                "display_name": "S",
                "position_id": str(world.positions_a["Director"]),
            },
        ).status_code
        == 403
    )


def test_promotion_changes_the_view_immediately(client, world) -> None:
    url = f"{base(world)}/records/{world.records['care_plan']}"
    assert "plan_text" not in client.get(url, headers=world["scheduler"].headers).json()["fields"]
    promoted = client.put(
        f"{base(world)}/members/{world['scheduler'].member_id}/grant",
        headers=world["officer"].headers,
        json={"position_id": str(world.positions_a["Office Manager"])},
    )
    assert promoted.status_code == 200
    assert "plan_text" in client.get(url, headers=world["scheduler"].headers).json()["fields"]


def test_nobody_changes_their_own_standing(client, world) -> None:
    officer = world["officer"]
    response = client.put(
        f"{base(world)}/members/{officer.member_id}/grant",
        headers=officer.headers,
        json={"position_id": str(world.positions_a["Scheduler"]), "privacy_officer": True},
    )
    assert response.status_code == 409
    assert (
        client.delete(
            f"{base(world)}/members/{officer.member_id}/grant", headers=officer.headers
        ).status_code
        == 409
    )


def test_role_change_opens_an_access_review_for_the_privacy_officer(client, env, world) -> None:
    client.put(
        f"{base(world)}/members/{world['scheduler'].member_id}/grant",
        headers=world["officer"].headers,
        json={"position_id": str(world.positions_a["Office Manager"])},
    )
    reviews = client.get(f"{base(world)}/access-reviews", headers=world["officer"].headers).json()
    assert [r["member_id"] for r in reviews] == [str(world["scheduler"].member_id)]
    assert reviews[0]["to_position_id"] == str(world.positions_a["Office Manager"])
    # The officer made the change, so another privacy officer closes the review.
    own = client.post(
        f"{base(world)}/access-reviews/{reviews[0]['id']}/close",
        headers=world["officer"].headers,
        json={"outcome": "confirmed"},
    )
    assert own.status_code == 409
    reviewer = second_privacy_officer(env.vault, world)
    closed = client.post(
        f"{base(world)}/access-reviews/{reviews[0]['id']}/close",
        headers=reviewer.headers,
        json={"outcome": "revoked", "note": "not needed for the job"},
    )
    assert closed.status_code == 204
    kept = client.get(
        f"{base(world)}/access-reviews?review_status=revoked", headers=reviewer.headers
    ).json()
    assert [(r["status"], r["closed_by"], r["note"]) for r in kept] == [
        ("revoked", str(reviewer.member_id), "not needed for the job")
    ]
    record = f"{base(world)}/records/{world.records['care_plan']}"
    assert client.get(record, headers=world["scheduler"].headers).status_code == 401  # cut off
    assert (
        client.get(f"{base(world)}/access-reviews", headers=world["officer"].headers).json() == []
    )


def test_password_reset_needs_a_manager_in_the_line(client, env, world) -> None:
    from tests.support.signin import AUTH, login, new_member, totp_now

    manager = complete(client, env, new_member(client, world, username="shift.lead"))
    client.cookies.clear()
    worker = new_member(client, world, username="night.worker", manager_id=str(manager.member_id))
    outsider = complete(client, env, new_member(client, world, username="other.lead"))
    client.cookies.clear()
    assert (
        client.post(f"{AUTH}/reset-requests", json={"username": "night.worker"}).status_code == 202
    )
    assert (
        client.post(f"{AUTH}/reset-requests", json={"username": "no.such.person"}).status_code
        == 202
    )
    # someone outside the line sees nothing to authorize
    outsider.csrf = login(client, "other.lead", outsider.password).json()["csrf_token"]
    client.post(
        f"{AUTH}/mfa/totp/verify",
        headers=outsider.headers(None),
        json={"code": totp_now(outsider.totp_secret, env, 30)},
    )
    assert client.get(f"{base(world)}/reset-requests", headers=outsider.headers()).json() == []
    client.cookies.clear()
    manager.csrf = login(client, "shift.lead", manager.password).json()["csrf_token"]
    env.clock.advance(seconds=60)
    client.post(
        f"{AUTH}/mfa/totp/verify",
        headers=manager.headers(None),
        json={"code": totp_now(manager.totp_secret, env)},
    )
    pending = client.get(f"{base(world)}/reset-requests", headers=manager.headers()).json()
    assert [p["username"] for p in pending] == ["night.worker"]
    code = client.post(
        f"{base(world)}/reset-requests/{pending[0]['id']}/authorize", headers=manager.headers()
    ).json()["code"]
    client.cookies.clear()
    assert (
        client.post(f"{AUTH}/reset", json={"code": "wrong", "new_password": "x" * 20}).status_code
        == 422
    )
    done = client.post(
        f"{AUTH}/reset", json={"code": code, "new_password": "a brand new long passphrase 77"}
    )
    assert done.status_code == 204, done.text
    assert (
        client.post(
            f"{AUTH}/reset", json={"code": code, "new_password": "another long passphrase 78"}
        ).status_code
        == 422
    )
    assert login(client, "night.worker", "a brand new long passphrase 77").status_code == 200
    assert login(client, "night.worker", worker.password).status_code == 401
