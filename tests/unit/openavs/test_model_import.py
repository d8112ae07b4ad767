"""Models without a network: every missing model named at once (sizes, cache, where to get them), and
`models import PATH` for the folder and file layouts people bring (hashes checked, nothing half-copied)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from avs_studio.openavs import model_import, weights
from avs_studio.openavs.model_import import ImportModelError, ModelsMissingError

W = bytes(range(256)) * 40
CFG = b'{"hidden": 8}\n'
CKPT = b"checkpoint-bytes" * 100


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


@pytest.fixture
def reg(tmp_path, monkeypatch):
    monkeypatch.setenv("AVS_STUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AVS_STUDIO_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    p = tmp_path / "models.toml"
    p.write_text(
        f"""
[models.det]
kind = "segmenter"
family = "grounding-dino"
source = "hf"
repo = "org/det"
size_mb = 2
vram_mb = 1
license = "MIT"
files = [
  {{ path = "model.safetensors", sha256 = "{sha(W)}", size = {len(W)} }},
  {{ path = "config.json", sha256 = "{sha(CFG)}" }},
  {{ path = "extra.json", optional = true, sha256 = "{sha(b"{}")}" }},
]

[models.ckpt]
kind = "describer"
family = "whisper"
source = "url"
entry = "tiny.pt"
size_mb = 1
vram_mb = 1
license = "MIT"
files = [{{ path = "tiny.pt", url = "https://example.invalid/tiny.pt", sha256 = "{sha(CKPT)}" }}]

[models.loose]
kind = "embedder"
family = "sentence-transformers"
source = "hf"
repo = "org/loose"
size_mb = 3
vram_mb = 1
license = "MIT"
files = [{{ path = "model.safetensors" }}]
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("AVS_STUDIO_MODELS", str(p))
    return tmp_path


def folder(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_offline_names_every_missing_model_with_sizes_and_import_help(reg, monkeypatch):
    monkeypatch.setenv("AVS_STUDIO_OFFLINE", "1")
    with pytest.raises(ModelsMissingError) as err:
        model_import.require_models(["det", "ckpt", "det"], what="profile 'default'")
    msg = str(err.value)
    assert [m.name for m in err.value.missing] == ["det", "ckpt"]
    assert "profile 'default' needs 2 models" in msg and str(weights.cache_dir()) in msg
    assert "det  2.0 MB" in msg and "https://huggingface.co/org/det/tree/main" in msg
    assert "ckpt  1.0 MB" in msg and "https://example.invalid/tiny.pt" in msg
    assert "avs-studio models import PATH" in msg and "AVS_STUDIO_OFFLINE is set" in msg
    assert "Download them with" not in msg  # offline: no download offered
    monkeypatch.delenv("AVS_STUDIO_OFFLINE")
    model_import.require_models(["det", "ckpt"])  # online and all hashes registered: the task may download
    with pytest.raises(ModelsMissingError, match="--allow-unverified") as err:
        model_import.require_models(["det", "loose"])
    assert [m.name for m in err.value.missing] == ["loose"]


def test_import_a_cache_folder_from_another_machine(reg, tmp_path, monkeypatch):
    other = folder(tmp_path / "usb" / "det", {"model.safetensors": W, "config.json": CFG, "junk.txt": b"x"})
    (other / weights.MANIFEST).write_text('{"model": "det", "commit": "' + "c" * 40 + '"}')
    report = model_import.import_model(other)
    assert report.model == "det" and sorted(report.files) == ["config.json", "model.safetensors"]
    assert report.path == weights.cache_dir() / "det"
    monkeypatch.setenv("AVS_STUDIO_OFFLINE", "1")
    assert weights.ensure("det") == weights.cache_dir() / "det"  # usable offline now
    assert not (weights.cache_dir() / "det" / "junk.txt").exists()
    prov = weights.provenance("det")
    assert prov["commit"] == "c" * 40 and prov["imported_from"] == str(other)
    assert prov["files"]["model.safetensors"]["verified"] and prov["files"]["extra.json"] == {"absent": True}


def test_import_a_hugging_face_cache_snapshot_with_symlinks(reg, tmp_path):
    repo = tmp_path / "hf" / "models--org--det"
    commit = "a" * 40
    blobs = folder(repo / "blobs", {sha(W): W, "cfgblob": CFG})
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True)
    (snap / "model.safetensors").symlink_to(blobs / sha(W))
    (snap / "config.json").symlink_to(blobs / "cfgblob")
    folder(repo / "refs", {"main": commit.encode()})
    report = model_import.import_model(repo)
    assert report.model == "det" and report.commit == commit
    cached = weights.cache_dir() / "det" / "model.safetensors"
    assert cached.read_bytes() == W and not cached.is_symlink()
    assert weights.provenance("det")["commit"] == commit


