"""The operator monitor: program picture, the next scene, the HUD and prompts in one window.

This window is for the performer's own screen and never goes to the projector. Layout: the
program picture fills the window (letterboxed), a small render of the set list's next scene sits
top right with its name, the HUD overlay (toggle) sits top left, and an urgent prompt (the quit
confirmation) is drawn across the bottom even when the HUD is hidden.

Render thread (the main thread in a windowed show).
"""

from __future__ import annotations

import moderngl

from live.render.hud import PANEL, WHITE, Hud, HudInfo, QuadBatch
from live.render.outputs.transform import OutputTransform
from live.render.outputs.window import WindowOutput

#: Share of the window's width used by the next-scene preview.
PREVIEW_SHARE = 0.28


class MonitorView:
    """Draws the operator monitor into a `WindowOutput`. Render thread.

    Args:
        window: an open window (its own GL context, sharing the engine's).
    """

    name = "monitor"

    def __init__(self, window: WindowOutput) -> None:
        self.window = window
        window.begin()
        self.hud = Hud(window.ctx)
        self._fit = OutputTransform(fit="contain")

    def present(self, program: moderngl.Texture, info: HudInfo, *, hud_visible: bool,
                preview: moderngl.Texture | None = None, preview_label: str | None = None) -> None:
        """Draw one monitor frame and swap. `preview` is the next scene's picture (any size)."""
        self.draw(program, info, hud_visible=hud_visible, preview=preview, preview_label=preview_label)
        self.window.swap()

    def draw(self, program: moderngl.Texture, info: HudInfo, *, hud_visible: bool,
             preview: moderngl.Texture | None = None, preview_label: str | None = None) -> None:
        """Draw one monitor frame into the back buffer (no swap; tests read it back)."""
        win = self.window
        screen = win.begin()
        w, h = win.framebuffer_size
        win.draw_picture(program, (0, 0, w, h), self._fit)
        overlay = QuadBatch(self.hud.atlas)
        cw, ch = self.hud.atlas.cell
        if preview is not None or preview_label:
            pw = max(32, int(w * PREVIEW_SHARE))
            ph = max(18, int(pw * 9 / 16))
            px, py = w - pw - 8, 8 + ch  # top-left corner in window pixels (y down)
            frame = QuadBatch(self.hud.atlas)  # drawn under the preview, so it only shows as a frame
            frame.rect(px - 2, py - ch - 2, pw + 4, ph + ch + 4, PANEL)
            self.hud.draw_vertices(screen, frame.vertices(), (0, 0, w, h))
            label = "NEXT: " + (preview_label or "(end of set)")
            overlay.text(px, py - ch, label[: max(1, pw // cw)], WHITE)
            if preview is not None:
                # GL viewports count from the bottom-left corner.
                win.draw_picture(preview, (px, h - py - ph, pw, ph), self._fit)
        if hud_visible:
            self.hud.draw(screen, info, (0, 0, w, h))
        if info.prompt:
            overlay.rect(0, h - ch - 12, w, ch + 12, (0.35, 0.0, 0.0, 0.85))
            overlay.text(8, h - ch - 6, info.prompt[: max(1, (w - 16) // cw)], WHITE)
        self.hud.draw_vertices(screen, overlay.vertices(), (0, 0, w, h))

    def close(self) -> None:
        """Free the HUD's GL objects and close the window."""
        if not self.window.closed:
            self.window.begin()
            self.hud.release()
            self.window.close()
