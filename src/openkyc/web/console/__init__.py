"""The operators' web console at ``/console``: server-rendered (Jinja2), no JavaScript, no CDN.

:func:`build_console` makes the ASGI app that ``openkyc.api.app`` mounts at ``/console``. Pages
call the same functions as the management API (:mod:`openkyc.management`), with the signed-in
user's role (:mod:`openkyc.accounts.roles`) and an audit pseudonym as actor. Sign-in, sessions,
CSRF and lockout: :mod:`openkyc.accounts.console_auth`; this package only adapts them to HTTP.
"""

from openkyc.web.console.app import build_console

__all__ = ["build_console"]