def test_import_a_single_checkpoint_file_and_a_plain_folder_by_hash(reg, tmp_path):
    f = tmp_path / "downloads" / "tiny.pt"
    folder(f.parent, {"tiny.pt": CKPT})
    assert model_import.import_model(f).path == weights.cache_dir() / "ckpt" / "tiny.pt"
    plain = folder(tmp_path / "some-name", {"model.safetensors": W, "config.json": CFG})
    assert model_import.import_model(plain).model == "det"  # recognised by its files' hashes


def test_wrong_hash_imports_nothing(reg, tmp_path):
    bad = folder(tmp_path / "det", {"model.safetensors": W, "config.json": b'{"hidden": 9}\n'})
    with pytest.raises(weights.ChecksumError, match="config.json has sha256"):
        model_import.import_model(bad)
    cache = weights.cache_dir() / "det"
    assert not any(p.is_file() and p.name != ".lock" for p in cache.rglob("*"))  # not even the good file
    short = folder(tmp_path / "short" / "det", {"model.safetensors": W[:-1], "config.json": CFG})
    with pytest.raises(weights.ChecksumError, match="bytes"):
        model_import.import_model(short)


def test_unverified_files_need_the_flag_and_unclear_folders_need_a_name(reg, tmp_path):
    loose = folder(tmp_path / "loose", {"model.safetensors": b"weights"})
    with pytest.raises(weights.UnverifiedModelError, match=r"models import .* --allow-unverified"):
        model_import.import_model(loose)
    report = model_import.import_model(loose, allow_unverified=True)
    assert report.unverified == ["model.safetensors"]
    assert weights.provenance("loose")["files"]["model.safetensors"]["verified"] is False
    unknown = folder(tmp_path / "mystery", {"weights.bin": b"?"})
    with pytest.raises(ImportModelError, match="--name NAME"):
        model_import.import_model(unknown)
    with pytest.raises(ImportModelError, match="lacks config.json"):
        model_import.import_model(folder(tmp_path / "half", {"model.safetensors": W}), name="det")


def test_models_import_command(reg, tmp_path, capsys):
    from avs_studio.cli import main

    src = folder(tmp_path / "det", {"model.safetensors": W, "config.json": CFG})
    assert main(["models", "import", str(src)]) == 0
    assert "imported det: 2 file(s) copied" in capsys.readouterr().out
    assert main(["models", "import", str(tmp_path / "nowhere")]) == 1
    assert "neither a file nor a folder" in capsys.readouterr().err
    os.environ.pop("AVS_STUDIO_OFFLINE", None)


def test_propose_offline_names_every_model_of_the_profile_before_any_work(tmp_path, monkeypatch, capsys):
    from avs_studio.cli import main
    from avs_studio.openavs import load_config

    monkeypatch.delenv("AVS_STUDIO_MODELS", raising=False)
    monkeypatch.setenv("AVS_STUDIO_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("AVS_STUDIO_OFFLINE", "1")
    names = weights.config_models(load_config("offline"))
    assert len(names) >= 3
    assert main(["init", str(tmp_path / "p")]) == 0
    capsys.readouterr()
    assert main(["propose", str(tmp_path / "p"), "--config", "offline"]) == 1
    err = capsys.readouterr().err
    assert f"profile offline needs {len(names)} models" in err and str(tmp_path / "empty-cache") in err
    for name in names:
        spec = weights.get_spec(name)
        assert f"  {name}  {weights.human_size(spec.bytes)}" in err
    assert "avs-studio models import PATH" in err and "Download them with" not in err
