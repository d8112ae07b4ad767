"""Side panels of the main window: project (videos), objects, prompts, jobs."""

from avs_studio.gui.panels.jobs_panel import JobsPanel
from avs_studio.gui.panels.object_panel import ObjectPanel
from avs_studio.gui.panels.project_panel import ProjectPanel
from avs_studio.gui.panels.prompt_panel import PromptPanel

__all__ = ["JobsPanel", "ObjectPanel", "ProjectPanel", "PromptPanel"]
