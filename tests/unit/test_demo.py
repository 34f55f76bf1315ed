"""The demo's fabricated documents are well-formed PDFs (a browser's viewer opens them)."""

from __future__ import annotations

import re

from faker import Faker

from phivault.demo import _pdf, demo_mrn


def test_demo_pdf_has_its_header_and_a_cross_reference_table_that_points_at_its_objects() -> None:
    pdf = _pdf(Faker(), "Intake form")
    assert pdf.startswith(b"%PDF-1.4\n")
    assert pdf.rstrip().endswith(b"%%EOF")
    startxref = int(re.search(rb"startxref\n(\d+)\n", pdf).group(1))
    assert pdf[startxref:].startswith(b"xref\n")
    offsets = [int(m) for m in re.findall(rb"(\d{10}) 00000 n", pdf)]
    assert len(offsets) == 5
    for number, offset in enumerate(offsets, 1):
        assert pdf[offset:].startswith(b"%d 0 obj" % number)


def test_demo_mrns_are_predictable_per_agency() -> None:
    assert demo_mrn("sunrise-demo", 42) == "SUN-00042"
    assert demo_mrn("valley-demo", 1) == "VAL-00001"
