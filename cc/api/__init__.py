"""The controller's HTTP control API (gevent WSGI), its client for the CLI, and live reload from the store."""

from __future__ import annotations

from cc.api.app import ROUTES, ApiApp
from cc.api.client import ControllerClient
from cc.api.reload import ReloadReport, reload_from_store
from cc.api.server import ApiServer

__all__ = ["ROUTES", "ApiApp", "ApiServer", "ControllerClient", "ReloadReport", "reload_from_store"]
