from __future__ import annotations

import os

import httpx
import pytest
from vcr.persisters.filesystem import CassetteNotFoundError, FilesystemPersister

from laios_conformance import _files
from laios_conformance.cassettes import CorruptCassetteError, SafePersister
from laios_conformance.cassettes import serializer as laios_yaml

from .helpers import cassette_dict, kit_vcr, request, response

OLD_TIME = 1_600_000_000


def saved(path, body: bytes = b"{}", persister: SafePersister | None = None):
    (persister or SafePersister()).save_cassette(path, cassette_dict((request(), response(body))), laios_yaml)
    return path


def leftovers(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_save_creates_parent_directories(tmp_path) -> None:
    path = saved(tmp_path / "a" / "b" / "c.yaml")
    assert SafePersister().load_cassette(path, laios_yaml)[1][0]["body"]["string"] == b"{}"


def test_a_failing_replace_leaves_the_old_cassette_byte_for_byte(tmp_path, monkeypatch) -> None:
    path = saved(tmp_path / "c.yaml", b"old")
    before = path.read_bytes()
    monkeypatch.setattr(os, "replace", _raise(OSError("disk gone")))
    with pytest.raises(OSError, match="disk gone"):
        saved(path, b"new")
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_a_crash_half_way_through_the_write_never_leaves_a_partial_cassette(tmp_path, monkeypatch) -> None:
    path = saved(tmp_path / "c.yaml", b"old")
    before = path.read_bytes()

    def crash_mid_write(temporary, data: bytes) -> None:
        temporary.write_bytes(data[: len(data) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(_files, "_write_synced", crash_mid_write)
    with pytest.raises(KeyboardInterrupt):
        saved(path, b"new" * 100)
    assert path.read_bytes() == before
    with pytest.raises(KeyboardInterrupt):
        saved(tmp_path / "fresh.yaml")
    assert not (tmp_path / "fresh.yaml").exists()
    assert leftovers(tmp_path) == []


def test_a_failing_fsync_leaves_no_file_behind(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(os, "fsync", _raise(OSError("EIO")))
    with pytest.raises(OSError):
        saved(tmp_path / "c.yaml")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_cassette_is_not_found(tmp_path) -> None:
    with pytest.raises(CassetteNotFoundError):
        SafePersister().load_cassette(tmp_path / "missing.yaml", laios_yaml)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (b"\xff\xfe garbage", "not valid UTF-8"),
        (b"interactions: [\n  {request: \n", "invalid YAML"),
        (
            b"recorded_at: 2026-13-45\ninteractions: []\n",
            "'2026-13-45' is no date (month must be in 1..12) at line 1, column 14",
        ),
        (b"- just\n- a list\n", "not a cassette: the top level is a list, not a mapping with 'interactions'"),
        (
            b"interactions:\n- request: {method: GET, uri: 'http://h/', body: '', headers: {}}\n"
            b"  response: {status: {code: 200}}\n",
            "interaction 0: the response has no headers mapping",
        ),
        (b"version: 1\n", "not a cassette: 'interactions' is missing, not a list"),
    ],
)
def test_a_corrupt_cassette_raises_a_one_line_error_naming_the_path(tmp_path, content: bytes, reason: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(content)
    with pytest.raises(CorruptCassetteError) as caught:
        SafePersister().load_cassette(path, laios_yaml)
    message = str(caught.value)
    assert message.startswith(f"cassette {path} is corrupt (")
    assert reason in message
    assert message.endswith("restore it from version control, or delete it and re-record with --record-mode=once")
    assert "\n" not in message
    assert not isinstance(caught.value, CassetteNotFoundError)


def test_vcrpy_surfaces_corruption_instead_of_recording_over_it(tmp_path, loopback) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"interactions: [\n")
    for mode in ("once", "new_episodes", "all"):
        recorder, config = kit_vcr(mode, [loopback.key])
        with pytest.raises(CorruptCassetteError), recorder.use_cassette(str(path), **config):
            httpx.get(f"{loopback.url}/v1/models")
    assert path.read_bytes() == b"interactions: [\n"
    assert loopback.hits == []


def test_once_never_rewrites_an_existing_cassette(tmp_path, loopback) -> None:
    path = tmp_path / "c.yaml"
    recorder, config = kit_vcr("once", [loopback.key])
    with recorder.use_cassette(str(path), **config):
        httpx.get(f"{loopback.url}/v1/models")
        httpx.get(f"{loopback.url}/v1/models?page=2")
    os.utime(path, (OLD_TIME, OLD_TIME))
    before = path.read_bytes()
    recorder, config = kit_vcr("once", [loopback.key])
    with recorder.use_cassette(str(path), drop_unused_requests=True, **config):
        httpx.get(f"{loopback.url}/v1/models")
    assert path.read_bytes() == before
    assert path.stat().st_mtime == OLD_TIME
    assert loopback.hits == ["/v1/models", "/v1/models?page=2"]


def test_vcrpys_own_persister_would_have_rewritten_it(tmp_path, loopback) -> None:
    path = tmp_path / "c.yaml"
    recorder, config = kit_vcr("once", [loopback.key])
    with recorder.use_cassette(str(path), **config):
        httpx.get(f"{loopback.url}/v1/models")
        httpx.get(f"{loopback.url}/v1/models?page=2")
    os.utime(path, (OLD_TIME, OLD_TIME))
    recorder.register_persister(FilesystemPersister)
    with recorder.use_cassette(str(path), drop_unused_requests=True, **config):
        httpx.get(f"{loopback.url}/v1/models")
    assert path.stat().st_mtime != OLD_TIME


def test_once_does_not_clobber_a_file_that_appeared_meanwhile(tmp_path) -> None:
    path = saved(tmp_path / "c.yaml", b"theirs")
    before = path.read_bytes()
    saved(path, b"ours", SafePersister(record_mode="once"))
    assert path.read_bytes() == before


def test_identical_interactions_are_not_rewritten_but_all_mode_refreshes(tmp_path, monkeypatch) -> None:
    path = saved(tmp_path / "c.yaml")
    os.utime(path, (OLD_TIME, OLD_TIME))
    saved(path, persister=SafePersister(record_mode="new_episodes"))
    assert path.stat().st_mtime == OLD_TIME
    saved(path, b"changed", SafePersister(record_mode="new_episodes"))
    assert path.stat().st_mtime != OLD_TIME
    os.utime(path, (OLD_TIME, OLD_TIME))
    saved(path, b"changed", SafePersister(record_mode="all"))
    assert path.stat().st_mtime != OLD_TIME


def test_extra_cassettes_are_loaded_after_the_main_one(tmp_path) -> None:
    main, extra = saved(tmp_path / "main.yaml", b"main"), saved(tmp_path / "extra.yaml", b"extra")
    _, responses = SafePersister(extra_paths=[extra, tmp_path / "absent.yaml"]).load_cassette(main, laios_yaml)
    assert [r["body"]["string"] for r in responses] == [b"main", b"extra"]
    _, responses = SafePersister(extra_paths=[extra]).load_cassette(tmp_path / "new.yaml", laios_yaml)
    assert [r["body"]["string"] for r in responses] == [b"extra"]


def test_the_error_pickles_for_xdist() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(CorruptCassetteError("p.yaml", "bad")))
    assert str(error).startswith("cassette p.yaml is corrupt (bad)")


def _raise(error: BaseException):
    def raiser(*args: object, **kwargs: object) -> None:
        raise error

    return raiser


def test_error_answers_are_left_out_of_what_is_written(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    ok, refused = (request(body=b'{"n": 1}'), response(b"fine")), (request(body=b'{"n": 2}'), response(b"no", code=401))
    SafePersister(record_mode="once").save_cassette(path, cassette_dict(refused, ok), laios_yaml)
    requests, responses = SafePersister().load_cassette(path, laios_yaml)[:2]
    assert [r.body for r in requests] == [b'{"n": 1}']
    assert [s["status"]["code"] for s in responses] == [200]


@pytest.mark.parametrize("code", [400, 401, 404, 429, 500, 529])
def test_a_cassette_of_error_answers_only_is_not_written(tmp_path, code: int) -> None:
    path = tmp_path / "c.yaml"
    errors = cassette_dict((request(), response(b"no", code=code)))
    SafePersister(record_mode="once").save_cassette(path, errors, laios_yaml)
    assert not path.exists()
    saved(path, b"old")
    before = path.read_bytes()
    SafePersister(record_mode="all").save_cassette(path, errors, laios_yaml)  # all: would always rewrite
    assert path.read_bytes() == before


def test_a_request_answered_alike_again_is_written_once(tmp_path) -> None:
    """--record-mode=all records each repeat of a request; replay plays the first match
    only, so the copies would be interactions never replayed (the clause then errors)."""
    path = tmp_path / "c.yaml"
    hello, other = (request(body=b'{"n": 1}'), response(b"hi")), (request(body=b'{"n": 2}'), response(b"hi"))
    again_other_answer = (request(body=b'{"n": 1}'), response(b"hello"))
    recorded = cassette_dict(hello, other, hello, hello, again_other_answer)
    SafePersister(record_mode="all").save_cassette(path, recorded, laios_yaml)
    requests, responses = SafePersister().load_cassette(path, laios_yaml)[:2]
    assert [(r.body, s["body"]["string"]) for r, s in zip(requests, responses, strict=True)] == [
        (b'{"n": 1}', b"hi"),
        (b'{"n": 2}', b"hi"),
        (b'{"n": 1}', b"hello"),
    ]


def test_a_cassette_another_process_wrote_is_not_taken_for_this_ones(tmp_path) -> None:
    """A recording whose clause errored removed the new cassette of its clause, though another
    run recording into the same folder had written it (this one kept its own unwritten)."""
    from laios_conformance.cassettes.bookkeeping import CassetteWatch
    from laios_conformance.cassettes.persister import written_here

    path = tmp_path / "returns-response.yaml"
    watch = CassetteWatch(path, None)  # missing when the clause began
    path.write_text("written by another process\n")
    assert watch.changed() and not watch.recorded_here()
    saved(path, persister=SafePersister(record_mode="all"))
    assert watch.recorded_here() and written_here(path)
    os.utime(path, ns=(OLD_TIME * 10**9, OLD_TIME * 10**9))  # replaced since by the other one
    assert not watch.recorded_here()
