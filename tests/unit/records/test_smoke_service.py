from phivault.access.policy import PurposeOfUse
from phivault.records import service


def test_officer_reads_full_record(env):
    w = env.world
    with env.vault.unit(w.tenant_a, w["officer"].actor, PurposeOfUse.TREATMENT) as unit:
        view = service.read_record(unit, w.records["note"])
    assert view.fields["text"] == w.secrets["note"]
