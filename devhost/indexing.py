"""Index a FunctionApp the way the Python worker does, into what the devhost can serve.

The library does the real work (`app.get_functions()` validates triggers and unique names, fills in
default routes and auth levels); this module reads the result into plain records and checks what the
worker would check when it loads the functions: every Python parameter is bound by name to a binding
or is `context`, and every binding has a parameter. Triggers other than HTTP, Event Grid and timer
are listed as skipped rather than failing, so an app with a queue trigger still serves the others.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from devhost import auth
from devhost.errors import IndexingError
from devhost.routes import RouteTemplate, parse_template

logger = logging.getLogger(__name__)

HTTP_TRIGGER: Final = "httpTrigger"
HTTP_OUTPUT: Final = "http"
EVENT_GRID_TRIGGER: Final = "eventGridTrigger"
TIMER_TRIGGER: Final = "timerTrigger"
RETURN_BINDING: Final = "$return"
CONTEXT_PARAMETER: Final = "context"


class IndexableApp(Protocol):
    """What the devhost needs from a FunctionApp: the library's own indexing entry point."""

    def get_functions(self) -> Sequence[Any]: ...


@dataclass(frozen=True)
class IndexedFunction:
    name: str
    user_function: Callable[..., Any]
    trigger_parameter: str  # the trigger binding's name, bound to the parameter of the same name
    wants_context: bool
    is_async: bool


@dataclass(frozen=True)
class HttpFunction(IndexedFunction):
    route: RouteTemplate
    methods: frozenset[str] | None  # None = every method
    auth_level: str


@dataclass(frozen=True)
class EventGridFunction(IndexedFunction):
    pass


@dataclass(frozen=True)
class TimerFunction(IndexedFunction):
    schedule: str  # as declared: may hold %AppSetting% tokens, resolved when the host starts
    run_on_startup: bool
    use_monitor: bool | None  # None = the host's default (monitored when the interval is >= 1 minute)


@dataclass(frozen=True)
class SkippedFunction:
    name: str
    trigger_type: str


@dataclass(frozen=True)
class FunctionIndex:
    http: tuple[HttpFunction, ...]
    event_grid: tuple[EventGridFunction, ...]
    skipped: tuple[SkippedFunction, ...]
    timers: tuple[TimerFunction, ...] = ()

    def event_grid_function(self, name: str) -> EventGridFunction | None:
        """Look an Event Grid function up by name, case-insensitively like the host."""
        wanted = name.lower()
        return next((fn for fn in self.event_grid if fn.name.lower() == wanted), None)

    def timer_function(self, name: str) -> TimerFunction | None:
        """Look a timer function up by name, case-insensitively like the host."""
        wanted = name.lower()
        return next((fn for fn in self.timers if fn.name.lower() == wanted), None)


# get_functions() records names on the app and fails on a second call, so each app is indexed once.
_indexed: weakref.WeakKeyDictionary[Any, FunctionIndex] = weakref.WeakKeyDictionary()


def index_app(app: IndexableApp) -> FunctionIndex:
    """Index `app`; raise IndexingError with the library's or our own explanation when it fails."""
    try:
        cached = _indexed.get(app)
    except TypeError:  # not weak-referenceable: just index it
        cached = None
    if cached is not None:
        return cached
    get_functions = getattr(app, "get_functions", None)
    if not callable(get_functions):
        raise IndexingError(
            f"{type(app).__name__} has no get_functions(); expected an azure.functions.FunctionApp"
        )
    try:
        functions = list(get_functions())
    except Exception as exc:  # whatever the library raises, startup must stop with its message
        raise IndexingError(f"the function app does not index: {exc}") from exc
    index = _build_index(functions)
    with contextlib.suppress(TypeError):
        _indexed[app] = index
    return index


