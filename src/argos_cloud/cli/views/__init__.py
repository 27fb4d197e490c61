"""Views render, workflows compute: every command's result as text or one JSON document.

Views only read what workflows return; one module per command family. Results keep a
`to_json()` that dumps their own fields (plain data, like `Plan.to_json`); what a command's
document holds around it, and every line of text, is decided here.
"""

from argos_cloud.cli.views.base import View, write_error
from argos_cloud.cli.views.progress import LiveProgress, ProgressHook, progress_for

__all__ = ["LiveProgress", "ProgressHook", "View", "progress_for", "write_error"]
