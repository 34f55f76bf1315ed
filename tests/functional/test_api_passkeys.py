"""Passkeys over HTTP with a software authenticator: enrol as the second factor, then sign in
with it; a forged origin is refused."""

from __future__ import annotations

import json

from tests.support.authenticator import SoftwareAuthenticator
from tests.support.signin import AUTH, NEW_PASSWORD, login, new_member

ORIGIN = "http://testserver"


def _password_done(client, world):
    account = new_member(client, world)
    account.csrf = login(client, account.username, account.password).json()["csrf_token"]
    changed = client.post(
        f"{AUTH}/password",
        headers=account.headers(None),
        json={"current_password": account.password, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 200
    account.password = NEW_PASSWORD
    return account


def test_passkey_enrolment_and_sign_in(client, env, world) -> None:
    account = _password_done(client, world)
    device = SoftwareAuthenticator(ORIGIN)
    options = client.post(f"{AUTH}/passkeys/register/options", headers=account.headers(None))
    assert options.status_code == 200, options.text
    assert options.json()["rp"]["id"] == "testserver"
    credential = json.loads(device.create(options.json()))
    registered = client.post(
        f"{AUTH}/passkeys/register/verify",
        headers=account.headers(None),
        json={"credential": credential, "label": "work laptop"},
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["stage"] == "complete"
    record = f"/api/v1/tenants/{world.tenant_a}/records/{world.records['note']}"
    assert client.get(record, headers=account.headers()).status_code == 200

    client.post(f"{AUTH}/logout", headers=account.headers(None))
    again = login(client, account.username, account.password).json()
    assert again["stage"] == "mfa-required"
    account.csrf = again["csrf_token"]
    challenge = client.post(f"{AUTH}/passkeys/authenticate/options", headers=account.headers(None))
    assertion = json.loads(device.get(challenge.json()))
    verified = client.post(
        f"{AUTH}/passkeys/authenticate/verify",
        headers=account.headers(None),
        json={"credential": assertion},
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["stage"] == "complete"


def test_passkey_from_another_origin_is_refused(client, env, world) -> None:
    account = _password_done(client, world)
    device = SoftwareAuthenticator("https://phishing.example")
    options = client.post(f"{AUTH}/passkeys/register/options", headers=account.headers(None)).json()
    credential = json.loads(device.create(options))
    refused = client.post(
        f"{AUTH}/passkeys/register/verify",
        headers=account.headers(None),
        json={"credential": credential},
    )
    assert refused.status_code == 422
    # The challenge was used up by the failed attempt: replaying a correct answer fails too.
    honest = json.loads(SoftwareAuthenticator(ORIGIN).create(options))
    replay = client.post(
        f"{AUTH}/passkeys/register/verify",
        headers=account.headers(None),
        json={"credential": honest},
    )
    assert replay.status_code == 422
