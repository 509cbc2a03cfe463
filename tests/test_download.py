"""Downloads for real: a local HTTP server on 127.0.0.1 serves the files of a test registry.

Covered: a good file (downloaded, verified, cached, then loaded again with the server stopped), a
corrupted file (refused, not cached), a 404 and a truncated transfer (errors naming dataset and
URL), the mirror folder (a copy that differs is used with a notice), and the registry itself
(every public entry pinned to an upstream commit with that file's sha256).
"""

from __future__ import annotations

import hashlib
import re
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scaling.cli import app
from scaling.data import download
from scaling.data import registry as datasets

GOOD = b"model,training_flop,loss\nA,1e20,3.1\nB,1e21,2.8\nC,1e22,2.5\n"
SHA = hashlib.sha256(GOOD).hexdigest()


class Handler(BaseHTTPRequestHandler):
    """/good.csv: the file; /corrupt.csv: other bytes; /short.csv: half the promised bytes; else 404."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = {"/good.csv": GOOD, "/corrupt.csv": GOOD.replace(b"3.1", b"9.9")}.get(self.path)
        if self.path == "/short.csv":
            self.send_response(200)
            self.send_header("Content-Length", str(len(GOOD)))
            self.end_headers()
            self.wfile.write(GOOD[: len(GOOD) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def test_registry(monkeypatch, tmp_path):
    """An isolated cache, no mirror, no retries, and a helper that registers a test entry."""
    monkeypatch.setenv("SCALING_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SCALING_DATA_DIR", raising=False)
    monkeypatch.setattr(download, "RETRIES", 0)

    def register(name: str, url: str, sha256: str = SHA) -> dict:
        entry = {
            "title": "test table",
            "path": f"{name}/table.csv",
            "url": url,
            "sha256": sha256,
            "homepage": "https://example.org",
            "licence": "test",
            "citation": "test",
            "columns": {"model": "model", "training_flop": "training_flop", "loss": "loss"},
        }
        monkeypatch.setitem(datasets.registry(), name, entry)
        return entry

    return register, tmp_path / "cache"


def test_good_file_is_downloaded_verified_cached_and_reused_offline(server, test_registry):
    httpd, base = server
    register, cache = test_registry
    register("remote", f"{base}/good.csv")
    df = datasets.load("remote")
    assert list(df["loss"]) == [3.1, 2.8, 2.5] and df.attrs["source"].endswith("good.csv")
    cached = cache / "remote" / "good.csv"
    assert cached.read_bytes() == GOOD
    httpd.shutdown()  # no network from here on: the verified copy in the cache is used
    assert datasets.locate("remote") == cached
    assert list(datasets.load("remote")["training_flop"]) == [1e20, 1e21, 1e22]
    assert datasets.catalogue().set_index("name").loc["remote", "where"] == "cache"


def test_corrupted_download_is_refused_and_not_cached(server, test_registry):
    _, base = server
    register, cache = test_registry
    register("tampered", f"{base}/corrupt.csv")
    with pytest.raises(download.DatasetUnavailable, match=r"'tampered'.*corrupt\.csv was refused and deleted") as e:
        datasets.load("tampered")
    assert SHA in str(e.value)  # the expected checksum is named
    assert not any(p.is_file() for p in cache.rglob("*")), list(cache.rglob("*"))


def test_cached_file_that_changed_is_downloaded_again(server, test_registry):
    _, base = server
    register, cache = test_registry
    register("remote", f"{base}/good.csv")
    stale = cache / "remote" / "good.csv"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"model,training_flop,loss\nA,1,1\n")
    assert datasets.catalogue().set_index("name").loc["remote", "where"] == "missing"
    assert datasets.locate("remote").read_bytes() == GOOD


def test_many_file_entry_fetches_each_file_and_refuses_a_bad_one(server, test_registry, tmp_path):
    """An entry built from several upstream files: each is downloaded and checked; one bad file fails it."""
    _, base = server
    register, cache = test_registry
    manifest = tmp_path / "files.csv"
    manifest.write_text(f"path,sha256\ngood.csv,{SHA}\n")
    entry = register("several", f"{base}/")
    entry["files"] = str(manifest)  # an absolute manifest path (registry entries name one in datasets/)
    assert datasets.locate("several") == cache / "several" and (cache / "several" / "good.csv").read_bytes() == GOOD
    assert datasets.catalogue().set_index("name").loc["several", "where"] == "cache"
    manifest.write_text(f"path,sha256\ngood.csv,{SHA}\ncorrupt.csv,{SHA}\n")
    with pytest.raises(download.DatasetUnavailable, match=rf"'several'.*{base}/corrupt.csv was refused"):
        datasets.locate("several")
    assert not (cache / "several" / "corrupt.csv").exists()


def test_404_names_dataset_and_url(server, test_registry):
    _, base = server
    register, _ = test_registry
    register("gone", f"{base}/nope.csv")
    with pytest.raises(download.DatasetUnavailable, match=rf"'gone': downloading {base}/nope.csv failed .*404"):
        datasets.load("gone")
    with pytest.raises(download.DatasetUnavailable, match=r"scaling datasets fetch --all.*SCALING_DATA_DIR"):
        datasets.load("gone")


def test_truncated_transfer_names_dataset_and_url(server, test_registry):
    _, base = server
    register, cache = test_registry
    register("cut", f"{base}/short.csv")
    with pytest.raises(download.DatasetUnavailable, match=rf"'cut'.*{base}/short.csv"):
        datasets.load("cut")
    assert not (cache / "cut" / "short.csv").exists()


def test_no_download_and_nothing_local_says_what_to_do(test_registry):
    register, _ = test_registry
    register("offline", "http://127.0.0.1:9/never.csv")
    with pytest.raises(download.DatasetUnavailable, match=r"'offline' is not in the cache .*fetch --all"):
        datasets.locate("offline", download=False)


def test_mirror_copy_is_used_and_a_different_one_with_a_notice(monkeypatch, test_registry, tmp_path):
    register, _ = test_registry
    register("mirrored", "http://127.0.0.1:9/never.csv")  # the mirror is read, the URL never
    mirror = tmp_path / "mirror"
    (mirror / "mirrored").mkdir(parents=True)
    (mirror / "mirrored" / "table.csv").write_bytes(GOOD)
    monkeypatch.setenv("SCALING_DATA_DIR", str(mirror))
    with warnings.catch_warnings():
        warnings.simplefilter("error", download.ChecksumNotice)
        assert len(datasets.load("mirrored")) == 3  # identical bytes: no notice
    trimmed = GOOD.rsplit(b"C,", 1)[0]
    (mirror / "mirrored" / "table.csv").write_bytes(trimmed)
    with pytest.warns(download.ChecksumNotice, match=r"'mirrored': using the mirror copy .*a trimmed or newer copy"):
        df = datasets.load("mirrored")
    assert len(df) == 2
    assert datasets.catalogue().set_index("name").loc["mirrored", "where"] == "mirror, differs from upstream"


def test_cli_fetch_reports_size_checksum_and_licence(server, test_registry):
    _, base = server
    register, cache = test_registry
    register("remote", f"{base}/good.csv")
    result = CliRunner().invoke(app, ["datasets", "fetch", "remote"])
    assert result.exit_code == 0, result.output
    assert SHA in result.output and "licence: test" in result.output and "MB" in result.output
    assert (cache / "remote" / "good.csv").exists()
    register("gone", f"{base}/nope.csv")
    result = CliRunner().invoke(app, ["datasets", "fetch", "gone"])
    assert result.exit_code == 2 and "nope.csv" in result.output
    assert CliRunner().invoke(app, ["datasets", "fetch"]).exit_code == 2  # names or --all


PINNED = re.compile(r"^https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/\S+$")


@pytest.mark.parametrize("name", datasets.names())
def test_registry_entry_is_pinned_with_upstream_checksum(name):
    """Every public entry: the upstream file at a fixed commit, its sha256, homepage, licence, citation."""
    entry = datasets.info(name)
    for key in ("title", "homepage", "licence", "citation", "columns"):
        assert entry.get(key), (name, key)
    if entry.get("shipped"):
        assert (datasets.SHIPPED / entry["path"]).is_file(), name
        return
    if "files" in entry:  # many upstream files under one pinned folder, each with its sha256
        assert PINNED.match(entry["url"] + "x") and entry["url"].endswith("/"), (name, entry["url"])
        files = download.manifest(entry)
        assert len(files) > 1 and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in files.values()), name
        assert "reader" in entry, name
    else:
        assert PINNED.match(entry.get("url", "")), (name, entry.get("url"))
        assert re.fullmatch(r"[0-9a-f]{64}", entry.get("sha256", "")), name
    assert not Path(entry["path"]).is_absolute() and ".." not in Path(entry["path"]).parts, name
    if entry.get("derive"):
        from scaling.data.upstream import DERIVATIONS

        assert entry["derive"] in DERIVATIONS, name
