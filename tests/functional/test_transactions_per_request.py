"""How many transactions a request opens (issue 9: the credential and the standing are read
in one transaction with the work, not in transactions of their own before it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests.support.signin import complete, new_member


@contextmanager
def counting_transactions(vault) -> Iterator[list[str]]:
    begun: list[str] = []

    def on_begin(conn) -> None:
        begun.append("begin")

    event.listen(vault.db.engine, "begin", on_begin)
    try:
        yield begun
    finally:
        event.remove(vault.db.engine, "begin", on_begin)


def test_a_guarded_api_read_is_one_transaction(client, env, world) -> None:
    """The token check, the standing, the read and its audit event: one transaction."""
    url = f"/api/v1/tenants/{world.tenant_a}/records/{world.records['note']}"
    headers = world["clinician"].headers | {"X-Purpose-Of-Use": "treatment"}
    assert client.get(url, headers=headers).status_code == 200  # the token's first use
    with counting_transactions(env.vault) as begun:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    assert len(begun) == 1


def test_an_invalid_token_costs_one_transaction_and_its_refusal(client, env, world) -> None:
    url = f"/api/v1/tenants/{world.tenant_a}/records/{world.records['note']}"
    headers = {"Authorization": "Bearer pvt_" + "0" * 43, "X-Purpose-Of-Use": "treatment"}
    with counting_transactions(env.vault) as begun:
        assert client.get(url, headers=headers).status_code == 401
    # The unit (rolled back), then the refusal's own: the chain lookup and the append.
    assert len(begun) == 3


@pytest.fixture
def officer(client, env, world):
    return complete(
        client, env, new_member(client, world, position="Office Manager", privacy_officer=True)
    )


def test_an_agency_page_reads_session_and_standing_in_one_transaction(
    client, env, world, officer
) -> None:
    """One identity transaction (the session, the member's agencies, the standing), then
    the page's own guarded unit if it has one."""
    search, audit = f"/t/{world.tenant_a}/people", f"/t/{world.tenant_a}/audit"
    client.get(audit)
    with counting_transactions(env.vault) as begun:
        assert client.get(search).status_code == 200  # a form: no unit
    assert len(begun) == 1
    with counting_transactions(env.vault) as begun:
        assert client.get(audit).status_code == 200
    assert len(begun) == 2