def _build_index(functions: Sequence[Any]) -> FunctionIndex:
    http: list[HttpFunction] = []
    event_grid: list[EventGridFunction] = []
    timers: list[TimerFunction] = []
    skipped: list[SkippedFunction] = []
    for function in functions:
        name = str(function.get_function_name())
        trigger = function.get_trigger()
        trigger_type = str(getattr(trigger, "type", None))
        if trigger_type == HTTP_TRIGGER:
            http.append(_http_function(name, function, trigger))
        elif trigger_type == EVENT_GRID_TRIGGER:
            event_grid.append(EventGridFunction(**_common(name, function, trigger, allowed_outputs=())))
        elif trigger_type == TIMER_TRIGGER:
            timers.append(_timer_function(name, function, trigger))
        else:
            logger.warning(
                "devhost serves HTTP, Event Grid and timer triggers only; skipping %s (%s)",
                name,
                trigger_type,
            )
            skipped.append(SkippedFunction(name, trigger_type))
    _reject_ambiguous_routes(http)
    return FunctionIndex(tuple(http), tuple(event_grid), tuple(skipped), tuple(timers))


def _timer_function(name: str, function: Any, trigger: Any) -> TimerFunction:
    schedule = getattr(trigger, "schedule", None)
    if not isinstance(schedule, str) or not schedule.strip():
        raise IndexingError(f"function {name}: a timer trigger needs a schedule")
    use_monitor = getattr(trigger, "use_monitor", None)
    return TimerFunction(
        **_common(name, function, trigger, allowed_outputs=()),
        schedule=schedule,
        run_on_startup=bool(getattr(trigger, "run_on_startup", False)),
        use_monitor=None if use_monitor is None else bool(use_monitor),
    )


def _http_function(name: str, function: Any, trigger: Any) -> HttpFunction:
    common = _common(name, function, trigger, allowed_outputs=(HTTP_OUTPUT,))
    route_text = str(getattr(trigger, "route", None) or name)
    route = parse_template(route_text)
    methods = getattr(trigger, "methods", None)
    method_set = frozenset(str(method).upper() for method in methods) if methods else None
    level = str(getattr(trigger, "auth_level", None) or auth.FUNCTION).lower()
    if level not in auth.AUTH_LEVELS:
        raise IndexingError(f"function {name}: unknown auth level {level!r}")
    return HttpFunction(**common, route=route, methods=method_set, auth_level=level)


def _common(name: str, function: Any, trigger: Any, allowed_outputs: tuple[str, ...]) -> dict[str, Any]:
    user_function = function.get_user_function()
    trigger_parameter = str(trigger.name)
    for binding in function.get_bindings():
        if binding is trigger:
            continue
        if binding.type in allowed_outputs and binding.name == RETURN_BINDING:
            continue
        raise IndexingError(
            f"function {name}: binding {binding.type!r} ({binding.name!r}) is not supported by devhost; "
            "it serves HTTP, Event Grid and timer triggers with an HTTP $return only"
        )
    parameters = inspect.signature(user_function).parameters
    if trigger_parameter not in parameters:
        raise IndexingError(
            f"function {name}: the trigger binding is named {trigger_parameter!r} but the Python function "
            f"has no parameter of that name (parameters: {', '.join(parameters) or 'none'})"
        )
    for parameter in parameters.values():
        bound = parameter.name in (trigger_parameter, CONTEXT_PARAMETER)
        if not bound and parameter.default is inspect.Parameter.empty:
            raise IndexingError(
                f"function {name}: parameter {parameter.name!r} matches no binding; "
                f"devhost binds {trigger_parameter!r} and 'context' by name"
            )
    return {
        "name": name,
        "user_function": user_function,
        "trigger_parameter": trigger_parameter,
        "wants_context": CONTEXT_PARAMETER in parameters and trigger_parameter != CONTEXT_PARAMETER,
        "is_async": inspect.iscoroutinefunction(user_function),
    }


def _reject_ambiguous_routes(functions: Sequence[HttpFunction]) -> None:
    """Two functions on the same route shape with overlapping methods could never both be reached."""
    for position, first in enumerate(functions):
        for second in functions[position + 1 :]:
            if first.route.shape() != second.route.shape():
                continue
            overlap = first.methods is None or second.methods is None or bool(first.methods & second.methods)
            if overlap:
                raise IndexingError(
                    f"functions {first.name} and {second.name} both serve route {first.route.text!r} "
                    "for the same HTTP methods"
                )
