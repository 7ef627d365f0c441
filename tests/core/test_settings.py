import pytest
from pydantic import ValidationError

from kernelwright.archive.settings import ArchiveSettings
from kernelwright.converter.settings import ConverterSettings


def test_env_prefix_per_service(monkeypatch):
    monkeypatch.setenv("KW_CONVERTER_PORT", "6001")
    monkeypatch.setenv("KW_ARCHIVE_PORT", "6002")
    assert ConverterSettings().port == 6001
    assert ArchiveSettings().port == 6002
    assert ConverterSettings().service_name == "converter"


def test_bad_value_fails_at_startup(monkeypatch):
    monkeypatch.setenv("KW_CONVERTER_TRIALS", "0")
    with pytest.raises(ValidationError, match="trials"):
        ConverterSettings()


def test_bool_zero_is_false(monkeypatch):
    # The classic os.getenv bug: "0" must not read as true.
    monkeypatch.setenv("KW_ARCHIVE_MEMORY", "0")
    assert ArchiveSettings().memory is False
    monkeypatch.setenv("KW_ARCHIVE_MEMORY", "1")
    assert ArchiveSettings().memory is True


def test_archive_rejects_two_backends(monkeypatch):
    monkeypatch.setenv("KW_ARCHIVE_MEMORY", "true")
    monkeypatch.setenv("KW_ARCHIVE_URL", "http://127.0.0.1:6333")
    with pytest.raises(ValidationError, match="not both"):
        ArchiveSettings()
