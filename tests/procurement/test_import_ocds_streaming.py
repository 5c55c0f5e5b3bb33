"""import_ocds reads its files incrementally: a package's `releases` (or `records`) array
element by element from a buffer of a few chunks, JSON lines line by line, each release with
the line it starts on, whatever the chunk boundaries; bad JSON names its line; and each
process's releases are loaded in their order after its last one is read, so a file that
scatters them loads as one that keeps them together."""

import io
import json

import pytest

from procurement.ocds import importer


def _release(ocid: str, number: int, date: str, tag: str, **extra) -> dict:
    return {"ocid": ocid, "id": f"{ocid}-{number}", "date": date, "tag": [tag], **extra}


RELEASES = [
    _release("ocds-a", 1, "2025-01-02T00:00:00Z", "tender", tender={"title": "A"}),
    _release("ocds-b", 1, "2025-01-03T00:00:00Z", "tender", tender={"title": "B"}),
    _release("ocds-a", 2, "2025-01-01T00:00:00Z", "planning", amount=12.5e3, n=[1, 22]),
    _release("ocds-b", 2, "2025-02-03T00:00:00Z", "award", text="línea\\n «ñ» }]"),
]


def _package(key="releases", indent=2) -> str:
    body = (
        RELEASES if key == "releases" else [{"ocid": r["ocid"], "releases": [r]} for r in RELEASES]
    )
    package = {"uri": "x", "publisher": {"name": "p"}, key: body, "extensions": ["e"], "n": 5}
    return json.dumps(package, indent=indent, ensure_ascii=False)


def _lines_of(text: str) -> list[int]:
    """The line each `"ocid"` member of a release or record starts near (its object opens
    on the line before, with indent=2: the object's `{`)."""
    return [n for n, line in enumerate(text.splitlines(), start=1) if line == "    {"]


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
@pytest.mark.parametrize("key", ["releases", "records"])
def test_a_package_is_read_release_by_release_with_lines_at_any_chunk_size(monkeypatch, chunk, key):
    monkeypatch.setattr(importer, "CHUNK", chunk)
    text = _package(key)
    found = list(importer.iter_package(io.StringIO(text)))
    assert [s.data for s in found] == RELEASES
    assert [s.line for s in found] == _lines_of(text)
    assert found[0].line > 1


def test_the_reader_holds_a_few_chunks_not_the_file(monkeypatch):
    monkeypatch.setattr(importer, "CHUNK", 256)
    many = [_release("ocds-a", n, "2025-01-02T00:00:00Z", "tender") for n in range(2000)]
    text = json.dumps({"releases": many})
    reader = importer._JSONStream(io.StringIO(text))
    sizes = []
    original = reader._more

    def more():
        grown = original()
        sizes.append(len(reader.buffer))
        return grown

    reader._more = more
    monkeypatch.setattr(importer, "_JSONStream", lambda stream: reader)
    assert len(list(importer.iter_package(io.StringIO(text)))) == 2000
    assert len(text) > 100_000 and max(sizes) < 1_000


def test_json_lines_are_read_line_by_line_with_their_numbers():
    text = "\n".join(json.dumps(r) for r in RELEASES[:2]) + "\n\n" + json.dumps(RELEASES[2])
    found = list(importer.iter_package(io.StringIO(text), jsonl=True))
    assert [(s.data["id"], s.line) for s in found] == [
        ("ocds-a-1", 1),
        ("ocds-b-1", 2),
        ("ocds-a-2", 4),
    ]


@pytest.mark.parametrize("chunk", [3, 1 << 20])
def test_bad_json_in_the_releases_names_its_line(monkeypatch, chunk):
    monkeypatch.setattr(importer, "CHUNK", chunk)
    lines = _package().splitlines()
    at = _lines_of(_package())[2] + 1  # inside the third release
    lines[at - 1] = lines[at - 1].replace('"ocid":', '"ocid"')
    with pytest.raises(importer.UnreadablePackage, match=f"^line {at}: bad JSON"):
        list(importer.iter_package(io.StringIO("\n".join(lines))))


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"releases": [{"a": 1}]', "line 1: bad JSON"),
        ('{"releases": [{"a": 1}]} x', "extra data"),
        ('{"uri": "x"}', "not an OCDS release or record package"),
        ("[1, 2]", "not an OCDS release or record package"),
        ("", "bad JSON"),
    ],
)
def test_what_is_no_package_is_said(text, message):
    with pytest.raises(importer.UnreadablePackage, match=message):
        list(importer.iter_package(io.StringIO(text)))


def test_scattered_releases_load_in_each_process_s_order_after_its_last_one():
    sources = [importer.SourceRelease(r, n) for n, r in enumerate(RELEASES, start=1)]
    readings = []

    def read():
        readings.append(1)
        return iter(sources)

    ordered = [s.data["id"] for s in importer.streamed_loading_order(read)]
    # Each ocid's group once complete, in loading_order (the tender, which creates the
    # process, before the plan dated before it).
    assert ordered == ["ocds-a-1", "ocds-a-2", "ocds-b-1", "ocds-b-2"]
    assert sorted(ordered) == sorted(s.data["id"] for s in importer.loading_order(sources))
    assert len(readings) == 2


def test_bad_json_near_the_start_is_refused_without_reading_the_whole_file(monkeypatch):
    """A syntax error early in a large file is refused once a value is longer than
    MAX_VALUE_CHARS, not after the whole file was read into memory; nesting too deep is
    refused as bad JSON too (no traceback)."""
    monkeypatch.setattr(importer, "CHUNK", 256)
    monkeypatch.setattr(importer, "MAX_VALUE_CHARS", 4096)
    good = json.dumps(_release("ocds-a", 1, "2025-01-02T00:00:00Z", "tender"))
    text = '{"releases": [{"ocid": BAD}, ' + ", ".join([good] * 5000) + "]}"
    stream = io.StringIO(text)
    with pytest.raises(importer.UnreadablePackage, match="line 1: bad JSON"):
        list(importer.iter_package(stream))
    assert stream.tell() < 10_000 < len(text)
    monkeypatch.setattr(importer, "MAX_VALUE_CHARS", 1 << 20)
    with pytest.raises(importer.UnreadablePackage, match="nested too deep"):
        list(importer.iter_package(io.StringIO('{"releases": [' + "[" * 100_000 + "]")))


@pytest.mark.parametrize("cut", range(1, 8))
def test_a_number_cut_by_a_chunk_boundary_is_read_whole(monkeypatch, cut):
    """A package member that is a number ("1e2", "12.5") may be cut anywhere."""
    text = '{"n": 12.5e1, "releases": [' + json.dumps(RELEASES[0]) + "]}"
    monkeypatch.setattr(importer, "CHUNK", text.index("12.5e1") + cut)
    assert [s.data for s in importer.iter_package(io.StringIO(text))] == [RELEASES[0]]
