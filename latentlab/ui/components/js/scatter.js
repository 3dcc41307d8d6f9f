// latentlab scatter map: regl-scatterplot (WebGL) with lasso, box and click selection. Every point
// carries its dataset row index; selections are reported as rows (state "selection").
//
// data: {points (Arrow table: x, y in [-1, 1], v colour channel, row, [value]), categories [names],
//        palette [hex], continuous, range, colour (name), assets, height, n, name}
// Test hooks: window.__latentlab.maps[name] = {drawn (performance.now()), n, selection, scatterplot}.

const REGISTRY = (window.__latentlab = window.__latentlab || {});
REGISTRY.maps = REGISTRY.maps || {};
let LIBRARY = null;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function column(table, name) {
  const c = table.getChild(name);
  return c ? c.toArray() : null;
}

const MODES = {
  Lasso: { mouseMode: "lasso", lassoType: "freeform" },
  Box: { mouseMode: "lasso", lassoType: "rectangle" },
  Pan: { mouseMode: "panZoom" },
};

function toolbar(state) {
  const bar = el("div", "bar");
  for (const name of Object.keys(MODES)) {
    const b = el("button", name === state.mode ? "on" : "", name);
    b.type = "button";
    b.onclick = () => {
      state.mode = name;
      state.plot.set(MODES[name]);
      for (const other of bar.querySelectorAll("button")) other.className = other === b ? "on" : "";
    };
    bar.appendChild(b);
  }
  bar.appendChild(el("span", "hint", "click a point · drag to select · wheel zooms · double-click clears"));
  return bar;
}

function legend(data) {
  const box = el("div", "legend");
  box.appendChild(el("span", "title", data.colour));
  if (data.continuous) {
    const bar = el("span", "ramp");
    bar.style.background = `linear-gradient(to right, ${data.palette.join(",")})`;
    box.append(el("span", "", data.range[0].toPrecision(3)), bar, el("span", "", data.range[1].toPrecision(3)));
  } else {
    data.categories.forEach((c, i) => {
      const item = el("span", "item");
      const dot = el("span", "dot");
      dot.style.background = data.palette[i];
      item.append(dot, el("span", "", c));
      box.appendChild(item);
    });
  }
  return box;
}

function tooltip(state, tip) {
  const { rows, v, value } = state;
  state.plot.subscribe("pointOver", (i) => {
    const label = state.data.continuous ? value[i].toPrecision(4) : state.data.categories[v[i]];
    tip.textContent = `sample #${rows[i]}${label === undefined ? "" : ` · ${label}`}`;
    tip.style.display = "block";
  });
  state.plot.subscribe("pointOut", () => { tip.style.display = "none"; });
}

async function create(state, root) {
  const { data } = state;
  const table = data.points;
  state.rows = column(table, "row");
  state.v = column(table, "v");
  state.value = column(table, "value");
  const width = Math.max(200, root.clientWidth || 600), height = data.height;
  const canvas = el("canvas");
  const frame = el("div", "frame");
  frame.style.height = `${height}px`;
  const tip = el("div", "tip");
  frame.append(canvas, tip);
  root.replaceChildren(toolbar(state), frame, legend(data));
  state.status.mounted = performance.now();
  const { createScatterplot } = await (LIBRARY ||= import(`${window.location.origin}${data.assets}/build/scatter.mjs`));
  state.status.library = performance.now();
  const n = state.rows.length;
  state.plot = createScatterplot({
    canvas, width, height, ...MODES[state.mode],
    pointSize: n > 20000 ? 2 : n > 3000 ? 3 : 5, pointSizeSelected: 2, opacity: n > 20000 ? 0.6 : 0.85,
    pointColor: data.palette, colorBy: "valueA", lassoMinDelay: 0, lassoMinDist: 2,
    backgroundColor: [1, 1, 1, 0], pointOutlineWidth: 1,
  });
  state.status.webgl = performance.now();
  tooltip(state, tip);
  state.plot.subscribe("select", ({ points }) => report(state, Array.from(points, (i) => state.rows[i])));
  state.plot.subscribe("deselect", () => report(state, []));
  // The shape the plot selected with, in the points' own coordinates (read by the tests).
  state.plot.subscribe("lassoEnd", ({ coordinates }) => { state.status.lasso = coordinates; });
  await state.plot.draw({ x: column(table, "x"), y: column(table, "y"), valueA: state.v },
    { zDataType: data.continuous ? "continuous" : "categorical" });
  state.status.drawn = performance.now();
  state.status.n = n;
  // For tests: the plot and each drawn point's row (not enumerable: status stays serialisable)
  Object.defineProperty(state.status, "plot", { value: state.plot, enumerable: false, configurable: true });
  Object.defineProperty(state.status, "rows", { value: state.rows, enumerable: false, configurable: true });
}

function report(state, rows) {
  state.status.selection = rows;
  state.setStateValue("selection", rows);
}

export default function (component) {
  const { data, parentElement, setStateValue, key } = component;
  let root = parentElement.querySelector(".ll-map");
  const fresh = !root || root.__data_n !== data.n || root.__name !== data.name;
  if (!root) {
    root = el("div", "ll-map");
    parentElement.appendChild(root);
  }
  const state = root.__state || (root.__state = { mode: "Lasso", status: { selection: [] } });
  state.setStateValue = setStateValue;
  REGISTRY.maps[data.name] = state.status;
  REGISTRY.maps[key] = state.status;
  if (fresh) {
    if (state.plot) state.plot.destroy();
    root.__data_n = data.n;
    root.__name = data.name;
    state.data = data;
    create(state, root).catch((err) => {
      state.status.error = String(err && err.message || err);
      root.replaceChildren(el("div", "error", `This map could not be drawn in WebGL here (${state.status.error}). `
        + "Type sample indices below instead."));
    });
  }
}
