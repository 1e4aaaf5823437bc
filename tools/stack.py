"""The offline stack: Azurite + the ACS emulator + devhost serving function_app, wired together.

Used by `make run` (tools/devstack.py) and by the e2e tests, so both run exactly the same wiring.
Every credential is made fresh per start unless the caller passes one (`make run` keeps the
function key and, with PERSIST=1, Azurite's account key under .run/); none is in the repository.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from tools.azurite import Azurite, start_azurite
from tools.processes import ensure_free, free_port, start, stop_all, wait_for_port

HOST = "127.0.0.1"


@dataclass
class Stack:
    azurite: Azurite
    emulator_url: str
    app_url: str
    access_key: str
    resource_id: str
    function_key: str
    master_key: str
    eventgrid_key: str  # devhost's Event Grid system key, the `code=` of the webhook URL
    topic_key: str
    # The emulator's ask receiver checks a flow's ask requests with it (docs/local-stack.md).
    ask_secret: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    log_dir: Path | None = None  # <name>.log of each process, when started with one

    @property
    def topic_endpoint(self) -> str:
        """The emulator's Event Grid topic, as a custom topic's endpoint would be given."""
        return f"{self.emulator_url}/api/events"

    @property
    def webhook_url(self) -> str:
        return webhook_url(self.app_url, self.eventgrid_key)

    def app_settings(self) -> dict[str, str]:
        return {
            **app_settings(self.emulator_url, self.app_url, self.access_key, self.resource_id,
                           self.azurite.connection_string),
            **topic_settings(self.topic_endpoint, self.topic_key),
            # the app signs a flow's ask requests with the secret the emulator's receiver checks
            **({"FLOW_ASK_SECRET": self.ask_secret} if self.ask_secret else {}),
        }

    def stop(self) -> list[str]:
        """Stop the children together, then Azurite (the app may write until it stops).

        Returns a line for each child that did not stop within its grace period and was killed.
        """
        killed = stop_all([(process, signal.SIGTERM) for process in reversed(self.processes)])
        lines = [f"{describe(process)} did not stop within 5 s; killed" for process in killed]
        if not self.azurite.stop():
            lines.append("Azurite did not stop within 10 s; killed (persisted data may miss its last writes)")
        return lines


def describe(process: subprocess.Popen[bytes]) -> str:
    """The module a child runs (`python -m <module>`), else its program."""
    args = [str(arg) for arg in process.args] if isinstance(process.args, list) else [str(process.args)]
    return args[args.index("-m") + 1] if "-m" in args[:-1] else Path(args[0]).name


def webhook_url(app_url: str, eventgrid_key: str, function: str = "incoming_call") -> str:
    """The Event Grid subscription URL, system key included, as Azure's carries `code=`."""
    return f"{app_url}/runtime/webhooks/EventGrid?functionName={function}&code={quote(eventgrid_key)}"


# The jobs' schedules (read by the app's one timer): the stack sets what infra sets in Azure
# (the same values as the defaults declared in callcontrol/settings.py; a test keeps them equal).
TIMER_SCHEDULES = {"RECONCILE_SCHEDULE": "0 */5 * * * *", "RETENTION_SCHEDULE": "0 17 3 * * *",
                   "OUTBOX_SCHEDULE": "0 */1 * * * *"}


def app_settings(emulator_url: str, app_url: str, access_key: str, resource_id: str,
                 storage: str) -> dict[str, str]:
    """The app's settings pointing at the local emulator and Azurite."""
    return {
        "ACS_ENDPOINT": emulator_url,
        "ACS_ACCESS_KEY": access_key,
        "ACS_RESOURCE_ID": resource_id,
        "ACS_CALLBACK_ISSUER": emulator_url,
        "ACS_CALLBACK_JWKS_URL": f"{emulator_url}/calling/keys",
        "CALLBACK_BASE_URL": app_url,
        "CallStateStorage": storage,
        **TIMER_SCHEDULES,
        **entra_settings(emulator_url),
    }


# The emulator's stand-in Entra ID tenant (emulator/control/entra.py); MANAGEMENT_AUTH from the
# environment picks whether the management API asks for its tokens (docs/local-stack.md).
LOCAL_API_AUDIENCE = "api://call-control-local"


def entra_settings(emulator_url: str) -> dict[str, str]:
    settings = {"ENTRA_ISSUERS": f"{emulator_url}/emulator/entra/v2.0",
                "ENTRA_JWKS_URL": f"{emulator_url}/emulator/entra/keys",
                "MANAGEMENT_API_AUDIENCES": LOCAL_API_AUDIENCE}
    mode = os.environ.get("MANAGEMENT_AUTH")
    if mode:
        settings["MANAGEMENT_AUTH"] = mode
    return settings


