// The page of `facekeypoints serve`: a photo's or a webcam's faces, drawn here from the server's JSON records
// (the ones `facekeypoints predict --json` writes). No library: the browser's canvas, fetch and WebSocket.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const apiKey = params.get("api_key");  // with `serve --api-key`, open the page as /?api_key=KEY
const headers = apiKey ? { "X-API-Key": apiKey } : {};
const POINT = "rgb(60,255,60)";
const AXES = [[1, 0, 0], [0, -1, 0], [0, 0, -1]];  // the face's left, up, forward (photos/pose.py)
const AXIS_COLOURS = ["rgb(255,0,0)", "rgb(0,200,0)", "rgb(0,80,255)"];
// What the page did, for people debugging it and for the browser tests.
window.facekeypoints = { photo: null, webcam: { answers: 0, last: null, tracks: {} } };
const models = {};  // name -> the server's word on it (/v1/models): its keypoint names and their aliases

function status(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

function url(path, query = {}) {
  const model = $("model").value;
  const q = new URLSearchParams(Object.assign(model ? { model } : {}, query));
  return path + (q.toString() ? "?" + q : "");
}

// The pose's rotation, as photos/pose.py's `rotation`: Rz(roll) Ry(-yaw) Rx(-pitch), angles in degrees.
function rotation({ yaw, pitch, roll }) {
  const [a, b, c] = [roll, -yaw, -pitch].map((d) => (d * Math.PI) / 180);
  const rz = [[Math.cos(a), -Math.sin(a), 0], [Math.sin(a), Math.cos(a), 0], [0, 0, 1]];
  const ry = [[Math.cos(b), 0, Math.sin(b)], [0, 1, 0], [-Math.sin(b), 0, Math.cos(b)]];
  const rx = [[1, 0, 0], [0, Math.cos(c), -Math.sin(c)], [0, Math.sin(c), Math.cos(c)]];
  const mul = (m, n) => m.map((row) => n[0].map((_, j) => row.reduce((s, v, k) => s + v * n[k][j], 0)));
  return mul(mul(rz, ry), rx);
}

// A keypoint by name, or by an alias of the model's keypoint set (the mean of its points, as Face.point gives it):
// a 68-point model's "nose_tip" is one of its own points. null where the face has neither.
function point(face, model, name) {
  if (face.keypoints[name]) return face.keypoints[name];
  const of = model && model.aliases ? model.aliases[name] : null;
  if (!of || !of.length || !of.every((n) => face.keypoints[n])) return null;
  const sum = of.reduce(([sx, sy], n) => [sx + face.keypoints[n][0], sy + face.keypoints[n][1]], [0, 0]);
  return [sum[0] / of.length, sum[1] / of.length];
}

// A face as Face.draw draws it: box (yellow; red when too small), each keypoint's expected error as a ring,
// the pose's axes from the nose tip, then the points on top (a point's centre pixel is exactly POINT).
function drawFace(ctx, face, model) {
  const [x, y, w, h] = face.box;
  const thick = Math.max(1, Math.round(w / 80));
  ctx.lineWidth = thick;
  ctx.strokeStyle = face.too_small ? "rgb(255,0,0)" : "rgb(255,220,0)";
  ctx.strokeRect(x, y, w, h);
  if (!face.keypoints) return;
  const points = Object.entries(face.keypoints);
  if (face.uncertainty) {
    ctx.lineWidth = Math.max(1, thick / 2);
    for (const [name, [px, py]] of points) {
      const r = face.uncertainty[name];
      if (r == null) continue;
      ctx.beginPath();
      ctx.arc(px, py, r, 0, 2 * Math.PI);
      ctx.fillStyle = "rgba(60,255,60,0.18)";
      ctx.fill();
      ctx.strokeStyle = "rgba(255,255,255,0.85)";
      ctx.stroke();
    }
  }
  const nose = face.pose ? point(face, model, "nose_tip") : null;
  if (nose) {
    const m = rotation(face.pose);
    const [nx, ny] = nose;
    AXES.forEach((axis, i) => {
      const dx = m[0][0] * axis[0] + m[0][1] * axis[1] + m[0][2] * axis[2];
      const dy = m[1][0] * axis[0] + m[1][1] * axis[1] + m[1][2] * axis[2];
      for (const [colour, width] of [["#000", 3 * thick], [AXIS_COLOURS[i], 2 * thick]]) {
        ctx.beginPath();
        ctx.moveTo(nx, ny);
        ctx.lineTo(nx + (dx * w) / 2, ny + (dy * w) / 2);
        ctx.strokeStyle = colour;
        ctx.lineWidth = width;
        ctx.stroke();
      }
    });
  }
  const radius = Math.max(2, Math.round(w / 60));
  // every dark rim first, then every dot: a close neighbour's rim never covers a point's centre
  for (const [colour, r] of [["#000", radius + thick], [POINT, radius]]) {
    for (const [, [px, py]] of points) {
      ctx.beginPath();
      ctx.arc(px, py, r, 0, 2 * Math.PI);
      ctx.fillStyle = colour;
      ctx.fill();
    }
  }
}

function describe(record, where) {
  const aside = $(where);
  aside.textContent = "";
  if (!record.faces.length) {
    aside.textContent = "No face found" + (record.not_faces ? ` (${record.not_faces} detection(s) the model saw no face in)` : "") + ".";
    return;
  }
  record.faces.forEach((face, i) => {
    const title = document.createElement("h2");
    const pose = face.pose ? ` · yaw ${face.pose.yaw}°, pitch ${face.pose.pitch}°, roll ${face.pose.roll}°` : "";
    const track = face.track == null ? "" : ` (track ${face.track})`;
    title.textContent = `Face ${i + 1}${track}` + (face.too_small ? ": too small for keypoints" : pose);
    aside.append(title);
    if (!face.keypoints) return;
    const table = document.createElement("table");
    table.innerHTML = "<tr><th>keypoint</th><th>x</th><th>y</th><th>± px</th></tr>";
    for (const [name, [x, y]] of Object.entries(face.keypoints)) {
      const row = table.insertRow();
      const error = face.uncertainty ? face.uncertainty[name] : null;
      for (const text of [name.replaceAll("_", " "), x.toFixed(1), y.toFixed(1), error == null ? "–" : error.toFixed(1)]) {
        row.insertCell().textContent = text;
      }
    }
    aside.append(table);
  });
}

async function errorOf(response) {
  try {
    return (await response.json()).error || response.statusText;
  } catch {
    return response.statusText;
  }
}

// ------------------------------------------------------------------------------------------------ photo

async function showPhoto(file) {
  status(`Finding the faces in ${file.name}…`);
  const model = models[$("model").value];  // the one asked, whatever is chosen while it answers
  const form = new FormData();
  form.append("file", file, file.name);
  const started = performance.now();
  let response;
  try {
    response = await fetch(url("v1/faces"), { method: "POST", body: form, headers });
  } catch (error) {
    return status(`The server cannot be reached: ${error}`, true);
  }
  if (!response.ok) return status(`${response.status}: ${await errorOf(response)}`, true);
  const [record] = await response.json();
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });  // as the server turns it
  } catch {
    return status(`${file.name}: the server read it, but this browser cannot show it`, true);
  }
  const canvas = $("photo-canvas");
  canvas.width = record.width;
  canvas.height = record.height;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0, record.width, record.height);
  record.faces.forEach((face) => drawFace(ctx, face, model));
  describe(record, "photo-faces");
  window.facekeypoints.photo = record;
  const ms = Math.round(performance.now() - started);
  status(`${file.name}: ${record.width}×${record.height}, ${record.faces.length} face(s), answered in ${ms} ms.`);
}

