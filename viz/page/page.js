// The step-through page. Every number shown comes from the engine's recording, written into
// window.minigradData by viz.html: this script only applies, per frame, the changes listed
// there (forward, or undone going back) and shows the words of the frame.
(function () {
  "use strict";
  const steps = window.minigradSteps;
  const data = window.minigradData;
  const N = steps.length;
  const byId = (id) => document.getElementById(id);
  const views = data.views;
  let shown = 0; // the frame whose changes are applied
  let timer = null;

  function applyFrame(k, forward) {
    // frame k's changes (k >= 1), applied going forward or undone going back
    for (const view of views) {
      for (const [id, before, after, beforeText, afterText] of view.nodes[k - 1]) {
        const el = byId(id);
        if (!el) continue;
        const value = forward ? after : before;
        el.setAttribute("data-grad-norm", value);
        el.classList.toggle("reached", value !== "");
        badge(el).textContent = forward ? afterText : beforeText;
      }
      for (const [id] of view.edges[k - 1]) {
        const el = byId(id);
        if (el) el.classList.toggle("lit", forward);
      }
    }
  }

  function badge(node) {
    // the norm of a node's gradient so far, under the node (its place read from dot's layout)
    let text = node.querySelector(":scope > text.norm-badge");
    if (text === null) {
      text = document.createElementNS(node.namespaceURI, "text");
      text.setAttribute("class", "norm-badge");
      text.setAttribute("x", node.getAttribute("data-x"));
      text.setAttribute("y", node.getAttribute("data-y"));
      text.setAttribute("text-anchor", "middle");
      node.appendChild(text);
    }
    return text;
  }

  let marked = []; // the elements marked for the frame on show, and the edge labels added

  function clearMarks() {
    for (const el of marked) {
      if (el.classList.contains("edge-label")) el.remove();
      else el.classList.remove("current", "sending");
    }
    marked = [];
  }

  function markFrame(k) {
    if (k === 0) return;
    for (const view of views) {
      const node = byId(view.current[k - 1]);
      if (node) { node.classList.add("current"); marked.push(node); }
      for (const [id, text] of view.edges[k - 1]) {
        const edge = byId(id);
        if (!edge) continue;
        edge.classList.add("sending");
        marked.push(edge, labelEdge(edge, text));
      }
    }
  }

  function labelEdge(edge, text) {
    // the label's place (the middle of the edge) was read from dot's layout by viz.html
    const label = document.createElementNS(edge.namespaceURI, "text");
    label.setAttribute("class", "edge-label");
    label.setAttribute("x", edge.getAttribute("data-x"));
    label.setAttribute("y", edge.getAttribute("data-y"));
    label.textContent = text;
    edge.parentNode.appendChild(label);
    return label;
  }

  let hashTimer = null;

  function keepHash() {
    // the address follows the frame once stepping pauses: writing it costs several ms a time
    clearTimeout(hashTimer);
    hashTimer = setTimeout(() => {
      const hash = "#frame=" + shown;
      if (location.hash === hash) return;
      try { history.replaceState(null, "", hash); } catch (e) { location.replace(hash); }
    }, 120);
  }

  function keepInView(el) {
    // one layout read per frame; scroll only when the node is out of sight
    const box = byId("graph");
    const outer = box.getBoundingClientRect();
    const inner = el.getBoundingClientRect();
    if (inner.left < outer.left || inner.right > outer.right) {
      box.scrollLeft += inner.left - outer.left - (outer.width - inner.width) / 2;
    }
    if (inner.top < outer.top || inner.bottom > outer.bottom) {
      box.scrollTop += inner.top - outer.top - (outer.height - inner.height) / 2;
    }
  }

  function go(k) {
    k = Math.max(0, Math.min(N, Math.round(Number(k)) || 0));
    while (shown < k) applyFrame(++shown, true);
    while (shown > k) applyFrame(shown--, false);
    clearMarks();
    document.body.classList.toggle("stepping", k > 0);
    markFrame(k);
    byId("frame").textContent = k + " / " + N;
    byId("slider").value = String(k);
    showWords(k);
    showSum(k);
    keepHash();
    const current = k > 0 ? visibleNode(k) : null;
    if (current) keepInView(current);
    return k;
  }

  function visibleNode(k) {
    for (const view of views) {
      const el = byId(view.current[k - 1]);
      if (el && el.closest("[hidden]") === null) return el;
    }
    return null;
  }

  function showWords(k) {
    const frame = data.frames[k];
    byId("what").textContent = (k > 0 ? "frame " + k + ": " : "") + frame.title;
    const list = byId("lines");
    list.replaceChildren(...frame.lines.map((line) => {
      const item = document.createElement("li");
      item.textContent = line;
      return item;
    }));
  }

  function showSum(k) {
    const param = data.params[byId("param").selectedIndex];
    const box = byId("terms");
    if (!param) { box.textContent = "no parameter gets a gradient"; return; }
    let latest = null;
    const parts = [document.createTextNode(param.grad + " = ")];
    param.terms.forEach((term, i) => {
      if (i > 0) parts.push(document.createTextNode(" + "));
      const span = document.createElement("span");
      const arrived = term.frame <= k;
      span.className = "term" + (arrived ? " arrived" : "") + (term.frame === k ? " new" : "");
      span.textContent = arrived ? term.label + " (" + term.norm + ")" : term.label;
      span.title = "sent in frame " + term.frame + "; ||term|| " + term.norm;
      parts.push(span);
      if (arrived && (latest === null || term.frame >= latest.frame)) latest = term;
    });
    box.replaceChildren(...parts);
    let text = latest ? "||" + param.grad + " so far|| = " + latest.sum : "no term has arrived yet";
    if (param.frame !== null && k >= param.frame) {
      text = "complete: " + param.grad + " = " + param.name + ".grad, ||" + param.name +
        ".grad|| = " + param.total;
    }
    byId("sofar").textContent = text;
  }

  function play() {
    if (timer !== null) { stop(); return; }
    if (shown >= N) go(0);
    byId("play").textContent = "pause";
    const tick = () => {
      if (shown >= N) { stop(); return; }
      go(shown + 1);
      timer = setTimeout(tick, 1000 / Number(byId("speed").value));
    };
    timer = setTimeout(tick, 0);
  }

  function stop() {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    byId("play").textContent = "play";
  }

  function frameFromHash() {
    const match = /frame=(\d+)/.exec(location.hash);
    return match ? Number(match[1]) : 0;
  }

  function toggleFold() {
    const unfolded = byId("unfolded");
    if (!unfolded) return;
    const expand = unfolded.hidden;
    unfolded.hidden = !expand;
    byId("folded").hidden = expand;
    byId("fold").textContent = expand ? "fold the middle steps" : "expand folded steps";
    go(shown);
  }

  function setUp() {
    byId("slider").max = String(N);
    data.params.forEach((p) => {
      const option = document.createElement("option");
      option.textContent = p.name;
      option.selected = p.name === data.param;
      byId("param").appendChild(option);
    });
    byId("scale").replaceChildren(...data.scale.map(([, colour, , text]) => {
      const span = document.createElement("span");
      span.style.background = colour;
      span.textContent = text;
      return span;
    }));
    byId("first").onclick = () => { stop(); go(0); };
    byId("prev").onclick = () => { stop(); go(shown - 1); };
    byId("next").onclick = () => { stop(); go(shown + 1); };
    byId("last").onclick = () => { stop(); go(N); };
    byId("play").onclick = play;
    byId("fit").onclick = () => byId("graph").classList.toggle("fit");
    byId("slider").oninput = (e) => { stop(); go(e.target.value); };
    byId("param").onchange = () => showSum(shown);
    if (byId("unfolded")) {
      byId("fold").hidden = false;
      byId("fold").onclick = toggleFold;
      const box = data.views[0].box;
      if (box) {
        byId(box).classList.add("fold");
        byId(box).addEventListener("click", toggleFold);
      }
    }
    document.addEventListener("keydown", onKey);
    window.addEventListener("hashchange", () => {
      if (frameFromHash() !== shown) go(frameFromHash());
    });
  }

  function onKey(event) {
    if (event.target && event.target.tagName === "SELECT") return;
    const moves = {
      ArrowRight: () => go(shown + 1), ArrowLeft: () => go(shown - 1),
      Home: () => go(0), End: () => go(N),
    };
    if (event.key === " " || event.key === "Spacebar") {
      event.preventDefault();
      play();
    } else if (moves[event.key]) {
      event.preventDefault();
      stop();
      moves[event.key]();
    }
  }

  window.minigradGo = go;
  setUp();
  go(frameFromHash());
})();
