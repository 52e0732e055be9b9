// Block Kit -> DOM. Exposes window.Blocks = {render(blocks, opts)}.
// opts: {ctx, onAction(element, blockId, selected), inputs: bool, errors: {block_id: msg}}
(function () {
  const M = window.Mrkdwn;
  function el(tag, cls, html) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (html !== undefined) e.innerHTML = html;
    return e;
  }
  function text(obj, ctx) {
    if (!obj) return "";
    return obj.type === "mrkdwn" ? M.render(obj.text, ctx) : M.plain(obj.text);
  }
  function button(b, blockId, opts) {
    const btn = el("button", "btn" + (b.style ? " " + b.style : ""), M.plain(b.text && b.text.text));
    btn.type = "button";
    btn.dataset.testid = "button-" + (b.action_id || "");
    btn.dataset.actionId = b.action_id || "";
    btn.addEventListener("click", () => {
      if (b.url) window.open(b.url, "_blank");
      if (opts.onAction) opts.onAction(b, blockId, undefined);
    });
    return btn;
  }
  function select(s, blockId, opts, forInput) {
    const sel = el("select", forInput ? "" : "blk-select");
    sel.dataset.testid = "select-" + (s.action_id || "");
    sel.dataset.actionId = s.action_id || "";
    const ph = el("option", "", M.plain((s.placeholder && s.placeholder.text) || "Select an option"));
    ph.value = "";
    sel.appendChild(ph);
    const options = s.options || (s.option_groups || []).flatMap((g) => g.options);
    options.forEach((o) => {
      const opt = el("option", "", M.plain(o.text.text));
      opt.value = o.value;
      if (s.initial_option && s.initial_option.value === o.value) opt.selected = true;
      sel.appendChild(opt);
    });
    sel._options = options;
    if (!forInput) {
      sel.addEventListener("change", () => {
        const o = options.find((x) => x.value === sel.value);
        if (o && opts.onAction) opts.onAction(s, blockId, o);
      });
    }
    return sel;
  }
  function element(e, blockId, opts) {
    if (e.type === "button") return button(e, blockId, opts);
    if (e.type === "static_select" || e.type === "overflow") return select(e, blockId, opts, false);
    if (e.type === "image") {
      const img = el("img");
      img.src = e.image_url || "";
      img.alt = e.alt_text || "";
      return img;
    }
    return el("span", "muted", M.escape(`[${e.type}]`));
  }
  function input(b, opts) {
    const wrap = el("div", "input-blk");
    wrap.dataset.blockId = b.block_id;
    wrap.appendChild(el("label", "", M.plain(b.label && b.label.text) + (b.optional ? ' <span class="muted">(optional)</span>' : "")));
    const e = b.element || {};
    let control;
    if (e.type === "static_select") {
      control = select(e, b.block_id, opts, true);
    } else {
      control = el(e.multiline ? "textarea" : "input");
      if (e.multiline) control.rows = 4;
      if (e.placeholder) control.placeholder = e.placeholder.text;
      if (e.initial_value) control.value = e.initial_value;
    }
    if (e.type !== "static_select") control.dataset.testid = "input-" + (e.action_id || "");
    control.dataset.actionId = e.action_id || "";
    control.dataset.type = e.type || "plain_text_input";
    wrap.appendChild(control);
    if (b.hint) wrap.appendChild(el("div", "hint", M.plain(b.hint.text)));
    if (opts.errors && opts.errors[b.block_id]) wrap.appendChild(el("div", "err", M.escape(opts.errors[b.block_id])));
    return wrap;
  }
  function block(b, opts) {
    const ctx = opts.ctx;
    switch (b.type) {
      case "header": return el("div", "blk blk-header", M.plain(b.text && b.text.text));
      case "divider": return el("hr", "blk-divider");
      case "section": {
        const s = el("div", "blk blk-section");
        const main = el("div", "main");
        if (b.text) main.appendChild(el("div", "text", text(b.text, ctx)));
        if (b.fields) {
          const f = el("div", "fields");
          b.fields.forEach((x) => f.appendChild(el("div", "text", text(x, ctx))));
          main.appendChild(f);
        }
        s.appendChild(main);
        if (b.accessory) {
          const acc = el("div", "accessory");
          acc.appendChild(element(b.accessory, b.block_id, opts));
          s.appendChild(acc);
        }
        return s;
      }
      case "context": {
        const c = el("div", "blk blk-context");
        (b.elements || []).forEach((x) => {
          if (x.type === "image") c.appendChild(element(x, b.block_id, opts));
          else c.appendChild(el("span", "text", text(x, ctx)));
        });
        return c;
      }
      case "image": {
        const d = el("div", "blk blk-image");
        if (b.title) d.appendChild(el("div", "title", M.plain(b.title.text)));
        const img = el("img");
        img.src = b.image_url || (b.slack_file && b.slack_file.url) || "";
        img.alt = b.alt_text || "";
        d.appendChild(img);
        return d;
      }
      case "actions": {
        const a = el("div", "blk blk-actions");
        (b.elements || []).forEach((x) => a.appendChild(element(x, b.block_id, opts)));
        return a;
      }
      case "input": return input(b, opts);
      case "markdown": return el("div", "blk text", M.render(b.text, ctx));
      case "rich_text": return el("div", "blk text", M.escape(JSON.stringify(b.elements).slice(0, 200)));
      default: return el("div", "blk muted", M.escape(`[unsupported block: ${b.type}]`));
    }
  }
  function render(blocks, opts) {
    const frag = document.createDocumentFragment();
    (blocks || []).forEach((b) => frag.appendChild(block(b, opts || {})));
    return frag;
  }
  window.Blocks = { render, el };
})();
