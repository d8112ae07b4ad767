"""Model downloads through huggingface_hub against a local server that imitates the Hub API (HF_ENDPOINT):
LFS redirects to a CDN host, the Hub's hashes, resume, a wrong hash, gated repos, offline, the cheap re-check
of cached files, provenance, and plain-URL files (the `.part` + HTTP 416 case)."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path

import pytest

from avs_studio.openavs import weights
from avs_studio.openavs.weights import (
    ChecksumError,
    DownloadCancelled,
    GatedModelError,
    ModelMissingError,
    UnverifiedModelError,
)
from tests.helpers.fake_hub import COMMIT, FakeHub


@pytest.fixture
def hub(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 64 * 1024)  # (10 MB) so small files span chunks
    srv = FakeHub().start()
    monkeypatch.setenv("HF_ENDPOINT", srv.url)
    for k in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "AVS_STUDIO_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv(
        "HF_HOME", str(Path(os.environ["AVS_STUDIO_CACHE"]).parent / "hf-home")
    )  # no stored token
    yield srv
    srv.stop()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("AVS_STUDIO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def payload(n: int, seed: int = 0) -> bytes:
    return bytes((i * 7 + seed) % 251 for i in range(n))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def registry(tmp_path, monkeypatch, body: str) -> None:
    p = tmp_path / "models.toml"
    p.write_text(body, encoding="utf-8")
    monkeypatch.setenv("AVS_STUDIO_MODELS", str(p))


def hub_model(tmp_path, monkeypatch, hub, weights_bytes, config=b'{"a": 1}\n', *, repo="org/toy", sha_w=None,
              sha_c=None, gated=False, extra=""):  # fmt: skip
    hub.add(repo, "model.safetensors", weights_bytes, lfs=True)
    hub.add(repo, "config.json", config)
    sw = sha(weights_bytes) if sha_w is None else sha_w
    sc = sha(config) if sha_c is None else sha_c
    line = lambda path, s: f'{{ path = "{path}"' + (f', sha256 = "{s}"' if s else "") + " },"  # noqa: E731
    registry(
        tmp_path,
        monkeypatch,
        f"""
