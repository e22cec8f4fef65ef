// The chat page: sign in, pick a model and files, stream answers over SSE (fetch + ReadableStream)
// or the WebSocket (ws/chat/), stop a generation, show the sources; the sidebar lists the saved chats
// (/api/v1/chats/*, Open WebUI's chat JSON), a finished answer saves the chat. All URLs are relative
// to the page, so the page works under a reverse-proxy path prefix.
"use strict";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "gateway.token";
let token = localStorage.getItem(TOKEN_KEY);
let history = [];          // the conversation sent with every request
let ids = [];              // the id of each of its messages (Open WebUI's history is keyed by them)
let chatId = null;         // the saved chat shown, null until the first answer is saved
let current = null;        // {stop(): void} while a generation runs
let socket = null;         // the open WebSocket, reused across generations

async function api(path, options = {}) {
  const headers = {"Content-Type": "application/json", ...(options.headers || {})};
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, {...options, headers});
  if (response.status === 401 && token) { signOut(); }
  return response;
}

async function errorText(response) {
  try { return (await response.json()).detail || `HTTP ${response.status}`; } catch { return `HTTP ${response.status}`; }
}

// --- session -------------------------------------------------------------------------------

async function start() {
  if (!token) return showSignIn();
  const me = await api("api/v1/auths/");
  if (!me.ok) return showSignIn();
  const user = await me.json();
  if (user.role === "pending") {
    signOut();
    $("signin-error").textContent = "Your account is waiting for an administrator's approval.";
    return;
  }
  $("who").textContent = `${user.name} (${user.role})`;
  $("signin").hidden = true;
  $("chat").hidden = false;
  $("signout").hidden = false;
  await Promise.all([loadModels(), loadSources(), loadChats()]);
}

function showSignIn() {
  $("chat").hidden = true;
  $("signout").hidden = true;
  $("who").textContent = "";
  $("signin").hidden = false;
}

function signOut() {
  if (token) fetch("api/v1/auths/signout", {method: "POST", headers: {Authorization: `Bearer ${token}`}}).catch(() => {});
  token = null;
  localStorage.removeItem(TOKEN_KEY);
  if (socket) socket.close();
  showSignIn();
}

$("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await api("api/v1/auths/signin", {method: "POST",
    body: JSON.stringify({email: form.get("email"), password: form.get("password")})});
  if (!response.ok) { $("signin-error").textContent = await errorText(response); return; }
  token = (await response.json()).token;
  localStorage.setItem(TOKEN_KEY, token);
  $("signin-error").textContent = "";
  start();
});
$("signout").addEventListener("click", signOut);

// --- pickers ---------------------------------------------------------------------------------

async function loadModels() {
  const response = await api("api/models");
  const models = response.ok ? (await response.json()).data : [];
  $("model").replaceChildren(...models.map((m) => new Option(m.name || m.id, m.id)));
  if (!models.length) $("chat-error").textContent = "No model available: ask an admin to add a connection.";
}

async function loadSources() {
  const [kbs, files] = await Promise.all([api("api/v1/knowledge/"), api("api/v1/files/?content=false")]);
  const checkbox = (type, id, label) => {
    const row = document.createElement("label");
    const input = Object.assign(document.createElement("input"), {type: "checkbox", value: id});
    input.dataset.type = type;
    row.append(input, ` ${label}`);
    return row;
  };
  const kbItems = kbs.ok ? (await kbs.json()).items : [];
  const fileItems = files.ok ? (await files.json()).items : [];
  $("collections").replaceChildren(...kbItems.map((k) => checkbox("collection", k.id, `${k.name} (collection)`)));
  $("files").replaceChildren(...fileItems.map((f) => checkbox("file", f.id, f.meta?.name || f.filename)));
}

function pickedFiles() {
  return [...document.querySelectorAll("#sources-picker input:checked")].map((i) => ({type: i.dataset.type, id: i.value}));
}

// --- messages --------------------------------------------------------------------------------

function bubble(role, text = "") {
  const item = document.createElement("li");
  item.className = role;
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  item.append(body);
  $("messages").append(item);
  item.scrollIntoView({block: "end"});
  return item;
}

