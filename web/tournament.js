// `/tournaments/{id}`: the current round's pairings with table numbers, standings with
// tie-breaks, and the round clock in big digits. Live through the Socket.IO room
// `tournament:{id}` (round_started, round_time_up, round_completed, tournament_completed) and
// the `table:{battle}` rooms of the round's battles (results as they come in).
import { ApiError, api, chrome, clock, el, hideBanner, missing, pathId, serverNow, setText, showBanner, showMissing, socket, userName } from "./common.js";

const id = pathId();
let round = null; // the current round (last one generated)
let tables = []; // battle ids whose rooms this page is in
let sock = null;
let reloadTimer = 0;

function clockTick() {
  const c = document.querySelector('[data-role="round-clock"]');
  if (!round || !round.ends_at) {
    setText(c, "--:--");
    return;
  }
  const left = (Date.parse(round.ends_at) - serverNow()) / 1000;
  const done = !!round.completed_at;
  setText(c, clock(done ? 0 : Math.ceil(left)));
  c.classList.toggle("over", !done && left <= 0);
  setText(
    "clock-label",
    done ? `Round ${round.round_number} complete` : left <= 0 ? `Round ${round.round_number}: time is up` : `Round ${round.round_number}`,
  );
}

function resultText(p, names) {
  if (p.result === "completed") return p.winner_id ? `${names.get(p.winner_id) || "?"} won` : "Draw";
  if (p.result === "cancelled") return "Cancelled";
  return "Playing";
}

async function render(t, standings) {
  setText("t-name", t.name);
  const total = t.rules && t.rules.rounds ? ` of ${t.rules.rounds}` : "";
  setText("t-meta", `${t.format.replace(/_/g, " ")} · ${t.status} · ${t.current_participants} players${t.rounds.length ? ` · round ${t.rounds.length}${total}` : ""}`);
  round = t.rounds.length ? t.rounds[t.rounds.length - 1] : null;
  const ids = new Set(standings.data.map((s) => s.user_id));
  for (const p of t.participants || []) ids.add(p.user_id);
  const names = new Map(await Promise.all([...ids].map(async (u) => [u, await userName(u)])));
  const pairings = round ? round.pairings.slice().sort((a, b) => a.table_number - b.table_number) : [];
  setText("pairings-title", round ? `Round ${round.round_number} pairings` : "Pairings");
  document.getElementById("pairings").replaceChildren(
    ...pairings.map((p) =>
      el(
        "li",
        { "data-role": "pairing", "data-table": p.table_number, "data-battle": p.battle_id },
        el("span", { class: "table-no" }, "Table ", el("span", { class: "num", text: p.table_number })),
        el("a", { href: `/table/${p.battle_id}` }, `${names.get(p.player1_id) || "?"} vs ${names.get(p.player2_id) || "?"}`),
        el("span", { class: "muted", text: resultText(p, names) }),
      ),
    ),
  );
  const bye = document.getElementById("bye");
  bye.hidden = !(round && round.bye);
  if (round && round.bye) bye.textContent = `Bye: ${names.get(round.bye) || "?"}`;
  document.getElementById("standings").replaceChildren(
    ...standings.data.map((s) =>
      el(
        "tr",
        { "data-role": "standing", "data-user": s.user_id },
        el("td", { class: "num", text: s.rank }),
        el("td", { text: names.get(s.user_id) || "?" }),
        el("td", { class: "num", text: s.match_points }),
        el("td", { class: "num", text: `${s.wins}-${s.draws}-${s.losses}` }),
        el("td", { class: "num", text: s.vp_for }),
        el("td", { class: "num", text: s.vp_diff > 0 ? `+${s.vp_diff}` : s.vp_diff }),
        el("td", { class: "num", text: s.strength_of_schedule }),
      ),
    ),
  );
  setText("tiebreaks", `Tie-breaks: ${(standings.tiebreakers || []).map((x) => x.replace(/_/g, " ")).join(", then ")}`);
  clockTick();
  follow(pairings.map((p) => p.battle_id));
}

async function load() {
  try {
    const [t, s] = await Promise.all([api(`/v1/tournaments/${id}`), api(`/v1/tournaments/${id}/standings`)]);
    await render(t.tournament, s);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) showMissing("tournament");
    else showBanner(`Could not load the tournament: ${e.message}`, load);
  }
}

function reloadSoon() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(load, 100);
}

/** Joins the rooms of the current round's tables (and leaves the previous round's). */
function follow(battles) {
  if (!sock || !sock.connected) {
    tables = battles;
    return;
  }
  for (const b of tables) if (!battles.includes(b)) sock.emit("table:leave", { battle_id: b });
  for (const b of battles) if (!tables.includes(b)) sock.emit("table:join", { battle_id: b });
  tables = battles;
}

function live() {
  sock = socket();
  let again = false;
  sock.on("connect", () => {
    hideBanner();
    sock.emit("tournament:join", { tournament_id: id });
    for (const b of tables) sock.emit("table:join", { battle_id: b });
    if (again) reloadSoon(); // whatever happened while away
    again = true;
  });
  for (const ev of ["round_started", "round_time_up", "round_completed", "tournament_completed", "battle_completed", "battle_cancelled"]) {
    sock.on(ev, reloadSoon);
  }
  sock.on("disconnect", () => showBanner("Connection lost, reconnecting…", () => sock.connect()));
  sock.on("connect_error", () => {
    if (!sock.active) showBanner("Could not connect to the live feed.", () => sock.connect());
  });
}

async function boot() {
  chrome();
  if (missing()) return showMissing("tournament");
  await load();
  setInterval(clockTick, 250);
  live();
}

boot();
