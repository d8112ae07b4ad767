"""Layout paths are exactly those the official AVSBench loaders open."""

from __future__ import annotations

from avs_studio.io import avsbench as layout


def test_s4_paths():
    row = {"name": "abc_1", "start_time": "3", "category": "dog", "split": "val"}
    assert layout.frame_relpath("s4", row, 0) == "visual_frames/val/dog/abc_1/abc_1_1.png"
    assert layout.mask_relpath("s4", row, 4) == "gt_masks/val/dog/abc_1/abc_1_5.png"
    assert layout.audio_relpath("s4", row) == "audio_wav/val/dog/abc_1.wav"
    assert layout.expected_masks("s4", row) == [0, 1, 2, 3, 4]
    assert layout.expected_masks("s4", {**row, "split": "train"}) == [0]
    assert layout.CSV_COLUMNS["s4"][0] == "name" and layout.CSV_COLUMNS["s4"][2] == "category"  # iloc[0], [2]


def test_ms3_paths():
    row = {"name": "xyz", "split": "test"}
    assert layout.frame_relpath("ms3", row, 2) == "visual_frames/xyz/xyz.mp4_3.png"
    assert layout.mask_relpath("ms3", row, 2) == "gt_masks/test/xyz/xyz_3.png"
    assert layout.audio_relpath("ms3", row) == "audio_wav/test/xyz.wav"
    assert layout.expected_masks("ms3", {**row, "split": "train"}) == [0, 1, 2, 3, 4]


def test_avss_paths():
    row = {
        "vid": "v",
        "uid": "u_1",
        "s_min": "0",
        "s_sec": "5",
        "a_obj": "dog",
        "split": "train",
        "label": "v2",
    }
    assert layout.frame_relpath("avss", row, 9) == "v2/u_1/frames/9.jpg"
    assert layout.mask_relpath("avss", row, 0) == "v2/u_1/labels_rgb/0.png"
    assert layout.audio_relpath("avss", row) == "v2/u_1/audio.wav"
    assert layout.frame_count("avss", row) == 10 and layout.frame_count("avss", {**row, "label": "v1m"}) == 5
    assert layout.expected_masks("avss", {**row, "label": "v1s"}) == [0]


def test_csv_writer_and_reader(tmp_path):
    rows = [{"name": "a", "split": "train"}, {"name": "b", "split": "test"}]
    with layout.CsvWriter(tmp_path, "ms3") as w:
        for r in rows:
            w.write(r)
    assert (tmp_path / "ms3_meta_data.csv").read_text().splitlines()[0] == "name,split"
    assert layout.read_csv_rows(tmp_path, "ms3") == rows
