"""``functions.completeSuccess`` and ``functions.completeError``: the end of a Workflow Builder
step's run. Each completion is kept in :attr:`Workspace.completions` (execution id → how it
ended); a second completion of the same execution is refused as Slack refuses it."""

from __future__ import annotations

from bot.slack_local.fake_api.workspace import Json, Method, TokenInfo, Workspace


def _complete(ws: Workspace, execution_id: object, ending: Json) -> Json:
    if not isinstance(execution_id, str) or not execution_id:
        return {"ok": False, "error": "invalid_arguments"}
    if execution_id in ws.completions:
        return {"ok": False, "error": "function_execution_not_found"}
    ws.completions[execution_id] = ending
    return {"ok": True}


def complete_success(ws: Workspace, body: Json, auth: TokenInfo | None) -> Json:
    outputs = body.get("outputs")
    if not isinstance(outputs, dict):
        return {"ok": False, "error": "invalid_arguments"}
    return _complete(ws, body.get("function_execution_id"), {"ok": True, "outputs": outputs})


def complete_error(ws: Workspace, body: Json, auth: TokenInfo | None) -> Json:
    error = body.get("error")
    if not isinstance(error, str) or not error:
        return {"ok": False, "error": "invalid_arguments"}
    return _complete(ws, body.get("function_execution_id"), {"ok": False, "error": error})


METHODS: dict[str, Method] = {
    "functions.completeSuccess": complete_success,
    "functions.completeError": complete_error,
}
