"""core.files.replaced_on_success: a file is renamed into place whole, synced first, or not at
all; two writers of one path never share a temporary file."""

import os
import stat

import pytest

from core.files import replaced_on_success


def test_the_file_appears_whole_when_the_block_ends(tmp_path):
    target = tmp_path / "export.json"
    with replaced_on_success(target) as handle:
        handle.write(b"first half ")
        assert not target.exists()
        handle.write(b"second half")
    assert target.read_bytes() == b"first half second half"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert os.listdir(tmp_path) == ["export.json"]


def test_a_failure_leaves_the_old_file_and_no_temporary_one(tmp_path):
    target = tmp_path / "export.json"
    target.write_bytes(b"yesterday")
    with pytest.raises(OSError, match="No space"), replaced_on_success(target) as handle:
        handle.write(b"partial")
        raise OSError(28, "No space left on device")
    assert target.read_bytes() == b"yesterday"
    assert os.listdir(tmp_path) == ["export.json"]


def test_two_writers_of_one_path_do_not_share_a_temporary_file(tmp_path):
    target = tmp_path / "ocds.jsonl.gz"
    with replaced_on_success(target) as first:
        first.write(b"first ")
        with replaced_on_success(target) as second:
            second.write(b"second writer")
        assert target.read_bytes() == b"second writer"
        first.write(b"writer")
    assert target.read_bytes() == b"first writer"
    assert os.listdir(tmp_path) == ["ocds.jsonl.gz"]


def test_the_content_is_synced_before_the_rename(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda *a: calls.append("replace") or real_replace(*a))
    with replaced_on_success(tmp_path / "index.json") as handle:
        handle.write(b"[]")
    assert calls == ["fsync", "replace", "fsync"]  # the file, the rename, the folder