$("file").addEventListener("change", (event) => event.target.files[0] && showPhoto(event.target.files[0]));
const drop = $("drop");
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  const file = event.dataTransfer.files[0];
  if (file) showPhoto(file);
});

// ----------------------------------------------------------------------------------------------- webcam

const cam = { stream: null, socket: null, model: null, sentAt: 0, times: [] };
const grab = document.createElement("canvas");  // the frame in flight: drawn with its faces when they come

function sendFrame() {
  const video = $("video");
  if (!cam.socket || cam.socket.readyState !== WebSocket.OPEN || !video.videoWidth) return;
  grab.width = video.videoWidth;
  grab.height = video.videoHeight;
  grab.getContext("2d").drawImage(video, 0, 0);
  grab.toBlob((blob) => {
    if (!blob || !cam.socket || cam.socket.readyState !== WebSocket.OPEN) return;
    cam.sentAt = performance.now();
    cam.socket.send(blob);
  }, "image/jpeg", 0.85);
}

function answered(event) {
  const record = JSON.parse(event.data);
  const now = performance.now();
  if (record.error) {
    status(record.error, true);
  } else {
    const canvas = $("cam-canvas");
    canvas.width = grab.width;
    canvas.height = grab.height;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(grab, 0, 0);
    record.faces.forEach((face) => drawFace(ctx, face, cam.model));
    describe(record, "cam-faces");
    cam.times.push(now);
    while (cam.times.length && now - cam.times[0] > 2000) cam.times.shift();
    const fps = cam.times.length > 1 ? (1000 * (cam.times.length - 1)) / (now - cam.times[0]) : 0;
    const latency = now - cam.sentAt;
    $("cam-stats").textContent = `${fps.toFixed(1)} fps · latency ${Math.round(latency)} ms (server ${Math.round(record.ms)} ms)`;
    const state = window.facekeypoints.webcam;
    state.answers += 1;
    state.last = record;
    state.fps = fps;
    state.latency = latency;
    for (const face of record.faces) if (face.track != null) state.tracks[face.track] = (state.tracks[face.track] || 0) + 1;
  }
  requestAnimationFrame(sendFrame);  // one frame in flight: the latency stays that of one frame
}

