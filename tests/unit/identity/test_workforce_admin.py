"""Workforce administration services: the member list and detail, the settings a page shows
and their readable problems — guarded, audited (IDs and field names only), one tenant only."""

from __future__ import annotations

import uuid

import pytest

from phivault.access.policy import AccessCategory
from phivault.errors import Forbidden, InvalidInput, NotFound
from phivault.identity import lifecycle
from phivault.identity.service import do_add_member
from tests.support.audit import last_event


def _add(env, username: str, position: str = "Scheduler", **extra) -> uuid.UUID:
    w = env.world
    with env.vault.unit(w.tenant_a, w["officer"].actor) as unit:
        member, _ = do_add_member(
            unit,
            username=username,
            display_name=f"Fabricated {username}",
            position_id=w.positions_a[position],
            **extra,
        )
        return member.id


def test_officer_lists_the_workforce_of_one_tenant(env) -> None:
    w = env.world
    lead = _add(env, "shift.lead", "Office Manager", administrator=True)
    with env.vault.unit(w.tenant_a, w["officer"].actor) as unit:
        lifecycle.do_set_manager(unit, w["scheduler"].member_id, lead)
    with env.vault.unit(w.tenant_a, w["officer"].actor) as unit:
        rows = {m.username: m for m in lifecycle.list_members(unit)}
    assert {"officer", "clinician", "coder", "scheduler", "it_support", "shift.lead"} <= set(rows)
    assert "other_staff" not in rows and "outsider" not in rows  # tenant B and nobody's
    scheduler = rows["scheduler"]
    assert scheduler.position == "Scheduler"
    assert scheduler.role_category == "Scheduling and Payroll Staff"
    assert scheduler.access_category is AccessCategory.MINIMUM
    assert (scheduler.status, scheduler.standing, scheduler.mfa_enrolled) == (
        "active",
        "active",
        False,
    )
    assert (scheduler.manager_id, scheduler.manager) == (lead, "Fabricated shift.lead")
    assert rows["shift.lead"].administrator and not rows["shift.lead"].privacy_officer
    assert rows["shift.lead"].status == "invited"
    assert rows["officer"].privacy_officer
    event = last_event(env.vault, w.tenant_a, action="workforce.member.list")
    assert event.outcome == "allowed"
    assert event.fields == ",".join(sorted(lifecycle.MEMBER_FIELDS))
    assert "Fabricated" not in (event.fields + event.reason)


def test_a_manager_outside_the_tenant_is_not_named(env) -> None:
    w = env.world
    # other_staff has standing in tenant B only; the reporting line is the person's, though.
    from phivault.db.engine import Scope
    from phivault.identity.models import Member

    with env.vault.db.transaction(Scope.platform()) as session:
        member = session.get(Member, w["scheduler"].member_id)
        assert member is not None
        member.manager_id = w["other_staff"].member_id
    with env.vault.unit(w.tenant_a, w["officer"].actor) as unit:
        row = lifecycle.read_member(unit, w["scheduler"].member_id)
    assert (row.manager_id, row.manager, row.manager_outside) == (None, None, True)


def test_staff_cannot_list_or_read_members(env) -> None:
    w = env.world
    with pytest.raises(Forbidden), env.vault.unit(w.tenant_a, w["clinician"].actor) as unit:
        lifecycle.list_members(unit)
    event = last_event(env.vault, w.tenant_a, action="workforce.member.list")
    assert (event.outcome, event.reason) == ("refused", "permission")
    with pytest.raises(NotFound), env.vault.unit(w.tenant_a, w["clinician"].actor) as unit:
        lifecycle.read_member(unit, w["coder"].member_id)


def test_other_tenants_staff_and_members_look_absent(env) -> None:
    w = env.world
    # Staff of tenant B get the same 404 as for a tenant they know nothing of.
    with pytest.raises(NotFound), env.vault.unit(w.tenant_a, w["other_staff"].actor) as unit:
        lifecycle.list_members(unit)
    # Tenant A's officer cannot read a member who has standing in tenant B only.
    with pytest.raises(NotFound), env.vault.unit(w.tenant_a, w["officer"].actor) as unit:
        lifecycle.read_member(unit, w["other_staff"].member_id)
    event = last_event(env.vault, w.tenant_a, action="workforce.member.read")
    assert (event.outcome, event.reason) == ("refused", "not-found")
    with env.vault.unit(w.tenant_b, w["officer"].actor) as unit:
        names = {m.username for m in lifecycle.list_members(unit)}
    assert names == {"officer", "other_staff"}


def test_read_member_shows_revoked_standing(env) -> None:
    w = env.world
    from phivault.identity.service import do_revoke_grant

    with env.vault.unit(w.tenant_a, w["officer"].actor) as unit:
        do_revoke_grant(unit, member_id=w["coder"].member_id)
    with env.vault.unit(w.tenant_a, w["officer"].actor) as unit:
        row = lifecycle.read_member(unit, w["coder"].member_id)
    assert (row.status, row.standing) == ("active", "revoked")
    event = last_event(env.vault, w.tenant_a, action="workforce.member.read")
    assert event.resource_id == str(w["coder"].member_id)


def test_settings_to_manage_need_the_settings_permission(env) -> None:
    w = env.world
    with env.vault.unit(w.tenant_a, w["officer"].actor) as unit:
        values = lifecycle.read_settings_to_manage(unit)
    assert values["idle_timeout_minutes"] == 10
    with pytest.raises(Forbidden), env.vault.unit(w.tenant_a, w["clinician"].actor) as unit:
        lifecycle.read_settings_to_manage(unit)


def test_every_bad_setting_is_named_and_nothing_changes(env) -> None:
    w = env.world
    bad = {"idle_timeout_minutes": 30, "password_expiry_days": "soon", "password_profile": "x"}
    with (
        pytest.raises(lifecycle.InvalidSettings) as caught,
        env.vault.unit(w.tenant_a, w["officer"].actor) as unit,
    ):
        lifecycle.do_update_settings(unit, {**bad, "mfa_reverify_days": 7})
    assert caught.value.problems == {
        "idle_timeout_minutes": "must be between 1 and 15",
        "password_expiry_days": "must be a whole number",
        "password_profile": "must be one of nist, acs-2003",
    }
    assert isinstance(caught.value, InvalidInput)
    assert "'idle_timeout_minutes' must be between 1 and 15" in caught.value.detail
    with env.vault.unit(w.tenant_a, w["officer"].actor) as unit:
        values = lifecycle.read_settings(unit)
    assert (values["idle_timeout_minutes"], values["mfa_reverify_days"]) == (10, 30)


def test_settings_problems_is_empty_for_good_values() -> None:
    assert lifecycle.settings_problems({"idle_timeout_minutes": 15, "mfa_required": True}) == {}
    assert lifecycle.settings_problems({"mfa_required": 1}) == {
        "mfa_required": "must be true or false"
    }
    assert lifecycle.settings_problems({"colour": "red"}) == {"colour": "is not a setting"}
