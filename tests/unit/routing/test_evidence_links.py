"""Routing's evidence list: signed links for the holding agency only, every file once."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from services.common import signedlinks
from services.common.contracts import Category, EvidenceFile
from services.routing.case import Case
from services.routing.evidence import EvidenceSigner, case_files
from services.routing.planning import plan_new_case
from tests.unit.routing.factory import NOW, POLICY, report

pytestmark = pytest.mark.unit

SECRET = b"routing-and-intake-share-this-secret"
SIGNER = EvidenceSigner(SECRET, "https://intake.example.vn", seconds=300)


def evidence_file(n: int) -> EvidenceFile:
    return EvidenceFile(
        file_id=f"{n:032x}",
        filename=f"ảnh {n}.jpg",
        content_type="image/jpeg",
        size=1000 + n,
        sha256_received="a" * 64,
        sha256_stored="b" * 64,
    )


def case_with_files(*files: EvidenceFile) -> Case:
    case, _ = plan_new_case(
        report(Category.SCAM_FRAUD, evidence=list(files)), POLICY, NOW, case_id="case-1"
    )
    return case


def test_the_holding_agency_gets_links_intake_will_verify() -> None:
    case = case_with_files(evidence_file(1), evidence_file(2))
    views = SIGNER.views(case, case.agency, NOW)
    assert [v.filename for v in views] == ["ảnh 1.jpg", "ảnh 2.jpg"]
    for view, file in zip(views, case_files(case), strict=True):
        assert view.url is not None and view.expires_at == NOW + timedelta(seconds=300)
        url = urlsplit(view.url)
        assert url.netloc == "intake.example.vn" and url.path == f"/evidence/{file.file_id}"
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        granted = signedlinks.verify(
            SECRET,
            case_id=query["case"],
            file_id=file.file_id,
            agency=query["agency"],
            expires=query["expires"],
            signature=query["sig"],
            now=NOW,
        )
        assert granted is not None
        assert granted == signedlinks.EvidenceLink(
            "case-1", file.file_id, case.agency, granted.expires
        )


@pytest.mark.parametrize("principal", ["supervisor", "culture_office"])
def test_anyone_else_sees_what_the_files_are_without_links(principal: str) -> None:
    case = case_with_files(evidence_file(1))
    (view,) = SIGNER.views(case, principal, NOW)
    assert view.url is None and view.expires_at is None
    assert view.sha256_stored == "b" * 64


def test_without_the_shared_secret_no_link_is_made() -> None:
    case = case_with_files(evidence_file(1))
    (view,) = EvidenceSigner(None, "https://intake.example.vn").views(case, case.agency, NOW)
    assert view.url is None


def test_a_case_without_files_lists_none() -> None:
    case = case_with_files()
    assert SIGNER.views(case, case.agency, NOW) == []
