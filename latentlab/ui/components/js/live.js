// latentlab live decoding: while one of the page's own sliders (st.slider) is dragged, decode the
// code it stands for in the browser (onnxruntime-web in a worker) and draw the frame over the
// page's image (the st.image captioned `target`). On release Streamlit reruns, the server decodes
// the same code and its image arrives; the overlay then hides, so what stays on screen is the
// server's image (the source of truth).
//
// data: {name, assets, decoder (URL or null), reason (why live is off, or null), shape [C,H,W],
//        base [d], sliders [{label, value, vector [d] | null}], path ({a, b, method} or null: then
//        z = point on the path at the first slider's value), target (caption of the image)}
// The code for slider values v: z = base + Σ v_k · vector_k, or the point on the path at t = v_0
// (the same formulas as latentlab/ui/components/live.py). Slider values are read from the
// page's slider inputs (react-aria <input type=range>, whose value follows the thumb while
// dragged) once per display frame.
// Test hooks: window.__latentlab.live[name] = {frames, live, reason, decodeMs, liveValues,
//             livePixels, serverValues, serverPixels, serverShown, serverImages};
//             window.__latentlab.canvases[name] = the overlay canvas.

const REGISTRY = (window.__latentlab = window.__latentlab || {});
REGISTRY.live = REGISTRY.live || {};
REGISTRY.canvases = REGISTRY.canvases || {};
const DECODERS = (REGISTRY.decoders = REGISTRY.decoders || {});

function decoderFor(assets, url) {
  // One worker per decoder URL, shared by every component on the page and across reruns.
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

// -- the code for a set of slider values --------------------------------------------------------------
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
  if (data.path) return Float32Array.from(pointOnPath(data.path.a, data.path.b, values[0], data.path.method));
  const z = Float64Array.from(data.base);
  data.sliders.forEach((s, k) => {
    for (let i = 0; i < z.length; i++) z[i] += values[k] * s.vector[i];
  });
  return Float32Array.from(z);
}

function toRGBA(chw, dims, image) {
  const [c, h, w] = dims.slice(-3), plane = h * w, px = image.data;
  for (let i = 0; i < plane; i++) {
    for (let k = 0; k < 3; k++) px[4 * i + k] = Math.round(Math.min(1, Math.max(0, chw[(c === 1 ? 0 : k) * plane + i])) * 255);
    px[4 * i + 3] = 255;
  }
  return image;
}

// -- the page's sliders and image ---------------------------------------------------------------------
function findInputs(labels) {
  const byLabel = new Map();
  for (const input of document.querySelectorAll("[data-testid=stSlider] input[type=range]")) {
    byLabel.set(input.getAttribute("aria-label"), input);
  }
  return labels.map((label) => byLabel.get(label) || null);
}

function targetImage(caption) {
  for (const block of document.querySelectorAll("[data-testid=stImage]")) {
    if (block.innerText.trim() === caption) return block.querySelector("img");
  }
  return null;
}

function readValues(state) {
  // The code's values: a slider moved since the last run counts with its thumb's value; the
  // others with the value the server used (a thumb shows its value snapped to the step grid,
  // while a slider the user has not touched returns its exact default). null: sliders as first
  // seen after a run (the baseline).
  const { data } = state;
  if (!state.inputs || state.inputs.some((i) => i && !i.isConnected)) {
    state.inputs = findInputs(data.sliders.map((s) => s.label));
  }
  const dom = state.inputs.map((i) => (i ? i.value : null));
  if (state.baseline === null) {
    state.baseline = dom;
    return null;
  }
  return data.sliders.map((s, k) => (dom[k] !== null && dom[k] !== state.baseline[k] ? Number(dom[k]) : s.value));
}

function overlay(state, img) {
  // A canvas the size of the page's image, over it (native resolution, scaled up pixelated).
  const parent = img.parentElement;
  if (!state.canvas || state.canvas.parentElement !== parent) {
    const canvas = document.createElement("canvas");
    const [, h, w] = state.data.shape;
    Object.assign(canvas, { width: w, height: h });
    Object.assign(canvas.style, { position: "absolute", imageRendering: "pixelated", pointerEvents: "none", display: "none" });
    if (getComputedStyle(parent).position === "static") parent.style.position = "relative";
    parent.appendChild(canvas);
    state.canvas = canvas;
    state.ctx = canvas.getContext("2d", { willReadFrequently: true });
    REGISTRY.canvases[state.data.name] = canvas;
  }
  Object.assign(state.canvas.style, { left: `${img.offsetLeft}px`, top: `${img.offsetTop}px`,
    width: `${img.clientWidth}px`, height: `${img.clientHeight}px` });
  return state.canvas;
}

