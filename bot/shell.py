"""``deploybot shell``: the Slack app in a terminal (in the spirit of Hubot's shell adapter).

The very same Bolt app and handlers run; only Slack is replaced. What you type becomes a
signed ``/deploy`` slash command, buttons are numbered so typing the number "clicks" them
(destructive ones ask for confirmation, as in Slack), and modals become prompts. Everything
the app sends to Slack goes to a local fake of Slack's Web API on 127.0.0.1, which prints it
as readable text. Without configuration the shell starts the sandbox emulators of the three
networks and connects their demo keys, so it works on a fresh machine with no accounts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.app import DeployBot, build_bot, web_client
from bot.config import Settings
from bot.runtime import Storage, open_storage
from bot.slack_local import payloads
from bot.slack_local.fake_api import FakeSlackAPI, SlackCall
from bot.slack_local.text import (
    InputField,
    Interactive,
    confirm_text,
    match_option,
    option_letter,
    render_message,
    render_view,
    state_values,
)

log = logging.getLogger(__name__)

TEAM_ID = "T0LOCAL"
USER_ID = "U0LOCAL"
#: A second person in the local workspace, so approvals can be tried (`as sam`).
TEAMMATE_ID = "U0SAM"
PEOPLE = {"you": USER_ID, "sam": TEAMMATE_ID}
CHANNEL_ID = "C0LOCAL"
BOT_TOKEN = "xoxb-local-shell"
WAIT_FOR_WORK = 120.0
#: What Bolt's asyncio runner names the task that runs a listener after its ack.
BOLT_LISTENER_TASK = "run_ack_function_asynchronously"
#: The emoji deploybot uses, for terminals (Slack renders the :codes: itself).
EMOJI = {
    ":newspaper:": "📰",
    ":memo:": "📝",
    ":hourglass_flowing_sand:": "⏳",
    ":arrows_counterclockwise:": "🔄",
    ":large_green_circle:": "🟢",
    ":double_vertical_bar:": "⏸",
    ":white_circle:": "⚪",
    ":red_circle:": "🔴",
    ":money_with_wings:": "💸",
    ":file_cabinet:": "🗄",
    ":black_circle:": "⚫",
    ":grey_question:": "❔",
    ":white_check_mark:": "✅",
    ":warning:": "⚠️",
    ":x:": "❌",
    ":heavy_minus_sign:": "➖",
    ":information_source:": "ℹ️",
    ":electric_plug:": "🔌",
    ":alarm_clock:": "⏰",
    ":scroll:": "📜",
    ":mag:": "🔍",
    ":eyes:": "👀",
    ":bust_in_silhouette:": "👤",
    ":see_no_evil:": "🙈",
    ":scales:": "⚖️",
    ":rotating_light:": "🚨",
    ":rocket:": "🚀",
    ":pencil2:": "✏️",
    ":page_facing_up:": "📄",
    ":no_entry_sign:": "🚫",
    ":no_entry:": "⛔",
    ":moneybag:": "💰",
    ":hourglass:": "⌛",
    ":gear:": "⚙️",
    ":bell:": "🔔",
}

#: Channels typed as ``#name`` get an id of their own (``#local`` is the shell's channel).
CHANNELS = {"local": CHANNEL_ID}
_MENTION = re.compile(r"(?<![<\w])@([a-z][\w.-]*)", re.I)
_CHANNEL = re.compile(r"(?<![<\w&])#([a-z0-9][\w-]*)", re.I)


def channel_id(name: str) -> str:
    """The local id of ``#name`` (made up once, the same every time)."""
    name = name.lower()
    if name not in CHANNELS:
        CHANNELS[name] = "C0" + re.sub(r"[^A-Z0-9]", "", name.upper())[:9]
    return CHANNELS[name]


def as_slack_text(text: str) -> str:
    """What Slack sends for what a person types: ``@sam`` becomes a mention and ``#ops`` a
    channel link (unknown names stay as typed)."""

    def person(match: re.Match[str]) -> str:
        user = PEOPLE.get(match.group(1).lower())
        return f"<@{user}|{match.group(1)}>" if user else match.group(0)

    text = _MENTION.sub(person, text)
    return _CHANNEL.sub(lambda m: f"<#{channel_id(m.group(1))}|{m.group(1).lower()}>", text)


