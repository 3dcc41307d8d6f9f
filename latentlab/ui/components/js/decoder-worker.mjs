// Decodes latent codes with onnxruntime-web's wasm backend, off the page's main thread so the
// slider keeps receiving pointer events while a frame is computed.
//
// Messages in:  {type: "load", url}            -> {type: "loaded", ms, inputs, outputs} | {type: "error", message}
//               {type: "decode", id, z}         -> {type: "frame", id, ms, data (Float32Array, transferred), dims}
// One session per worker; the page keeps one worker per decoder URL.
import * as ort from "../ort/ort.wasm.min.mjs";

// Streamlit's page is not cross-origin isolated, so there is no SharedArrayBuffer and hence
// one wasm thread; this worker is the parallelism.
ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmPaths = new URL("../ort/", import.meta.url).href;

let session = null;

async function load(url) {
  const t0 = performance.now();
  session = await ort.InferenceSession.create(url, {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
  });
  return { type: "loaded", ms: performance.now() - t0, inputs: session.inputNames, outputs: session.outputNames };
}

async function decode(id, z) {
  const t0 = performance.now();
  const input = new ort.Tensor("float32", z, [1, z.length]);
  const result = await session.run({ [session.inputNames[0]]: input });
  const out = result[session.outputNames[0]];
  const data = new Float32Array(out.data); // a copy we own, so it can be transferred
  return { type: "frame", id, ms: performance.now() - t0, data, dims: out.dims };
}

self.onmessage = async (event) => {
  const m = event.data;
  try {
    if (m.type === "load") {
      self.postMessage(await load(m.url));
    } else if (m.type === "decode") {
      const reply = await decode(m.id, m.z);
      self.postMessage(reply, [reply.data.buffer]);
    }
  } catch (err) {
    self.postMessage({ type: "error", id: m.id, message: String((err && err.message) || err) });
  }
};
