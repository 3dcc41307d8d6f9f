// latentlab live decoder: sliders that move a latent code, and the decoded image drawn while a
// slider is dragged (onnxruntime-web in a worker). On release the slider values go to Python
// (state "values"), the server decodes the same code, and its image replaces the live frame.
//
// data: {assets, decoder (URL or null), reason (why live is off, or null), shape [C,H,W],
//        base [d], sliders [{id, label, min, max, step, value, vector [d], help, group}],
//        path ({a, b, method} or null: then z = point on the path at the first slider's value),
//        groups [{name, open}], image (data URL of the server's decode), values {id: value},
//        px, caption, layout ("side" | "stack")}
// Test hooks: window.__latentlab.live[key] = {frames, source, ...} (see `status`).

const REGISTRY = (window.__latentlab = window.__latentlab || {});
REGISTRY.live = REGISTRY.live || {};
REGISTRY.canvases = REGISTRY.canvases || {};
const DECODERS = (REGISTRY.decoders = REGISTRY.decoders || {});

function decoderFor(assets, url) {
  // One worker per decoder URL, shared by every component on the page.
  if (!DECODERS[url]) {
    const worker = new Worker(`${window.location.origin}${assets}/js/decoder-worker.mjs`, { type: "module" });
    const d = { worker, waiting: new Map(), next: 0 };
    d.ready = new Promise((resolve, reject) => {
      worker.onerror = (e) => reject(new Error(e.message || "the decoder worker did not start"));
      worker.onmessage = (e) => {
        const m = e.data;
        if (m.type === "loaded") resolve(m);
        else if (m.type === "error" && m.id === undefined) reject(new Error(m.message));
        else if (d.waiting.has(m.id)) {
          const [ok, fail] = d.waiting.get(m.id);
          d.waiting.delete(m.id);
          m.type === "frame" ? ok(m) : fail(new Error(m.message));
        }
      };
    });
    d.decode = (z) => new Promise((ok, fail) => {
      const id = d.next++;
      d.waiting.set(id, [ok, fail]);
      worker.postMessage({ type: "decode", id, z }, [z.buffer]);
    });
    worker.postMessage({ type: "load", url: `${window.location.origin}${url}` });
    DECODERS[url] = d;
  }
  return DECODERS[url];
}

// -- the code for a set of slider values (same formulas as latentlab/ui/components/live.py) ------
function pointOnPath(a, b, t, method) {
  const n = a.length, out = new Float64Array(n);
  let na = 0, nb = 0, dot = 0;
  for (let i = 0; i < n; i++) { na += a[i] * a[i]; nb += b[i] * b[i]; dot += a[i] * b[i]; }
  na = Math.sqrt(na); nb = Math.sqrt(nb);
  let omega = null;
  if (method === "slerp" && na > 0 && nb > 0) {
    omega = Math.acos(Math.min(1, Math.max(-1, dot / (na * nb))));
    if (Math.sin(omega) < 1e-4) omega = null;
  }
  for (let i = 0; i < n; i++) {
    out[i] = omega === null ? (1 - t) * a[i] + t * b[i]
      : (Math.sin((1 - t) * omega) * a[i] + Math.sin(t * omega) * b[i]) / Math.sin(omega);
  }
  return out;
}

function codeOf(data, values) {
  if (data.path) {
    return Float32Array.from(pointOnPath(data.path.a, data.path.b, values[data.sliders[0].id], data.path.method));
  }
  const z = Float64Array.from(data.base);
  for (const s of data.sliders) {
    const v = values[s.id];
    for (let i = 0; i < z.length; i++) z[i] += v * s.vector[i];
  }
  return Float32Array.from(z);
}

function toRGBA(chw, dims, image) {
  const [c, h, w] = dims.slice(-3), plane = h * w, px = image.data;
  for (let i = 0; i < plane; i++) {
    for (let k = 0; k < 3; k++) {
      const v = chw[(c === 1 ? 0 : k) * plane + i];
      px[4 * i + k] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
    px[4 * i + 3] = 255;
  }
  return image;
}

// -- DOM ---------------------------------------------------------------------------------------------
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmt(v) { return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2); }

function buildSliders(state, pane) {
  const { data } = state;
  const groups = data.groups.length ? data.groups : [{ name: "", open: true }];
  for (const g of groups) {
    const members = data.sliders.filter((s) => (s.group || "") === g.name);
    if (!members.length) continue;
    const box = g.open ? el("div", "group") : el("details", "group");
    if (!g.open) box.appendChild(el("summary", "", `${g.name} (${members.length})`));
    else if (g.name) box.appendChild(el("div", "group-title", g.name));
    const grid = el("div", "grid");
    for (const s of members) grid.appendChild(sliderRow(state, s));
    box.appendChild(grid);
    pane.appendChild(box);
  }
}

function sliderRow(state, s) {
  const row = el("label", "slider");
  row.title = s.help || "";
  const head = el("div", "head");
  const name = el("span", "name", s.label), value = el("span", "value", fmt(state.values[s.id]));
  head.append(name, value);
  const input = el("input");
  Object.assign(input, { type: "range", min: s.min, max: s.max, step: s.step });
  input.value = state.values[s.id];
  input.setAttribute("aria-label", s.label);
  input.dataset.id = s.id;
  input.addEventListener("input", () => {
    state.values[s.id] = Number(input.value);
    value.textContent = fmt(state.values[s.id]);
    state.dragging = true;
    request(state);
  });
  input.addEventListener("change", () => {
    state.values[s.id] = Number(input.value);
    state.dragging = false;
    request(state);
    state.setStateValue("values", { ...state.values });
  });
  row.append(head, input);
  return row;
}