[models.toy]
kind = "describer"
family = "ast"
source = "hf"
repo = "{repo}"
revision = "main"
size_mb = 1
vram_mb = 10
license = "MIT"
description = "toy"
gated = {"true" if gated else "false"}
files = [
  {line("model.safetensors", sw)}
  {line("config.json", sc)}
  {extra}
]
""",
    )


def test_hub_download_checks_hashes_records_commit_and_hits_cache(tmp_path, monkeypatch, hub, cache):
    w = payload(300_000)
    hub_model(tmp_path, monkeypatch, hub, w)
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    calls = []
    path = weights.ensure("toy", progress=lambda d, t, _file: calls.append((d, t)))
    assert path == cache / "toy"
    assert (path / "model.safetensors").read_bytes() == w and (
        path / "config.json"
    ).read_bytes() == b'{"a": 1}\n'
    assert calls[-1][0] == calls[-1][1] == len(w) + 9
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))
    prov = weights.provenance("toy")
    assert prov["commit"] == COMMIT and prov["repo"] == "org/toy"
    assert (
        prov["files"]["model.safetensors"]["sha256"] == sha(w)
        and prov["files"]["model.safetensors"]["verified"]
    )
    # the token goes to the Hub, never to the CDN host the LFS file is redirected to
    auth = {(p.split("/")[1], a) for m, p, _, a in hub.requests if m == "GET"}
    assert ("cdn", None) in auth and ("org", "Bearer hf_secret") in auth
    assert not list(path.rglob("*.part"))
    n = len(hub.requests)
    assert weights.ensure("toy") == path and len(hub.requests) == n  # cached: no request


def test_cached_files_are_rechecked_by_stamp_and_rehashed_when_changed(tmp_path, monkeypatch, hub, cache):
    w = payload(50_000)
    hub_model(tmp_path, monkeypatch, hub, w)
    weights.ensure("toy")
    hashed = []
    real = weights.file_sha256
    monkeypatch.setattr(weights, "file_sha256", lambda p: hashed.append(Path(p).name) or real(p))
    weights.ensure("toy")
    assert hashed == []  # unchanged stamps: nothing re-hashed
    f = cache / "toy" / "model.safetensors"
    f.write_bytes(b"X" + w[1:])  # same size, other bytes, new mtime
    n = len(hub.requests)
    weights.ensure("toy")
    assert "model.safetensors" in hashed and f.read_bytes() == w  # found corrupt and fetched again
    assert len(hub.requests) > n
    os.utime(f, ns=(1, 1))  # only the stamp changed: re-hashed once, accepted, re-stamped
    hashed.clear()
    weights.ensure("toy")
    weights.ensure("toy")
    assert hashed == ["model.safetensors"]


def test_hub_lfs_hash_differs_from_registry_fetches_nothing(tmp_path, monkeypatch, hub, cache):
    hub_model(tmp_path, monkeypatch, hub, payload(10_000), sha_w="ab" * 32)
    with pytest.raises(ChecksumError, match="not the registered") as err:
        weights.ensure("toy")
    assert "ab" * 32 in str(err.value) and "avs-studio models download toy" in str(err.value)
    assert hub.gets("/cdn/") == []
    assert not (cache / "toy" / "model.safetensors").exists()


def test_wrong_bytes_fail_the_registered_and_the_hub_hashes(tmp_path, monkeypatch, hub, cache):
    w = payload(20_000)
    hub_model(tmp_path, monkeypatch, hub, w)
    hub.corrupt.add("model.safetensors")
    with pytest.raises(ChecksumError, match=r"model.safetensors has sha256"):
        weights.ensure("toy")
    assert not list((cache / "toy").glob("model.safetensors*"))
    # no registered hash for the small file: the Hub's git blob id still catches corrupt bytes
    hub.corrupt = {"config.json"}
    hub_model(tmp_path, monkeypatch, hub, w, sha_c="")
    with pytest.raises(ChecksumError, match="git blob id"):
        weights.ensure("toy", allow_unverified=True)
    assert (cache / "toy" / "model.safetensors").read_bytes() == w  # the good file is kept
    assert weights.missing_files("toy") == ["config.json"]


def test_unverified_files_are_refused_unless_allowed(tmp_path, monkeypatch, hub, cache):
    hub_model(tmp_path, monkeypatch, hub, payload(1000), sha_c="")
    with pytest.raises(UnverifiedModelError) as err:
        weights.ensure("toy")
    assert err.value.files == ["config.json"] and "--allow-unverified" in str(err.value)
    assert hub.requests == []
    weights.ensure("toy", allow_unverified=True)
    files = weights.provenance("toy")["files"]
    assert files["config.json"]["verified"] is False and files["config.json"]["sha256"] == sha(b'{"a": 1}\n')
    assert weights.cache_state("toy") == "unverified"
    assert {c.path: c.status for c in weights.verify("toy")} == {
        "model.safetensors": "ok",
        "config.json": "unverified",
    }


def test_gated_repo_401_and_403_name_the_licence_page(tmp_path, monkeypatch, hub, cache):
    w = payload(5000)
    hub_model(tmp_path, monkeypatch, hub, w, repo="acme/gated", gated=True)
    hub.repos["acme/gated"].gated_token = "hf_good"
    with pytest.raises(GatedModelError) as err:
        weights.ensure("toy")
    msg = str(err.value)
    assert "HTTP 401" in msg and "https://huggingface.co/acme/gated" in msg and "HF_TOKEN" in msg
    assert "no Hugging Face token is set" in msg and "avs-studio models download toy" in msg
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    with pytest.raises(GatedModelError, match=r"HTTP 403.*has no access") as err:
        weights.ensure("toy")
    assert isinstance(err.value, ModelMissingError)  # callers that offer a download still catch it
    monkeypatch.setenv("HF_TOKEN", "hf_good")
    assert (weights.ensure("toy") / "model.safetensors").read_bytes() == w


def test_cancel_keeps_the_part_and_the_next_call_resumes(tmp_path, monkeypatch, hub, cache):
    w = payload(3_000_000)
    hub_model(tmp_path, monkeypatch, hub, w)
    event = threading.Event()
    with pytest.raises(DownloadCancelled):
        weights.ensure("toy", progress=lambda d, t, _f: event.set() if d >= 1_000_000 else None, cancel=event)
    kept = (cache / "toy" / "model.safetensors.part").stat().st_size
    assert 1_000_000 <= kept < len(w)
    seen = []
    weights.ensure("toy", progress=lambda d, t, _f: seen.append(d))
    assert (cache / "toy" / "model.safetensors").read_bytes() == w
    assert f"bytes={kept}-" in hub.gets("/cdn/") and seen[0] >= kept


def test_cut_connection_is_resumed_within_the_call(tmp_path, monkeypatch, hub, cache):
    w = payload(400_000)
    hub_model(tmp_path, monkeypatch, hub, w)
    hub.cut_after = 150_000
    weights.ensure("toy")
    assert (cache / "toy" / "model.safetensors").read_bytes() == w
    assert any(r and r.startswith("bytes=") for r in hub.gets("/cdn/"))


def test_offline_names_files_cache_and_how_to_import(tmp_path, monkeypatch, hub, cache):
    hub_model(tmp_path, monkeypatch, hub, payload(10))
    for var in ("AVS_STUDIO_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.setenv(var, "1")
        with pytest.raises(ModelMissingError) as err:
            weights.ensure("toy")
        e = err.value
        assert e.model == "toy" and e.files == ["model.safetensors", "config.json"]
        msg = str(e)
        assert f"{var} is set" in msg and str(cache / "toy") in msg
        assert "https://huggingface.co/org/toy/tree/main" in msg and "avs-studio models import PATH" in msg
        monkeypatch.delenv(var)
    assert hub.requests == []


def test_no_network_is_model_missing(tmp_path, monkeypatch, cache):
    srv = FakeHub().start()
    srv.stop()  # nothing listens on its port any more
    monkeypatch.setenv("HF_ENDPOINT", srv.url)
    registry(tmp_path, monkeypatch, '[models.toy]\nkind = "describer"\nfamily = "ast"\nsource = "hf"\n'
             'repo = "org/toy"\nfiles = [{ path = "x.bin", sha256 = "' + "0" * 64 + '" }]\n')  # fmt: skip
    with pytest.raises(ModelMissingError, match="no network") as err:
        weights.ensure("toy")
    assert err.value.files == ["x.bin"]


def test_optional_404_is_absent_and_required_404_is_named(tmp_path, monkeypatch, hub, cache):
    extra = '{ path = "processor_config.json", optional = true },'
    hub_model(tmp_path, monkeypatch, hub, payload(100), extra=extra)
    weights.ensure("toy", allow_unverified=True)
    assert weights.read_manifest(cache / "toy")["files"]["processor_config.json"] == {"absent": True}
    assert weights.missing_files("toy") == []
    hub.repos["org/toy"].files.pop("config.json")
    (cache / "toy" / "config.json").unlink()
    with pytest.raises(ModelMissingError, match="HTTP 404 for org/toy/config.json"):
        weights.ensure("toy", allow_unverified=True)


# ---------------------------------------------------------------- plain URLs (Whisper, SAM, torchvision)


def url_model(tmp_path, monkeypatch, hub, data: bytes, size: bool) -> None:
    hub.plain["w.pt"] = data
    sz = f", size = {len(data)}" if size else ""
    registry(tmp_path, monkeypatch, f'[models.toy]\nkind = "describer"\nfamily = "whisper"\nsource = "url"\n'
             f'entry = "w.pt"\nfiles = [{{ path = "w.pt", url = "{hub.url}/files/w.pt", sha256 = "{sha(data)}"{sz} }}]\n')  # fmt: skip


@pytest.mark.parametrize("size_known", [True, False])
def test_complete_part_is_accepted_not_missing_forever(tmp_path, monkeypatch, hub, cache, size_known):
    """A `.part` that already holds the whole file used to get HTTP 416 and stay "missing" forever."""
    data = payload(70_000)
    url_model(tmp_path, monkeypatch, hub, data, size_known)
    (cache / "toy").mkdir(parents=True)
    (cache / "toy" / "w.pt.part").write_bytes(data)
    assert weights.ensure("toy").read_bytes() == data
    assert hub.gets("/files/") == ([] if size_known else ["bytes=70000-"])
    assert not (cache / "toy" / "w.pt.part").exists()


def test_part_resumes_and_a_foreign_part_restarts(tmp_path, monkeypatch, hub, cache):
    data = payload(90_000)
    url_model(tmp_path, monkeypatch, hub, data, True)
    (cache / "toy").mkdir(parents=True)
    (cache / "toy" / "w.pt.part").write_bytes(data[:30_000])
    assert weights.ensure("toy").read_bytes() == data
    assert hub.gets("/files/") == ["bytes=30000-"]
    (cache / "toy" / "w.pt").unlink()
    (cache / "toy" / "w.pt.part").write_bytes(b"\0" * 100_000)  # longer than the file: not a prefix of it
    assert weights.ensure("toy").read_bytes() == data


def test_shipped_registry_is_consistent(monkeypatch):
    monkeypatch.delenv("AVS_STUDIO_MODELS", raising=False)
    reg = weights.load_registry()
    expected = {
        "grounding-dino-tiny",
        "sam-vit-b",
        "sam-vit-h",
        "sam2.1-hiera-tiny",
        "ast-audioset",
        "clap-htsat",
    }
    assert expected | {"whisper-tiny", "all-minilm-l6-v2"} <= set(reg)
    for spec in reg.values():
        assert spec.kind and spec.family and spec.license and spec.files and spec.size_mb and spec.vram_mb
        assert spec.source in ("hf", "url") and (spec.source == "url" or spec.repo)
        for f in spec.files:
            assert f.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", f.sha256), (spec.name, f.path)
            assert spec.source == "hf" or f.url.startswith("https://")
        if spec.entry:
            assert spec.entry in [f.path for f in spec.files]
    for size in ("tiny", "base", "small"):  # openai-whisper URLs carry the file's sha256
        f = reg[f"whisper-{size}"].files[0]
        assert f.url.split("/")[-2] == f.sha256
    for name in ("sam-vit-b", "sam-vit-l", "sam-vit-h"):  # the name carries the md5's first digits
        f = reg[name].files[0]
        assert f.sha256 and f.size and f.name_hash in f.path
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    hf = reg["grounding-dino-tiny"]
    assert hf.file_url(hf.files[0]).startswith(
        "https://huggingface.co/IDEA-Research/grounding-dino-tiny/resolve/"
    )


def test_models_command(tmp_path, monkeypatch, hub, cache, capsys):
    from avs_studio.cli import main

    w = payload(3000)
    hub_model(tmp_path, monkeypatch, hub, w, sha_c="")
    assert main(["models", "list"]) == 0
    assert re.search(r"^toy\s+describer\s+1 MB\s+10 MB\s+MIT\s+no  \(no sha256 for some files\)$",
                     capsys.readouterr().out, re.M)  # fmt: skip
    assert main(["models", "download", "toy"]) == 1
    assert "--allow-unverified" in capsys.readouterr().err
    assert main(["models", "download", "toy", "--allow-unverified"]) == 0
    out = capsys.readouterr().out
    assert "downloaded toy" in out and f"commit {COMMIT}" in out and "not verified" in out
    assert main(["models", "info", "toy", "--json"]) == 0
    assert f'"commit": "{COMMIT}"' in capsys.readouterr().out
    assert main(["models", "verify", "toy", "--record"]) == 0
    assert f'{{ path = "model.safetensors", sha256 = "{sha(w)}", size = 3000 }},' in capsys.readouterr().out
    (cache / "toy" / "model.safetensors").write_bytes(b"corrupt" + w[7:])
    assert main(["models", "verify"]) == 1
    assert re.search(r"mismatch\s+model.safetensors", capsys.readouterr().out)
    monkeypatch.setenv("AVS_STUDIO_OFFLINE", "1")
    (cache / "toy" / "model.safetensors").unlink()
    assert main(["models", "download", "toy"]) == 1
    err = capsys.readouterr().err
    assert "toy" in err and "AVS_STUDIO_OFFLINE is set" in err and "avs-studio models import PATH" in err
    assert "Download them with" not in err  # never offer a download that cannot work


def test_every_registered_hub_file_is_in_the_recorded_listing_of_its_repo():
    """avs_studio/resources/models.toml against tests/data/hub_listings.json (where each listing came from is recorded
    there): a registered file the repo does not have (CLAP's model.safetensors) cannot slip in again."""
    import json

    listings = json.loads((Path(__file__).parents[2] / "data" / "hub_listings.json").read_text())["repos"]
    hub = [s for s in weights.load_registry().values() if s.source == "hf"]
    assert {s.repo for s in hub} <= set(listings), "record the listing of every registered repo"
    unknown = []
    for spec in hub:
        listing = listings[spec.repo]
        assert listing["source"] and all(
            how in ("listing", "copy", "fetched", "reported", "inferred") for how in listing["files"].values()
        )
        for f in spec.files:
            assert f.path not in listing["absent"], f"{spec.name}: {spec.repo} has no {f.path} on main"
            if f.path not in listing["files"]:
                unknown.append(f"{spec.name}: {f.path}")
    assert unknown == []
    assert "pytorch_model.bin" in [f.path for f in weights.get_spec("clap-htsat").files]