function showSources(item, sources) {
  const box = document.createElement("div");
  box.className = "sources";
  const list = document.createElement("ol");
  for (const entry of sources) {
    const names = new Set((entry.metadata || []).map((m) => m.name || m.source).filter(Boolean));
    const li = document.createElement("li");
    li.textContent = `${[...names].join(", ") || entry.source?.name || entry.source?.id}`;
    li.title = (entry.document || []).join("\n---\n").slice(0, 2000);
    list.append(li);
  }
  box.append("Sources:", list);
  item.append(box);
}

function setBusy(busy) {
  $("send").disabled = busy;
  $("stop").disabled = !busy;
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("prompt").value.trim();
  if (!text || current) return;
  $("prompt").value = "";
  $("chat-error").textContent = "";
  bubble("user", text);
  history.push({role: "user", content: text});
  while (ids.length < history.length) ids.push(newId());
  const item = bubble("assistant");
  item.classList.add("streaming");
  const body = {model: $("model").value, messages: history, stream: true};
  const files = pickedFiles();
  if (files.length) body.files = files;
  const transport = document.querySelector("input[name=transport]:checked").value;
  setBusy(true);
  const finish = (status) => {
    item.classList.remove("streaming");
    const answer = item.querySelector(".text").textContent;
    if (answer) {
      history.push({role: "assistant", content: answer});
      saveChat(body.model).catch((error) => { $("chat-error").textContent = error.message; });
    }
    if (status) {
      const note = Object.assign(document.createElement("span"), {className: "status", textContent: status});
      item.append(note);
    }
    current = null;
    setBusy(false);
  };
  (transport === "ws" ? streamWebSocket : streamSSE)(body, item, finish);
});

$("stop").addEventListener("click", () => current && current.stop());
$("prompt").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("composer").requestSubmit(); }
});
$("new-chat").addEventListener("click", () => { if (!current) newChat(); });

function newChat() {
  history = [];
  ids = [];
  chatId = null;
  $("messages").replaceChildren();
  markCurrent();
}

// --- saved chats (the sidebar) -----------------------------------------------------------------

function newId() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

// The conversation as Open WebUI's chat JSON: a linear history keyed by message id.
function chatBody(model) {
  while (ids.length < history.length) ids.push(newId());
  const now = Math.floor(Date.now() / 1000);
  const messages = history.map((m, i) => ({id: ids[i], parentId: i ? ids[i - 1] : null,
    childrenIds: i + 1 < history.length ? [ids[i + 1]] : [], role: m.role, content: m.content, timestamp: now,
    ...(m.role === "assistant" ? {model} : {})}));
  const title = (history[0]?.content || "New Chat").slice(0, 60);
  return {title, models: [model], history: {messages: Object.fromEntries(messages.map((m) => [m.id, m])),
    currentId: ids[history.length - 1] || null}, messages, timestamp: Date.now()};
}

async function saveChat(model) {
  const response = chatId
    ? await api(`api/v1/chats/${chatId}`, {method: "POST", body: JSON.stringify({chat: chatBody(model)})})
    : await api("api/v1/chats/new", {method: "POST", body: JSON.stringify({chat: chatBody(model)})});
  if (!response.ok) throw new Error(await errorText(response));
  chatId = (await response.json()).id;
  await loadChats();
}

async function loadChats() {
  const response = await api("api/v1/chats/list?page=1&include_pinned=true&include_folders=true");
  const chats = response.ok ? await response.json() : [];
  $("chat-list").replaceChildren(...chats.map((chat) => {
    const item = document.createElement("li");
    item.dataset.id = chat.id;
    const open = Object.assign(document.createElement("button"), {type: "button", className: "open", textContent: chat.title, title: chat.title});
    open.addEventListener("click", () => openChat(chat.id));
    const remove = Object.assign(document.createElement("button"), {type: "button", className: "delete", textContent: "×"});
    remove.setAttribute("aria-label", `Delete ${chat.title}`);
    remove.addEventListener("click", () => deleteChat(chat.id));
    item.append(open, remove);
    return item;
  }));
  markCurrent();
}

