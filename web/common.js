// Shared by every page: tokens (signed-in or guest), the REST helper, Socket.IO, the top bar
// with sign-in and TV mode, the connection banner and small formatting helpers.
import { io } from "./vendor/socket.io.esm.min.js";

const SESSION_KEY = "warroom.session"; // localStorage: {access_token, refresh_token, user}
const GUEST_KEY = "warroom.guest"; // sessionStorage: {access_token}
const THEME_KEY = "warroom.theme";
const EARLY_MS = 60_000; // renew a token this long before it expires

/** An API answer other than 2xx. */
export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function expiresAt(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part)).exp * 1000;
  } catch {
    return 0;
  }
}

function read(store, key) {
  try {
    return JSON.parse(store.getItem(key));
  } catch {
    return null;
  }
}

/** The signed-in session, or null. */
export function session() {
  return read(localStorage, SESSION_KEY);
}

/** The signed-in user ({id, username, role}), or null for a guest. */
export function me() {
  const s = session();
  return s && s.user ? s.user : null;
}

function keep(body) {
  localStorage.setItem(
    SESSION_KEY,
    JSON.stringify({
      access_token: body.access_token,
      refresh_token: body.refresh_token,
      user: { id: body.user.id, username: body.user.username, role: body.user.role },
    }),
  );
}