def channel_name(channel: str) -> str:
    names = {v: k for k, v in CHANNELS.items()}
    return f"#{names.get(channel, channel)}"


Reader = Callable[[str], Awaitable[str | None]]
Writer = Callable[[str], None]


async def stdin_reader(prompt: str) -> str | None:
    """One line from the keyboard (None at end of input); echoes piped input."""
    try:
        line = await asyncio.to_thread(input, prompt)
    except EOFError:
        return None
    if not sys.stdin.isatty():
        print(line, flush=True)
    return line


@dataclass
class _Clickable:
    element: Interactive
    response_url: str
    message: dict[str, Any]
    view: dict[str, Any] | None = None


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
    ) -> None:
        self.bot = bot
        self.slack = slack
        self.secret = secret
        self.read = read
        self.write = write
        self.clickables: dict[int, _Clickable] = {}
        self.modal: dict[str, Any] | None = None
        #: A form's answers kept across a round of field errors, and the fields to ask again.
        self._kept: dict[tuple[str, str], str] = {}
        self._redo: set[str] | None = None
        #: Who is typing and clicking (`as sam` / `as you`).
        self.user_id = USER_ID
        #: Response URLs whose message was already replaced or deleted (a late ack is stale).
        self._replaced: set[str] = set()
        slack.on_call = self._on_call

    # -- what the app sends to "Slack" ---------------------------------------------------------

    def _show(self, header: str, body: dict[str, Any], response_url: str) -> None:
        rendered = render_message(body.get("text"), body.get("blocks"))
        offset = len(self.clickables)
        labels = {element.number: element.label for element in rendered.elements}
        for element in rendered.elements:
            self.clickables[offset + element.number] = _Clickable(
                element, response_url, {"ts": body.get("ts", ""), **body}
            )
        text = _renumber(rendered.text, labels, offset)
        self.write(f"{header}\n{_indent(_for_people(text))}")

    def _on_call(self, call: SlackCall) -> None:
        body = call.body
        match call.method:
            case "response_url":
                if body.get("replace_original") or body.get("delete_original"):
                    self._replaced.add(str(call.response_url))
                if body.get("delete_original") and not (body.get("text") or body.get("blocks")):
                    return
                where = "#local" if body.get("response_type") == "in_channel" else "only you"
                edited = " (updated)" if body.get("replace_original") else ""
                url = self.slack.response_url(call.response_url)
                self._show(f"deploybot → {where}{edited}:", body, url)
            case "chat.postMessage":
                message = dict(body)
                if isinstance(call.response, dict):
                    message["ts"] = call.response.get("ts", "")
                channel = str(body.get("channel") or "")
                names = {v: k for k, v in PEOPLE.items()}
                if channel in names:
                    where = f"direct message to {names[channel]}"
                elif body.get("thread_ts"):
                    where = f"{channel_name(channel)} (in the thread)"
                else:
                    where = channel_name(channel)
                self._show(f"deploybot → {where}:", message, self.slack.response_url())
            case "chat.update":
                where = channel_name(str(body.get("channel") or CHANNEL_ID))
                self._show(f"deploybot → {where} (edited):", body, self.slack.response_url())
            case "chat.postEphemeral":
                self._show("deploybot → only you:", body, self.slack.response_url())
            case "views.open" | "views.push" | "views.update":
                view = (
                    (call.response or {}).get("view") if isinstance(call.response, dict) else None
                )
                self.modal = view or body.get("view")
            case "views.publish":
                view = body.get("view") or {}
                home = {"text": "", "blocks": view.get("blocks") or []}
                self._show("App Home:", home, self.slack.response_url())
            case _:
                return

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
        self.clickables.clear()
        url = self.slack.response_url()
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
            self._show(f"deploybot → {where}:", body, url)
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
        target = self.clickables.get(number)
        if target is None:
            self.write(f"There is no button [{number}] on screen.")
            return
        element = target.element
        if element.confirm:
            answer = await self.read(f"{confirm_text(element.confirm)} [y/N] ")
            if (answer or "").strip().lower() not in ("y", "yes"):
                self.write("Cancelled.")
                return
        self.clickables.clear()
        response = await self.dispatch(
            payloads.block_actions(
                secret=self.secret,
                action_id=element.action_id,
                value=element.value,
                block_id=element.block_id,
                response_url=target.response_url,
                team_id=TEAM_ID,
                user_id=self.user_id,
                channel_id=CHANNEL_ID,
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
        self.write(f"┌ {rendered.title}")
        if rendered.text:
            self.write(_indent(rendered.text, "│ "))
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
    def user_name(self) -> str:
        return next(name for name, uid in PEOPLE.items() if uid == self.user_id)

    async def loop(self) -> int:
        self.write(
            "Type what you would type after /deploy (try `help` or `list`), a number to click "
            "a button, `home` for the App Home tab, `as sam` / `as you` to switch person (sam, "
            "another admin, approves your stops and starts), or `quit`."
        )
        while True:
            line = await self.read("/deploy ")
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
            if not line and not self.clickables:
                continue
            if line.isdigit():
                await self.click(int(line))
                continue
            if line == "home":
                await self.open_home()
                continue
            await self.command(line)


def _for_people(text: str) -> str:
    """Emoji as emoji, people and channels by their names (Slack's client does the same)."""
    for code, char in EMOJI.items():
        text = text.replace(code, char)
    for name, user in PEOPLE.items():
        text = text.replace(f"@{user}", f"@{name}")
    for name, channel in CHANNELS.items():
        text = text.replace(f"#{channel}", f"#{name}")
    return text


def _renumber(text: str, labels: dict[int, str], offset: int) -> str:
    """The message's buttons numbered after those already on screen, in one pass: renumbering
    label by label would take "[2] Accept" for the first button once it became [2] itself."""

    def shifted(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if labels.get(number) != match.group(2):
            return match.group(0)
        return f"[{offset + number}] {match.group(2)}"

    names = "|".join(re.escape(label) for label in sorted(set(labels.values()), key=len)[::-1])
    if not names:
        return text
    return re.sub(rf"\[(\d+)\] ({names})", shifted, text)


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines()) if text else prefix.rstrip()


async def run_shell(
    settings: Settings,
    *,
    speed: float = 10.0,
    sandbox: bool = True,
    read: Reader = stdin_reader,
    write: Writer = print,
) -> int:
    """Start (sandbox, fake Slack, app) and talk to the app until end of input."""
    from sandbox.clock import ScaledClock
    from sandbox.server import SandboxCluster

    async with contextlib.AsyncExitStack() as stack:
        cluster: SandboxCluster | None = None
        if sandbox:
            cluster = SandboxCluster(ScaledClock(speed))
            await cluster.start()
            stack.push_async_callback(cluster.stop)
            shell_db = (Path(settings.data_dir) / "shell.db").resolve()
            shell_db.parent.mkdir(parents=True, exist_ok=True)
            settings = settings.model_copy(
                update={
                    "nosana_api_url": cluster.base_url("nosana"),
                    "akash_api_url": cluster.base_url("akash"),
                    "neuranet_api_url": cluster.base_url("neuranet"),
                    "database_url": SecretStr(f"sqlite:///{shell_db}"),
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
        if cluster is not None:
            for api in cluster.apis:
                await storage.keys.put(
                    team_id=TEAM_ID,
                    provider=api.name,
                    api_key=SecretStr(api.demo_api_key),
                    connected_by=USER_ID,
                )
        secret = secrets.token_hex(16)
        bot = build_bot(
            settings,
            storage,
            token=BOT_TOKEN,
            signing_secret=secret,
            client=web_client(settings, BOT_TOKEN),
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
            write(
                "deploybot shell — Nosana, Akash and NeuraNET sandboxes running "
                f"({speed:g}× real time), demo keys connected."
            )
        return await Shell(bot, slack, secret, read=read, write=write).loop()
    return 0  # pragma: no cover - the context manager always returns above
