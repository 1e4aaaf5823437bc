"""Indexing through the library's get_functions(), and the checks the worker would make."""

from __future__ import annotations

import logging

import azure.functions as func
import pytest

from devhost.errors import IndexingError
from devhost.indexing import index_app
from tests.unit.devhost import sample_app


def test_sample_app_indexes_with_blueprints_names_routes_and_levels() -> None:
    index = index_app(sample_app.app)
    http = {fn.name: fn for fn in index.http}
    assert {"get_call", "calls_openapi", "change_call", "echo", "guarded", "admin_only", "renamed"} <= set(
        http
    )
    assert http["get_call"].route.text == "calls/{id}"
    assert http["get_call"].methods == frozenset({"GET"})
    assert http["change_call"].methods == frozenset({"POST", "DELETE"})
    assert http["renamed"].methods is None
    assert http["renamed"].route.text == "plain-text"
    assert http["renamed"].trigger_parameter == "request"
    assert http["guarded"].auth_level == "function"  # the app's default
    assert http["admin_only"].auth_level == "admin"
    assert http["get_call"].auth_level == "anonymous"
    assert http["echo"].is_async and http["echo"].wants_context
    assert not http["get_call"].is_async and not http["get_call"].wants_context
    assert {fn.name for fn in index.event_grid} == {"record_event", "async_event"}
    assert index.event_grid_function("RECORD_EVENT") is not None
    assert index.skipped == ()


def test_indexing_the_same_app_twice_returns_the_same_index() -> None:
    # The library's get_functions() fails on a second call (names already recorded), so we cache.
    assert index_app(sample_app.app) is index_app(sample_app.app)


def test_route_defaults_to_the_function_name() -> None:
    app = func.FunctionApp()

    @app.route(methods=["GET"])
    def health(req: func.HttpRequest) -> str:
        return "ok"

    assert index_app(app).http[0].route.text == "health"


def test_duplicate_function_names_fail_indexing() -> None:
    app = func.FunctionApp()
    blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the library leaves __init__ unannotated

    @app.route(route="a")
    def same(req: func.HttpRequest) -> str:
        return "a"

    @blueprint.function_name("same")
    @blueprint.route(route="b")
    def other(req: func.HttpRequest) -> str:
        return "b"

    app.register_functions(blueprint)
    with pytest.raises(IndexingError, match="does not index: Function same does not have a unique"):
        index_app(app)


def test_parameter_without_binding_fails_indexing() -> None:
    app = func.FunctionApp()

    @app.route(route="a")
    def needs_more(req: func.HttpRequest, extra: str) -> str:
        return extra

    with pytest.raises(IndexingError, match="parameter 'extra' matches no binding"):
        index_app(app)


def test_trigger_binding_without_parameter_fails_indexing() -> None:
    app = func.FunctionApp()

    @app.event_grid_trigger(arg_name="event")
    def wrong_name(evt: func.EventGridEvent) -> None:
        return None

    with pytest.raises(IndexingError, match="trigger binding is named 'event'"):
        index_app(app)


def test_unsupported_binding_fails_indexing() -> None:
    app = func.FunctionApp()

    @app.route(route="a")
    @app.table_input(arg_name="row", table_name="t", connection="Storage")
    def with_table(req: func.HttpRequest, row: str) -> str:
        return row

    with pytest.raises(IndexingError, match="binding 'table' \\('row'\\) is not supported"):
        index_app(app)


def test_other_triggers_are_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    app = func.FunctionApp()

    @app.queue_trigger(arg_name="message", queue_name="work", connection="Storage")
    def drain(message: func.QueueMessage) -> None:
        return None

    @app.route(route="a", auth_level="anonymous")
    def served(req: func.HttpRequest) -> str:
        return "a"

    with caplog.at_level(logging.WARNING):
        index = index_app(app)
    assert [fn.name for fn in index.http] == ["served"]
    assert [(s.name, s.trigger_type) for s in index.skipped] == [("drain", "queueTrigger")]
    assert "skipping drain (queueTrigger)" in caplog.text


def test_timer_triggers_are_indexed_with_their_options() -> None:
    app = func.FunctionApp()

    @app.timer_trigger(schedule="%SWEEP_SCHEDULE%", arg_name="timer", run_on_startup=True, use_monitor=False)
    def sweep(timer: func.TimerRequest, context: func.Context) -> None:
        return None

    @app.timer_trigger(schedule="0 */5 * * * *", arg_name="tick")
    async def every_five_minutes(tick: func.TimerRequest) -> None:
        return None

    index = index_app(app)
    first, second = index.timers
    assert (first.name, first.schedule, first.run_on_startup, first.use_monitor) == (
        "sweep", "%SWEEP_SCHEDULE%", True, False)
    assert (first.trigger_parameter, first.wants_context, first.is_async) == ("timer", True, False)
    assert (second.schedule, second.run_on_startup, second.use_monitor, second.is_async) == (
        "0 */5 * * * *", False, None, True)
    assert index.timer_function("SWEEP") is first and index.timer_function("nope") is None
    assert index.skipped == ()


def test_ambiguous_routes_fail_indexing() -> None:
    app = func.FunctionApp()

    @app.route(route="calls/{id}", methods=["GET"])
    def first(req: func.HttpRequest) -> str:
        return "1"

    @app.route(route="Calls/{other}", methods=["GET", "POST"])
    def second(req: func.HttpRequest) -> str:
        return "2"

    with pytest.raises(IndexingError, match="first and second both serve route"):
        index_app(app)


def test_bad_route_template_fails_indexing() -> None:
    app = func.FunctionApp()

    @app.route(route="calls/{id:nope}")
    def bad(req: func.HttpRequest) -> str:
        return "x"

    with pytest.raises(IndexingError, match="unknown constraint 'nope'"):
        index_app(app)


def test_not_a_function_app_fails() -> None:
    with pytest.raises(IndexingError, match="no get_functions"):
        index_app(object())  # type: ignore[arg-type]
