// `/`: live robot battles, the season's leaderboard (live through the `leaderboard` room) and
// tournaments with their status.
import { api, chrome, el, hideBanner, setText, showBanner, socket } from "./common.js";

const LIVE_EVERY_MS = 3000;
const LEADERS = 10;

function liveCard(b) {
  const p1 = b.player1 || {};
  const p2 = b.player2 || {};
  const robot = (p) => (p.robot && (p.robot.nickname || p.robot.display_name)) || "robot";
  const state = b.status === "COUNTDOWN" ? "starting" : `tick ${b.tick}`;
  return el(
    "li",
    {},
    el(
      "a",
      { href: `/watch/${b.id}`, "data-role": "live-battle", "data-battle": b.id },
      el("span", {}, el("b", { text: p1.username || "?" }), ` (${robot(p1)}) vs `, el("b", { text: p2.username || "?" }), ` (${robot(p2)})`),
      el("span", { class: "muted" }, `${b.mode || ""} · ${b.biome || ""} · `, el("span", { class: "tag live", text: state })),
    ),
  );
}

async function refreshLive() {
  try {
    const live = await api("/v2/battles/live");
    const list = document.getElementById("live");
    const data = (live.data || []).slice().sort((a, b) => String(a.id).localeCompare(String(b.id)));
    list.replaceChildren(...data.map(liveCard));
    document.getElementById("live-empty").hidden = data.length > 0;
    hideBanner();
  } catch (e) {
    showBanner(`Could not load live battles: ${e.message}`, refreshLive);
  }
}

function liveLoop() {
  refreshLive().finally(() => setTimeout(liveLoop, document.hidden ? LIVE_EVERY_MS * 3 : LIVE_EVERY_MS));
}

async function refreshLeaders() {
  const board = await api(`/v2/leaderboard?limit=${LEADERS}`);
  setText("season", board.season ? `season ${board.season}` : "");
  const rows = (board.data || []).map((r) =>
    el(
      "li",
      { "data-role": "leader" },
      el("span", { class: "rank num", text: `#${r.rank}` }),
      el("span", { text: r.username }),
      el("span", { class: "num", text: r.rating }),
      el("span", { class: "muted num", text: `${r.wins}–${r.losses}` }),
    ),
  );
  document.getElementById("leaders").replaceChildren(...rows);
  document.getElementById("leaders-empty").hidden = rows.length > 0;
}

async function refreshTournaments() {
  const t = await api("/v1/tournaments?limit=20");
  const order = { active: 0, registration: 1, draft: 2, completed: 3, cancelled: 4 };
  const data = (t.data || []).slice().sort((a, b) => (order[a.status] ?? 9) - (order[b.status] ?? 9));
  document.getElementById("tournaments").replaceChildren(
    ...data.map((x) =>
      el(
        "li",
        {},
        el(
          "a",
          { href: `/tournaments/${x.id}`, "data-role": "tournament" },
          el("b", { text: x.name }),
          el("span", { class: "muted" }, `${x.format.replace(/_/g, " ")} · ${x.current_participants}/${x.max_participants} · `, el("span", { class: x.status === "active" ? "tag live" : "tag", text: x.status })),
        ),
      ),
    ),
  );
  document.getElementById("tournaments-empty").hidden = data.length > 0;
}

function follow() {
  const s = socket();
  let timer = 0;
  s.on("connect", () => {
    hideBanner();
    s.emit("leaderboard:join");
  });
  // Deltas name only the changed rows: re-read the top (at most once a second).
  s.on("leaderboard:updated", () => {
    clearTimeout(timer);
    timer = setTimeout(() => refreshLeaders().catch(() => {}), 1000);
  });
  s.on("disconnect", () => showBanner("Connection lost, reconnecting…", () => s.connect()));
}

chrome();
liveLoop();
Promise.all([refreshLeaders(), refreshTournaments()]).catch((e) =>
  showBanner(`Could not load the page: ${e.message}`, () => location.reload()),
);
follow();