function imagePixels(img, w, h) {
  // The page's image is the decode upscaled by an integer factor with nearest neighbours:
  // scaling it back down without smoothing returns the decoded pixels.
  const c = document.createElement("canvas");
  Object.assign(c, { width: w, height: h });
  const ctx = c.getContext("2d", { willReadFrequently: true });
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(img, 0, 0, w, h);
  return Array.from(ctx.getImageData(0, 0, w, h).data);
}

// -- frames ---------------------------------------------------------------------------------------------
async function pump(state) {
  state.busy = true;
  while (state.wanted && state.decoder) {
    const { values, img } = state.wanted;
    state.wanted = null;
    try {
      const frame = await state.decoder.decode(codeOf(state.data, values));
      const canvas = overlay(state, img);
      const image = toRGBA(frame.data, frame.dims, state.ctx.createImageData(canvas.width, canvas.height));
      state.ctx.putImageData(image, 0, 0);
      canvas.style.display = "block";
      const s = state.status;
      if (s.decodeMs.length >= 500) s.decodeMs.shift();
      s.decodeMs.push(frame.ms);
      Object.assign(s, { frames: s.frames + 1, liveValues: values, livePixels: Array.from(image.data) });
    } catch (err) {
      liveOff(state, `in-browser decoding failed (${err.message})`);
    }
  }
  state.busy = false;
}

function tick(state) {
  if (!state.root.isConnected) {  // unmounted (another page, another model): stop and tidy up
    if (state.canvas) state.canvas.remove();
    return;
  }
  requestAnimationFrame(() => tick(state));
  if (!state.decoder) return;
  const img = targetImage(state.data.target);
  if (!img) return;
  const values = readValues(state);
  if (values === null) {  // the sliders as first seen after a run: the server's image shows them
    state.lastKey = state.data.sliders.map((x) => x.value).join(",");
    return;
  }
  const key = values.join(",");
  if (key !== state.lastKey) {  // a slider moved: decode its code (newest values win)
    state.lastKey = key;
    state.moved = true;
    state.srcAtMove = img.src;
    state.runAtMove = state.run;
    state.wanted = { values, img };
    if (!state.busy) pump(state);
  } else if (state.moved && !state.busy && state.run > state.runAtMove && img.src !== state.srcAtMove
             && img.complete && img.naturalWidth) {
    serverArrived(state, img);  // the rerun's image and values have both arrived: the overlay steps aside
  }
}

function serverArrived(state, img) {
  state.moved = false;
  state.baseline = null;  // the committed values are the new starting point
  const [, h, w] = state.data.shape;
  const s = state.status;
  Object.assign(s, { serverValues: state.data.sliders.map((x) => x.value), serverPixels: imagePixels(img, w, h),
    serverShown: performance.now(), serverImages: s.serverImages + 1 });
  if (state.canvas) state.canvas.style.display = "none";
}

function liveOff(state, reason) {
  state.decoder = null;
  Object.assign(state.status, { live: false, reason });
  state.note.textContent = `Live preview off: ${reason}. The image updates when you release a slider.`;
}

function start(state) {
  const { data } = state;
  if (!data.decoder) {
    liveOff(state, data.reason || "no in-browser decoder for this model");
    return;
  }
  state.note.textContent = "Loading the in-browser decoder…";
  decoderFor(data.assets, data.decoder).ready.then((info) => {
    if (state.data.decoder !== data.decoder) return;
    state.decoder = DECODERS[data.decoder];
    Object.assign(state.status, { live: true, loadMs: info.ms });
    state.note.textContent = "Live: the image follows the slider while you drag.";
  }, (err) => liveOff(state, `the in-browser decoder did not load (${err.message})`));
}

export default function (component) {
  const { data, parentElement } = component;
  let root = parentElement.querySelector(".ll-live");
  if (!root) {
    root = document.createElement("div");
    root.className = "ll-live";
    parentElement.appendChild(root);
  }
  const fresh = !root.__state || root.__state.data.decoder !== data.decoder || root.__state.data.name !== data.name;
  if (fresh) {
    if (root.__state) root.__state.root = document.createElement("div");  // stops the old loop
    const note = document.createElement("div");
    note.className = "note";
    root.replaceChildren(note);
    root.__state = { root, note, lastKey: null, baseline: null, status: { frames: 0, serverImages: 0, live: false, decodeMs: [] } };
  }
  const state = root.__state;
  state.data = data;  // new committed values, code and target every rerun
  state.run = (state.run || 0) + 1;
  state.inputs = null;
  if (!state.moved) state.baseline = null;  // mid-drag, keep the drag's baseline
  REGISTRY.live[data.name] = state.status;
  if (fresh) {
    start(state);
    tick(state);
  }
}