async function startWebcam() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return status("This browser gives no camera here (it needs https, or localhost).", true);
  }
  try {
    cam.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (error) {
    return status(`No camera: ${error.message || error}`, true);
  }
  const video = $("video");
  video.srcObject = cam.stream;
  await video.play();
  cam.model = models[$("model").value];  // the connection's model, for as long as it lasts
  const ws = new URL(url("v1/track", apiKey ? { api_key: apiKey } : {}), location.href);
  ws.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  cam.socket = new WebSocket(ws);
  cam.socket.binaryType = "arraybuffer";
  cam.socket.onopen = () => { status("Following the faces of the webcam…"); sendFrame(); };
  cam.socket.onmessage = answered;
  cam.socket.onclose = (event) => {
    if (cam.socket) status(`The connection closed${event.reason ? ": " + event.reason : ""}.`, !!event.reason);
    stopWebcam();
  };
  $("cam-start").disabled = true;
  $("cam-stop").disabled = false;
}

function stopWebcam() {
  const socket = cam.socket;
  cam.socket = null;
  if (socket && socket.readyState <= WebSocket.OPEN) socket.close();
  if (cam.stream) cam.stream.getTracks().forEach((track) => track.stop());
  cam.stream = null;
  $("cam-start").disabled = false;
  $("cam-stop").disabled = true;
}

$("cam-start").addEventListener("click", startWebcam);
$("cam-stop").addEventListener("click", stopWebcam);

// -------------------------------------------------------------------------------------------- the rest

function mode(name) {
  for (const m of ["photo", "webcam"]) {
    $(`${m}-mode`).hidden = m !== name;
    $(`tab-${m}`).classList.toggle("active", m === name);
  }
  if (name !== "webcam") stopWebcam();
}
$("tab-photo").addEventListener("click", () => mode("photo"));
$("tab-webcam").addEventListener("click", () => mode("webcam"));

(async () => {
  try {
    const response = await fetch("v1/models", { headers });
    if (!response.ok) return status(`${response.status}: ${await errorOf(response)}`, true);
    for (const model of (await response.json()).models) {
      models[model.name] = model;
      $("model").add(new Option(model.name, model.name));
    }
    status("Ready.");
  } catch (error) {
    status(`The server cannot be reached: ${error}`, true);
  }
})();
