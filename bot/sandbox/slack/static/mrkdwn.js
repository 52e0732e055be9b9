// Slack mrkdwn -> HTML. Exposes window.Mrkdwn = {render, plain, escape}.
(function () {
  const EMOJI = {
    white_check_mark: "✅", heavy_check_mark: "✔️", x: "❌", warning: "⚠️", rotating_light: "🚨", fire: "🔥",
    eyes: "👀", rocket: "🚀", tada: "🎉", red_circle: "🔴", large_green_circle: "🟢", green_circle: "🟢",
    large_yellow_circle: "🟡", yellow_circle: "🟡", large_orange_circle: "🟠", large_blue_circle: "🔵",
    hourglass: "⌛", hourglass_flowing_sand: "⏳", mag: "🔍", chart_with_upwards_trend: "📈",
    chart_with_downwards_trend: "📉", bulb: "💡", robot_face: "🤖", thumbsup: "👍", "+1": "👍", thumbsdown: "👎",
    "-1": "👎", wrench: "🔧", memo: "📝", pager: "📟", stopwatch: "⏱️", no_entry: "⛔", no_entry_sign: "🚫",
    arrows_counterclockwise: "🔄", rewind: "⏪", lock: "🔒", bell: "🔔", siren: "🚨", clipboard: "📋",
    link: "🔗", calendar: "📅", gear: "⚙️", sparkles: "✨", ok_hand: "👌", pray: "🙏", wave: "👋",
    information_source: "ℹ️", question: "❓", exclamation: "❗", package: "📦", bar_chart: "📊",
    hammer_and_wrench: "🛠️", shield: "🛡️", zap: "⚡", snowflake: "❄️", white_circle: "⚪", black_circle: "⚫",
    raising_hand: "🙋", control_knobs: "🎛️", ghost: "👻", construction: "🚧", sunny: "☀️", ice_cube: "🧊",
    pushpin: "📌", round_pushpin: "📍", books: "📚", dart: "🎯", grey_question: "❔", heavy_plus_sign: "➕",
    rotating_light_: "🚨", large_red_circle: "🔴", arrow_right: "➡️", recycle: "♻️", broom: "🧹",
  };
  function escape(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  function unescape(s) {
    return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }
  function emoji(s) {
    return s.replace(/:([a-z0-9_+\-]+):/g, (m, name) => EMOJI[name] || m);
  }
  // ctx: {users: {id: name}, channels: {id: name}, groups: {id: handle}}
  function entity(inner, ctx) {
    const [target, label] = inner.split("|", 2);
    if (target.startsWith("@")) {
      const id = target.slice(1);
      return `<span class="mention">@${escape(label || (ctx.users && ctx.users[id]) || id)}</span>`;
    }
    if (target.startsWith("#")) {
      const id = target.slice(1);
      return `<span class="mention">#${escape(label || (ctx.channels && ctx.channels[id]) || id)}</span>`;
    }
    if (target.startsWith("!subteam^")) {
      const id = target.slice(9);
      return `<span class="mention">@${escape(label || (ctx.groups && ctx.groups[id]) || id)}</span>`;
    }
    if (target.startsWith("!")) {
      const word = target.slice(1).split("^")[0];
      return `<span class="mention">@${escape(label || word)}</span>`;
    }
    const url = unescape(target);
    const safe = /^(https?:|mailto:|\/)/.test(url) ? url : "#";
    return `<a href="${escape(safe)}" target="_blank" rel="noopener">${escape(label ? unescape(label) : url)}</a>`;
  }
  function inline(s) {
    s = s.replace(/(^|[\s(>])\*([^*\n]+)\*(?=$|[\s).,!?:;<])/g, "$1<b>$2</b>");
    s = s.replace(/(^|[\s(>])_([^_\n]+)_(?=$|[\s).,!?:;<])/g, "$1<i>$2</i>");
    s = s.replace(/(^|[\s(>])~([^~\n]+)~(?=$|[\s).,!?:;<])/g, "$1<s>$2</s>");
    return emoji(s);
  }
  function render(text, ctx) {
    ctx = ctx || {};
    const slots = [];
    const keep = (html) => `\u0000${slots.push(html) - 1}\u0000`;
    let s = String(text || "");
    s = s.replace(/```([\s\S]*?)```/g, (m, code) => keep(`<pre>${escape(unescape(code.replace(/^\n/, "")))}</pre>`));
    s = s.replace(/`([^`\n]+)`/g, (m, code) => keep(`<code>${escape(unescape(code))}</code>`));
    s = s.replace(/<([^<>\n]+)>/g, (m, inner) => keep(entity(inner, ctx)));
    s = escape(unescape(s));
    s = s.split("\n").map((line) => line.startsWith("&gt; ") || line === "&gt;"
      ? `<blockquote>${inline(line.replace(/^&gt; ?/, ""))}</blockquote>` : inline(line)).join("<br>");
    s = s.replace(/<\/blockquote><br>/g, "</blockquote>");
    return s.replace(/\u0000(\d+)\u0000/g, (m, i) => slots[Number(i)]);
  }
  function plain(text) { return emoji(escape(text || "")).replace(/\n/g, "<br>"); }
  window.Mrkdwn = { render, plain, escape, emoji };
})();
