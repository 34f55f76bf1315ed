"""The role directory as its managers see it: every role category with its access category,
MFA rule and positions; guarded by directory:manage and limited to one tenant."""

from __future__ import annotations

import pytest

from phivault.access import directory
from phivault.access.policy import AccessCategory
from phivault.errors import Forbidden, NotFound
from tests.support.audit import last_event


def test_managers_see_categories_with_their_positions(env) -> None:
    w = env.world
    with env.vault.unit(w.tenant_a, w["officer"].actor) as unit:
        role = directory.do_add_role_category(
            unit, name="Transport Drivers", access_category="minimum", mfa_required=False
        )
    with env.vault.unit(w.tenant_a, w["officer"].actor) as unit:
        roles = {r.name: r for r in directory.read_role_directory(unit)}
    assert set(directory.WELD_PRESET) | {"Transport Drivers"} == set(roles)
    drivers = roles["Transport Drivers"]
    assert (drivers.id, drivers.positions, drivers.mfa_required) == (role, (), False)
    assert drivers.access_category is AccessCategory.MINIMUM
    support = roles["Direct Support Staff"]
    assert [title for _, title in support.positions] == ["Office Manager", "Office Technician"]
    assert support.mfa_required is None
    assert roles["Emergency Access Only"].access_category is AccessCategory.EMERGENCY_ONLY
    event = last_event(env.vault, w.tenant_a, action="directory.read")
    assert event.outcome == "allowed" and "Transport" not in event.fields


def test_staff_and_other_tenants_cannot_read_the_admin_directory(env) -> None:
    w = env.world
    with pytest.raises(Forbidden), env.vault.unit(w.tenant_a, w["clinician"].actor) as unit:
        directory.read_role_directory(unit)
    with pytest.raises(NotFound), env.vault.unit(w.tenant_a, w["other_staff"].actor) as unit:
        directory.read_role_directory(unit)


def test_each_tenant_sees_its_own_directory(env) -> None:
    w = env.world
    with env.vault.unit(w.tenant_b, w["officer"].actor) as unit:
        directory.do_add_role_category(unit, name="Only In Beta", access_category="summary")
    with env.vault.unit(w.tenant_a, w["officer"].actor) as unit:
        names = {r.name for r in directory.read_role_directory(unit)}
    assert "Only In Beta" not in names