function build(state) {
  const { data, root } = state;
  root.replaceChildren();
  root.className = `ll-live ${data.layout}`;
  const sliders = el("div", "sliders"), view = el("div", "view");
  const canvas = el("canvas");
  const [, h, w] = data.shape;
  Object.assign(canvas, { width: w, height: h });
  canvas.style.width = `${data.px}px`;
  canvas.style.height = `${Math.round((data.px * h) / w)}px`;
  const caption = el("div", "caption", data.caption);
  const note = el("div", "note");
  view.append(canvas, caption, note);
  buildSliders(state, sliders);
  root.append(sliders, view);
  Object.assign(state, { canvas, ctx: canvas.getContext("2d", { willReadFrequently: true }), note, caption });
}

// -- frames -------------------------------------------------------------------------------------------
function request(state) {
  // Keep at most one decode in flight; the newest values win (slider moves coalesce).
  if (!state.decoder) return;  // not (yet) live: the server's image follows the release
  state.wanted = { ...state.values };
  if (state.busy) return;
  pump(state);
}

async function pump(state) {
  state.busy = true;
  while (state.wanted) {
    const values = state.wanted;
    state.wanted = null;
    try {
      const frame = await state.decoder.decode(codeOf(state.data, values));
      const image = toRGBA(frame.data, frame.dims, state.ctx.createImageData(state.canvas.width, state.canvas.height));
      state.ctx.putImageData(image, 0, 0);
      const ms = state.status.decodeMs;
      if (ms.length >= 500) ms.shift();
      ms.push(frame.ms);
      Object.assign(state.status, { frames: state.status.frames + 1, source: "live", liveValues: values,
        livePixels: Array.from(image.data) });
    } catch (err) {
      liveOff(state, `in-browser decoding failed (${err.message})`);
      break;
    }
  }
  state.busy = false;
}

function showServer(state) {
  // The server's decode is the source of truth: draw it unless a newer live frame is wanted.
  const img = new Image();
  img.onload = () => {
    if (state.dragging || state.wanted) return;
    state.ctx.drawImage(img, 0, 0, state.canvas.width, state.canvas.height);
    const pixels = state.ctx.getImageData(0, 0, state.canvas.width, state.canvas.height).data;
    Object.assign(state.status, { source: "server", serverValues: state.data.values, serverPixels: Array.from(pixels),
      serverShown: performance.now(), serverImages: state.status.serverImages + 1 });
    requestAnimationFrame(() => { state.status.serverPainted = performance.now(); });
  };
  img.src = state.data.image;
}

function liveOff(state, reason) {
  state.decoder = null;
  state.status.live = false;
  state.status.reason = reason;
  state.note.textContent = `Live preview off: ${reason}. The image updates when you release a slider.`;
}

function startDecoder(state) {
  const { data } = state;
  if (!data.decoder) {
    liveOff(state, data.reason || "no in-browser decoder for this model");
    return;
  }
  state.note.textContent = "Loading the in-browser decoder…";
  const d = decoderFor(data.assets, data.decoder);
  d.ready.then((info) => {
    if (state.data.decoder !== data.decoder) return;
    state.decoder = d;
    Object.assign(state.status, { live: true, loadMs: info.ms });
    state.note.textContent = "Live: the image follows the slider while you drag.";
  }, (err) => liveOff(state, `the in-browser decoder did not load (${err.message})`));
}

function sameLayout(a, b) {
  return a && a.decoder === b.decoder && a.layout === b.layout && JSON.stringify(a.shape) === JSON.stringify(b.shape)
    && JSON.stringify(a.sliders.map((s) => [s.id, s.min, s.max, s.step, s.label]))
      === JSON.stringify(b.sliders.map((s) => [s.id, s.min, s.max, s.step, s.label]));
}

export default function (component) {
  const { data, parentElement, setStateValue, key } = component;
  let root = parentElement.querySelector(".ll-live");
  const rebuild = !root || !sameLayout(root.__state && root.__state.data, data);
  if (!root) {
    root = el("div", "ll-live");
    parentElement.appendChild(root);
  }
  const state = root.__state || (root.__state = { status: { frames: 0, serverImages: 0, live: false, decodeMs: [] } });
  REGISTRY.live[key] = state.status;
  REGISTRY.live[data.name] = state.status;
  Object.assign(state, { root, setStateValue });
  if (rebuild) {
    state.data = data;
    state.values = { ...data.values };
    build(state);
    REGISTRY.canvases[data.name] = state.canvas;
    startDecoder(state);
  } else {
    state.data = data;
    state.caption.textContent = data.caption;
    if (!state.dragging) {  // Python moved the values (a reset, a new sample): follow it
      state.values = { ...data.values };
      for (const input of root.querySelectorAll("input[type=range]")) {
        input.value = state.values[input.dataset.id];
        input.closest(".slider").querySelector(".value").textContent = fmt(state.values[input.dataset.id]);
      }
    }
  }
  showServer(state);
}
