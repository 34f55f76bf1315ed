"""The role directory keeps unique names, is renamed and retired rather than only added to,
and a new role category has no default data access category (issue 8)."""

from __future__ import annotations

import pytest

from phivault.access import directory
from phivault.errors import Conflict, Forbidden, InvalidInput, NotFound
from phivault.identity.service import do_add_member, do_grant
from tests.support.audit import last_event


def _officer(env, tenant=None):
    return env.vault.unit(tenant or env.world.tenant_a, env.world["officer"].actor)


@pytest.mark.parametrize(
    "name", ["Direct Support Staff", "direct support staff", "DIRECT SUPPORT STAFF"]
)
def test_a_role_category_name_is_unique_in_its_agency_whatever_the_case(env, name) -> None:
    with pytest.raises(directory.DirectoryProblem) as refused, _officer(env) as unit:
        directory.do_add_role_category(unit, name=name, access_category="summary")
    assert refused.value.field == "name"
    assert "Another role category" in refused.value.message
    # Another agency may use the name.
    with _officer(env, env.world.tenant_b) as unit:
        directory.do_add_role_category(unit, name="Transport", access_category="minimum")
    with _officer(env) as unit:
        directory.do_add_role_category(unit, name="Transport", access_category="minimum")


def test_a_position_title_is_unique_in_its_agency(env) -> None:
    with _officer(env) as unit:
        role = directory.do_add_role_category(unit, name="Drivers", access_category="minimum")
    with pytest.raises(directory.DirectoryProblem) as refused, _officer(env) as unit:
        directory.do_add_position(unit, title="office manager", role_category_id=role)
    assert refused.value.field == "title"


@pytest.mark.parametrize("choice", ["", "everything", "Full"])
def test_a_role_category_needs_a_chosen_access_category(env, choice) -> None:
    with pytest.raises(directory.DirectoryProblem) as refused, _officer(env) as unit:
        directory.do_add_role_category(unit, name="Volunteers", access_category=choice)
    assert refused.value.field == "access_category"


@pytest.mark.parametrize("name", [" Drivers", "Drivers ", "", "   ", "x" * 121])
def test_a_name_is_stored_exactly_or_refused(env, name) -> None:
    with pytest.raises(InvalidInput), _officer(env) as unit:
        directory.do_add_role_category(unit, name=name, access_category="minimum")


def _ids(env):
    with _officer(env) as unit:
        roles = {r.name: r for r in directory.read_role_directory(unit)}
    scheduling = roles["Scheduling and Payroll Staff"]
    return scheduling, dict((t, i) for i, t in scheduling.positions)


def test_rename_a_category_and_a_position(env) -> None:
    scheduling, positions = _ids(env)
    with _officer(env) as unit:
        directory.do_change_role_category(unit, scheduling.id, name="Scheduling Staff")
        directory.do_change_position(unit, positions["Payroll Clerk"], title="Payroll Officer")
    with _officer(env) as unit:
        titles = {e.title: e.role_category for e in directory.read_directory(unit)}
    assert titles["Payroll Officer"] == "Scheduling Staff"
    assert "Payroll Clerk" not in titles
    event = last_event(env.vault, env.world.tenant_a, action="directory.position.change")
    assert event.fields == "title" and "Payroll" not in event.fields
    with pytest.raises(directory.DirectoryProblem), _officer(env) as unit:
        directory.do_change_position(unit, positions["Scheduler"], title="payroll officer")


def test_a_retired_position_is_offered_to_nobody_new_and_its_holders_keep_it(env) -> None:
    w = env.world
    _, positions = _ids(env)
    scheduler = positions["Scheduler"]
    with _officer(env) as unit:
        directory.do_change_position(unit, scheduler, retired=True)
    with _officer(env) as unit:
        assert scheduler not in {e.position_id for e in directory.read_directory(unit)}
        retired = {r.name: r for r in directory.read_role_directory(unit)}
    assert "Scheduler" in dict(
        (t, i) for i, t in retired["Scheduling and Payroll Staff"].retired_positions
    )
    with pytest.raises(InvalidInput, match="retired"), _officer(env) as unit:
        do_add_member(unit, username="newcomer", display_name="New Comer", position_id=scheduler)
    # The world's scheduler holds it already: a change of duty keeps the position.
    with _officer(env) as unit:
        do_grant(unit, member_id=w["scheduler"].member_id, position_id=scheduler)
    with _officer(env) as unit:
        directory.do_change_position(unit, scheduler, retired=False)
    with _officer(env) as unit:
        do_add_member(unit, username="newcomer", display_name="New Comer", position_id=scheduler)


def test_a_category_with_current_positions_is_not_retired(env) -> None:
    scheduling, positions = _ids(env)
    with pytest.raises(Conflict), _officer(env) as unit:
        directory.do_change_role_category(unit, scheduling.id, retired=True)
    with _officer(env) as unit:
        for position in positions.values():
            directory.do_change_position(unit, position, retired=True)
    with _officer(env) as unit:
        directory.do_change_role_category(unit, scheduling.id, retired=True)
    with pytest.raises(directory.DirectoryProblem), _officer(env) as unit:
        directory.do_add_position(unit, title="Rota Planner", role_category_id=scheduling.id)


def test_staff_and_other_agencies_change_nothing(env) -> None:
    w = env.world
    scheduling, positions = _ids(env)
    # A named object: refused exactly as if it did not exist.
    with pytest.raises(NotFound), env.vault.unit(w.tenant_a, w["clinician"].actor) as unit:
        directory.do_change_position(unit, positions["Scheduler"], retired=True)
    with pytest.raises(Forbidden), env.vault.unit(w.tenant_a, w["clinician"].actor) as unit:
        directory.do_add_role_category(unit, name="Clinician's Own", access_category="full")
    with pytest.raises(NotFound), env.vault.unit(w.tenant_a, w["other_staff"].actor) as unit:
        directory.do_change_role_category(unit, scheduling.id, name="Taken Over")
    # The other agency's officer, in their own agency, does not find agency A's category.
    with pytest.raises(NotFound), _officer(env, w.tenant_b) as unit:
        directory.do_change_role_category(unit, scheduling.id, name="Taken Over")
    _, after = _ids(env)
    assert after == positions
