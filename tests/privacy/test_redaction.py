from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path

import pytest

from openkyc.privacy.redaction import (
    PersonalStr,
    RedactingFilter,
    Sensitive,
    contains_personal_data,
    install,
    redact,
    sensitive_values,
)

B64 = base64.b64encode(os.urandom(300)).decode()
TEMPLATE_HEX = os.urandom(128).hex()


@pytest.mark.parametrize(
    "planted",
    [
        "1974-08-12", "12.08.1974", "12/08/1974", "12 AUG 1974", "12 August 1974",
        "L898902C3", "D23145890", "11010519491231002X", "X1234567", "740812", "123-45-6789",
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
        B64, TEMPLATE_HEX, f"data:image/jpeg;base64,{B64[:40]}", "anna@example.com",
    ],
)  # fmt: skip
def test_patterns_redact_planted_values(planted: str) -> None:
    out = redact(f"subject data: {planted} end")
    assert planted not in out
    assert "[REDACTED:" in out
    assert out.startswith("subject data: ") and out.endswith(" end")


@pytest.mark.parametrize(
    "kept",
    [
        "request 3f2a0c4e-1b2c-4d5e-8f90-123456789abc done in 123 ms",
        "started at 2024-05-01T10:00:00Z",
        "started at 2024-05-01 10:00:00",
        "bill for 2024-05, port 8080, sha256 " + "ab" * 32,
        "UnauthorizedOperation.ConsentRequired for identification.id_number",
    ],
)
def test_ordinary_log_lines_are_kept(kept: str) -> None:
    assert redact(kept) == kept
    assert not contains_personal_data(kept)


def test_registered_values_are_redacted_whole_and_by_word() -> None:
    with sensitive_values(["Anna Maria Eriksson", None, ""]):
        out = redact("Hello ANNA MARIA ERIKSSON; surname eriksson; annamaria stays")
    assert "ANNA" not in out and "eriksson" not in out
    assert "annamaria stays" in out
    assert redact("eriksson") == "eriksson"  # outside the block nothing is registered


def test_filter_redacts_message_args_and_exceptions(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("openkyc.test.redaction")
    log_filter = RedactingFilter()
    logger.addFilter(log_filter)
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info("ocr read %s born %s", "L898902C3", "1974-08-12")
            try:
                raise ValueError(f"bad image {B64}")
            except ValueError:
                logger.exception("decode failed")
    finally:
        logger.removeFilter(log_filter)
    text = caplog.text
    assert "L898902C3" not in text and "1974-08-12" not in text and B64 not in text
    assert "decode failed" in text and "ValueError" in text


def test_install_on_handlers() -> None:
    logger = logging.getLogger("openkyc.test.install")
    handler = logging.NullHandler()
    logger.addHandler(handler)
    try:
        install(logger)
        install(logger)
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    finally:
        logger.removeHandler(handler)


def test_sensitive_masks_itself() -> None:
    name: PersonalStr = Sensitive("Anna Maria Eriksson")
    percent = "%s" % (name,)  # noqa: UP031
    for shown in (repr(name), str(name), f"{name}", f"{name!r}", percent):
        assert "Anna" not in shown
    assert name.reveal() == "Anna Maria Eriksson"
    assert name == Sensitive("Anna Maria Eriksson") and name != "Anna Maria Eriksson"
    assert len({name, Sensitive("Anna Maria Eriksson")}) == 1
    assert not Sensitive("")


def test_real_document_fields_never_survive_logging(shared_data: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Plants every MRZ line and field of the real specimens, and a real photo, in log lines."""
    truth = json.loads((shared_data / "mrz-specimens" / "ground_truth.json").read_text())
    photo = next(p for p in sorted((shared_data / "facerec-examples").rglob("*.jpg")))
    photo_b64 = base64.b64encode(photo.read_bytes()[:3000]).decode()
    logger = logging.getLogger("openkyc.test.realdata")
    logger.addFilter(RedactingFilter())
    planted: list[str] = []
    with caplog.at_level(logging.INFO, logger=logger.name):
        for doc in truth:
            fields = doc.get("fields")
            if not fields or not doc.get("mrz"):
                continue  # the specimen without an MRZ
            names = [fields["surname"], fields["given_names"]]
            with sensitive_values(names):
                for line in doc["mrz"]:
                    logger.info("mrz line %s", line)
                    planted.append(line)
                logger.info(
                    "holder %s %s number %s born %s",
                    fields["given_names"], fields["surname"],
                    fields["document_number"], fields["birth_date"],
                )  # fmt: skip
                planted += [fields["document_number"], fields["birth_date"], *names]
        logger.info("image %s", photo_b64)
        planted.append(photo_b64[:100])
    assert len(truth) >= 5
    text = caplog.text
    for value in planted:
        if value:
            assert value not in text, "a planted value survived"
