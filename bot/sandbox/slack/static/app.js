// The emulator page: sidebar, channel, thread pane, App Home, modals, confirm dialogs.
(function () {
  const M = window.Mrkdwn, B = window.Blocks, el = B.el;
  const $ = (id) => document.getElementById(id);
  const ui = {
    me: localStorage.getItem("emu-user") || "U0ALICE",
    channel: null, threadTs: null, tab: "channel", data: null, seq: -1,
  };
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("channel")) ui.channel = hash.get("channel");

  async function api(path, body) {
    const r = await fetch(path, body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const j = await r.json();
    if (!j.ok && j.error) toast(j.error);
    return j;
  }
  function toast(msg) {
    const t = $("toast");
    t.textContent = msg;
    t.classList.remove("hidden");
    clearTimeout(toast._t);
    toast._t = setTimeout(() => t.classList.add("hidden"), 3000);
  }
  function ctx() {
    const d = ui.data || { users: [], channels: [], usergroups: [] };
    const c = { users: {}, channels: {}, groups: {} };
    d.users.forEach((u) => (c.users[u.id] = u.name));
    d.channels.forEach((ch) => (c.channels[ch.id] = ch.name));
    d.usergroups.forEach((g) => (c.groups[g.id] = g.handle));
    return c;
  }
  function userOf(id) {
    const d = ui.data;
    if (id === "USLACKBOT") return { name: "Slackbot", color: "#1264a3", is_bot: true };
    return (d && d.users.find((u) => u.id === id)) || { name: id || "?", color: "#888" };
  }
  function fmtTime(ts) {
    const d = new Date(parseFloat(ts) * 1000);
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  async function refresh() {
    const q = new URLSearchParams({ user: ui.me });
    if (ui.channel) q.set("channel", ui.channel);
    if (ui.channel && ui.threadTs) q.set("thread_ts", ui.threadTs);
    const r = await fetch("/ui/state?" + q.toString());
    ui.data = await r.json();
    if (!ui.channel || !ui.data.channels.find((c) => c.id === ui.channel)) {
      const first = ui.data.channels.find((c) => c.name === "incidents") || ui.data.channels[0];
      if (first) { ui.channel = first.id; return refresh(); }
    }
    render();
  }

  function render() {
    renderSwitcher(); renderSidebar(); renderMain(); renderThread(); renderModal();
  }
  function renderSwitcher() {
    const sel = $("user-switcher");
    if (sel.options.length) { sel.value = ui.me; return; }
    ui.data.users.filter((u) => !u.is_bot).forEach((u) => {
      const o = el("option", "", `${M.escape(u.name)} — ${M.escape(u.title)}`);
      o.value = u.id;
      sel.appendChild(o);
    });
    sel.value = ui.me;
    sel.addEventListener("change", () => {
      ui.me = sel.value; localStorage.setItem("emu-user", ui.me); refresh();
    });
  }
  function renderSidebar() {
    const list = $("channel-list");
    list.innerHTML = "";
    ui.data.channels.filter((c) => !c.is_im).forEach((c) => {
      const li = el("li", (c.id === ui.channel && ui.tab === "channel" ? "active" : "") + (c.is_archived ? " archived" : ""),
        (c.is_private ? "🔒 " : "# ") + M.escape(c.name));
      li.dataset.testid = "channel-link-" + c.name;
      li.addEventListener("click", () => { ui.channel = c.id; ui.threadTs = null; ui.tab = "channel"; refresh(); });
      list.appendChild(li);
    });
    const apps = $("app-list");
    apps.innerHTML = "";
    const li = el("li", ui.tab !== "channel" ? "active" : "", "🤖 ai-sre");
    li.dataset.testid = "app-home-link";
    li.addEventListener("click", () => { ui.tab = "home"; ui.threadTs = null; refresh(); });
    apps.appendChild(li);
  }
  function currentChannel() { return ui.data.channels.find((c) => c.id === ui.channel); }

  function renderMain() {
    const box = $("messages");
    const tabs = $("tabs");
    tabs.innerHTML = "";
    if (ui.tab !== "channel") {
      $("channel-title").textContent = "ai-sre";
      $("channel-topic").textContent = "App";
      ["home", "messages"].forEach((t) => {
        const a = el("a", ui.tab === t ? "on" : "", t === "home" ? "Home" : "Messages");
        a.dataset.testid = "tab-" + t;
        a.addEventListener("click", async () => {
          ui.tab = t;
          if (t === "messages") { const j = await api("/ui/open_dm", { user: ui.me }); ui.dmChannel = j.channel; }
          refresh();
        });
        tabs.appendChild(a);
      });
    }
    if (ui.tab === "home") {
      box.innerHTML = "";
      $("composer-form").classList.add("hidden");
      const home = el("div", "home");
      home.dataset.testid = "app-home";
      if (ui.data.home) {
        home.appendChild(B.render(ui.data.home.blocks, { ctx: ctx(), onAction: (e, bid, sel) => act(e, bid, sel, { view: ui.data.home }) }));
      } else {
        home.appendChild(el("div", "empty", "The app has not published a Home tab for you yet."));
      }
      box.appendChild(home);
      return;
    }
    if (ui.tab === "messages" && ui.dmChannel && ui.channel !== ui.dmChannel) { ui.channel = ui.dmChannel; refresh(); return; }
    $("composer-form").classList.remove("hidden");
    const ch = currentChannel();
    if (ui.tab === "channel") {
      $("channel-title").textContent = ch ? (ch.is_private ? "🔒 " : "# ") + ch.name : "";
      $("channel-topic").textContent = ch ? ch.topic + (ch.bot_member ? "" : "  ·  ai-sre is not in this channel") : "";
    }
    $("composer").placeholder = ch ? `Message ${ch.is_im ? "ai-sre" : "#" + ch.name}   (try @ai-sre … or /aisre …)` : "";
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    box.innerHTML = "";
    const msgs = ui.data.messages || [];
    if (!msgs.length) box.appendChild(el("div", "empty", "No messages yet."));
    msgs.forEach((m) => box.appendChild(message(m, false)));
    if (atBottom || !renderMain._once) box.scrollTop = box.scrollHeight;
    renderMain._once = true;
  }

  function message(m, inThread) {
    const u = userOf(m.user);
    const isSystem = m.subtype && ["channel_join", "channel_topic", "channel_archive"].includes(m.subtype);
    const row = el("div", "msg" + (m._ephemeral ? " ephemeral" : "") + (isSystem ? " system" : ""));
    row.dataset.testid = "message";
    row.dataset.ts = m.ts;
    const av = el("div", "avatar", M.escape((u.name || "?")[0].toUpperCase()));
    av.style.background = u.color || "#888";
    row.appendChild(av);
    const body = el("div", "body");
    const meta = el("div", "meta", `<span class="name">${M.escape(u.real_name || u.name)}</span>` +
      (u.is_bot ? '<span class="badge">APP</span>' : "") + `<span class="time" title="${m.ts}">${fmtTime(m.ts)}</span>` +
      (m.edited ? '<span class="edited">(edited)</span>' : ""));
    body.appendChild(meta);
    if (m._ephemeral) body.appendChild(el("div", "only-you", "👁 Only visible to you"));
    const onAction = (e, bid, sel) => act(e, bid, sel, { message: m });
    if (m.blocks && m.blocks.length) body.appendChild(B.render(m.blocks, { ctx: ctx(), onAction }));
    else if (m.text) body.appendChild(el("div", "text", M.render(m.text, ctx())));
    (m.files || []).forEach((f) => {
      const d = el("div", "file blk");
      if ((f.mimetype || "").startsWith("image/")) {
        const img = el("img");
        img.src = f.url_private; img.alt = f.title || f.name; img.dataset.testid = "file-image";
        d.appendChild(el("div", "muted", M.escape(f.title || f.name)));
        d.appendChild(img);
      } else {
        d.innerHTML = `📎 <a href="${M.escape(f.url_private)}" target="_blank">${M.escape(f.title || f.name)}</a>`;
      }
      body.appendChild(d);
    });
    if (m.reactions && m.reactions.length) {
      const r = el("div", "reactions");
      m.reactions.forEach((x) => {
        const chip = el("span", "reaction" + (x.users.includes(ui.me) ? " mine" : ""), `${M.emoji(":" + x.name + ":")} ${x.count}`);
        chip.title = x.users.map((id) => userOf(id).name).join(", ");
        chip.addEventListener("click", () => api("/ui/react", { user: ui.me, channel: ui.channel, ts: m.ts, name: x.name }));
        r.appendChild(chip);
      });
      body.appendChild(r);
    }
    if (!inThread && m.reply_count) {
      const link = el("span", "thread-link", `${m.reply_count} ${m.reply_count === 1 ? "reply" : "replies"}`);
      link.dataset.testid = "thread-link";
      link.addEventListener("click", () => { ui.threadTs = m.ts; refresh(); });
      body.appendChild(link);
    } else if (!inThread && !m._ephemeral && !isSystem) {
      const link = el("span", "thread-link muted", "Reply in thread");
      link.style.visibility = "hidden";
      row.addEventListener("mouseenter", () => (link.style.visibility = "visible"));
      row.addEventListener("mouseleave", () => (link.style.visibility = "hidden"));
      link.addEventListener("click", () => { ui.threadTs = m.ts; refresh(); });
      body.appendChild(link);
    }
    row.appendChild(body);
    return row;
  }

  function renderThread() {
    const pane = $("thread");
    if (!ui.threadTs || ui.tab === "home") { pane.classList.add("hidden"); return; }
    pane.classList.remove("hidden");
    const ch = currentChannel();
    $("thread-channel").textContent = ch ? "#" + ch.name : "";
    const box = $("thread-messages");
    box.innerHTML = "";
    (ui.data.thread || []).forEach((m) => box.appendChild(message(m, true)));
    box.scrollTop = box.scrollHeight;
  }

  function confirmDialog(c) {
    return new Promise((resolve) => {
      const o = $("overlay");
      o.innerHTML = "";
      const d = el("div", "dialog");
      d.dataset.testid = "confirm-dialog";
      d.appendChild(el("div", "dh", M.plain((c.title && c.title.text) || "Are you sure?")));
      d.appendChild(el("div", "db text", c.text ? (c.text.type === "mrkdwn" ? M.render(c.text.text, ctx()) : M.plain(c.text.text)) : ""));
      const f = el("div", "df");
      const deny = el("button", "btn", M.plain((c.deny && c.deny.text) || "Cancel"));
      deny.dataset.testid = "confirm-deny";
      const ok = el("button", "btn " + (c.style === "danger" ? "danger" : "primary"), M.plain((c.confirm && c.confirm.text) || "Yes"));
      ok.dataset.testid = "confirm-ok";
      const done = (v) => { o.classList.add("hidden"); o.innerHTML = ""; resolve(v); };
      deny.addEventListener("click", () => done(false));
      ok.addEventListener("click", () => done(true));
      f.appendChild(deny); f.appendChild(ok); d.appendChild(f);
      o.appendChild(d);
      o.classList.remove("hidden");
    });
  }

  async function act(e, blockId, selected, where) {
    if (e.type === "button" && e.confirm && !(await confirmDialog(e.confirm))) return;
    if (e.url && !e.action_id) return;
    const body = { user: ui.me, action_id: e.action_id, block_id: blockId, selected };
    if (where.view) { body.view_id = where.view.id; body.values = collect(); }
    else { body.channel = ui.channel; body.ts = where.message.ts; }
    const j = await api("/ui/click", body);
    if (j.ok) toast(`Sent block_actions ${e.action_id}`);
  }

  function collect() {
    const values = {};
    document.querySelectorAll("#overlay .input-blk").forEach((w) => {
      const c = w.querySelector("[data-action-id]");
      if (!c) return;
      const v = {};
      if (c.dataset.type === "static_select") {
        const o = (c._options || []).find((x) => x.value === c.value);
        v[c.dataset.actionId] = { type: "static_select", selected_option: o || null };
      } else {
        v[c.dataset.actionId] = { type: c.dataset.type, value: c.value || null };
      }
      values[w.dataset.blockId] = v;
    });
    return values;
  }

  function renderModal(errors) {
    const o = $("overlay");
    const v = ui.data.modal;
    if (o.querySelector('[data-testid="confirm-dialog"]')) return;
    if (!v) { if (o.dataset.viewId) { o.classList.add("hidden"); o.innerHTML = ""; delete o.dataset.viewId; } return; }
    if (o.dataset.viewId === v.id && o.dataset.hash === v.hash && !errors) return;
    o.innerHTML = "";
    o.dataset.viewId = v.id; o.dataset.hash = v.hash;
    const d = el("div", "dialog");
    d.dataset.testid = "modal";
    d.appendChild(el("div", "dh", M.plain(v.title && v.title.text)));
    const b = el("div", "db");
    b.appendChild(B.render(v.blocks, { ctx: ctx(), errors, onAction: (e, bid, sel) => act(e, bid, sel, { view: v }) }));
    d.appendChild(b);
    const f = el("div", "df");
    const close = el("button", "btn", M.plain((v.close && v.close.text) || "Cancel"));
    close.dataset.testid = "modal-close";
    close.addEventListener("click", () => api("/ui/close_view", { user: ui.me, view_id: v.id }));
    f.appendChild(close);
    if (v.submit) {
      const submit = el("button", "btn primary", M.plain(v.submit.text));
      submit.dataset.testid = "modal-submit";
      submit.addEventListener("click", async () => {
        submit.disabled = true;
        const j = await api("/ui/submit_view", { user: ui.me, view_id: v.id, values: collect() });
        submit.disabled = false;
        if (j.errors) renderModal(j.errors);
      });
      f.appendChild(submit);
    }
    d.appendChild(f);
    o.appendChild(d);
    o.classList.remove("hidden");
  }

  async function send(textarea, threadTs) {
    const text = textarea.value.trim();
    if (!text) return;
    textarea.value = "";
    await api("/ui/post", { user: ui.me, channel: ui.channel, text, thread_ts: threadTs || undefined });
  }
  function wireComposer(form, textarea, threadTs) {
    form.addEventListener("submit", (ev) => { ev.preventDefault(); send(textarea, threadTs()); });
    textarea.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); send(textarea, threadTs()); }
    });
  }
  wireComposer($("composer-form"), $("composer"), () => null);
  wireComposer($("thread-form"), $("thread-composer"), () => ui.threadTs);
  $("thread-close").addEventListener("click", () => { ui.threadTs = null; refresh(); });

  let pending = false;
  function onChange(seq) {
    if (seq === ui.seq || pending) return;
    ui.seq = seq; pending = true;
    setTimeout(() => { pending = false; refresh(); }, 50);
  }
  function live() {
    if (window.EventSource) {
      const es = new EventSource("/ui/events");
      es.onmessage = (ev) => onChange(JSON.parse(ev.data).seq);
      es.onerror = () => { es.close(); setTimeout(live, 1000); };
    } else {
      setInterval(refresh, 500);
    }
  }
  refresh().then(live);
})();
