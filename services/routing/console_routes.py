"""Every console route: sign-in, cases and their forms, the overview, the transparency page."""

from __future__ import annotations

from aiohttp import web

from services.common.csrf import CsrfTokens
from services.routing.api import ACTION_BODIES
from services.routing.console import act, case_list, case_page, root
from services.routing.console_contact import add_contact_form
from services.routing.console_login import LOGIN_CSRF, add_sign_ins, login, login_page, logout
from services.routing.console_overview import overview
from services.routing.console_regroup import regroup
from services.routing.console_staff import accounts_page, assign, set_disabled
from services.routing.console_takedowns import add_takedown_forms
from services.routing.oidc import add_oidc_routes


def add_console_routes(
    app: web.Application, csrf_secret: str | None, login_per_minute: int = 10
) -> None:
    """Register the console pages (the sessions and accounts are set when the app starts)."""
    app[LOGIN_CSRF] = CsrfTokens(csrf_secret)
    add_sign_ins(app, login_per_minute)
    app.router.add_get("/console", root)
    app.router.add_get("/console/", root)
    app.router.add_get("/console/login", login_page)
    app.router.add_post("/console/login", login)
    app.router.add_post("/console/logout", logout)
    add_oidc_routes(app)
    app.router.add_get("/console/cases", case_list)
    app.router.add_get("/console/cases/{case_id}", case_page)
    actions = "|".join(ACTION_BODIES)
    app.router.add_post(f"/console/cases/{{case_id}}/{{action:{actions}}}", act)
    app.router.add_post("/console/cases/{case_id}/{op:split|merge}", regroup)
    app.router.add_post("/console/cases/{case_id}/assign", assign)
    add_takedown_forms(app)
    add_contact_form(app)
    app.router.add_get("/console/overview", overview)
    app.router.add_get("/console/accounts", accounts_page)
    app.router.add_post("/console/accounts/{state:disable|enable}", set_disabled)
    app.router.add_get("/console/console.js", script)


async def script(_: web.Request) -> web.Response:
    """The console's only script: refresh the case list when it changes."""
    return web.Response(text=REFRESH_JS, content_type="application/javascript")


REFRESH_JS = """
(function () {
  var table = document.getElementById('case-table');
  var notice = document.getElementById('live-notice');
  if (!table) { return; }
  var url = table.getAttribute('data-refresh');
  function refresh() {
    fetch(url, {credentials: 'same-origin'}).then(function (reply) {
      if (!reply.ok) { return null; }
      return reply.text();
    }).then(function (html) {
      if (html === null || html === table.innerHTML) { return; }
      var before = table.querySelectorAll('tbody tr[data-case]').length;
      table.innerHTML = html;
      if (table.querySelectorAll('tbody tr[data-case]').length > before && notice) {
        notice.textContent = notice.getAttribute('data-new');
      }
    }).catch(function () {});
  }
  setInterval(refresh, 3000);
})();
"""
