"""Driving the sign-in API as a person would, in tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pyotp

AUTH = "/api/v1/auth"
NEW_PASSWORD = "correct horse battery staple 1969!"


@dataclass
class Account:
    username: str
    password: str
    member_id: uuid.UUID
    csrf: str = ""
    totp_secret: str = ""
    recovery_codes: list[str] = field(default_factory=list)

    def headers(self, purpose: str | None = "treatment") -> dict[str, str]:
        headers = {"X-CSRF-Token": self.csrf}
        if purpose:
            headers["X-Purpose-Of-Use"] = purpose
        return headers


def new_member(
    client: Any,
    world: Any,
    *,
    position: str = "Emergency Medical Technician Paramedic",
    username: str | None = None,
    **extra: Any,
) -> Account:
    """The privacy officer creates an account; returns its one-time initial password."""
    name = username or f"staff{uuid.uuid4().hex[:8]}"
    response = client.post(
        f"/api/v1/tenants/{world.tenant_a}/members",
        headers=world["officer"].headers,
        json={
            "username": name,
            "display_name": "Fabricated Staffer",
            "position_id": str(world.positions_a[position]),
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Account(name, body["initial_password"], uuid.UUID(body["id"]))


def login(client: Any, username: str, password: str) -> Any:
    return client.post(f"{AUTH}/login", json={"username": username, "password": password})


def totp_now(secret: str, env: Any, offset_seconds: int = 0) -> str:
    return pyotp.TOTP(secret).at(int(env.clock().timestamp()) + offset_seconds)


def complete(client: Any, env: Any, account: Account) -> Account:
    """Initial password -> own password -> TOTP enrolment: a fully signed-in session."""
    first = login(client, account.username, account.password)
    assert first.status_code == 200, first.text
    assert first.json()["stage"] == "password-change-required"
    account.csrf = first.json()["csrf_token"]
    changed = client.post(
        f"{AUTH}/password",
        headers=account.headers(None),
        json={"current_password": account.password, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["stage"] == "mfa-enrolment-required"
    account.password = NEW_PASSWORD
    enrol = client.post(f"{AUTH}/mfa/totp/enrol", headers=account.headers(None))
    assert enrol.status_code == 200, enrol.text
    account.totp_secret = enrol.json()["secret"]
    confirmed = client.post(
        f"{AUTH}/mfa/totp/confirm",
        headers=account.headers(None),
        json={"code": totp_now(account.totp_secret, env)},
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["session"]["stage"] == "complete"
    account.recovery_codes = confirmed.json()["recovery_codes"]
    return account
