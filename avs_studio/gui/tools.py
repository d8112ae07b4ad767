"""Editing tools: brush, eraser, polygon and SAM clicks.

Tools get image coordinates in the masks convention (pixel (x, y) has its centre at (x, y)) and talk
to an ``Editor`` (``session.EditController``): it hands out the mask being edited, shows previews and
commits the final mask when the mouse is released (one transaction and one revision per stroke).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem, QGraphicsRectItem, QGraphicsScene

from avs_studio.masks import brush_stroke, erase_stroke, polygon_fill
from avs_studio.session.edit_controller import MAX_RADIUS, MIN_RADIUS

__all__ = ["MAX_RADIUS", "MIN_RADIUS", "TOOLS", "BrushTool", "Editor", "EraserTool", "PolygonTool", "SamTool", "Tool"]


class Editor(Protocol):
    @property
    def brush_radius(self) -> float: ...

    def editable_mask(self) -> np.ndarray | None: ...  # None: nothing to edit (message shown)
    def preview_mask(self, mask: np.ndarray) -> None: ...
    def end_preview(self) -> None: ...
    def commit_mask(self, mask: np.ndarray) -> None: ...
    def sam_request(self, points: np.ndarray, labels: np.ndarray, box: tuple | None) -> None: ...


def _pen(colour: str, width: float = 0) -> QPen:
    pen = QPen(QColor(colour))
    pen.setCosmetic(True)  # same width on screen whatever the zoom
    pen.setWidthF(width or 1.5)
    return pen


class Tool:
    name = "none"
    cursor = Qt.CursorShape.ArrowCursor

    def __init__(self, editor: Editor) -> None:
        self.editor = editor
        self.scene: QGraphicsScene | None = None

    def activate(self, scene: QGraphicsScene) -> None:
        self.scene = scene

    def deactivate(self) -> None:
        self.reset()
        self.scene = None

    def reset(self) -> None:
        """Forget a half-done edit (frame or object changed)."""

    def hover(self, x: float, y: float) -> None: ...
    def leave(self) -> None: ...  # the mouse left the canvas
    def press(self, x: float, y: float, button: Qt.MouseButton) -> None: ...
    def move(self, x: float, y: float) -> None: ...
    def release(self, x: float, y: float, button: Qt.MouseButton) -> None: ...
    def double_click(self, x: float, y: float) -> None: ...

    def key(self, key: int) -> bool:
        return False


class BrushTool(Tool):
    """Round brush; the stroke is the polyline of mouse positions, committed on release."""

    name = "brush"
    cursor = Qt.CursorShape.CrossCursor
    erase = False

    def __init__(self, editor: Editor) -> None:
        super().__init__(editor)
        self._base: np.ndarray | None = None
        self._work: np.ndarray | None = None
        self._points: list[tuple[float, float]] = []
        self._circle: QGraphicsEllipseItem | None = None

    def activate(self, scene: QGraphicsScene) -> None:
        super().activate(scene)
        self._circle = QGraphicsEllipseItem()
        self._circle.setPen(_pen("#ffffff" if not self.erase else "#ff5050"))
        self._circle.setZValue(10)
        self._circle.setVisible(False)
        scene.addItem(self._circle)

    def deactivate(self) -> None:
        if self._circle is not None and self._circle.scene() is not None:
            self._circle.scene().removeItem(self._circle)
        self._circle = None
        super().deactivate()

    def reset(self) -> None:
        if self._base is not None:
            self.editor.end_preview()
        self._base = self._work = None
        self._points = []

    def leave(self) -> None:
        if self._circle is not None:
            self._circle.setVisible(False)

    def _paint(self, mask: np.ndarray, points: list[tuple[float, float]]) -> np.ndarray:
        r = self.editor.brush_radius
        return erase_stroke(mask, points, r) if self.erase else brush_stroke(mask, points, r)

    def hover(self, x: float, y: float) -> None:
        if self._circle is None:
            return
        r = self.editor.brush_radius
        # pixel centres sit at +0.5 in scene coordinates
        self._circle.setRect(QRectF(x + 0.5 - r, y + 0.5 - r, 2 * r, 2 * r))
        self._circle.setVisible(True)

    def press(self, x: float, y: float, button: Qt.MouseButton) -> None:
        if button != Qt.MouseButton.LeftButton:
            return
        base = self.editor.editable_mask()
        if base is None:
            return
        self._base = base
        self._points = [(x, y)]
        self._work = self._paint(base, self._points)
        self.editor.preview_mask(self._work)

    def move(self, x: float, y: float) -> None:
        self.hover(x, y)
        if self._base is None or self._work is None:
            return
        if (x, y) == self._points[-1]:
            return
        self._points.append((x, y))
        self._work = self._paint(self._work, self._points[-2:])  # grows segment by segment
        self.editor.preview_mask(self._work)

    def release(self, x: float, y: float, button: Qt.MouseButton) -> None:
        if button != Qt.MouseButton.LeftButton or self._base is None:
            return
        if (x, y) != self._points[-1]:
            self._points.append((x, y))
        final = self._paint(self._base, self._points)  # the whole polyline at once: exact
        self._base = self._work = None
        self._points = []
        self.editor.commit_mask(final)

    @property
    def points(self) -> list[tuple[float, float]]:
        return list(self._points)

    @property
    def circle(self) -> QGraphicsEllipseItem | None:
        """The brush outline under the mouse (None while the tool is not on a canvas)."""
        return self._circle


class EraserTool(BrushTool):
    name = "eraser"
    erase = True


class PolygonTool(Tool):
    """Click vertices; Enter or a double click closes and fills, Backspace drops the last, Esc cancels."""

    name = "polygon"
    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, editor: Editor) -> None:
        super().__init__(editor)
        self.points: list[tuple[float, float]] = []
        self._hover: tuple[float, float] | None = None
        self._path: QGraphicsPathItem | None = None

    def activate(self, scene: QGraphicsScene) -> None:
        super().activate(scene)
        self._path = QGraphicsPathItem()
        self._path.setPen(_pen("#ffff00"))
        self._path.setZValue(10)
        scene.addItem(self._path)

    def deactivate(self) -> None:
        if self._path is not None and self._path.scene() is not None:
            self._path.scene().removeItem(self._path)
        self._path = None
        super().deactivate()

    def reset(self) -> None:
        self.points = []
        self._hover = None
        self._redraw()

    def _redraw(self) -> None:
        if self._path is None:
            return
        path = QPainterPath()
        pts = self.points + ([self._hover] if self._hover and self.points else [])
        for i, (x, y) in enumerate(pts):
            p = QPointF(x + 0.5, y + 0.5)
            path.moveTo(p) if i == 0 else path.lineTo(p)
        self._path.setPath(path)

    def hover(self, x: float, y: float) -> None:
        self._hover = (x, y)
        self._redraw()

    def move(self, x: float, y: float) -> None:
        self.hover(x, y)

    def press(self, x: float, y: float, button: Qt.MouseButton) -> None:
        if button == Qt.MouseButton.LeftButton:
            self.points.append((x, y))
            self._redraw()
        elif button == Qt.MouseButton.RightButton and self.points:
            self.points.pop()
            self._redraw()

    def double_click(self, x: float, y: float) -> None:
        # the first click of the double click already added the vertex
        self.close()

    def close(self) -> bool:
        pts = list(dict.fromkeys(self.points))  # drop repeated vertices of the double click
        if len(pts) < 3:
            return False
        base = self.editor.editable_mask()
        self.reset()
        if base is None:
            return False
        self.editor.commit_mask(polygon_fill(base.shape, pts, mask=base))
        return True

    def key(self, key: int) -> bool:
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            return self.close()
        if key == Qt.Key.Key_Escape and self.points:
            self.reset()
            return True
        if key == Qt.Key.Key_Backspace and self.points:
            self.points.pop()
            self._redraw()
            return True
        return False


class SamTool(Tool):
    """Left click adds a positive point, right click a negative one, a left drag draws a box."""

    name = "sam"
    cursor = Qt.CursorShape.PointingHandCursor
    DRAG = 4.0  # image pixels before a press counts as a box drag

    def __init__(self, editor: Editor) -> None:
        super().__init__(editor)
        self.points: list[tuple[float, float]] = []
        self.labels: list[int] = []
        self.box: tuple[float, float, float, float] | None = None
        self._start: tuple[float, float] | None = None
        self._button = Qt.MouseButton.NoButton
        self._items: list[QGraphicsEllipseItem] = []
        self._rect: QGraphicsRectItem | None = None

    def activate(self, scene: QGraphicsScene) -> None:
        super().activate(scene)
        self._rect = QGraphicsRectItem()
        self._rect.setPen(_pen("#00e0ff"))
        self._rect.setZValue(10)
        self._rect.setVisible(False)
        scene.addItem(self._rect)

    def deactivate(self) -> None:
        self._clear_items()
        if self._rect is not None and self._rect.scene() is not None:
            self._rect.scene().removeItem(self._rect)
        self._rect = None
        super().deactivate()

    def _clear_items(self) -> None:
        for item in self._items:
            if item.scene() is not None:
                item.scene().removeItem(item)
        self._items = []

    def reset(self) -> None:
        self.points, self.labels, self.box = [], [], None
        self._start = None
        self._clear_items()
        if self._rect is not None:
            self._rect.setVisible(False)

    def press(self, x: float, y: float, button: Qt.MouseButton) -> None:
        self._start = (x, y)
        self._button = button

    def move(self, x: float, y: float) -> None:
        if self._start is None or self._button != Qt.MouseButton.LeftButton or self._rect is None:
            return
        x0, y0 = self._start
        if max(abs(x - x0), abs(y - y0)) >= self.DRAG:
            self._rect.setRect(QRectF(QPointF(x0 + 0.5, y0 + 0.5), QPointF(x + 0.5, y + 0.5)).normalized())
            self._rect.setVisible(True)

    def release(self, x: float, y: float, button: Qt.MouseButton) -> None:
        if self._start is None:
            return
        x0, y0 = self._start
        self._start = None
        if button == Qt.MouseButton.LeftButton and max(abs(x - x0), abs(y - y0)) >= self.DRAG:
            self.box = (min(x0, x), min(y0, y), max(x0, x), max(y0, y))
        elif button in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            positive = button == Qt.MouseButton.LeftButton
            self.points.append((x, y))
            self.labels.append(1 if positive else 0)
            self._add_marker(x, y, positive)
        else:
            return
        pts = np.asarray(self.points, np.float32).reshape(-1, 2)
        labels = np.asarray(self.labels, np.int32)
        self.editor.sam_request(pts, labels, self.box)

    def _add_marker(self, x: float, y: float, positive: bool) -> None:
        if self.scene is None:
            return
        r = 4.0
        item = QGraphicsEllipseItem(-r, -r, 2 * r, 2 * r)
        item.setPos(x + 0.5, y + 0.5)
        item.setFlag(QGraphicsEllipseItem.GraphicsItemFlag.ItemIgnoresTransformations)
        item.setBrush(QBrush(QColor("#20d020" if positive else "#e02020")))
        item.setPen(_pen("#ffffff"))
        item.setZValue(11)
        self.scene.addItem(item)
        self._items.append(item)

    def key(self, key: int) -> bool:
        if key == Qt.Key.Key_Escape and (self.points or self.box):
            self.reset()
            return True
        return False


TOOLS: dict[str, type[Tool]] = {t.name: t for t in (BrushTool, EraserTool, PolygonTool, SamTool)}
