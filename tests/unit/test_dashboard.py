"""What the dashboard counts, and for whom (phivault.dashboard): the policy is a service, so
a later interface shows the same panels to the same people."""

from __future__ import annotations

import pytest

from phivault import dashboard
from phivault.access.policy import AccessCategory, PurposeOfUse, grant_permissions


def _standing(category: AccessCategory, *, officer: bool = False, admin: bool = False):  # type: ignore[no-untyped-def]
    return category, grant_permissions(category, privacy_officer=officer, administrator=admin)


@pytest.mark.parametrize(
    ("category", "officer", "admin", "tracks"),
    [
        (AccessCategory.MINIMUM, False, False, True),  # scheduling, payroll, credentialing
        (AccessCategory.FULL, False, True, True),  # an administrator
        (AccessCategory.FULL, False, False, False),  # a clinician is not shown it unasked
        (AccessCategory.EMERGENCY_ONLY, False, True, False),  # no record view at all
    ],
)
def test_who_tracks_credentials(category, officer, admin, tracks) -> None:
    assert dashboard.tracks_credentials(*_standing(category, officer=officer, admin=admin)) is tracks
    assert dashboard.tracks_credentials(None, frozenset()) is False


def test_a_privacy_officer_sees_the_queues_and_the_audit_activity(env) -> None:
    world = env.world
    with env.vault.unit(world.tenant_a, world["officer"].actor, PurposeOfUse.OPERATIONS) as unit:
        board = dashboard.attention(
            unit, *_standing(AccessCategory.FULL, officer=True, admin=True)
        )
    assert board.break_glass == 0 and board.access_reviews == 0 and board.resets == 0
    assert board.activity is not None and len(board.activity) == dashboard.ACTIVITY_DAYS
    assert board.credentials is not None


def test_a_scheduler_sees_the_credential_count_and_no_queue(env) -> None:
    world = env.world
    with env.vault.unit(world.tenant_a, world["scheduler"].actor, PurposeOfUse.OPERATIONS) as unit:
        board = dashboard.attention(unit, *_standing(AccessCategory.MINIMUM))
    assert board.credentials is not None
    assert board.break_glass is None and board.access_reviews is None and board.activity is None
