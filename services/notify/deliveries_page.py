"""The delivery log page, `/deliveries`: supervisors see failed deliveries and re-send one.

A static page and script served by notify itself, so routing never reads notify's database
nor holds a token for it. The script calls the alert log API with the bearer token the
supervisor types (kept in the tab's sessionStorage only): the same authentication as the API,
and no cookie, so no cross-site request can act with it. Data is inserted as text, never HTML.
"""

from __future__ import annotations

from aiohttp import web

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; connect-src 'self'; "
    "style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

PAGE = """<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Nhật ký gửi cảnh báo</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ccc; padding: 0.3rem; text-align: left; }
#message { margin: 0.8rem 0; font-weight: bold; }
form { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: end; }
.scroll { overflow-x: auto; }
</style>
</head>
<body>
<h1>Nhật ký gửi cảnh báo <small>/ Alert delivery log</small></h1>
<form id="filters">
<label>Mã truy cập của giám sát viên (supervisor token)
<input id="token" type="password" autocomplete="off" required></label>
<label>Trạng thái
<select id="status">
<option value="failed">Thất bại (failed)</option>
<option value="pending">Đang chờ gửi (pending)</option>
<option value="delivered">Đã gửi (delivered)</option>
<option value="skipped">Bỏ qua (skipped)</option>
<option value="">Tất cả (all)</option>
</select></label>
<label>Mã vụ việc (case id) <input id="case"></label>
<button type="submit">Xem</button>
</form>
<p id="message" role="status"></p>
<div class="scroll"><table>
<thead><tr><th>Ghi nhận lúc</th><th>Vụ việc</th><th>Cảnh báo</th><th>#</th><th>Kênh</th>
<th>Người nhận</th><th>Trạng thái</th><th>Số lần thử</th><th>Lỗi gần nhất</th><th></th></tr></thead>
<tbody id="rows"></tbody>
</table></div>
<script src="/deliveries.js"></script>
</body>
</html>
"""

SCRIPT = """"use strict";
const $ = (id) => document.getElementById(id);
const STATUS = {pending: "Đang chờ gửi", delivered: "Đã gửi", failed: "Thất bại",
  skipped: "Bỏ qua"};
$("token").value = sessionStorage.getItem("notify-token") || "";

function say(text) { $("message").textContent = text; }

async function call(method, path) {
  const token = $("token").value.trim();
  sessionStorage.setItem("notify-token", token);
  const reply = await fetch(path, {method, headers: {Authorization: "Bearer " + token}});
  const body = await reply.json().catch(() => ({}));
  if (reply.status === 401) throw new Error("Mã truy cập không hợp lệ (invalid token).");
  if (!reply.ok) throw new Error((body.error && body.error.message) || "HTTP " + reply.status);
  return body;
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  row.appendChild(td);
  return td;
}

const CLOCK = {internal: "hạn nội bộ", legal: "hạn theo luật"};

function kindLabel(alert) {
  const clock = CLOCK[alert.clock || "internal"];
  if (alert.kind === "resolution") return "Đóng cảnh báo PagerDuty";
  const percent = Math.round((alert.share || 0) * 100);
  if (alert.kind === "warning") return "Nhắc hạn " + percent + "% (" + clock + ")";
  if (alert.kind === "platform_overdue") return "Nền tảng quá hạn: " + alert.platform;
  return "Cấp " + alert.level + " (" + clock + ")";
}

function render(alerts, status) {
  const rows = $("rows");
  rows.replaceChildren();
  for (const alert of alerts) {
    for (const d of alert.deliveries) {
      if (status && d.status !== status) continue;
      const row = document.createElement("tr");
      cell(row, new Date(alert.recorded_at).toLocaleString("vi-VN"));
      cell(row, alert.tracking_code);
      cell(row, kindLabel(alert));
      cell(row, d.n);
      cell(row, d.action ? d.channel + " (" + d.action + ")" : d.channel);
      cell(row, d.target);
      cell(row, STATUS[d.status] || d.status);
      cell(row, d.attempts + (d.resends.length ? " (gửi lại " + d.resends.length + ")" : ""));
      cell(row, d.last_error);
      const actions = cell(row, "");
      if (d.channel !== "amqp" && d.status !== "pending") {
        const button = document.createElement("button");
        button.textContent = "Gửi lại";
        button.addEventListener("click", () => resend(alert.alert_id, d.n));
        actions.appendChild(button);
      }
      rows.appendChild(row);
    }
  }
  if (!rows.children.length) say("Không có lần gửi nào phù hợp.");
}

async function load() {
  const query = new URLSearchParams({limit: "100"});
  const status = $("status").value;
  if (status) query.set("status", status);
  if ($("case").value.trim()) query.set("case_id", $("case").value.trim());
  say("");
  try {
    render((await call("GET", "/api/v1/alerts?" + query)).alerts, status);
  } catch (error) { say(error.message); }
}

async function resend(alertId, n) {
  const path = "/api/v1/alerts/" + encodeURIComponent(alertId) + "/deliveries/" + n + "/resend";
  try {
    await call("POST", path);
    await load();
    say("Đã đưa lần gửi #" + n + " vào hàng đợi gửi lại.");
  } catch (error) { say(error.message); }
}

$("filters").addEventListener("submit", (event) => { event.preventDefault(); load(); });
if ($("token").value) load();
"""


async def page(_: web.Request) -> web.Response:
    """GET /deliveries: the page (it holds no data; the script asks the API)."""
    return web.Response(
        text=PAGE, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS
    )


async def script(_: web.Request) -> web.Response:
    """GET /deliveries.js: the page's script."""
    return web.Response(
        text=SCRIPT, content_type="text/javascript", charset="utf-8", headers=SECURITY_HEADERS
    )


def add_page_routes(app: web.Application) -> None:
    """Register the delivery log page and its script."""
    app.router.add_get("/deliveries", page)
    app.router.add_get("/deliveries.js", script)
