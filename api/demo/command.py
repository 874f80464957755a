"""`herbtrace demo`: the whole system on its embedded default, telling the demo stories."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from traceability.cli.common import (
    console,
    fail,
    handles_errors,
    load_settings,
    refuse_demo_in_production,
)


@handles_errors
def demo(
    host: Annotated[str, typer.Option(help="Address the API listens on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the API")] = 8000,
    broker_port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port of the demo's Mosquitto (0: any free)")
    ] = 0,
    events: Annotated[int, typer.Option(min=0, help="Story events the devices tell")] = 300,
    data_dir: Annotated[
        Path, typer.Option(help="The demo's scratch directory, cleared on each run")
    ] = Path("herbtrace-demo"),
    exit_after: Annotated[
        bool, typer.Option("--exit", help="Stop once the stories are told (for checks)")
    ] = False,
) -> None:
    """Run herbtrace end to end: SQLite, a local Mosquitto, the gateway, the API, and
    simulated devices telling the demo stories over MQTT."""
    from api.demo.run import (
        DemoRun,
        check_port_free,
        demo_settings,
        fresh_directory,
        lock_directory,
    )

    refuse_demo_in_production(load_settings(), "demo")  # before the directory is touched
    data_dir = data_dir.resolve()
    check_port_free(host, port, "the API's")
    if broker_port:
        check_port_free("127.0.0.1", broker_port, "the broker's")
    lock = lock_directory(data_dir)  # held until this process ends
    fresh_directory(data_dir)
    run = DemoRun(data_dir, demo_settings(data_dir), broker_port, host, port)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        run.start()
        console.print(f"broker: mqtt://{run.broker.host}:{run.broker.port} (project ACLs)")
        run.serve_api()
        report = run.tell(events)
        console.print(
            f"told {report.events} events ({report.over_mqtt} over MQTT from "
            f"{len(run.devices)} devices, {report.direct} by the registrar and regulator); "
            f"log size {report.log_size}, {report.alerts} alerts"
        )
        regulator, operator = run.sign_ins()
        links = dict(run.sample_links())
        say = console.print
        say("open:")
        if "sold" in links:
            say(f"  a product's consumer page (what a shopper sees): {links.pop('sold')}")
        if "recalled" in links:
            say(f"  a recalled product's consumer page: {links.pop('recalled')}")
        say(f"  the regulator page: {links.pop('regulator')}")
        say(f"    sign in with this regulator token: {regulator}")
        say(f"  the grower's handheld page: {links.pop('handheld')}")
        say(f"    enrol the phone with this operator token (org-fusong-coop): {operator}")
        for label, url in links.items():
            say(f"  {label}: {url}")
        say(
            "  (demo tokens; for a real deployment: `herbtrace user add NAME --role regulator`, "
            "then `herbtrace user token NAME`)"
        )
        if report.rejected:
            raise fail(f"{len(report.rejected)} refused, e.g. {report.rejected[:3]}")
        if not exit_after:
            console.print("serving; Ctrl-C stops")
            stop.wait()
    finally:
        run.stop()
        lock.close()
