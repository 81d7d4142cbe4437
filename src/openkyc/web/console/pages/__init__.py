"""The console's pages. Each reads or changes through :mod:`openkyc.management` and the contexts'
services, with the user's role checked first and the user's audit pseudonym as actor. Importing this
package registers every page on :data:`router`."""

from openkyc.web.console.pages import access, admin, apps, billing, compliance, data  # noqa: F401  (registers the routes)
from openkyc.web.console.pages.common import NAV, router

__all__ = ["NAV", "router"]
