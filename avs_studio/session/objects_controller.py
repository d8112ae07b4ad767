"""ObjectsController: the sounding objects of the video: select (1…9 or the list), add, rename, hide,
lock, merge, delete. Each change is one store call on the writer."""

from __future__ import annotations

from avs_studio.jobs.editing import delete_object
from avs_studio.session.controller import Controller


class ObjectsController(Controller):
    def select(self, object_id: int | None) -> None:
        """The object list's selection (the list already shows it)."""
        self.session.select(object_id)

    def select_number(self, number: int) -> None:
        """Keys 1…9: the n-th object of the video."""
        s = self.session
        if 1 <= number <= len(s.objects):
            s.select(s.objects[number - 1].id)
            s.refresh_frame()

    def add(self, label: str) -> None:
        s = self.session
        if s.project is None or s.video is None or not self.may_edit():
            return
        store, vid = s.store, s.video.id

        def added(oid: int) -> None:
            s.selected_object = oid
            s.reload()

        self.write(lambda: store.add_object(vid, label), added, "new object")

    def rename(self, object_id: int, label: str) -> None:
        if not self.may_edit():
            return
        store = self.session.store
        self.write(
            lambda: store.update_object(object_id, label=label), lambda _r: self.session.reload(), "rename"
        )

    def set_flags(self, object_id: int, visible: bool, locked: bool) -> None:
        store = self.session.store
        self.write(
            lambda: store.update_object(object_id, visible=visible, locked=locked),
            lambda _r: self.session.reload(),
            "change",
        )

    def merge(self, keep_id: int, drop_id: int) -> None:
        if not self.may_edit():
            return
        store = self.session.store
        self.write(
            lambda: store.merge_objects(keep_id, drop_id),
            lambda _r: self.session.reload(all_frames=True),
            "merge",
        )

    def delete(self, object_id: int) -> None:
        """Delete an object and its masks (refused when another author changed one of them unseen)."""
        s = self.session
        if s.video is None or not self.may_edit():
            return
        store, vid, seen = s.store, s.video.id, dict(s.versions)
        self.write(
            lambda: delete_object(store, vid, object_id, seen=seen),
            lambda _r: self.session.reload(all_frames=True),
            "deletion",
        )