def topic_settings(endpoint: str, key: str) -> dict[str, str]:
    """Where the app publishes its CloudEvents: the emulator's Event Grid topic."""
    return {"EVENTGRID_TOPIC_ENDPOINT": endpoint, "EVENTGRID_TOPIC_KEY": key}


def start_emulator(port: int, access_key: str, resource_id: str, webhook: str,
                   log: Path | None, extra: list[str] | None = None,
                   topic_key: str | None = None, ask_secret: str | None = None) -> subprocess.Popen[bytes]:
    ensure_free(port)
    # Keys go in the environment, not on the command line, where ps shows them (the webhook URL
    # too: it carries devhost's Event Grid key); logs are JSON.
    env = {"EMULATOR_ACCESS_KEY": access_key, "EMULATOR_EVENT_WEBHOOK": webhook, "LOG_FORMAT": "json"}
    if topic_key is not None:
        env["EMULATOR_TOPIC_KEY"] = topic_key
    if ask_secret:
        env["EMULATOR_ASK_SECRET"] = ask_secret
    process = start(
        [sys.executable, "-m", "emulator", "--host", HOST, "--port", str(port),
         "--resource-id", resource_id, *(extra or [])],
        env=env,
        log=log,
    )
    wait_for_port(port, process, timeout=30)
    return process


def start_devhost(port: int, settings: dict[str, str], function_key: str, master_key: str,
                  log: Path | None, eventgrid_key: str | None = None) -> subprocess.Popen[bytes]:
    ensure_free(port)
    env = {**settings, "DEVHOST_FUNCTION_KEY": function_key, "DEVHOST_MASTER_KEY": master_key,
           "LOG_FORMAT": "json"}  # `make run` reads the call events back from it
    if eventgrid_key is not None:
        env["DEVHOST_EVENTGRID_KEY"] = eventgrid_key
    process = start([sys.executable, "-m", "devhost", "--host", HOST, "--port", str(port)],
                    env=env, log=log)
    wait_for_port(port, process, timeout=60)
    return process


def start_stack(
    *,
    app_port: int = 0,
    emulator_port: int = 0,
    table_port: int = 0,
    data_dir: Path | None = None,
    log_dir: Path | None = None,
    emulator_args: list[str] | None = None,
    function_key: str | None = None,
    master_key: str | None = None,
    storage_key: str | None = None,
    app_overrides: dict[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Stack:
    """Start all three; on any failure, stop whatever already started.

    ``function_key`` and ``master_key`` pin devhost's keys and ``storage_key`` Azurite's account key
    (both random when None); ``app_overrides`` replaces or adds app settings; ``progress`` is
    told each step (`make run` prints them: devhost's start takes a while).
    """
    say = progress or (lambda _text: None)
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)

    def log(name: str) -> Path | None:
        return log_dir / f"{name}.log" if log_dir is not None else None

    say(f"starting Azurite (Table Storage) on port {table_port or 'any'} ...")
    azurite = start_azurite(port=table_port, location=data_dir, log=log("azurite"), key=storage_key)
    app_port = app_port or free_port()
    emulator_port = emulator_port or free_port()
    stack = Stack(
        azurite=azurite,
        emulator_url=f"http://{HOST}:{emulator_port}",
        app_url=f"http://{HOST}:{app_port}",
        access_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        resource_id=str(uuid.uuid4()),
        function_key=function_key or secrets.token_urlsafe(24),
        master_key=master_key or secrets.token_urlsafe(24),
        eventgrid_key=secrets.token_urlsafe(24),
        topic_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        ask_secret=secrets.token_urlsafe(24),
        log_dir=log_dir,
    )
    try:
        say(f"starting the ACS emulator on port {emulator_port} ...")
        stack.processes.append(start_emulator(
            emulator_port, stack.access_key, stack.resource_id, stack.webhook_url,
            log("emulator"), emulator_args, topic_key=stack.topic_key, ask_secret=stack.ask_secret))
        say(f"starting the function app (devhost) on port {app_port} ...")
        stack.processes.append(start_devhost(
            app_port, {**stack.app_settings(), **(app_overrides or {})}, stack.function_key,
            stack.master_key,
            log("devhost"), eventgrid_key=stack.eventgrid_key))
    except BaseException:  # Ctrl-C during start-up too: never leave a child behind
        stack.stop()
        raise
    return stack


def start_console(stack: Stack, port: int = 0, log: Path | None = None) -> str:
    """Start the call console against a running stack; it stops with the stack. Returns its URL."""
    port = port or free_port()
    ensure_free(port)
    process = start(
        [sys.executable, "-m", "console", "--host", HOST, "--port", str(port),
         "--app-url", stack.app_url, "--emulator-url", stack.emulator_url],
        env={"CONSOLE_FUNCTION_KEY": stack.function_key},
        log=log,
    )
    stack.processes.append(process)
    wait_for_port(port, process, timeout=30)
    return f"http://{HOST}:{port}/"
