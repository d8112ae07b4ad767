"""`avs-studio import-avsbench / export / eval` end to end on generated AVSBench folders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from avs_studio.cli import main
from avs_studio.io import avsbench as layout
from avs_studio.masks import metrics
from tests.helpers.avsbench_factory import make_avss, make_s4

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args) -> int:
    return main([str(a) for a in args])


def test_import_export_eval_s4(tmp_path, capsys):
    lay = make_s4(tmp_path / "s4", defects=("malformed_row",))
    proj = tmp_path / "proj"
    assert run_cli("init", proj) == 0
    assert run_cli("import-avsbench", proj, lay.root, "--subset", "s4", "--split", "val,test") == 0
    out = capsys.readouterr()
    assert "2 videos added" in out.out
    assert f"skipped {lay.root / 's4_meta_data.csv'}:6" in out.err
    assert run_cli("import-avsbench", proj, lay.root, "--subset", "s4") == 0  # adds the train clips only
    assert "2 videos added, 2 already there" in capsys.readouterr().out

    rel = tmp_path / "rel"
    assert run_cli("export", proj, rel, "--format", "avsbench-s4") == 0
    by_name = lambda rows: sorted(rows, key=lambda r: r["name"])  # noqa: E731 - import order differs
    assert by_name(layout.read_csv_rows(rel, "s4")) == by_name(lay.rows)
    capsys.readouterr()
    assert run_cli("export", proj, rel, "--format", "coco") == 1  # not empty, no --force
    assert "--force" in capsys.readouterr().err
    assert (
        run_cli("export", proj, rel, "--format", "coco", "--force", "--resplit", "0.5,0.5,0", "--seed", "3")
        == 0
    )
    manifest = json.loads((rel / "manifest.json").read_text())
    assert manifest["format"] == "coco" and manifest["resplit"]["seed"] == 3
    assert set(manifest["counts"]["frames_by_split"]) <= {"train", "val"}

    # eval: the GT masks of the export against themselves and against a blank prediction
    gt = tmp_path / "s4" / "gt_masks"
    capsys.readouterr()
    assert run_cli("eval", gt, gt, "--json") == 0
    perfect = json.loads(capsys.readouterr().out)
    assert perfect["miou"] == 1.0 and perfect["frames"] == 12
    blank = tmp_path / "blank"
    videos = []
    for p in sorted(gt.rglob("*.png")):
        target = blank / p.relative_to(gt)
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((48, 64), np.uint8)).save(target)
    from avs_studio.io.evalfolders import iter_video_pairs

    videos = [(p, g) for _, p, g in iter_video_pairs(blank, gt)]
    assert run_cli("eval", blank, gt, "--json") == 0
    res = json.loads(capsys.readouterr().out)
    assert res == metrics.evaluate_binary(videos) and res["miou"] < 0.2
    assert run_cli("eval", blank, gt) == 0
    assert capsys.readouterr().out.startswith(f"mIoU {res['miou']:.4f}  F-score {res['fscore']:.4f}")
    next(blank.rglob("*_1.png")).unlink()
    assert run_cli("eval", blank, gt) == 1
    assert "no prediction for ground-truth frame" in capsys.readouterr().err


def test_avss_round_trip_through_the_console_script(tmp_path):
    lay = make_avss(tmp_path / "avss")
    proj, out = tmp_path / "proj", tmp_path / "out"
    for args in (
        ["init", proj],
        ["import-avsbench", proj, lay.root, "--subset", "avss"],
        ["export", proj, out, "--format", "avss"],
        ["eval", lay.root, out, "--task", "semantic", "--json"],
    ):
        res = subprocess.run(
            [sys.executable, "-m", "avs_studio", *map(str, args)], capture_output=True, text=True, cwd=ROOT
        )
        assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["miou"] > 0  # labels_rgb PNGs of the export against the originals
    assert layout.read_csv_rows(out, "avss") == layout.read_csv_rows(lay.root, "avss")
    assert json.loads((out / "label2idx.json").read_text()) == json.loads(
        (lay.root / "label2idx.json").read_text()
    )
