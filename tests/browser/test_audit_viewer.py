"""The audit viewer in a browser: actors by name, CSV export without PHI, chain verification
with its result (intact, then broken after tampering), and a chart's access history."""

from __future__ import annotations

import csv
import io

import pytest

from tests.browser.conftest import screenshot
from tests.browser.helpers import both_backends, sign_in_first_time
from tests.browser.test_emergency_and_audit import _member
from tests.support.tamper import raw_sql

pytestmark = pytest.mark.browser


def _officer(page, env):
    return sign_in_first_time(page, env, _member(env, "Office Manager", privacy_officer=True))


def test_export_csv_has_every_entry_of_the_filter_and_no_phi(page, env) -> None:
    _officer(page, env)
    page.goto(f"/t/{env.world.tenant_a}/audit?action=record.create")
    shown = page.locator("#entries tbody tr").count()
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    body = download.value.path().read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == shown > 0
    assert {r["action"] for r in rows} == {"record.create"}
    assert download.value.suggested_filename.startswith("audit-")
    for secret in env.world.secrets.values():
        assert secret not in body


@both_backends
def test_verify_the_chain_then_see_tampering(page, env) -> None:
    _officer(page, env)
    page.goto(f"/t/{env.world.tenant_a}/audit")
    assert "has not been verified" in page.locator("#chain-status").inner_text()
    page.get_by_role("button", name="Verify the chain now").click()
    status = page.locator("#chain-status").inner_text()
    assert "Intact:" in status and "Fabricated Staffer" in status
    screenshot(page, "audit-verified")
    with raw_sql(env) as cur:
        cur.run(
            "UPDATE audit_events SET purpose = 'payment' WHERE tenant_id = ? AND seq = 2",
            (str(env.world.tenant_a),),
        )
    page.get_by_role("button", name="Verify the chain now").click()
    assert "Broken: altered at entry 2" in page.get_by_role("alert").inner_text()


def test_access_history_from_a_chart_and_actors_by_name(page, env) -> None:
    _officer(page, env)
    page.goto(f"/t/{env.world.tenant_a}/people/{env.world.patient}?purpose=operations")
    page.get_by_role("link", name="Access history").click()
    rows = page.locator("#entries tbody tr")
    assert rows.count() > 0
    persons = page.locator("#entries tbody td:nth-child(5)").all_inner_texts()
    assert set(persons) == {str(env.world.patient)[:8]}
    # The officer's own reading of the chart is there, under their name.
    assert "Fabricated Staffer" in page.locator("#entries").inner_text()


def test_a_bad_filter_gets_a_readable_message(page, env) -> None:
    _officer(page, env)
    response = page.goto(f"/t/{env.world.tenant_a}/audit?person_id=not-an-id")
    assert response.status == 422
    assert "A filter is not valid" in page.get_by_role("alert").inner_text()
