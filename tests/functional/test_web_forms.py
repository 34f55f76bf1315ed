"""Every form of the web app refuses a post without this session's CSRF token: nothing is
written, nothing is audited as done, and the browser is sent back to the form."""

from __future__ import annotations

import pytest

from tests.support.audit import events
from tests.support.signin import complete, new_member


@pytest.fixture
def officer(client, env, world):
    """A signed-in privacy officer of tenant A (a complete, fresh session in ``client``)."""
    return complete(
        client, env, new_member(client, world, position="Office Manager", privacy_officer=True)
    )


def _forms(world) -> list[tuple[str, dict[str, str]]]:
    a, p = world.tenant_a, world.patient
    record = world.records["care_plan"]
    return [
        (
            f"/t/{a}/people/new",
            {
                "kind": "patient",
                "purpose": "treatment",
                "f_family_name": "Forgedson",
                "f_given_name": "Fabricia",
                "f_date_of_birth": "1950-01-01",
            },
        ),
        (
            f"/t/{a}/people/{p}/edit",
            {
                "purpose": "treatment",
                "f_family_name": "Forgedson",
                "f_given_name": "X",
                "f_date_of_birth": "1950-01-01",
            },
        ),
        (
            f"/t/{a}/people/{p}/records/new?record_type=clinical_note",
            {"purpose": "treatment", "f_note_date": "2026-01-05", "f_text": "forged"},
        ),
        (
            f"/t/{a}/records/{record}/edit",
            {"purpose": "treatment", "version": "1", "f_goals_summary": "forged"},
        ),
        (
            f"/t/{a}/people/{p}/emergency",
            {"reason": "forged emergency reason", "minutes": "15", "password": "x"},
        ),
        (f"/t/{a}/audit/verify", {}),
        (
            f"/t/{a}/admin/members/new",
            {
                "username": "forged",
                "display_name": "Forged",
                "position_id": str(world.positions_a["Scheduler"]),
            },
        ),
        (
            f"/t/{a}/admin/settings",
            {
                "password_profile": "nist",
                "idle_timeout_minutes": "1",
                "password_expiry_days": "90",
                "password_history": "6",
                "mfa_reverify_days": "30",
            },
        ),
        (f"/t/{a}/admin/directory/role-categories", {"name": "Forged", "access_category": "full"}),
    ]


def _writes(env, world) -> list[str]:
    return [e.event_id for e in events(env.vault, world.tenant_a)]


@pytest.mark.parametrize("token", ["", "not-this-sessions-token"])
def test_forms_refuse_a_post_without_the_sessions_csrf_token(
    client, env, world, officer, token
) -> None:
    before = _writes(env, world)
    for path, fields in _forms(world):
        response = client.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)
        assert response.status_code in (303, 422), (path, response.status_code)
        if response.status_code == 303:
            assert response.headers["location"].startswith(f"/t/{world.tenant_a}/"), path
    assert _writes(env, world) == before  # nothing written, nothing audited at all


def test_the_same_posts_with_the_token_do_work(client, world, officer) -> None:
    """The control: the refusals above are the token's doing, not the forms'."""
    path, fields = _forms(world)[0]
    response = client.post(
        path, data={"csrf_token": officer.csrf, **fields}, follow_redirects=False
    )
    assert response.status_code == 303
    assert "/people/" in response.headers["location"]


def test_odd_numbers_and_dates_get_a_readable_answer_not_a_crash(client, world, officer) -> None:
    a = world.tenant_a
    settings = client.post(
        f"/t/{a}/admin/settings",
        data={
            "csrf_token": officer.csrf,
            "password_profile": "nist",
            "idle_timeout_minutes": "--5",
            "password_expiry_days": "²",
            "password_history": "6",
            "mfa_reverify_days": "30",
        },
    )
    assert settings.status_code == 422
    assert "whole number" in settings.text
    token = client.post(
        "/account/tokens/new",
        data={
            "csrf_token": officer.csrf,
            "tenant_id": str(a),
            "scopes": "tenant:people:read",
            "label": "odd",
            "days": "²",
        },
    )
    assert token.status_code == 422
    assert "whole number of days" in token.text
    audit = client.get(f"/t/{a}/audit", params={"until": "9999-12-31"})
    assert audit.status_code == 422
    assert "A filter is not valid" in audit.text


def test_overlong_admin_fields_come_back_on_their_forms(client, world, officer) -> None:
    """Over-long typed fields on the administration forms: the form again, with the reason,
    never the API's problem JSON or a page without the form (issue 8)."""
    a = world.tenant_a
    csrf = officer.csrf
    member = client.post(
        f"/t/{a}/admin/members/new",
        data={
            "csrf_token": csrf,
            "username": "u" * 500,
            "display_name": "Fine Name",
            "position_id": str(world.positions_a["Scheduler"]),
        },
    )
    assert member.status_code == 422
    assert 'id="member-form"' in member.text or "<form" in member.text
    assert "username" in member.text and "Fine Name" in member.text
    settings = client.post(
        f"/t/{a}/admin/settings",
        data={
            "csrf_token": csrf,
            "password_profile": "nist",
            "idle_timeout_minutes": "9" * 40,
            "password_expiry_days": "90",
            "password_history": "6",
            "mfa_reverify_days": "30",
        },
    )
    assert settings.status_code == 422
    assert "<form" in settings.text and "Idle timeout" in settings.text
    role = client.post(
        f"/t/{a}/admin/directory/role-categories",
        data={"csrf_token": csrf, "name": "n" * 500, "access_category": "full"},
    )
    assert role.status_code == 422
    assert 'id="role-name-error"' in role.text
