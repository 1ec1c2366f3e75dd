// `/watch/{battle_id}`: a robot battle for spectators. Live over Socket.IO (`spectate:join`,
// a `battle:tick_batch` catch-up on a late join, `since_tick` after a reconnect so nothing is
// missed or repeated), or a replay of a finished battle with play/pause, speed and scrubber.
import { ApiError, api, chrome, el, hideBanner, missing, pathId, setText, showBanner, showMissing, socket } from "./common.js";
import { Replay } from "./replay.js";

const id = pathId();
const LOG_LINES = 12;
const state = {
  battle: null,
  last: 0, // highest tick shown live
  ticks: [], // every tick seen, in order
  max: { p1: { hp: 1, en: 1 }, p2: { hp: 1, en: 1 } },
  frame: null, // the tick to draw on the next animation frame
  ended: false,
};

const side = (t, p) => t[p] || t[`${p}_state`] || {};

function status(text) {
  setText("status", text);
  document.getElementById("status").classList.toggle("live", text === "Live");
}

function describe(s) {
  const a = s.action || "NONE";
  if (a === "SKILL") return `${(s.skill_id || "skill").replace(/[-_]/g, " ")}${dmg(s)}`;
  if (a === "ATTACK") return `Attack${dmg(s)}`;
  if (a === "DEFEND") return "Defend";
  if (a === "STUNNED") return "Stunned";
  return "—";
}

function dmg(s) {
  if (s.miss) return " · missed";
  return s.damage_dealt ? ` · ${s.damage_dealt} dmg${s.crit ? " CRIT!" : ""}` : "";
}

function bar(id, value, max) {
  const f = document.getElementById(id);
  const pct = Math.max(0, Math.min(100, (100 * value) / Math.max(1, max)));
  f.style.width = `${pct}%`;
  if (id.includes("hp")) {
    f.classList.toggle("low", pct <= 50 && pct > 20);
    f.classList.toggle("crit", pct <= 20);
  }
}

function draw(t) {
  setText(document.querySelector('[data-role="tick"]'), t.tick);
  for (const p of ["p1", "p2"]) {
    const s = side(t, p);
    const m = state.max[p];
    m.hp = Math.max(m.hp, s.hp || 0);
    m.en = Math.max(m.en, s.energy || 0);
    setText(document.querySelector(`[data-role="${p}-hp"]`), s.hp ?? 0);
    setText(`${p}-hp-max`, m.hp);
    setText(`${p}-energy`, s.energy ?? 0);
    bar(`${p}-hp-bar`, s.hp || 0, m.hp);
    bar(`${p}-en-bar`, s.energy || 0, m.en);
    setText(`${p}-action`, describe(s));
    const fx = (s.status_effects || []).map((e) =>
      el("li", { text: `${e.status.toLowerCase()} ${e.ticks}${e.value ? ` (${e.value})` : ""}` }),
    );
    document.getElementById(`${p}-effects`).replaceChildren(...fx);
  }
  setText("biome-event", t.biome_event ? `Biome event: ${t.biome_event.replace(/_/g, " ").toLowerCase()}` : "");
}

function queueDraw(t) {
  const first = state.frame === null;
  state.frame = t;
  if (first) {
    requestAnimationFrame(() => {
      const f = state.frame;
      state.frame = null;
      if (f) draw(f);
    });
  }
}

function logLine(t) {
  const a = side(t, "p1");
  const b = side(t, "p2");
  const n1 = document.getElementById("p1-name").textContent;
  const n2 = document.getElementById("p2-name").textContent;
  return el("li", { "data-tick": t.tick, text: `${t.tick}: ${n1} ${describe(a)} · ${n2} ${describe(b)}${t.biome_event ? ` · ${t.biome_event}` : ""}` });
}

function redoLog(upTo) {
  const lines = state.ticks.slice(Math.max(0, upTo + 1 - LOG_LINES), upTo + 1).reverse().map(logLine);
  document.getElementById("log").replaceChildren(...lines);
}

function players(b) {
  for (const [p, snap] of [["p1", b.player1], ["p2", b.player2]]) {
    const r = (snap && snap.robot) || {};
    setText(`${p}-name`, (snap && snap.username) || (p === "p1" ? "Player 1" : "Player 2"));
    setText(`${p}-robot`, r.nickname || r.display_name || r.name || "");
    setText(`${p}-element`, (r.element || "").toLowerCase());
    state.max[p].hp = Math.max(1, r.base_hp || 0);
    state.max[p].en = Math.max(1, r.base_energy || 0);
  }
  setText("mode", b.mode || "");
  setText("biome", b.biome ? `biome: ${b.biome.toLowerCase()}` : "");
}

