"""The command line: init, demo, audit verify / checkpoint / export, readable errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from phivault.cli.main import app
from tests.conftest import app_for
from tests.support import pg
from tests.support.tamper import raw_sql

runner = CliRunner()


def _env_vars(env) -> dict[str, str]:
    variables = {"PHIVAULT_HOME": str(env.settings.home)}
    variables["PHIVAULT_DATABASE_URL"] = pg.url_for(env.database) if env.database else ""
    return variables


def invoke(args: list[str], variables: dict[str, str]):
    env = {k: v for k, v in variables.items() if v}
    if not variables.get("PHIVAULT_DATABASE_URL"):
        env["PHIVAULT_DATABASE_URL"] = ""
    return runner.invoke(app, args, env=env)


@pytest.fixture
def fresh(backend: str, tmp_path: Path):
    database = pg.create_database() if backend == "postgres" else None
    variables = {
        "PHIVAULT_HOME": str(tmp_path / "home"),
        "PHIVAULT_DATABASE_URL": pg.url_for(database) if database else "",
    }
    yield variables
    if database:
        pg.drop_database(database)


def test_init_creates_a_private_installation_and_prints_credentials_once(fresh) -> None:
    result = invoke(["init", "--tenant-name", "Gamma Care", "--tenant-slug", "gamma"], fresh)
    assert result.exit_code == 0, result.output
    assert "Initial password" in result.output and "privacy.officer" in result.output
    home = Path(fresh["PHIVAULT_HOME"])
    assert oct(home.stat().st_mode & 0o777) == "0o700"
    assert oct((home / "keys").stat().st_mode & 0o777) == "0o700"
    again = invoke(["init"], fresh)
    assert again.exit_code == 1
    assert "already initialised" in again.output
    assert "Traceback" not in again.output


def test_demo_builds_fabricated_data_without_serving(fresh) -> None:
    result = invoke(["demo", "--no-serve", "--patients", "4", "--days", "3"], fresh)
    assert result.exit_code == 0, result.output
    assert "Valley Paramedic Service (demo)" in result.output
    assert "scheduler@sunrise-demo" in result.output
    # The printed MRNs find patients (a newcomer needs someone to look for).
    assert "SUN-00001 to SUN-00004" in result.output
    assert "VAL-00001 to VAL-00004" in result.output
    verify = invoke(["audit", "verify"], fresh)
    assert verify.exit_code == 0, verify.output
    assert verify.output.count("intact") == 3


def test_verify_names_the_first_bad_event(env) -> None:
    variables = _env_vars(env)
    assert invoke(["audit", "verify"], variables).exit_code == 0
    with raw_sql(env) as cur:
        cur.run(
            "UPDATE audit_events SET action = 'record.list' WHERE tenant_id = ? AND seq = 5",
            (str(env.world.tenant_a),),
        )
    result = invoke(["audit", "verify"], variables)
    assert result.exit_code == 1
    assert f"tenant {env.world.tenant_a}: first bad event 5 (altered)" in result.output.replace(
        "\n", " "
    )
    only_b = invoke(["audit", "verify", "--tenant", str(env.world.tenant_b)], variables)
    assert only_b.exit_code == 0


def test_checkpoint_then_verify_against_it(env, tmp_path: Path) -> None:
    variables = _env_vars(env)
    checkpoint = tmp_path / "cp.json"
    made = invoke(["audit", "checkpoint", str(checkpoint)], variables)
    assert made.exit_code == 0, made.output
    assert invoke(["audit", "verify", "--against", str(checkpoint)], variables).exit_code == 0
    tenant = str(env.world.tenant_a)
    with raw_sql(env) as cur:
        last = cur.run("SELECT max(seq) FROM audit_events WHERE tenant_id = ?", (tenant,))[0][0]
        cur.run("DELETE FROM audit_events WHERE tenant_id = ? AND seq = ?", (tenant, last))
        prev = cur.run(
            "SELECT seq, hash FROM audit_events WHERE tenant_id = ? AND seq = ?", (tenant, last - 1)
        )[0]
        cur.run("UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ?", (*prev, tenant))
    assert invoke(["audit", "verify"], variables).exit_code == 0
    result = invoke(["audit", "verify", "--against", str(checkpoint)], variables)
    assert result.exit_code == 1
    assert "tail-cut" in result.output


def test_unreadable_checkpoint_is_a_clear_error(env, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_text("{not json")
    result = invoke(["audit", "verify", "--against", str(bogus)], _env_vars(env))
    assert result.exit_code == 2
    assert "not a readable phivault checkpoint" in result.output


def test_export_writes_json_lines_without_phi(env, tmp_path: Path) -> None:
    out = tmp_path / "audit.jsonl"
    result = invoke(["audit", "export", "--output", str(out)], _env_vars(env))
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) > 10
    first = json.loads(lines[0])
    assert {"tenant_id", "seq", "actor_id", "action", "outcome", "hash", "occurred_at"} <= set(
        first
    )
    text = out.read_text()
    for value in env.world.secrets.values():
        assert value not in text


def test_missing_installation_is_a_readable_error(tmp_path: Path) -> None:
    result = invoke(["audit", "verify"], {"PHIVAULT_HOME": str(tmp_path / "none")})
    assert result.exit_code == 2
    assert "phivault init" in result.output
    assert "Traceback" not in result.output


def _passwords(output: str) -> dict[str, str]:
    """username -> password from the demo's account table."""
    found = {}
    for line in output.splitlines():
        words = line.split()
        for word in words[:-1]:
            if "@" in word or word == "privacy.officer":
                found[word] = words[-1]
                break
    return found


