"""The scripts domain's errors; their statuses come from their bases (voxhub.api.errors):

NotFound      ScriptNotFound       script_not_found       404
NotFound      ScriptLineNotFound   script_line_not_found  404
InvalidInput  InvalidScriptLine    invalid_script_line    422
"""

from __future__ import annotations

from voxhub.core.errors import InvalidInput, NotFound


class ScriptNotFound(NotFound):
    code = "script_not_found"
    title = "Script not found"


class ScriptLineNotFound(NotFound):
    code = "script_line_not_found"
    title = "Script line not found"


class InvalidScriptLine(InvalidInput):
    """A script line that cannot be kept (unknown speaker, empty or over-long text, an emotion
    the speaker has no image for); `extra` names the line (`line_id` and/or `index`)."""

    code = "invalid_script_line"
    title = "Invalid script line"
