"""The canvas: the frame, the mask overlay, zoom (wheel), pan (middle drag or Space+drag) and the tool."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

from avs_studio.gui.render import MODES, Layer, composite, from_qimage, to_qimage
from avs_studio.gui.tools import Tool


class Canvas(QGraphicsView):
    space_tapped = Signal()  # Space pressed and released without panning (play / pause)
    hovered = Signal(float, float)  # image coordinates under the mouse

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QColor("#202020"))
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)  # zoom_by keeps its point
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._frame_item = QGraphicsPixmapItem()
        self._overlay_item = QGraphicsPixmapItem()
        self._overlay_item.setZValue(1)
        self.scene().addItem(self._frame_item)
        self.scene().addItem(self._overlay_item)
        self.image: np.ndarray | None = None
        self.frame_index = -1
        self.mask_mode = "fill"
        self._layers: list[Layer] = []
        self._preview: Layer | None = None
        self.tool: Tool | None = None
        self._pan_from: QPoint | None = None
        self._space = False
        self._space_panned = False
        self._fitted_shape: tuple[int, int] | None = None
        self.user_zoomed = False  # until the user zooms, the frame re-fits when the view is resized
        self.notice = ""  # drawn when there is no frame (e.g. "the video file is missing")

    # ------------------------------------------------------------------ content
    def set_frame(self, index: int, image: np.ndarray) -> None:
        self.image = image
        self.frame_index = index
        self._frame_item.setPixmap(QPixmap.fromImage(to_qimage(image)))
        shape = image.shape[:2]
        self.scene().setSceneRect(0, 0, shape[1], shape[0])
        if self._fitted_shape != shape:
            self._fitted_shape = shape
            self.zoom_fit()

    def set_notice(self, text: str) -> None:
        """Say ``text`` in the middle of the empty canvas (shown while no frame is)."""
        self.notice = text
        self.viewport().update()

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        if self.image is None and self.notice:
            painter.save()
            painter.resetTransform()
            painter.setPen(QColor("#e0e0e0"))
            box = self.viewport().rect().adjusted(24, 24, -24, -24)
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            painter.drawText(box, int(flags), self.notice)
            painter.restore()

    def clear(self) -> None:
        self.image = None
        self.frame_index = -1
        self._frame_item.setPixmap(QPixmap())
        self._overlay_item.setPixmap(QPixmap())
        self._layers, self._preview = [], None

    def displayed_image(self) -> np.ndarray | None:
        """The frame pixels shown right now (what the user sees under the overlay)."""
        pix = self._frame_item.pixmap()
        return None if pix.isNull() else from_qimage(pix.toImage())

    def overlay_rgba(self) -> np.ndarray | None:
        pix = self._overlay_item.pixmap()
        if pix.isNull():
            return None
        img = pix.toImage().convertToFormat(QImage.Format.Format_RGBA8888)
        buf = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * img.height())
        return (
            buf.reshape(img.height(), img.bytesPerLine())[:, : img.width() * 4]
            .reshape(img.height(), img.width(), 4)
            .copy()
        )

    def set_layers(self, layers: list[Layer]) -> None:
        self._layers = layers
        self._preview = None
        self._redraw()

    def set_preview(self, layer: Layer | None) -> None:
        """Show ``layer`` in place of the selected layer while a stroke is drawn."""
        self._preview = layer
        self._redraw()

    def set_mask_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mask mode must be one of {MODES}, got {mode!r}")
        self.mask_mode = mode
        self._redraw()

    def cycle_mask_mode(self) -> str:
        self.set_mask_mode(MODES[(MODES.index(self.mask_mode) + 1) % len(MODES)])
        return self.mask_mode

    def _redraw(self) -> None:
        if self.image is None:
            self._overlay_item.setPixmap(QPixmap())
            return
        layers = self._layers
        if self._preview is not None:
            layers = [la for la in layers if not la.selected] + [self._preview]
        rgba = composite(self.image.shape[:2], layers, self.mask_mode)
        self._overlay_item.setPixmap(QPixmap.fromImage(to_qimage(rgba)))

    # ------------------------------------------------------------------ tools
    def set_tool(self, tool: Tool | None) -> None:
        if self.tool is not None:
            self.tool.deactivate()
        self.tool = tool
        if tool is not None:
            tool.activate(self.scene())
            self.viewport().setCursor(tool.cursor)
        else:
            self.viewport().setCursor(Qt.CursorShape.ArrowCursor)

    def image_point(self, view_pos: QPoint | QPointF) -> tuple[float, float]:
        """View position -> image coordinates, pixel centres at integers (the masks convention)."""
        p = self.mapToScene(view_pos.toPoint() if isinstance(view_pos, QPointF) else view_pos)
        return p.x() - 0.5, p.y() - 0.5

    def view_point(self, x: float, y: float) -> QPoint:
        """Image coordinates -> the view position over that pixel."""
        return self.mapFromScene(QPointF(x + 0.5, y + 0.5))

    # ------------------------------------------------------------------ zoom and pan
    def zoom_fit(self) -> None:
        """Fit the frame in the view; it re-fits on resize again until the user zooms."""
        self.user_zoomed = False
        if self.image is not None:
            self.fitInView(self._frame_item, Qt.AspectRatioMode.KeepAspectRatio)

    def zoom_by(self, factor: float, at: QPoint | None = None) -> None:
        """Zoom by ``factor``, keeping the image point under ``at`` (view position; default: the centre)
        where it is."""
        current = self.transform().m11()
        factor = min(max(factor, 0.05 / current), 64.0 / current)
        at = at if at is not None else self.viewport().rect().center()
        before = self.mapToScene(at)
        self.scale(factor, factor)
        shift = self.mapFromScene(before) - at
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + shift.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + shift.y())
        self.user_zoomed = True

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(1.25**steps, event.position().toPoint())  # toward the cursor
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if not self.user_zoomed:
            self.zoom_fit()

    def _start_pan(self, pos: QPoint) -> None:
        self._pan_from = pos
        self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def _pan_to(self, pos: QPoint) -> None:
        assert self._pan_from is not None
        delta = pos - self._pan_from
        self._pan_from = pos
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())

    def _end_pan(self) -> None:
        self._pan_from = None
        self.viewport().setCursor(self.tool.cursor if self.tool else Qt.CursorShape.ArrowCursor)

    # ------------------------------------------------------------------ events
    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus()
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space):
            self._space_panned = self._space_panned or self._space
            self._start_pan(event.position().toPoint())
        elif self.tool is not None and self.image is not None:
            self.tool.press(*self.image_point(event.position()), button)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if self._pan_from is not None:
            self._pan_to(pos)
        else:
            x, y = self.image_point(pos)
            self.hovered.emit(x, y)
            if self.tool is not None and self.image is not None:
                self.tool.move(x, y)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() in (
            Qt.MouseButton.MiddleButton,
            Qt.MouseButton.LeftButton,
        ):
            self._end_pan()
        elif self.tool is not None and self.image is not None:
            self.tool.release(*self.image_point(event.position()), event.button())
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.tool is not None and self.image is not None and event.button() == Qt.MouseButton.LeftButton:
            self.tool.double_click(*self.image_point(event.position()))
        event.accept()

    def event(self, event: QEvent) -> bool:
        # Keep Space (pan while held, play when tapped) and the tool's keys on the canvas.
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            key = event.key()
            if key == Qt.Key.Key_Space and not event.modifiers():
                event.accept()
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape, Qt.Key.Key_Backspace):
                if self.tool is not None and getattr(self.tool, "points", None):
                    event.accept()
                    return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.modifiers():
            if not event.isAutoRepeat():
                self._space, self._space_panned = True, False
            event.accept()
            return
        if self.tool is not None and self.tool.key(event.key()):
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            tapped = self._space and not self._space_panned
            self._space = False
            if self._pan_from is not None:
                self._end_pan()
            if tapped:
                self.space_tapped.emit()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        if self.tool is not None:
            self.tool.leave()
        super().leaveEvent(event)
