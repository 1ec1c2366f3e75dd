// `/table/{battle_id}`: a 40K battle on a table display or phone. Live through the raw
// `/v1/ws/battles/{id}` socket; a signed-in player of the battle, its tournament's organizer
// or an admin also gets controls that call the existing REST actions. Viewers only watch.
import { ApiError, api, chrome, clock, el, hideBanner, me, missing, pathId, setText, showBanner, showMissing, toast, token, userName } from "./common.js";

const id = pathId();
const SIDES = ["left", "right"];
let battle = null;
let canControl = false;
let ws = null;
let retryMs = 1000;
let refetchTimer = 0;

const role = (r) => document.querySelector(`[data-role="${r}"]`);
const sideOf = (playerId) => (battle ? battle.players.find((p) => p.user_id === playerId) : null);

function render(b) {
  battle = b;
  setText(role("round"), b.current_round || 0);
  setText("max-rounds", b.max_rounds);
  const turn = b.current_turn;
  setText(role("phase"), turn ? turn.phase : b.status.replace(/_/g, " "));
  const tag = b.status === "in_progress" ? (b.paused ? "paused" : "live") : b.status.replace(/_/g, " ");
  const t = document.getElementById("state");
  setText(t, tag);
  t.className = tag === "live" ? "tag live" : "tag";
  setTimer(turn ? turn.time_remaining : b.status === "setup" ? b.turn_time_limit : 0, b.paused);
  for (const p of b.players) {
    const s = p.position === "right" ? "right" : "left";
    showScores(s, p.scores);
    setText(role(`cp-${s}`), p.command_points);
    document.getElementById(`strats-${s}`).replaceChildren(...(p.stratagems_used || []).map((n) => el("li", { text: n })));
    document.getElementById(`side-${s}`).classList.toggle("active", !!turn && turn.player_id === p.user_id);
    userName(p.user_id).then((n) => {
      setText(`name-${s}`, n);
      if (turn && turn.player_id === p.user_id) setText("turn-of", `${n}'s turn`);
    });
  }
  if (!turn) setText("turn-of", b.status === "setup" ? "Waiting to start" : b.status === "completed" ? "Battle over: draw" : "");
  if (!turn && b.status === "completed" && b.winner_id) userName(b.winner_id).then((n) => setText("turn-of", `Battle over: ${n} wins`));
  if (turn && !turn.player_id) setText("turn-of", "");
  const chess = b.clock && b.clock.mode === "chess";
  for (const s of SIDES) document.getElementById(`bank-${s}`).hidden = !chess;
  if (chess) {
    const banks = {};
    for (const p of b.clock.players || []) banks[p.player_id] = p.bank_remaining;
    showBanks(banks);
  }
  if (canControl) controls();
}

function showScores(s, sc) {
  setText(role(`vp-${s}`), sc.victory_points);
  setText(`primary-${s}`, sc.primary);
  setText(`secondary-${s}`, sc.secondary);
}

function showBanks(banks) {
  for (const [pid, secs] of Object.entries(banks)) {
    const p = sideOf(pid);
    if (p) setText(`bank-${p.position === "right" ? "right" : "left"}`, `Bank ${clock(secs)}`);
  }
}

function setTimer(secs, paused) {
  setText(role("timer"), clock(secs));
  const c = document.getElementById("clock");
  c.classList.toggle("paused", !!paused);
  c.classList.toggle("late", !paused && secs <= 0 && battle && battle.status === "in_progress");
}

function refetchSoon() {
  clearTimeout(refetchTimer);
  refetchTimer = setTimeout(load, 50);
}

async function load() {
  try {
    render((await api(`/v1/battles/${id}`)).battle);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) showMissing("battle");
    else showBanner(`Could not load the battle: ${e.message}`, load);
  }
}

function onEvent(m) {
  switch (m.type) {
    case "timer_update":
      if (battle && battle.current_turn && m.current_turn) {
        const was = battle.current_turn;
        battle.current_turn = { ...was, ...m.current_turn };
        setTimer(m.current_turn.time_remaining, battle.paused);
        if (m.current_turn.phase !== was.phase || m.current_turn.player_id !== was.player_id) refetchSoon();
      }
      if (m.banks) showBanks(m.banks);
      return;
    case "score_update": {
      const p = sideOf(m.player_id);
      if (p) {
        p.scores = m.scores;
        showScores(p.position === "right" ? "right" : "left", m.scores);
      }
      return;
    }
    case "command_points_changed": {
      const p = sideOf(m.player_id);
      if (p) {
        p.command_points = m.command_points;
        setText(role(`cp-${p.position === "right" ? "right" : "left"}`), m.command_points);
      }
      return;
    }
    case "connected":
    case "pong":
      return;
    default:
      refetchSoon();
  }
}

