"""QueueController: Review ▸ Next most uncertain (U) walks ``jobs.review_queue``: the unreviewed keyframes
ranked by the student's disagreement with OpenAVS and its uncertainty.

The ranking runs the student, so it is computed once as a job on the inference worker and reused; it is
computed again when the student it came from changes (another engine chosen, a retrain that rewrote its
model file, another project). Each press goes to the next ranked keyframe that nobody has reviewed
since (``jobs.review_queue.next_in_queue``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from avs_studio.jobs.engine import student_path
from avs_studio.jobs.review_queue import QueueError, QueueItem, ReviewQueue, next_in_queue, queue_student
from avs_studio.session.controller import Controller
from avs_studio.session.navigation_controller import NavigationController
from avs_studio.session.runners import Runner, Worker
from avs_studio.session.state import AnnotationSession

NO_STUDENT = (
    "The review queue ranks frames by what a student model is unsure of, and this project has none yet: "
    "train one with Train ▸ Train student model… (it learns from the frames you accepted), then press "
    "Next most uncertain again."
)
QueueKey = tuple[str, str, float]  # (project folder, student name, its model file's mtime)


class QueueController(Controller):
    def __init__(
        self, session: AnnotationSession, writer: Runner, worker: Worker, navigation: NavigationController
    ) -> None:
        super().__init__(session, writer)
        self.worker = worker
        self.navigation = navigation
        self.queue: ReviewQueue | None = None
        self._key: QueueKey | None = None  # what ``queue`` was computed for
        self._computing: QueueKey | None = None  # a ranking job is running for this key
        self._job: int | None = None  # its job id
        self._last: tuple[int, int] | None = None  # the (video id, frame) the walk went to last
        self.events.project_changed.connect(self.invalidate)
        self.events.engine_changed.connect(lambda _engine: self.invalidate())

    def invalidate(self) -> None:
        """Forget the ranking (the next press computes it again)."""
        self.queue, self._key, self._last = None, None, None

    def _current_key(self) -> QueueKey:
        """Which student ranks now (QueueError: none); its model file's mtime tells a retrain apart."""
        project = self.session.project
        assert project is not None
        name = queue_student(project)
        try:
            mtime = student_path(project, name).stat().st_mtime
        except OSError:
            mtime = 0.0
        return (str(project.dir), name, mtime)

    def next_uncertain(self) -> int | None:
        """U: go to the next most uncertain unreviewed keyframe; the first press (or one after the
        student changed) ranks them first, as a job. Returns the job id when one was started."""
        if self.session.project is None:
            return None
        try:
            key = self._current_key()
        except QueueError:
            self.events.error.emit("No review queue yet", NO_STUDENT)
            return None
        if self.queue is not None and self._key == key:
            self.walk()
            return None
        if self._computing == key:
            self.say("Ranking the unreviewed keyframes with the student…", 3000)
            return None
        return self._rank(key)

    def _rank(self, key: QueueKey) -> int:
        project, name = self.session.project, key[1]
        assert project is not None
        self._computing = key

        def job(progress: Callable[..., None], cancel: Any, _on_clip: Callable[..., None]) -> ReviewQueue:
            from avs_studio.jobs.review_queue import review_queue

            return review_queue(project, name, progress=progress, cancel=cancel)

        def done(queue: ReviewQueue) -> None:
            if self._computing != key or self.session.project is not project:
                return  # the project or the student changed meanwhile
            self._computing = None
            if queue.cancelled:
                self.say("Ranking cancelled", 3000)
                return
            self.queue, self._key, self._last = queue, key, None
            for error in queue.errors:
                self.say(f"Not ranked: {error}", 8000)
            self.walk()

        self.say(f"Ranking the unreviewed keyframes with student {name}…", 5000)
        self._job = self.worker.start_job(f"Review queue (student {name})", job, done)
        return self._job

    def job_finished(self, job_id: int, state: str) -> None:
        """A job ended: if it was the ranking and it failed or was cancelled, the next press tries again
        (the job's own message says why)."""
        if job_id == self._job and state != "done":
            self._computing = self._job = None

    def walk(self) -> QueueItem | None:
        """Go to the ranked keyframe after the one the walk went to last (a fresh ranking: the top one),
        skipping those reviewed since; None (and a message) when none is left."""
        s, queue = self.session, self.queue
        if s.project is None or queue is None:
            return None
        item = next_in_queue(s.project, queue, self._last)
        if item is None:
            self.say(
                f"Every keyframe in the review queue ({len(queue.items)}) is reviewed; retrain the student "
                "to rank the rest again",
                6000,
            )
            return None
        self._last = (item.video_id, item.frame)
        self.navigation.open_video(item.video_id)
        self.navigation.seek(item.frame)
        rank = next(i for i, q in enumerate(queue.items) if (q.video_id, q.frame) == self._last) + 1
        why = "" if item.disagreement is None else f", disagrees with OpenAVS {item.disagreement:.0%}"
        self.say(
            f"Most uncertain #{rank} of {len(queue.items)}: {item.video} frame {item.frame + 1} "
            f"(score {item.score:.2f}{why})",
            6000,
        )
        return item