function winner(winnerId, draw) {
  const b = state.battle || {};
  let name = "";
  if (draw) name = "Draw";
  else if (winnerId && b.player1 && winnerId === b.player1.id) name = b.player1.username;
  else if (winnerId && b.player2 && winnerId === b.player2.id) name = b.player2.username;
  else if (winnerId) name = "?";
  document.getElementById("winner-label").hidden = !name || draw;
  setText(document.querySelector('[data-role="winner"]'), name);
}

// ----- live -----

function apply(t) {
  if (!t || typeof t.tick !== "number" || t.tick <= state.last) return; // never repeat a tick
  state.last = t.tick;
  state.ticks.push(t);
  document.getElementById("countdown").hidden = true;
  queueDraw(t);
  const log = document.getElementById("log");
  log.prepend(logLine(t));
  while (log.children.length > LOG_LINES) log.lastChild.remove();
}

let countdownTimer = 0;
function countdown(ms) {
  const box = document.getElementById("countdown");
  const end = Date.now() + ms;
  clearInterval(countdownTimer);
  box.hidden = false;
  const step = () => {
    const left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
    setText(box, left);
    if (left <= 0 || state.last > 0) {
      clearInterval(countdownTimer);
      box.hidden = true;
    }
  };
  step();
  countdownTimer = setInterval(step, 200);
}

function finishLive(e) {
  state.ended = true;
  status("Ended");
  winner(e.winner_id, e.is_draw);
  if (state.ticks.length) {
    const r = new Replay(state.ticks, (t, i) => {
      draw(t);
      redoLog(i);
    });
    r.seek(state.ticks.length - 1);
    r.pause();
  }
}

function live() {
  const s = socket();
  const join = () => s.emit("spectate:join", state.last > 0 ? { battle_id: id, since_tick: state.last } : { battle_id: id });
  s.on("connect", () => {
    hideBanner();
    if (!state.ended) {
      status(state.last > 0 ? "Live" : "Joining");
      join();
    }
  });
  s.on("battle:tick_batch", (b) => {
    if (b.battle_id && b.battle_id !== id) return;
    for (const t of b.ticks || []) apply(t);
    status(b.phase === "COUNTDOWN" && state.last === 0 ? "Starting" : "Live");
    // Joined during the countdown: the server says how long is left.
    if (b.phase === "COUNTDOWN" && state.last === 0 && b.countdown_ms > 0) countdown(b.countdown_ms);
  });
  s.on("battle:tick", (t) => {
    if (t.battle_id && t.battle_id !== id) return;
    apply(t);
    if (!state.ended) status("Live");
  });
  s.on("battle:starting", (e) => {
    if (e.battle_id && e.battle_id !== id) return;
    status("Starting");
    countdown(e.countdown_ms || 0);
  });
  s.on("battle:ended", (e) => {
    if (e.battle_id && e.battle_id !== id) return;
    finishLive(e);
    s.disconnect();
  });
  s.on("error", (e) => {
    // The battle ended between loading the page and joining: show its replay.
    if (e && e.code === "NOT_FOUND" && !state.ended) {
      state.ended = true;
      s.disconnect();
      replay();
    }
  });
  s.on("disconnect", () => {
    if (!state.ended) {
      status("Reconnecting");
      showBanner("Connection lost, reconnecting…", () => {
        s.disconnect();
        s.connect();
      });
    }
  });
  s.on("connect_error", () => {
    if (!s.active) showBanner("Could not connect to the live feed.", () => s.connect());
  });
}

// ----- replay -----

async function replay() {
  status("Loading replay");
  try {
    const [b, log] = await Promise.all([api(`/v2/battles/${id}`), api(`/v2/battles/${id}/replay`)]);
    state.battle = b;
    players(b);
    state.ticks = log.ticks || [];
    status("Replay");
    winner(b.winner_id, !b.winner_id && b.status === "COMPLETED");
    for (const t of state.ticks) {
      for (const p of ["p1", "p2"]) state.max[p].hp = Math.max(state.max[p].hp, side(t, p).hp || 0);
    }
    const r = new Replay(state.ticks, (t, i) => {
      draw(t);
      redoLog(i);
    });
    r.seek(0);
    r.play();
  } catch (e) {
    showBanner(`Could not load the replay: ${e.message}`, () => location.reload());
  }
}

async function boot() {
  chrome();
  if (missing()) return showMissing("robot battle");
  try {
    state.battle = await api(`/v2/battles/${id}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return showMissing("robot battle");
    return showBanner(`Could not load the battle: ${e.message}`, () => location.reload());
  }
  players(state.battle);
  if (state.battle.status === "COMPLETED") return replay();
  if (state.battle.status === "VOIDED" || state.battle.status === "CANCELLED") {
    status("Voided");
    setText(document.querySelector('[data-role="winner"]'), "");
    return;
  }
  live();
}

boot();