async function post(path, body) {
  return fetch(path, {
    method: "POST",
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
}

async function freshToken() {
  const s = session();
  if (s) {
    if (expiresAt(s.access_token) - Date.now() > EARLY_MS) return s.access_token;
    if (s.refresh_token) {
      const r = await post("/v1/auth/refresh", { refresh_token: s.refresh_token });
      if (r.ok) {
        keep(await r.json());
        return session().access_token;
      }
    }
    localStorage.removeItem(SESSION_KEY);
  }
  const g = read(sessionStorage, GUEST_KEY);
  if (g && expiresAt(g.access_token) - Date.now() > EARLY_MS) return g.access_token;
  const r = await post("/v2/auth/guest");
  if (!r.ok) throw new ApiError(r.status, "no guest pass (too many requests?)", "GUEST");
  const body = await r.json();
  sessionStorage.setItem(GUEST_KEY, JSON.stringify({ access_token: body.access_token }));
  return body.access_token;
}

let pending = null;
/** A valid access token: the signed-in user's, else a read-only guest token. */
export function token() {
  if (!pending) pending = freshToken().finally(() => (pending = null));
  return pending;
}

let skewMs = 0;
/** Server time in ms (corrects the local clock by the server's Date header). */
export function serverNow() {
  return Date.now() + skewMs;
}

/** Calls the API with the current token; resolves with the JSON body, rejects with ApiError. */
export async function api(path, { method = "GET", body } = {}) {
  const t = await token();
  const headers = { authorization: `Bearer ${t}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const r = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const date = Date.parse(r.headers.get("date") || "");
  if (!Number.isNaN(date)) {
    const d = date + 500 - Date.now();
    skewMs = Math.abs(d) > 1500 ? d : 0;
  }
  const text = await r.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!r.ok) {
    const e = data && data.error;
    const code = typeof e === "string" ? e : e && e.code;
    const message = (e && e.message) || (data && data.message) || r.statusText;
    throw new ApiError(r.status, message, code);
  }
  return data;
}

const names = new Map();
/** A user's display name (cached). */
export function userName(id) {
  if (!id) return Promise.resolve("—");
  if (!names.has(id)) {
    names.set(
      id,
      api(`/v2/users/${id}`).then(
        (u) => u.username,
        () => "Player",
      ),
    );
  }
  return names.get(id);
}

/** A Socket.IO connection to /v2/ws that takes a fresh token on every (re)connect. It is
 * also `window.warroomSocket`, for debugging (and for the tests, which drop it on purpose). */
export function socket() {
  const s = io({
    path: "/v2/ws",
    auth: (cb) => token().then((t) => cb({ token: t }), () => cb({})),
    reconnectionDelayMax: 4000,
  });
  window.warroomSocket = s;
  return s;
}

/** Creates an element: el("a", {href: "/"}, "text", child…). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k.startsWith("data")) e.setAttribute(k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase()), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

/** Sets an element's text by id (only when it changed, to keep the DOM quiet at 10 Hz). */
export function setText(id, text) {
  const e = typeof id === "string" ? document.getElementById(id) : id;
  const s = String(text);
  if (e && e.textContent !== s) e.textContent = s;
}

/** `m:ss`, or `h:mm:ss` from an hour up. */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** The id in the page's path (`/watch/{id}` → id). */
export function pathId() {
  return decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] || "");
}

/** True when the server said the page's subject does not exist. */
export function missing() {
  return document.documentElement.dataset.pageState === "missing";
}

let bannerRetry = null;
/** Shows the connection banner; `retry` runs on the Retry button (hidden without one). */
export function showBanner(text, retry) {
  const b = document.getElementById("banner");
  setText("banner-text", text);
  bannerRetry = retry || null;
  document.getElementById("banner-retry").hidden = !retry;
  b.hidden = false;
}

/** Hides the connection banner. */
export function hideBanner() {
  document.getElementById("banner").hidden = true;
}

let toastTimer = 0;
/** A short message at the bottom of the screen. */
export function toast(text) {
  let t = document.getElementById("toast");
  if (!t) {
    t = el("div", { id: "toast", class: "toast", role: "status" });
    document.body.append(t);
  }
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 4000);
}

function toggleTv() {
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  else document.documentElement.requestFullscreen().catch(() => {});
  document.body.classList.toggle("tv", !document.fullscreenElement);
}

function signInDialog() {
  const err = el("p", { class: "error", "aria-live": "polite" });
  const user = el("input", { name: "username", autocomplete: "username", required: true });
  const pass = el("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const form = el(
    "form",
    { method: "dialog" },
    el("h2", { text: "Sign in" }),
    el("label", {}, "Username", user),
    el("label", {}, "Password", pass),
    err,
    el("div", { class: "controls" },
      el("button", { type: "submit", class: "primary", text: "Sign in" }),
      el("button", { type: "button", value: "cancel", text: "Cancel", onclick: () => dlg.close() })),
  );
  const dlg = el("dialog", { id: "signin" }, form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.textContent = "";
    const r = await post("/v1/auth/login", { username: user.value.trim(), password: pass.value });
    if (!r.ok) {
      err.textContent = r.status === 429 ? "Too many attempts; wait a minute." : "Wrong username or password.";
      return;
    }
    keep(await r.json());
    location.reload();
  });
  return dlg;
}

/** Builds the top bar, the banner and the sign-in dialog; returns nothing. */
export function chrome() {
  const who = me();
  const dlg = signInDialog();
  const bar = el(
    "header",
    { class: "bar" },
    el("a", { class: "brand", href: "/", text: "WarRoom" }),
    el("span", { class: "who", id: "who", text: who ? `${who.username} (${who.role})` : "Watching as guest" }),
    who
      ? el("button", {
          id: "signout-btn",
          text: "Sign out",
          onclick: () => {
            const s = session();
            localStorage.removeItem(SESSION_KEY);
            if (s && s.refresh_token) post("/v1/auth/logout", { refresh_token: s.refresh_token }).finally(() => location.reload());
            else location.reload();
          },
        })
      : el("button", { id: "signin-btn", text: "Sign in", onclick: () => dlg.showModal() }),
    el("button", {
      id: "theme-btn",
      title: "Light or dark",
      text: "◐",
      "aria-label": "Switch light or dark theme",
      onclick: () => {
        const light = document.documentElement.classList.toggle("light");
        localStorage.setItem(THEME_KEY, light ? "light" : "dark");
      },
    }),
    el("button", { id: "tv-btn", title: "Full screen TV mode (F)", text: "TV mode", onclick: toggleTv }),
  );
  const banner = el(
    "div",
    { id: "banner", class: "banner", role: "alert", hidden: true },
    el("span", { id: "banner-text" }),
    el("button", { id: "banner-retry", text: "Retry", onclick: () => bannerRetry && bannerRetry() }),
  );
  document.body.prepend(bar, banner);
  document.body.append(dlg);
  if (localStorage.getItem(THEME_KEY) === "light") document.documentElement.classList.add("light");
  document.addEventListener("fullscreenchange", () => document.body.classList.toggle("tv", !!document.fullscreenElement));
  document.addEventListener("keydown", (e) => {
    if (e.target.closest && e.target.closest("input, textarea, select, dialog")) return;
    if ((e.key === "f" || e.key === "F") && !e.ctrlKey && !e.metaKey && !e.altKey) toggleTv();
  });
}

/** Shows the page's "not found" notice instead of its content. */
export function showMissing(what) {
  const m = document.getElementById("missing");
  m.hidden = false;
  setText("missing-what", what);
  for (const s of document.querySelectorAll("[data-content]")) s.hidden = true;
}
