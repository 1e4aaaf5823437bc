"""The devhost's error vocabulary: each one is a startup problem with a message meant for a human."""

from __future__ import annotations


class DevhostError(Exception):
    """Base of every error the devhost raises on purpose."""


class SettingsError(DevhostError):
    """local.settings.json or host.json is missing, unreadable or malformed."""


class AppLoadError(DevhostError):
    """The `module:attribute` given as the app could not be imported or is not a FunctionApp."""


class IndexingError(DevhostError):
    """The FunctionApp does not index, or indexes into something the devhost cannot serve faithfully."""


class RouteTemplateError(IndexingError):
    """An HTTP trigger's route template does not parse."""
