"""The Jobs dock wired to the job runners: a row per job with its progress, cancel, and what a job's
output and end change in the window."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from avs_studio.gui.main_window import MainWindow


class JobsView:
    def __init__(self, window: MainWindow) -> None:
        self.window = w = window
        for runner in (w.worker, w.io):
            runner.job_started.connect(w.jobs_panel.add_job)
            runner.job_progress.connect(w.jobs_panel.update_job)
            runner.job_finished.connect(self.finished)
        w.worker.job_clip.connect(lambda _job, payload: w.controllers.job_output(payload))
        w.jobs_panel.cancel_requested.connect(self.cancel)

    def finished(self, job_id: int, state: str, message: str) -> None:
        w = self.window
        w.jobs_panel.finish_job(job_id, state, message)
        if state == "failed":
            w.show_error("A job failed", message)
        w.project_panel.refresh()  # a job may have changed any video's counts
        w.proposals.job_finished()
        w.review_queue.job_finished(job_id, state)

    def cancel(self, job_id: int) -> None:
        self.window.worker.cancel_job(job_id)
        self.window.io.cancel_job(job_id)