async function connect() {
  if (ws) ws.close();
  let t;
  try {
    t = await token();
  } catch (e) {
    return showBanner(`Could not connect: ${e.message}`, connect);
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const sock = new WebSocket(`${scheme}://${location.host}/v1/ws/battles/${id}?token=${encodeURIComponent(t)}`);
  ws = sock;
  sock.onopen = () => {
    retryMs = 1000;
    hideBanner();
    load(); // anything missed while away
  };
  sock.onmessage = (ev) => {
    try {
      onEvent(JSON.parse(ev.data));
    } catch {
      /* not JSON: ignore */
    }
  };
  sock.onclose = () => {
    if (ws !== sock) return;
    showBanner("Connection lost, reconnecting…", connect);
    setTimeout(() => ws === sock && connect(), retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  };
}

// ----- controls (players of the battle, its organizer, admins) -----

async function act(body, path = `/v1/battles/${id}`, method = "PATCH") {
  try {
    const r = await api(path, { method, body });
    if (r && r.battle) render(r.battle);
  } catch (e) {
    toast(e.message);
  }
}

function button(label, action, attrs = {}) {
  return el("button", { type: "button", "data-action": action, ...attrs }, label);
}

function controls() {
  const b = battle;
  const live = b.status === "in_progress";
  const main = [];
  if (b.status === "setup") main.push(button("Start battle", "start", { class: "primary", onclick: () => act({ action: "start" }) }));
  if (live) {
    main.push(
      button("Next phase (N)", "next_phase", { class: "primary", onclick: () => act({ action: "next_phase" }) }),
      button("End turn (E)", "end_turn", { onclick: () => act({ action: "end_turn" }) }),
      b.paused
        ? button("Resume (P)", "resume", { onclick: () => act({ action: "resume" }) })
        : button("Pause (P)", "pause", { onclick: () => act({ action: "pause" }) }),
    );
    if (b.current_round < b.max_rounds) {
      main.push(button("Next round", "advance_round", { onclick: () => act(undefined, `/v1/battles/${id}/advance-round`, "POST") }));
    }
    main.push(button("Complete battle", "complete", { onclick: () => act({}, `/v1/battles/${id}/complete`, "POST") }));
  }
  document.getElementById("ctl-main").replaceChildren(...main);
  for (const p of b.players) {
    const s = p.position === "right" ? "right" : "left";
    const box = document.getElementById(`ctl-${s}`);
    if (!live) {
      box.replaceChildren();
      continue;
    }
    const score = (field, d) => () =>
      act({ action: "update_scores", player_id: p.user_id, scores: { [field]: Math.max(0, (p.scores[field] || 0) + d) } });
    const cp = (d) => () => act({ action: "adjust_command_points", player_id: p.user_id, delta: d });
    const strat = el("input", { placeholder: "Stratagem", "aria-label": "Stratagem name", maxlength: "60" });
    box.replaceChildren(
      el("div", { class: "controls" },
        button("+1 Primary", `primary+${s}`, { onclick: score("primary", 1) }),
        button("−1", `primary-${s}`, { "aria-label": "minus 1 primary", onclick: score("primary", -1) }),
        button("+1 Secondary", `secondary+${s}`, { onclick: score("secondary", 1) }),
        button("−1", `secondary-${s}`, { "aria-label": "minus 1 secondary", onclick: score("secondary", -1) }),
        button("+1 CP", `cp+${s}`, { onclick: cp(1) }),
        button("−1 CP", `cp-${s}`, { onclick: cp(-1), disabled: p.command_points <= 0 }),
      ),
      el("form", {
        class: "stratagem",
        onsubmit: (e) => {
          e.preventDefault();
          const name = strat.value.trim();
          if (name) act({ action: "use_stratagem", player_id: p.user_id, name, cp_cost: 1 });
        },
      }, strat, button("Use (1 CP)", `stratagem-${s}`, { type: "submit", disabled: p.command_points <= 0 })),
    );
  }
}

async function mayControl(b) {
  const u = me();
  if (!u) return false;
  if (u.role === "admin" || b.players.some((p) => p.user_id === u.id)) return true;
  if (!b.tournament_id || u.role !== "organizer") return false;
  try {
    const t = await api(`/v1/tournaments/${b.tournament_id}`);
    return t.tournament.organizer_id === u.id;
  } catch {
    return false;
  }
}

function keys() {
  document.addEventListener("keydown", (e) => {
    if (!canControl || !battle || battle.status !== "in_progress") return;
    if (e.target.closest && e.target.closest("input, textarea, select, dialog")) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const k = e.key.toLowerCase();
    if (k === "n") act({ action: "next_phase" });
    else if (k === "e") act({ action: "end_turn" });
    else if (k === "p") act({ action: battle.paused ? "resume" : "pause" });
  });
}

async function boot() {
  chrome();
  if (missing()) return showMissing("battle");
  let b;
  try {
    b = (await api(`/v1/battles/${id}`)).battle;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return showMissing("battle");
    return showBanner(`Could not load the battle: ${e.message}`, () => location.reload());
  }
  canControl = await mayControl(b);
  render(b);
  keys();
  connect();
}

boot();
