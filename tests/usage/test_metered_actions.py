"""Every action that bills is one a price list can price.

A route that calls ``metered(...)`` records its route name as the billed action; a Tencent action
that can answer ``billable=True`` records its ``native_action``. Each must be in
:data:`openkyc.usage.prices.METERED_ACTIONS`, or a price list could not price it (the file
validator refuses unknown actions) and its calls would be billed at 0 for good.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from fastapi.routing import APIRoute

import openkyc.api.routes
from openkyc.api.tencent.routes import ACTIONS
from openkyc.usage.prices import METERED_ACTIONS


def _metered_routes() -> set[str]:
    names = set()
    for info in pkgutil.iter_modules(openkyc.api.routes.__path__):
        module = importlib.import_module(f"openkyc.api.routes.{info.name}")
        router = getattr(module, "router", None)
        for route in router.routes if router is not None else ():
            if isinstance(route, APIRoute) and "metered(" in inspect.getsource(route.endpoint):
                names.add(route.name)
    return names


def test_every_metered_route_is_a_priceable_action() -> None:
    metered = _metered_routes()
    assert {"CompareFace", "VerifySelfie", "ReplaceSubjectPhoto"} <= metered  # the walk finds them
    assert metered <= METERED_ACTIONS, f"metered but not priceable: {sorted(metered - METERED_ACTIONS)}"


def test_every_billable_tencent_action_bills_a_priceable_action() -> None:
    billable = {a.native_action for a in ACTIONS.values() if "billable=True" in inspect.getsource(a.handler)}
    assert billable, "no Tencent action found that bills"
    assert billable <= METERED_ACTIONS, f"billed but not priceable: {sorted(billable - METERED_ACTIONS)}"
