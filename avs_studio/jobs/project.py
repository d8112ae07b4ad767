"""Projects: a folder with a marker file, a media store and (by default) a SQLite database."""

from __future__ import annotations

import math
import os
import shutil
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from avs_studio.atomic import write_text
from avs_studio.media import MediaError, probe
from avs_studio.names import check_optional
from avs_studio.store import Store, VideoRow, check_database_url

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

    @property
    def read_only(self) -> str:
        """Why the project is read-only here ("" = writable): reading, status and export still work."""
        return self.store.read_only

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class AddReport:
    added: list[tuple[str, int]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why): not a video, unreadable
    existing: list[tuple[str, int, str]] = field(default_factory=list)  # (path, video id, why the same)


def is_project(path: str | os.PathLike[str]) -> bool:
    return (Path(path) / MARKER).is_file()


def _write_marker(project_dir: Path, database_url: str | None) -> None:
    data: dict[str, Any] = {"format": FORMAT}
    if database_url:
        data["database_url"] = database_url
    write_text(project_dir / MARKER, tomli_w.dumps(data))


def _read_marker(project_dir: Path) -> dict[str, Any]:
    path = project_dir / MARKER
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ProjectError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{path} is not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ProjectError(f"{path} cannot be read ({exc.strerror or exc})") from exc
    fmt, url = data.get("format", FORMAT), data.get("database_url")
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise ProjectError(f"{path}: 'format' must be a whole number like {FORMAT}, not {fmt!r}")
    if url is not None and (not isinstance(url, str) or not url.strip()):
        raise ProjectError(f"{path}: 'database_url' must be a URL in quotes, not {url!r}")
    return data


def _store_url(project_dir: Path, database_url: str | None, marker: dict[str, Any]) -> str | None:
    url = database_url or marker.get("database_url") or os.environ.get("AVS_STUDIO_DATABASE_URL")
    return url or None


def init_project(project_dir: str | os.PathLike[str], database_url: str | None = None) -> Project:
    """Create a project folder (or adopt an empty/existing non-project folder) and its database."""
    path = Path(project_dir).expanduser().resolve()
    if is_project(path):
        raise ProjectError(f"{path} is already a project; open it instead")
    if path.exists() and not path.is_dir():
        raise ProjectError(f"{path} is a file, not a folder; choose another place for the project")
    if database_url:
        check_database_url(database_url)  # a bad URL leaves no half-made folder behind
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    try:
        (path / "media").mkdir(exist_ok=True)
        store = Store.for_project(path, url=database_url)
    except BaseException:
        if created:  # only what this call made: the folder, media/, a new database file
            shutil.rmtree(path, ignore_errors=True)
        raise
    _write_marker(path, database_url)
    return Project(path, store)


def _not_writable(path: Path, db_file: Path | None) -> str:
    """Why the project's SQLite database cannot be written here ("" when it can; a server database is
    the server's business). SQLite in WAL mode also writes beside the file, in the project folder."""
    for p in () if db_file is None else (path, db_file):
        if p.exists() and not os.access(p, os.W_OK):
            return f"no write permission on {p}"
    return ""


def open_project(
    project_dir: str | os.PathLike[str], database_url: str | None = None, *, read_only: bool | None = None
) -> Project:
    """Open a project. ``read_only``: None = read-only when its folder or database file cannot be
    written (status and export still work); True = never write; False = writable or an error."""
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
    url = _store_url(path, database_url, marker)
    db_file = None if url else path / DB_NAME
    if db_file is not None and not db_file.is_file():
        raise ProjectError(
            f"{path} is a project but its database {db_file} is missing (moved, deleted or not synced yet). "
            f"Restore it from a backup; AVS Studio will not start an empty database in its place."
        )
    why = _not_writable(path, db_file) if read_only is None else ("opened read-only" if read_only else "")
    store = Store.for_project(path, url=url, read_only=why or False)
    return Project(path, store)


def add_videos(
    project: Project,
    paths: Iterable[str | os.PathLike[str]],
    split: str | None = None,
    category: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> AddReport:
    """Probe and register video files; undecodable files are reported by name and skipped.

    A file the project has already (the same file under another spelling, or the same content by
    sha256) is reported in ``existing``, not added twice. Paths may be relative to the current folder.
    """
    split = check_optional(split, "split")
    category = check_optional(category, "category")
    report = AddReport()
    files = [Path(os.path.abspath(Path(p).expanduser())) for p in paths]
    known = {v.id: v for v in project.store.videos()}
    by_hash = {v.sha256: v for v in known.values() if v.sha256}
    for i, path in enumerate(files):
        try:
            info = probe(path)
        except MediaError as exc:
            report.skipped.append((str(path), str(exc)))
        else:
            same = by_hash.get(info.sha256)
            if same is not None and os.path.abspath(same.path) != str(path):
                report.existing.append((str(path), same.id, f"same content as video {same.id} ({same.path})"))
            else:
                meta = {"variable_frame_rate": info.variable_frame_rate}
                video_id = project.store.add_video(info, split=split, category=category, meta=meta)
                if video_id in known:
                    report.existing.append((str(path), video_id, f"already video {video_id}"))
                else:
                    known[video_id] = project.store.video(video_id)
                    by_hash[info.sha256] = known[video_id]
                    report.added.append((str(path), video_id))
        if progress:
            progress(i + 1, len(files), str(path))
    return report


def missing_videos(project: Project) -> list[VideoRow]:
    """Videos whose file is not where the project says (moved or on a drive not mounted): relink them."""
    return [v for v in project.store.videos() if not Path(v.path).is_file()]


def keyframes(video: VideoRow, rate: float | None = None) -> list[int]:
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


def project_status(project: Project) -> list[dict[str, Any]]:
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
                "keyframes": len(keyframes(v))
                if Path(v.path).is_file() or not v.meta.get("variable_frame_rate")
                else None,
                "missing": not Path(v.path).is_file(),
                "annotations": counts,
            }
        )
    return rows
