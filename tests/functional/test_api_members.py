"""The workforce list over HTTP: administrators of a tenant see its members, nobody else does."""

from __future__ import annotations

import uuid


def base(world, tenant=None) -> str:
    return f"/api/v1/tenants/{tenant or world.tenant_a}"


def test_officer_lists_and_reads_members(client, world) -> None:
    listed = client.get(f"{base(world)}/members", headers=world["officer"].headers)
    assert listed.status_code == 200
    rows = {m["username"]: m for m in listed.json()}
    assert {"officer", "clinician", "coder", "scheduler", "it_support"} == set(rows)
    coder = rows["coder"]
    assert (coder["position"], coder["access_category"], coder["status"]) == (
        "Medical Coder",
        "summary",
        "active",
    )
    assert coder["mfa_enrolled"] is False and coder["manager_id"] is None
    one = client.get(
        f"{base(world)}/members/{world['coder'].member_id}", headers=world["officer"].headers
    )
    assert one.status_code == 200 and one.json() == coder


def test_staff_and_other_tenants_are_refused(client, world) -> None:
    assert (
        client.get(f"{base(world)}/members", headers=world["clinician"].headers).status_code == 403
    )
    member = f"{base(world)}/members/{world['coder'].member_id}"
    assert client.get(member, headers=world["clinician"].headers).status_code == 404
    assert client.get(member, headers=world["other_staff"].headers).status_code == 404
    assert (
        client.get(f"{base(world)}/members", headers=world["other_staff"].headers).status_code
        == 404
    )
    # Tenant B's workforce never shows tenant A's people, and A's officer cannot read B's staff.
    beta = client.get(f"{base(world, world.tenant_b)}/members", headers=world["officer"].headers)
    assert {m["username"] for m in beta.json()} == {"officer", "other_staff"}
    other = f"{base(world)}/members/{world['other_staff'].member_id}"
    assert client.get(other, headers=world["officer"].headers).status_code == 404
    assert (
        client.get(
            f"{base(world)}/members/{uuid.uuid4()}", headers=world["officer"].headers
        ).status_code
        == 404
    )