def test_demo_again_issues_fresh_passwords(fresh) -> None:
    first = invoke(["demo", "--no-serve", "--patients", "2", "--days", "2"], fresh)
    assert first.exit_code == 0, first.output
    old = _passwords(first.output)
    again = invoke(["demo", "--no-serve"], fresh)
    assert again.exit_code == 0, again.output
    new = _passwords(again.output)
    assert len(new) == len(old) == 9
    assert all(new[user] != old[user] for user in old)


def test_demo_refuses_a_home_that_holds_a_real_vault(fresh) -> None:
    assert invoke(["init"], fresh).exit_code == 0
    result = invoke(["demo", "--no-serve"], fresh)
    assert result.exit_code == 1
    assert "not the demo" in result.output


def test_database_errors_are_one_readable_line(tmp_path: Path) -> None:
    variables = {
        "PHIVAULT_HOME": str(tmp_path / "h"),
        "PHIVAULT_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
    }
    result = invoke(["db", "upgrade"], variables)
    assert result.exit_code == 1
    assert "database error (OperationalError)" in result.output
    assert "Traceback" not in result.output


def test_user_lifecycle_from_the_command_line(env) -> None:
    variables = _env_vars(env)
    added = invoke(
        [
            "user",
            "add",
            "relief.medic",
            "--name",
            "Relief Medic",
            "--tenant",
            "alpha",
            "--position",
            "Emergency Medical Technician Basic",
            "--manager",
            "clinician",
        ],
        variables,
    )
    assert added.exit_code == 0, added.output
    initial = added.output.strip().splitlines()[-1]
    assert len(initial) >= 16
    refused = invoke(["user", "reset", "relief.medic", "--authorized-by", "coder"], variables)
    assert refused.exit_code == 1 and "reporting line" in refused.output
    reset = invoke(["user", "reset", "relief.medic", "--authorized-by", "clinician"], variables)
    assert reset.exit_code == 0 and reset.output.strip().splitlines()[-1] != initial
    assert invoke(["user", "suspend", "coder"], variables).exit_code == 0
    assert "suspended" in invoke(["user", "suspend", "scheduler"], variables).output
    assert invoke(["user", "reinstate", "coder"], variables).exit_code == 0
    terminated = invoke(["user", "terminate", "scheduler"], variables)
    assert terminated.exit_code == 0
    again = invoke(["user", "reinstate", "scheduler"], variables)
    assert again.exit_code == 1 and "stays terminated" in again.output
    unknown = invoke(["user", "suspend", "nobody.at.all"], variables)
    assert unknown.exit_code == 1 and "no member" in unknown.output


def test_sessions_from_the_command_line(env) -> None:
    from datetime import UTC, datetime

    from fastapi.testclient import TestClient

    from tests.support.signin import complete, new_member

    variables = _env_vars(env)
    env.clock.now = datetime.now(UTC)  # the command runs on the real clock
    with TestClient(app_for(env.vault)) as client:
        account = complete(client, env, new_member(client, env.world))
        listed = invoke(["sessions", "list", "--user", account.username], variables)
        assert listed.exit_code == 0 and account.username in listed.output
        revoked = invoke(["sessions", "revoke", "--user", account.username], variables)
        assert "1 session(s) revoked" in revoked.output
        assert client.get("/api/v1/auth/session").status_code == 401
    assert invoke(["sessions", "revoke"], variables).exit_code == 1


def test_serve_refuses_plain_http_off_loopback(env) -> None:
    result = invoke(["serve", "--host", "0.0.0.0"], _env_vars(env))
    assert result.exit_code == 1
    assert "refusing to serve PHI without TLS" in result.output
