"""`avs-studio assign / unassign / status --by-annotator` end to end on a project with real videos."""

from __future__ import annotations

import json

import numpy as np

from avs_studio.cli import main
from avs_studio.jobs import add_videos, init_project, open_project
from tests.helpers.media_factory import make_video


def test_assign_and_status_by_annotator(tmp_path, capsys):
    media = [
        make_video(
            tmp_path / f"v{i}.mp4", frames=20, fps=10, size=(32, 24), tone_schedule=[300 + 100 * i] * 2
        )
        for i in range(4)
    ]
    with init_project(tmp_path / "p") as p:
        add_videos(p, media[:3], split="train")
        add_videos(p, media[3:], split="val")
    proj = str(tmp_path / "p")

    assert main(["assign", proj, "--to", "alice", "--count", "2"]) == 0
    assert "assigned 2 video(s) to alice: 1, 2 (2 in all)" in capsys.readouterr().out
    assert main(["assign", proj, "--to", "bob", "--split", "val"]) == 0
    assert "to bob: 4 (1 in all)" in capsys.readouterr().out
    assert main(["assign", proj, "--to", "bob", "--video", "2"]) == 1
    assert "video 2 (alice)" in capsys.readouterr().err
    assert main(["assign", proj, "--to", "bob"]) == 1
    assert "say which videos" in capsys.readouterr().err

    with open_project(proj) as p:  # alice reviews both keyframes of video 1
        for frame in (0, 10):
            p.store.put_annotation(
                1, frame, None, np.zeros((24, 32), bool), source="proposal", status="accepted"
            )
    assert main(["status", proj, "--by-annotator"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["annotator", "videos", "done", "keyframes", "reviewed", "to", "review", "%"]
    assert lines[1].split() == ["alice", "2", "1", "4", "2", "0", "50.0"]
    assert lines[2].split() == ["bob", "1", "0", "2", "0", "0", "0.0"]
    assert lines[3].split() == ["(unassigned)", "1", "0", "2", "0", "0", "0.0"]
    assert main(["status", proj, "--by-annotator", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["annotators"]
    assert [(r["annotator"], r["video_ids"]) for r in rows] == [
        ("alice", [1, 2]),
        ("bob", [4]),
        ("(unassigned)", [3]),
    ]

    assert main(["status", proj, "--json"]) == 0
    videos = json.loads(capsys.readouterr().out)["videos"]
    assert [v["assigned_to"] for v in videos] == ["alice", "alice", None, "bob"]
    assert main(["status", proj]) == 0
    assert "v3.mp4  [bob]" in capsys.readouterr().out

    assert main(["unassign", proj, "--from", "alice"]) == 0
    assert "released 2 video(s)" in capsys.readouterr().out
    with open_project(proj) as p:
        assert [(a.video_id, a.annotator) for a in p.store.assignments.rows()] == [(4, "bob")]
