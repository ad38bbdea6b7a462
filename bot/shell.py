"""``deploybot shell``: the Slack app in a terminal (in the spirit of Hubot's shell adapter).

The very same Bolt app and handlers run; only Slack is replaced. What you type becomes a
signed ``/deploy`` slash command, buttons are numbered so typing the number "clicks" them
(destructive ones ask for confirmation, as in Slack; each keeps its number while it is on
screen: :mod:`bot.slack_local.screen`), and modals become prompts. Everything the app sends to
Slack goes to a local fake of Slack's Web API on 127.0.0.1, which prints it as readable text
(held while a form is open), and uploaded files are saved under ``data/exports``. Without
configuration the shell starts the sandbox emulators of the three networks and connects their
demo keys, so it works on a fresh machine with no accounts; the workspace and the sandboxes'
worlds are kept together across restarts (:mod:`bot.slack_local.local_data`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.app import DeployBot, build_bot, web_client
from bot.config import Settings
from bot.runtime import Storage, open_storage
from bot.slack_local import payloads
from bot.slack_local.exports import save_export, shown_path
from bot.slack_local.fake_api import FakeSlackAPI, SlackCall
from bot.slack_local.local_data import RESET_HINT, LocalData, LocalDataBusy
from bot.slack_local.names import (
    CHANNEL_ID,
    PEOPLE,
    TEAM_ID,
    TEAMMATE_ID,
    USER_ID,
    as_slack_text,
    channel_name,
    for_people,
)
from bot.slack_local.screen import Screen
from bot.slack_local.text import (
    InputField,
    confirm_text,
    match_option,
    option_letter,
    render_view,
    state_values,
)

log = logging.getLogger(__name__)

BOT_TOKEN = "xoxb-local-shell"
WAIT_FOR_WORK = 120.0
#: What Bolt's asyncio runner names the task that runs a listener after its ack.
BOLT_LISTENER_TASK = "run_ack_function_asynchronously"
#: A request in the `approvals` list: "• `<id>` …".
_LISTED_REQUEST = re.compile(r"^\s*• `([0-9a-f]{6,})` ")


Reader = Callable[[str], Awaitable[str | None]]
Writer = Callable[[str], None]
#: Prints a post above an open prompt (the post, the prompt to draw again).
Live = Callable[[str, str], None]


#: The command prompt: who is typing (`as sam` switches), then what Slack shows.
COMMAND_PROMPT = "@{user} /deploy "


async def stdin_reader(prompt: str) -> str | None:
    """One line from the keyboard (None at end of input); echoes piped input.

    ``input()`` runs in a daemon thread of its own, not the loop's executor: on Ctrl-C the
    shell shuts down (saving the sandboxes) without waiting for a line nobody will type.
    """
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history for input())
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str | None] = loop.create_future()

    def deliver(line: str | None, error: BaseException | None) -> None:
        if answer.done():
            return
        if error is not None:
            answer.set_exception(error)
        else:
            answer.set_result(line)

    def read_line() -> None:
        line: str | None = None
        error: BaseException | None = None
        try:
            line = input(prompt)
        except EOFError:
            line = None
        except Exception as exc:  # e.g. a closed stdin: the caller sees it
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(deliver, line, error)

    threading.Thread(target=read_line, name="shell-input", daemon=True).start()
    line = await answer
    if line is not None and not sys.stdin.isatty():
        print(line, flush=True)
    return line


def print_above_prompt(text: str, prompt: str) -> None:
    """Print a post above the open command prompt, then the prompt and what was typed so far
    again (so a post arriving while someone types does not break their line)."""
    typed = ""
    with contextlib.suppress(ImportError):
        import readline

        typed = readline.get_line_buffer()
    sys.stdout.write(f"\r\x1b[2K{text}\n{prompt}{typed}")
    sys.stdout.flush()


class Shell:
    """Drives one app from text; see the module docstring."""

    def __init__(
        self,
        bot: DeployBot,
        slack: FakeSlackAPI,
        secret: str,
        *,
        read: Reader = stdin_reader,
        write: Writer = print,
        live: Live | None = None,
        exports: Path | None = None,
    ) -> None:
        self.bot = bot
        self.slack = slack
        self.secret = secret
        self.read = read
        self.write = write
        #: Prints a post above the open command prompt (a terminal); None: print as usual.
        self.live = live
        #: Where files deploybot uploads are saved (``data/exports``).
        self.exports = exports
        self.screen = Screen()
        self.modal: dict[str, Any] | None = None
        #: A form's answers kept across a round of field errors, and the fields to ask again.
        self._kept: dict[tuple[str, str], str] = {}
        self._redo: set[str] | None = None
        #: Who is typing and clicking (`as sam` / `as you`).
        self.user_id = USER_ID
        #: Response URLs whose message was already replaced or deleted (a late ack is stale).
        self._replaced: set[str] = set()
        #: Posts held while a form or confirmation is open, shown once it closes.
        self._holding = 0
        self._held: list[str] = []
        #: Whether the command prompt is open (waiting for the next command).
        self._at_prompt = False
        self._posts = 0
        #: Where each message on screen is (``#ops``, ``only you``…), for its later versions.
        self._places: dict[str, str] = {}
        slack.on_call = self._on_call

    # -- what the app sends to "Slack" ---------------------------------------------------------

    def _post(self, text: str) -> None:
        """Show something deploybot sent; held while a form or confirmation is being answered."""
        if self._holding:
            self._held.append(text)
        elif self._at_prompt and self.live is not None:
            self.live(text, self.prompt)
        else:
            self.write(text)

    @contextlib.contextmanager
    def _prompting(self) -> Iterator[None]:
        """A form or confirmation is open: posts wait until it closes, then show in order."""
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
            if not self._holding:
                held, self._held = self._held, []
                for text in held:
                    self.write(text)

    def _show(
        self,
        place: str | None,
        body: dict[str, Any],
        *,
        key: str,
        response_url: str,
        channel: str,
        note: str = "",
    ) -> None:
        """Show message ``key`` (a new one, or a new version of one on screen), headed by where
        it is (``place``: ``#local``, ``only you``…; None for the App Home tab)."""
        text = self.screen.show(key, body, response_url=response_url, channel=channel)
        text = self._with_approval_buttons(for_people(text), key)
        if place is not None:
            self._places[key] = place
        header = "App Home:" if place is None else f"deploybot → {place}{note}:"
        self._post(f"{header}\n{_indent(text)}")

    def _with_approval_buttons(self, text: str, key: str) -> str:
        """Under each request of an `approvals` list, how to act on it: the numbers of its
        request's buttons while they are on screen, else the commands that do the same."""
        lines: list[str] = []
        for line in text.splitlines():
            lines.append(line)
            found = _LISTED_REQUEST.match(line)
            if found is None:
                continue
            request_id = found.group(1)
            on_screen = self.screen.buttons_for(request_id)
            if any(c.key == key for _, c in on_screen):
                continue  # the list has the request's buttons itself
            if on_screen:  # the buttons of one message: the request itself, posted first
                first = on_screen[0][1].key
                buttons = [f"[{n}] {c.element.label}" for n, c in on_screen if c.key == first]
                lines.append("    " + "  ".join(buttons))
            else:
                lines.append(
                    f"    `approve {request_id}` · `deny {request_id} <reason>` · "
                    f"`cancel {request_id}`"
                )
        return "\n".join(lines)

    def _dm(self, channel: str) -> str:
        """The id a channel has in a payload: a person's id names their direct messages."""
        if channel in PEOPLE.values() and channel not in self.slack.dm_channels:
            self.slack.dm_channels[channel] = self.slack.next_id("D")
        return self.slack.dm_channels.get(channel, channel)

    def _where(self, channel: str) -> str:
        channel = self._dm(channel)
        people = {self.slack.dm_channels.get(user): name for name, user in PEOPLE.items()}
        if channel in people:
            return f"direct message to {people[channel]}"
        return channel_name(channel)

    def _new_key(self, url: str) -> str:
        self._posts += 1
        return f"{url}#{self._posts}"

    def _on_response_url(self, call: SlackCall) -> None:
        body = call.body
        url = self.slack.response_url(call.response_url)
        key = self.screen.message_of(url)
        channel = self.screen.channel_of(url, CHANNEL_ID)
        if body.get("replace_original") or body.get("delete_original"):
            self._replaced.add(str(call.response_url))
        if body.get("delete_original") and key is not None:
            self.screen.remove(key)
            if not (body.get("text") or body.get("blocks")):
                return
        where = channel_name(channel) if body.get("response_type") == "in_channel" else "only you"
        if body.get("replace_original") and key is not None:  # edited where it is
            place = self._places.get(key, where)
            self._show(place, body, key=key, response_url=url, channel=channel, note=" (updated)")
            return
        self._show(where, body, key=self._new_key(url), response_url=url, channel=channel)

    def _on_call(self, call: SlackCall) -> None:
        body = call.body
        answer = call.response if isinstance(call.response, dict) else {}
        channel = self._dm(str(body.get("channel") or CHANNEL_ID))
        match call.method:
            case "response_url":
                self._on_response_url(call)
            case "chat.postMessage":
                message = {**body, "ts": answer.get("ts", "")}
                where = self._where(channel)
                if body.get("thread_ts"):
                    where += " (in the thread)"
                self._show(
                    where,
                    message,
                    key=f"{channel}:{message['ts']}",
                    response_url=self.slack.response_url(),
                    channel=channel,
                )
            case "chat.update":
                key = f"{channel}:{body.get('ts')}"
                url = self.screen.url_of(key) or self.slack.response_url()
                place = self._places.get(key, self._where(channel))
                self._show(
                    place, body, key=key, response_url=url, channel=channel, note=" (edited)"
                )
            case "chat.delete":
                self.screen.remove(f"{channel}:{body.get('ts')}")
            case "chat.postEphemeral":
                where = "" if channel == CHANNEL_ID else f" in {channel_name(channel)}"
                self._show(
                    f"only you{where}",
                    body,
                    key=f"{channel}:{answer.get('message_ts', '')}",
                    response_url=self.slack.response_url(),
                    channel=channel,
                )
            case "views.open" | "views.push" | "views.update":
                self.modal = answer.get("view") or body.get("view")
            case "views.publish":
                view = body.get("view") or {}
                self._show(
                    None,
                    {"text": "", "blocks": view.get("blocks") or []},
                    key=f"home:{body.get('user_id')}",
                    response_url=self.slack.response_url(),
                    channel=CHANNEL_ID,
                )
            case "files.completeUploadExternal" if answer.get("ok"):
                self._save_files(answer.get("files") or [], channel=str(body.get("channel_id")))
            case _:
                return

    def _save_files(self, files: list[dict[str, Any]], *, channel: str) -> None:
        """A file deploybot uploaded: saved under ``data/exports/``, its path printed."""
        for entry in files:
            stored = self.slack.files.get(str(entry.get("id"))) or {}
            content = stored.get("content")
            if not isinstance(content, bytes):
                continue
            where = self._where(channel or CHANNEL_ID)
            if self.exports is None:
                self._post(f"deploybot → {where}:\n  📄 {stored.get('name')} (not saved)")
                continue
            path = save_export(self.exports, str(stored.get("name") or "file"), content)
            self._post(f"deploybot → {where}:\n  📄 file saved: {shown_path(path)}")

    # -- what the person does ------------------------------------------------------------------

    async def dispatch(self, request: payloads.SignedRequest) -> BoltResponse:
        response = await self.bot.app.async_dispatch(
            AsyncBoltRequest(body=request.body, headers=request.as_bolt_headers())
        )
        return response

    def _ack_body(self, response: BoltResponse) -> dict[str, Any]:
        if response.status != 200:
            self.write(f"(Slack would have shown an error: HTTP {response.status})")
            return {}
        if not response.body:
            return {}
        try:
            body = json.loads(response.body)
        except ValueError:
            return {"text": response.body}
        return body if isinstance(body, dict) else {}

    async def command(self, text: str) -> None:
        url = self.slack.response_url()
        self.screen.belongs(url, key=url, channel=CHANNEL_ID)
        response = await self.dispatch(
            payloads.slash_command(
                secret=self.secret,
                text=as_slack_text(text),
                response_url=url,
                team_id=TEAM_ID,
                user_id=self.user_id,
                channel_id=CHANNEL_ID,
                user_name=self.user_name,
                channel_name="local",
            )
        )
        body = self._ack_body(response)
        stale = url.rsplit("/", 1)[-1] in self._replaced
        if (body.get("text") or body.get("blocks")) and not stale:
            where = "#local" if body.get("response_type") == "in_channel" else "only you"
            self._show(where, body, key=url, response_url=url, channel=CHANNEL_ID)
        await self.settle()

    async def open_home(self) -> None:
        """Open deploybot's App Home tab, as Slack does when the person clicks on the app."""
        event = {"type": "app_home_opened", "user": self.user_id, "tab": "home"}
        response = await self.dispatch(
            payloads.event_callback(secret=self.secret, event=event, team_id=TEAM_ID)
        )
        if response.status != 200:
            self.write("App Home could not be opened.")
        await self.settle()

    async def click(self, number: int) -> None:
        target = self.screen.get(number)
        if target is None:
            if number in self.screen.gone:
                self.write(f"[{number}] is gone: its message was replaced or deleted.")
            else:
                self.write(f"There is no button [{number}] on screen.")
            return
        element = target.element
        if element.confirm:
            with self._prompting():
                answer = await self.read(f"{confirm_text(element.confirm)} [y/N] ")
            if (answer or "").strip().lower() not in ("y", "yes"):
                self.write("Cancelled.")
                return
        response = await self.dispatch(
            payloads.block_actions(
                secret=self.secret,
                action_id=element.action_id,
                value=element.value,
                block_id=element.block_id,
                response_url=target.response_url,
                team_id=TEAM_ID,
                user_id=self.user_id,
                channel_id=target.channel,
                message=target.message,
                message_ts=str(target.message.get("ts") or "1700000000.000100"),
                user_name=self.user_name,
            )
        )
        self._ack_body(response)
        await self.settle()

    async def settle(self) -> None:
        """Wait for the work a request started (the listeners Bolt still runs after their ack,
        then background work), then walk through any form it opened."""
        listeners = [
            task
            for task in asyncio.all_tasks()
            if getattr(task.get_coro(), "__qualname__", "").endswith(BOLT_LISTENER_TASK)
        ]
        if listeners:
            await asyncio.wait(listeners, timeout=WAIT_FOR_WORK)
        if not await self.bot.work.drain(WAIT_FOR_WORK):
            self.write("(still working in the background…)")
        with self._prompting():
            while self.modal is not None:
                if not await self._fill_modal():
                    break
                await self.bot.work.drain(WAIT_FOR_WORK)

    async def _ask(self, field: InputField, previous: str | None) -> str | None:
        label = field.label + ("" if not field.optional else " (optional)")
        if field.hint:
            self.write(f"  ({field.hint})")
        if field.options:
            for i, (text, _) in enumerate(field.options):
                self.write(f"    {chr(97 + i) if i < 26 else i}) {text}")
        current = previous if previous is not None else field.initial_value
        if field.kind == "multiline":
            hint = "end with a line holding only '.'"
            if current:
                self.write(_indent(current, "    | "))
                hint += "; a lone '.' keeps the text above"
            self.write(f"  {label} ({hint}):")
            lines: list[str] = []
            while True:
                line = await self.read("  | ")
                if line is None or (not lines and line.strip().lower() == "cancel"):
                    return None
                if line.strip() == ".":
                    break
                lines.append(line)
            return "\n".join(lines) if lines else (current or "")
        keep = f" [{current}]" if current and "key" not in field.label.lower() else ""
        while True:
            answer = await self.read(f"  {label}{keep}: ")
            if answer is None or answer.strip().lower() == "cancel":
                return answer
            if not answer.strip():
                return current or ""
            if not (field.kind.endswith("external_select") and not field.options):
                return answer
            found = await self._search(field, answer.strip())
            if found is not None:
                return found

    async def _search(self, field: InputField, typed: str) -> str | None:
        """A type-ahead field: ask the app for matches, as Slack does while someone types; the
        value picked, or None to ask again."""
        response = await self.dispatch(
            payloads.block_suggestion(
                secret=self.secret,
                action_id=field.action_id,
                value=typed,
                block_id=field.block_id,
                team_id=TEAM_ID,
                user_id=self.user_id,
                view=self.modal,
                user_name=self.user_name,
            )
        )
        body = self._ack_body(response)
        groups = [body, *(body.get("option_groups") or [])]
        options = [
            (str(o["text"]["text"]), str(o["value"]))
            for g in groups
            for o in g.get("options") or []
        ]
        if not options:
            self.write(f"    nothing matches “{typed}”; try other words")
            return None
        exact = next((value for _, value in options if value == typed), None)
        if exact is not None or len(options) == 1:
            value = exact or options[0][1]
            self.write(f"    → {next(text for text, v in options if v == value)}")
            return value
        for i, (text, _) in enumerate(options):
            self.write(f"    {option_letter(i)}) {text}")
        pick = await self.read("  which one (letter, or other words to search again)? ")
        chosen = match_option(options, pick or "")
        if chosen is not None:
            return chosen[1]
        return await self._search(field, pick.strip()) if pick and pick.strip() else None

    async def _fill_modal(self) -> bool:
        view = self.modal
        assert view is not None
        rendered = render_view(view)
        self.write(f"┌ {for_people(rendered.title)}")
        if rendered.text:
            self.write(_indent(for_people(rendered.text), "│ "))
        if not rendered.inputs and not (rendered.submit_label and rendered.callback_id):
            self.modal = None
            return False
        if not rendered.inputs:  # a confirmation step (e.g. a review): submit or cancel
            answer = await self.read(f"│ {rendered.submit_label}? [y/N] ")
            if answer is None or answer.strip().lower() not in ("y", "yes"):
                self.write("└ form closed")
                self._close_form()
                return False
        answers = self._kept
        values: dict[str, Any] = {}
        if rendered.inputs:
            self.write("│ (type 'cancel' at any prompt to close the form)")
        while rendered.inputs:
            for field in rendered.inputs:
                key = (field.block_id, field.action_id)
                if self._redo is not None and field.block_id not in self._redo and key in answers:
                    continue  # answered, and not what the form objected to
                answer = await self._ask(field, answers.get(key))
                if answer is None or answer.strip().lower() == "cancel":
                    self.write("└ form closed")
                    self._close_form()
                    return False
                answers[key] = answer
            try:
                values = state_values(rendered.inputs, answers)
            except ValueError as exc:
                self.write(f"│ {exc}")
                continue
            break
        response = await self.dispatch(
            payloads.view_submission(
                secret=self.secret,
                callback_id=rendered.callback_id,
                values=values,
                private_metadata=rendered.private_metadata,
                team_id=TEAM_ID,
                user_id=self.user_id,
                view_id=str(view.get("id") or "V0LOCAL"),
                user_name=self.user_name,
            )
        )
        body = self._ack_body(response)
        action = body.get("response_action")
        if action == "errors":
            errors = body.get("errors") or {}
            for block_id, message in errors.items():
                self.write(f"│ ✗ {block_id}: {message}")
            self.write("│ (only those are asked again; your other answers are kept)")
            self.modal, self._kept, self._redo = view, answers, set(errors)
            return True
        self._kept, self._redo = {}, None
        if action in ("update", "push") and isinstance(body.get("view"), dict):
            self.modal = body["view"]
            return True
        self.write("└ submitted")
        self.modal = None
        return False

    def _close_form(self) -> None:
        self.modal, self._kept, self._redo = None, {}, None

    @property
    def prompt(self) -> str:
        return COMMAND_PROMPT.format(user=self.user_name)

    @property
    def user_name(self) -> str:
        return next(name for name, uid in PEOPLE.items() if uid == self.user_id)

    async def loop(self) -> int:
        self.write(
            "Type what you would type after /deploy (try `help` or `list`), a number to click "
            "a button, `home` for the App Home tab, `as sam` / `as you` to switch person (sam, "
            "another admin, approves your stops and starts), or `quit`."
        )
        while True:
            self._at_prompt = True
            try:
                line = await self.read(self.prompt)
            finally:
                self._at_prompt = False
            if line is None:
                return 0
            line = line.strip()
            if line.startswith("/deploy"):
                line = line[len("/deploy") :].strip()
            if line in ("quit", "exit", "q"):
                return 0
            if line.startswith("as ") and line[3:].strip().lower() in PEOPLE:
                self.user_id = PEOPLE[line[3:].strip().lower()]
                self.write(f"You are now {self.user_name}.")
                continue
            if not line:
                continue
            if line.isdigit():
                await self.click(int(line))
                continue
            if line == "home":
                await self.open_home()
                continue
            await self.command(line)


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines()) if text else prefix.rstrip()


