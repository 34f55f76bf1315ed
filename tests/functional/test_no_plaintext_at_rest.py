"""I-6: the raw database — the SQLite file with its WAL, or a pg_dump — holds no plaintext PHI."""

from __future__ import annotations

import subprocess

from tests.support import pg


def _phi_values(world) -> list[bytes]:
    s = world.secrets
    return [
        v.encode()
        for v in (s["given"], s["family"], s["dob"], s["mrn"], s["note"], s["plan"], s["street"])
    ]


def _raw_bytes(env) -> bytes:
    if env.database:
        dump = subprocess.run(
            ["pg_dump", "--no-owner", pg.url_for(env.database)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return dump.stdout
    env.vault.db.dispose()  # flush the WAL into the file, then read every file SQLite wrote
    files = sorted(env.settings.home.glob("phivault.sqlite3*"))
    return b"".join(path.read_bytes() for path in files)


def test_known_fabricated_values_are_absent_from_the_raw_database(env) -> None:
    raw = _raw_bytes(env)
    assert len(raw) > 10_000  # we really read the data
    assert b"audit_events" in raw or env.database is None
    for value in _phi_values(env.world):
        assert value not in raw, "plaintext PHI found at rest"
        assert value.lower() not in raw.lower()


def test_values_written_through_the_api_are_absent_too(env, client) -> None:
    world = env.world
    body = {
        "kind": "patient",
        "given_name": "Quorvalinde",
        "family_name": "Brixenhalt",
        "date_of_birth": "1950-07-08",
        "mrn": "MRN-77665544",
    }
    created = client.post(
        f"/api/v1/tenants/{world.tenant_a}/people", json=body, headers=world["clinician"].headers
    )
    assert created.status_code == 201
    note = client.post(
        f"/api/v1/tenants/{world.tenant_a}/people/{created.json()['id']}/records",
        headers=world["clinician"].headers,
        json={
            "record_type": "clinical_note",
            "fields": {"note_date": "2026-01-01", "text": "Zyphorinex dosage raised"},
            "sensitivity": ["hiv"],
        },
    )
    assert note.status_code == 201
    raw = _raw_bytes(env)
    for value in (b"Quorvalinde", b"Brixenhalt", b"1950-07-08", b"MRN-77665544", b"Zyphorinex"):
        assert value not in raw
