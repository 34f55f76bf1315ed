"""Emergency access in the browser (issue 8): the form keeps what was typed after a refusal,
says when the limit is reached, the audit page shows notices and offers no review of one's
own act, and the Emergency-only search asks for the reason first."""

from __future__ import annotations

import html

from tests.support.audit import events
from tests.support.signin import complete, new_member

REASON = "Unconscious patient on scene, we need the allergy list now."


def technician(client, env, world):
    return complete(client, env, new_member(client, world, position="IT Support Technician"))


def submit(client, world, account, *, reason=REASON, password=None):
    return client.post(
        f"/t/{world.tenant_a}/people/{world.patient}/emergency",
        data={
            "csrf_token": account.csrf,
            "reason": reason,
            "minutes": "30",
            "password": account.password if password is None else password,
        },
        follow_redirects=False,
    )


def test_emergency_form_keeps_the_reason_after_a_wrong_password(client, env, world) -> None:
    tech = technician(client, env, world)
    typed = "  Patient collapsed <at> the day centre, checking allergies now.  "
    response = submit(client, world, tech, reason=typed, password="not my password")
    assert response.status_code == 422
    assert "did not match" in response.text
    assert html.escape(typed, quote=False) in response.text  # kept exactly, escaped
    assert not events(env.vault, world.tenant_a, action="break_glass.start", outcome="allowed")


def test_emergency_form_keeps_the_reason_after_a_refused_reason(client, env, world) -> None:
    tech = technician(client, env, world)
    response = submit(client, world, tech, reason="aaaaaaaaaa")
    assert response.status_code == 422
    assert "sentence" in response.text and ">aaaaaaaaaa</textarea>" in response.text


def test_emergency_form_says_when_the_limit_is_reached(client, env, world) -> None:
    tech = technician(client, env, world)
    for _ in range(3):
        assert submit(client, world, tech).status_code == 303
    response = submit(client, world, tech)
    assert response.status_code == 429
    assert "the limit for a shift" in response.text
    assert html.escape(REASON, quote=False) in response.text


def test_audit_page_offers_no_review_of_ones_own_act(client, env, world) -> None:
    officer = complete(
        client, env, new_member(client, world, position="Office Manager", privacy_officer=True)
    )
    assert submit(client, world, officer).status_code == 303
    page = client.get(f"/t/{world.tenant_a}/audit")
    assert page.status_code == 200
    assert "This is your own emergency access" in page.text
    assert 'value="appropriate"' not in page.text  # no buttons on one's own act
    assert "No unread notices." in page.text  # nobody is notified of their own act


def test_notice_can_be_marked_read_on_the_audit_page(client, env, world) -> None:
    officer = new_member(client, world, position="Office Manager", privacy_officer=True)
    tech = technician(client, env, world)
    assert submit(client, world, tech).status_code == 303
    officer = complete(client, env, officer)  # now the officer signs in
    page = client.get(f"/t/{world.tenant_a}/audit")
    assert "Emergency access opened" in page.text
    assert REASON not in page.text.split('id="notices"')[1].split("</section>")[0]
    [notice] = [
        e
        for e in events(env.vault, world.tenant_a, action="notification.send")
        if e.resource_id in page.text
    ]
    marked = client.post(
        f"/t/{world.tenant_a}/notifications/{notice.resource_id}/read",
        data={"csrf_token": officer.csrf},
        follow_redirects=False,
    )
    assert marked.status_code == 303
    assert "No unread notices." in client.get(f"/t/{world.tenant_a}/audit").text


def test_emergency_only_search_page_asks_for_the_reason_first(client, env, world) -> None:
    tech = technician(client, env, world)
    page = client.get(f"/t/{world.tenant_a}/people")
    assert 'name="emergency_reason"' in page.text
    answers = [
        client.post(
            f"/t/{world.tenant_a}/people",
            data={"csrf_token": tech.csrf, "purpose": "treatment", "mrn": mrn},
        )
        for mrn in (world.secrets["mrn"], "NOBODY-00000")
    ]
    assert [a.status_code for a in answers] == [422, 422]
    assert "identity hidden" not in answers[0].text and "No one matches" not in answers[1].text
    found = client.post(
        f"/t/{world.tenant_a}/people",
        data={
            "csrf_token": tech.csrf,
            "purpose": "treatment",
            "mrn": world.secrets["mrn"],
            "emergency_reason": REASON,
        },
    )
    assert found.status_code == 200 and str(world.patient) in found.text
    assert f"/people/{world.patient}/emergency" in found.text  # the next step of the act


def test_audit_page_shows_closed_reviews_with_who_when_and_note(client, env, world) -> None:
    officer = new_member(client, world, position="Office Manager", privacy_officer=True)
    tech = technician(client, env, world)
    assert submit(client, world, tech).status_code == 303
    [grant] = client.get(
        f"/api/v1/tenants/{world.tenant_a}/break-glass", headers=world["officer"].headers
    ).json()
    reviewed = client.post(
        f"/api/v1/tenants/{world.tenant_a}/break-glass/{grant['id']}/review",
        headers=world["officer"].headers,
        json={"disposition": "inappropriate", "note": "Refer to the sanctions policy."},
    )
    assert reviewed.status_code == 200
    complete(client, env, officer)
    page = client.get(f"/t/{world.tenant_a}/audit")
    table = page.text.split('id="reviewed"')[1].split("</table>")[0]
    assert "inappropriate" in table and "Refer to the sanctions policy." in table
    assert env.clock().strftime("%Y-%m-%d %H:%M") in table


def test_emergency_form_answers_odd_input_on_the_form_not_as_json(client, env, world) -> None:
    tech = technician(client, env, world)
    url = f"/t/{world.tenant_a}/people/{world.patient}/emergency"
    for fields in ({"minutes": "²", "reason": REASON}, {"minutes": "30", "reason": REASON * 30}):
        response = client.post(
            url, data={"csrf_token": tech.csrf, "password": tech.password, **fields}
        )
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("text/html")
    assert not events(env.vault, world.tenant_a, action="break_glass.start", outcome="allowed")