def _welcome(local: LocalData, speed: float, *, restored: bool, fresh: bool) -> str:
    worlds = "carried on" if restored else "running"
    line = f"deploybot shell — Nosana, Akash and NeuraNET sandboxes {worlds} ({speed:g}× real time)"
    if fresh:
        return f"{line}, demo keys connected."
    return (
        f"{line}; your local workspace is {shown_path(local.database)} with the sandboxes' "
        f"state in {shown_path(local.sandbox_state)} ({RESET_HINT})."
    )


async def run_shell(
    settings: Settings,
    *,
    speed: float = 10.0,
    sandbox: bool = True,
    read: Reader = stdin_reader,
    write: Writer = print,
    live: Live | None = None,
    reset: bool = False,
) -> int:
    """Start (sandbox, fake Slack, app) and talk to the app until end of input.

    With the sandboxes, the local workspace lives in ``data/shell.db`` and the sandboxes'
    worlds in ``data/sandbox.state`` (see :mod:`bot.slack_local.local_data`): both are kept
    across restarts (``reset`` deletes both first). Returns the exit code (2 when they cannot
    be used together, or another shell uses them).
    """
    from sandbox.server import SandboxCluster
    from sandbox.state import SandboxStateError, StateFile

    local = LocalData.under(settings.data_dir)
    async with contextlib.AsyncExitStack() as stack:
        cluster: SandboxCluster | None = None
        fresh = True
        if sandbox:
            try:
                stack.enter_context(local.claim())
            except LocalDataBusy as exc:
                write(f"deploybot: {exc}.")
                return 2
            if reset:
                write(local.reset_report(local.reset()))
            problem = local.problem()
            try:
                if problem is None:
                    cluster = SandboxCluster(state=StateFile(local.sandbox_state), speed=speed)
            except SandboxStateError as exc:
                problem = f"{shown_path(local.sandbox_state)} cannot be used: {exc}"
            if cluster is None:
                write(f"deploybot: {problem}.\n{RESET_HINT} (it deletes both).")
                return 2
            fresh = not local.database.exists()
            await cluster.start()
            stack.push_async_callback(cluster.stop)
            local.directory.mkdir(parents=True, exist_ok=True)
            settings = settings.model_copy(
                update={
                    "nosana_api_url": cluster.base_url("nosana"),
                    "akash_api_url": cluster.base_url("akash"),
                    "neuranet_api_url": cluster.base_url("neuranet"),
                    "database_url": SecretStr(f"sqlite:///{local.database}"),
                }
            )
        slack = FakeSlackAPI()
        await slack.start()
        stack.push_async_callback(slack.stop)
        slack.add_token(BOT_TOKEN, TEAM_ID)
        slack.add_user(USER_ID, team_id=TEAM_ID, name="you", is_admin=True)
        slack.add_user(TEAMMATE_ID, team_id=TEAM_ID, name="sam", is_admin=True)
        settings = settings.model_copy(update={"slack_api_url": slack.base_url})
        storage: Storage = await open_storage(settings)
        stack.push_async_callback(storage.aclose)
        if cluster is not None and fresh:  # a new local workspace: the demo keys connected
            for api in cluster.apis:
                await storage.keys.put(
                    team_id=TEAM_ID,
                    provider=api.name,
                    api_key=SecretStr(api.demo_api_key),
                    connected_by=USER_ID,
                )
        secret = secrets.token_hex(16)
        sandbox_clock = cluster.clock if cluster is not None else None
        bot = build_bot(
            settings,
            storage,
            token=BOT_TOKEN,
            signing_secret=secret,
            client=web_client(settings, BOT_TOKEN),
            # the sandboxes run faster than the wall clock: ages and `logs --since` follow them
            clock=(lambda: datetime.fromtimestamp(sandbox_clock.now(), UTC))
            if sandbox_clock is not None
            else None,
        )
        stack.push_async_callback(bot.aclose)
        bot.start_loops()
        bot.start_worker()  # the shell is web and worker in one process, like `deploybot run`
        if bot.create is not None:  # new deployments' progress shows up while you wait
            bot.create.poll_interval = min(bot.create.poll_interval, 1.0)
            bot.create.bid_timeout = min(bot.create.bid_timeout, 60.0)
            bot.create.follow_timeout = min(bot.create.follow_timeout, 20.0)
        # Watched deployments post their changes to #local as they would to Slack.
        bot.start_watcher()
        if cluster is not None:
            write(_welcome(local, speed, restored=cluster.restored, fresh=fresh))
        if live is None and read is stdin_reader and sys.stdin.isatty() and sys.stdout.isatty():
            live = print_above_prompt
        shell = Shell(bot, slack, secret, read=read, write=write, live=live, exports=local.exports)
        return await shell.loop()
    return 0  # pragma: no cover - the context manager always returns above
