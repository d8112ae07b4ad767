"""Projects: a folder with a marker file, a media store and (by default) a SQLite database."""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from avs_studio.atomic import write_text
from avs_studio.media import MediaError, probe
from avs_studio.store import Store

MARKER = "avs-project.toml"
DB_NAME = "project.db"
FORMAT = 1


class ProjectError(Exception):
    """A folder is not a project, or a project cannot be opened."""


@dataclass
class Project:
    dir: Path
    store: Store

    @property
    def media_dir(self) -> Path:
        return self.dir / "media"

    @property
    def models_dir(self) -> Path:
        return self.dir / "models"

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class AddReport:
    added: list[tuple[str, int]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def is_project(path: str | os.PathLike) -> bool:
    return (Path(path) / MARKER).is_file()


def _write_marker(project_dir: Path, database_url: str | None) -> None:
    data: dict = {"format": FORMAT}
    if database_url:
        data["database_url"] = database_url
    write_text(project_dir / MARKER, tomli_w.dumps(data))


def _read_marker(project_dir: Path) -> dict:
    try:
        return tomllib.loads((project_dir / MARKER).read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{project_dir / MARKER} is not valid TOML: {exc}") from exc


def _store_url(project_dir: Path, database_url: str | None, marker: dict) -> str | None:
    url = database_url or marker.get("database_url") or os.environ.get("AVS_STUDIO_DATABASE_URL")
    return url or None


def init_project(project_dir: str | os.PathLike, database_url: str | None = None) -> Project:
    """Create a project folder (or adopt an empty/existing non-project folder) and its database."""
    path = Path(project_dir).expanduser().resolve()
    if is_project(path):
        raise ProjectError(f"{path} is already a project; open it instead")
    path.mkdir(parents=True, exist_ok=True)
    (path / "media").mkdir(exist_ok=True)
    store = Store.for_project(path, url=database_url)
    _write_marker(path, database_url)
    return Project(path, store)


def open_project(project_dir: str | os.PathLike, database_url: str | None = None) -> Project:
    path = Path(project_dir).expanduser().resolve()
    if not path.is_dir():
        raise ProjectError(f"{path} does not exist; create it with `avs-studio init {path}`")
    if not is_project(path):
        raise ProjectError(
            f"{path} is not an AVS Studio project (no {MARKER}); create one with `avs-studio init {path}`"
        )
    marker = _read_marker(path)
    if marker.get("format", FORMAT) > FORMAT:
        raise ProjectError(f"{path} was made by a newer AVS Studio (format {marker['format']}); upgrade")
    store = Store.for_project(path, url=_store_url(path, database_url, marker))
    return Project(path, store)


def add_videos(
    project: Project,
    paths: Iterable[str | os.PathLike],
    split: str | None = None,
    category: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> AddReport:
    """Probe and register video files; undecodable files are reported by name and skipped."""
    report = AddReport()
    paths = [Path(p).expanduser() for p in paths]
    for i, path in enumerate(paths):
        try:
            info = probe(path)
        except MediaError as exc:
            report.skipped.append((str(path), str(exc)))
        else:
            meta = {"variable_frame_rate": info.variable_frame_rate}
            video_id = project.store.add_video(info, split=split, category=category, meta=meta)
            report.added.append((str(path), video_id))
        if progress:
            progress(i + 1, len(paths), str(path))
    return report


def keyframes(video, rate: float | None = None) -> list[int]:
    """AVSBench keyframes: the first frame at or after each 1/rate seconds (rate defaults to the video's)."""
    rate = rate or video.keyframe_rate or 1.0
    if (video.meta or {}).get("variable_frame_rate"):
        from avs_studio.media import VideoReader  # timestamps are not fps * t: ask the file

        with VideoReader(video.path) as reader:
            return reader.keyframe_indices(rate)
    fps = video.fps
    step = fps / rate
    count = video.frame_count
    frames: list[int] = []
    k = 0
    while True:
        idx = math.ceil(k * step - 1e-6)
        if idx >= count:
            break
        if not frames or idx != frames[-1]:
            frames.append(idx)
        k += 1
    return frames


def project_status(project: Project) -> list[dict]:
    rows = []
    for v in project.store.videos():
        counts = project.store.counts(v.id)
        rows.append(
            {
                "id": v.id,
                "path": v.path,
                "name": v.name,
                "frames": v.frame_count,
                "fps": v.fps,
                "duration": v.duration,
                "has_audio": v.has_audio,
                "split": v.split,
                "category": v.category,
                "keyframes": len(keyframes(v)),
                "annotations": counts,
            }
        )
    return rows
