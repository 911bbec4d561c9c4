"""`ccctl serve`: run the controller against FreeSWITCH (or cc.sim) until SIGTERM, then drain."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import sys

import click

from cc.commands.options import TIME_SCALE_HELP, time_scale_option

__all__ = ["serve"]


@click.command()
@click.option("--config", "-c", "config_path", default="cc.yaml", show_default=True,
              type=click.Path(exists=True, dir_okay=False), help="The controller's configuration file.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
              help="Least severe log lines written to stderr.")
@time_scale_option(1.0, help=f"{TIME_SCALE_HELP} On simulated time, for a `ccctl sim` started with the same "
                             "--time-scale.")
@click.option("--http", "http_listen", metavar="HOST:PORT", default=None,
              help="Serve the HTTP control API here (overrides http.listen of the configuration).")
def serve(config_path: str, log_level: str, time_scale: float, http_listen: str | None) -> None:
    """Run the call-center controller until SIGTERM or Ctrl-C.

    It connects to every FreeSWITCH node of the configuration (inbound ESL, retried with backoff),
    listens for the dialplan's `socket` connections, and logs one line per call state change with the
    call's UUID. On SIGTERM it stops taking calls, lets calls in progress finish (up to drain_timeout),
    and flushes the history to the database.

    \b
    Example:
      ccctl serve --config cc.yaml --http 127.0.0.1:8080
      ccctl sim --socket 127.0.0.1:8084 --time-scale 0.01 &  ccctl serve -c cc.yaml --time-scale 0.01
    """
    import gevent

    from cc.clock import ScaledClock, SystemClock
    from cc.config import load_config
    from cc.privacy.logmask import install_log_masking
    from cc.runtime.timebase import Timebase
    from cc.service import Service

    logging.basicConfig(level=getattr(logging, log_level.upper()),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_masking()   # numbers are masked in log lines (docs/privacy.md)
    cfg = load_config(config_path)
    if http_listen is not None:
        host, sep, port = http_listen.rpartition(":")
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise click.BadParameter(f"expected HOST:PORT, not {http_listen!r}", param_hint="--http")
        cfg = dataclasses.replace(cfg, http_listen=http_listen)
    clock: Timebase = SystemClock() if time_scale == 1.0 else ScaledClock(time_scale)
    svc = Service(cfg, clock=clock)
    svc.start()
    log = logging.getLogger("cc.serve")
    stopping: list[gevent.Greenlet] = []

    def on_signal(name: str) -> None:
        if stopping:
            log.warning("%s again: already draining", name)
            return
        log.info("%s: draining (up to %.0f s)", name, cfg.drain_timeout_s)
        stopping.append(gevent.spawn(svc.stop))

    gevent.signal_handler(signal.SIGTERM, on_signal, "SIGTERM")
    gevent.signal_handler(signal.SIGINT, on_signal, "SIGINT")
    ob_host, ob_port = svc.outbound_address
    api = f", HTTP API on {cfg.http_listen}" if cfg.http_listen else ""
    click.echo(f"cc serving: calls on {ob_host}:{ob_port}{api}, {len(cfg.nodes)} node(s); SIGTERM drains", err=True)
    svc.serve_forever()
    if svc.fenced.is_set():
        # the leader lock is lost: exit at once (no drain, no hang-ups); the calls' sockets close and the dialplan
        # parks them for the controller that leads next. The supervisor restarts this one as a standby.
        click.echo("ccctl: lost the lead (ha); exiting so that the other controller takes the calls over", err=True)
        sys.stderr.flush()
        os._exit(75)
    for g in stopping:
        g.join()
    click.echo("cc stopped", err=True)