function markCurrent() {
  for (const item of $("chat-list").children) item.classList.toggle("current", item.dataset.id === chatId);
}

async function openChat(id) {
  if (current) return;
  const response = await api(`api/v1/chats/${id}`);
  if (!response.ok) { $("chat-error").textContent = await errorText(response); return; }
  const body = (await response.json()).chat || {};
  const byId = body.history?.messages || {};
  const branch = [];
  for (let mid = body.history?.currentId; mid && byId[mid] && branch.length < 10000; mid = byId[mid].parentId) branch.unshift(byId[mid]);
  const messages = branch.length ? branch : (body.messages || []);
  history = messages.map((m) => ({role: m.role, content: typeof m.content === "string" ? m.content : ""}));
  ids = messages.map((m) => m.id || newId());
  chatId = id;
  $("messages").replaceChildren();
  for (const m of history) bubble(m.role, m.content);
  $("chat-error").textContent = "";
  markCurrent();
}

async function deleteChat(id) {
  const response = await api(`api/v1/chats/${id}`, {method: "DELETE"});
  if (!response.ok) { $("chat-error").textContent = await errorText(response); return; }
  if (id === chatId && !current) newChat();
  await loadChats();
}

// Apply one chat.completion.chunk (or our sources event) to the answer bubble.
function apply(item, data) {
  if (data.sources) { showSources(item, data.sources); return; }
  if (data.error) throw new Error(data.error.message || "The generation failed");
  const delta = data.choices?.[0]?.delta?.content;
  if (delta) item.querySelector(".text").textContent += delta;
  item.scrollIntoView({block: "end"});
}

// --- SSE: fetch + ReadableStream ------------------------------------------------------------

async function streamSSE(body, item, finish) {
  const controller = new AbortController();
  current = {stop: () => controller.abort()};
  try {
    const response = await api("api/chat/completions", {method: "POST", body: JSON.stringify(body), signal: controller.signal});
    if (!response.ok) throw new Error(await errorText(response));
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        for (const line of event.split("\n")) {
          if (!line.startsWith("data:")) continue;
          const data = line.slice(5).trim();
          if (data === "[DONE]") { finish(); return; }
          apply(item, JSON.parse(data));
        }
      }
    }
    finish();
  } catch (error) {
    if (error.name === "AbortError") { finish("stopped"); return; }
    $("chat-error").textContent = error.message;
    finish("failed");
  }
}

// --- WebSocket ----------------------------------------------------------------------------------

function openSocket() {
  if (socket && socket.readyState <= WebSocket.OPEN) return socket.ready;
  const url = new URL("ws/chat/", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(url);
  socket.handlers = new Map();
  socket.ready = new Promise((resolve, reject) => {
    socket.onopen = () => socket.send(JSON.stringify({type: "auth", token}));
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "ready") { resolve(); return; }
      const handler = socket.handlers.get(message.id);
      if (handler) handler(message); else if (message.type === "error") reject(new Error(message.detail));
    };
    socket.onclose = () => {
      reject(new Error("The connection closed"));
      for (const handler of socket.handlers.values()) handler({type: "error", detail: "The connection closed"});
      socket = null;
    };
  });
  return socket.ready;
}

async function streamWebSocket(body, item, finish) {
  const id = crypto.randomUUID ? crypto.randomUUID() : String(Date.now());
  try {
    await openSocket();
  } catch (error) {
    $("chat-error").textContent = error.message;
    finish("failed");
    return;
  }
  const ws = socket;
  current = {stop: () => ws.send(JSON.stringify({type: "cancel", id}))};
  ws.handlers.set(id, (message) => {
    try {
      if (message.type === "chunk") { apply(item, message.data); return; }
      if (message.type === "sources") { showSources(item, message.data); return; }
      ws.handlers.delete(id);
      if (message.type === "done") finish();
      else if (message.type === "cancelled") finish("stopped");
      else { $("chat-error").textContent = message.detail || "The generation failed"; finish("failed"); }
    } catch (error) {
      $("chat-error").textContent = error.message;
    }
  });
  ws.send(JSON.stringify({type: "chat", id, body}));
}

start();
