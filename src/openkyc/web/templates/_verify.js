(() => {
  const S = {{ {"token": biz_token, "steps": steps, "mode": mode, "check_mode": check_mode, "actions": actions,
                "seconds": seconds, "challenge": challenge, "attempts_left": attempts_left, "consented": consented, "operator": operator} | tojson }};
  const t = {{ t | tojson }};
  const $ = (id) => document.getElementById(id);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const fill = (m, v) => String(m).replace(/\{(\w+)\}/g, (all, k) => (k in v ? v[k] : all));
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  const prompts = { blink: t.prompt_blink, mouth: t.prompt_mouth, nod: t.prompt_nod, shake: t.prompt_shake };
  let mode = S.mode;
  let stream = null;
  let documentImage = null;
  let documentBack = null;  // the other side of a card, when the front check asks for it
  let side = "front";
  let pending = null;  // an upload not answered yet (kept in IndexedDB too, for a reload)
  let watching = null;

  // --- steps -------------------------------------------------------------------------------
  function show(step) {
    for (const id of ["notice", "document", "selfie", "done"]) $(id).hidden = id !== step;
    const index = S.steps.indexOf(step);
    document.querySelectorAll("#progress li").forEach((li, i) => {
      li.classList.toggle("done", i < index);
      if (i === index) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
    });
    $("step-of").textContent = fill(t.step_of, { n: index + 1, total: S.steps.length });
    const anchor = { notice: "agree", document: "capture", selfie: "start" }[step];  // feedback next to the step's action
    if (anchor) $(anchor).parentNode.insertBefore($("feedback"), $(anchor)); else $("main").appendChild($("feedback"));
    const heading = $(step + "-h");
    if (heading) heading.focus();
  }
  const after = (step) => S.steps[S.steps.indexOf(step) + 1];
  function setIntro() {
    const seconds = S.challenge ? (mode === "reflection" ? S.seconds : 8) : mode === "silent" ? 4 : S.seconds;
    const intro = mode === "reflection" ? t.intro_reflection : (mode === "action" || S.challenge) ? t.intro_action : t.intro_silent;
    $("intro").textContent = fill(intro, { seconds });
    $("flash-reminder").hidden = mode !== "reflection";
  }

  // --- camera ------------------------------------------------------------------------------
  function cameraProblem(err) {
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return "camera_insecure";
    const name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return "camera_denied";
    if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") return "camera_none";
    if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") return "camera_busy";
    return "camera_other";
  }
  function showCameraError(key) {
    const box = $("camera-error");
    box.dataset.problem = key;
    box.textContent = t[key];
    box.hidden = false;
  }
  function stopCamera() {
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
    if (watching) { clearInterval(watching); watching = null; }
  }
  async function openCamera(facing, video) {
    $("camera-error").hidden = true;
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw Object.assign(new Error("insecure"), { problem: "camera_insecure" });
    }
    stopCamera();
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: facing === "user" ? 640 : 1280 }, height: { ideal: facing === "user" ? 480 : 720 }, facingMode: { ideal: facing } },
        audio: false,
      });
    } catch (err) {
      throw Object.assign(new Error("camera"), { problem: cameraProblem(err) });
    }
    video.srcObject = stream;
    await new Promise((resolve) => { if (video.readyState >= 2) resolve(); else video.onloadeddata = resolve; });
  }

  // small grey frame of the video's centre area (fractions of the frame), for on-device checks
  const probe = document.createElement("canvas");
  function grey(video, box, w = 160, h = 120) {
    probe.width = w; probe.height = h;
    const ctx = probe.getContext("2d", { willReadFrequently: true });
    const vw = video.videoWidth, vh = video.videoHeight;
    ctx.drawImage(video, vw * box[0], vh * box[1], vw * box[2], vh * box[3], 0, 0, w, h);
    const rgba = ctx.getImageData(0, 0, w, h).data;
    const g = new Float32Array(w * h);
    for (let i = 0; i < w * h; i++) g[i] = 0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2];
    return { g, w, h };
  }
  // brightness and sharpness (variance of the Laplacian, per quadrant) of the frame, or of a part of it
  function stats({ g, w, h }, rect) {
    const [x0, y0, x1, y1] = rect || [0, 0, w, h];
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    let sum = 0;
    const quads = [0, 0, 0, 0], counts = [0, 0, 0, 0];
    for (let y = Math.max(1, y0); y < Math.min(h - 1, y1); y++) for (let x = Math.max(1, x0); x < Math.min(w - 1, x1); x++) {
      const i = y * w + x;
      sum += g[i];
      const lap = 4 * g[i] - g[i - 1] - g[i + 1] - g[i - w] - g[i + w];
      const q = (y < cy ? 0 : 2) + (x < cx ? 0 : 1);
      quads[q] += lap * lap; counts[q]++;
    }
    const mean = sum / Math.max(1, counts.reduce((a, c) => a + c, 0));
    const sharp = quads.map((s, i) => s / counts[i]);
    return { mean, sharp: Math.min(...sharp) };
  }

  // --- notice ------------------------------------------------------------------------------
  async function post(path, body) {
    const r = await fetch(`/verify/${S.token}/${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) });
    let data = {};
    try { data = await r.json(); } catch (e) { data = {}; }
    return { ok: r.ok, status: r.status, data };
  }
  async function answer(agree, silent) {
    for (const id of ["agree", "decline", "agree-silent"]) if ($(id)) $(id).disabled = true;
    const r = await post("notice", { agree, silent });
    for (const id of ["agree", "decline", "agree-silent"]) if ($(id)) $(id).disabled = false;
    if (!r.ok) { $("status").textContent = t.error; return; }
    if (!agree) {
      show("done");
      $("done-text").textContent = t.declined;
      if (r.data.redirect_url) { await sleep(2500); window.location.assign(r.data.redirect_url); }
      return;
    }
    if (silent) mode = "silent";
    setIntro();
    enter(after("notice"));
  }
  $("agree").addEventListener("click", () => answer(true, false));
  $("decline").addEventListener("click", () => answer(false, false));
  if ($("agree-silent")) $("agree-silent").addEventListener("click", () => answer(true, true));

  // --- document ----------------------------------------------------------------------------
  const OUTLINE = [0.08, 0.12, 0.84, 0.76];
  const MARGIN = 0.05;  // around the outline, where the document's edges are looked for
  // Sharpness (variance of the Laplacian in each quarter of the outline) and how much of each of
  // the outline's four borders has a strong edge near it (Sobel): a sharp document filling the
  // outline has both. No model: a small grey copy of the frame on a canvas.
  function documentMeasures(video) {
    const box = [OUTLINE[0] - MARGIN, OUTLINE[1] - MARGIN, OUTLINE[2] + 2 * MARGIN, OUTLINE[3] + 2 * MARGIN];
    const { g, w, h } = grey(video, box, 384, 288);  // fine enough to tell sharp print from blur
    const x0 = Math.round((w * MARGIN) / box[2]), x1 = Math.round((w * (MARGIN + OUTLINE[2])) / box[2]);
    const y0 = Math.round((h * MARGIN) / box[3]), y1 = Math.round((h * (MARGIN + OUTLINE[3])) / box[3]);
    const inner = stats({ g, w, h }, [x0, y0, x1, y1]);
    const gx = (i) => g[i - w + 1] + 2 * g[i + 1] + g[i + w + 1] - g[i - w - 1] - 2 * g[i - 1] - g[i + w - 1];
    const gy = (i) => g[i + w - 1] + 2 * g[i + w] + g[i + w + 1] - g[i - w - 1] - 2 * g[i - w] - g[i - w + 1];
    const outside = 3, inside = Math.round(0.12 * Math.min(x1 - x0, y1 - y0));
    // the share of positions along a border with an edge stronger than EDGE within the band
    function border(along, from, to, at) {
      let hit = 0, n = 0;
      for (let a = along[0]; a < along[1]; a++) {
        let best = 0;
        for (let b = Math.max(1, from); b < Math.min(to, at.limit - 1); b++) best = Math.max(best, Math.abs(at.grad(at.index(a, b))));
        n++; if (best > EDGE) hit++;
      }
      return n ? hit / n : 0;
    }
    const rows = { limit: h, index: (x, y) => y * w + x, grad: gy };
    const cols = { limit: w, index: (y, x) => y * w + x, grad: gx };
    const edges = [
      border([x0 + 1, x1 - 1], y0 - outside, y0 + inside, rows),
      border([x0 + 1, x1 - 1], y1 - inside, y1 + outside, rows),
      border([y0 + 1, y1 - 1], x0 - outside, x0 + inside, cols),
      border([y0 + 1, y1 - 1], x1 - inside, x1 + outside, cols),
    ];
    // the document fills the outline when three borders at least have an edge along most of them
    // (the fourth may be lost against a background of the same shade)
    const measured = { mean: inner.mean, sharp: inner.sharp, edges: edges.sort((a, b) => b - a)[2] };
    window.hostedDocument = measured;  // the last measures (read by the browser test)
    return measured;
  }
  const EDGE = 80, SHARP = 150, FILLED = 0.5;
  async function documentStep(which) {
    side = which || "front";
    show("document");
    $("document-h").textContent = side === "back" ? t.document_back_heading : t.document_heading;
    $("document-hint").textContent = side === "back" ? t.document_back_hint : t.document_hint;
    $("no-back").hidden = side !== "back";
    $("doc-frame").hidden = false;
    $("doc-preview").hidden = true;
    $("capture").hidden = false; $("doc-use").hidden = true; $("retake").hidden = true;
    const ticket = ++photoTicket;
    try {
      await openCamera("environment", $("doc-video"));
    } catch (err) {
      if (ticket !== photoTicket) return;  // a photo was uploaded meanwhile
      showCameraError(err.problem || "camera_other");
      $("capture").hidden = true;  // the upload stays available
      return;
    }
    if (ticket !== photoTicket) { stopCamera(); return; }  // a photo was uploaded while the camera opened
    let steady = 0;
    watching = setInterval(() => {
      const video = $("doc-video");
      if (!video.videoWidth) return;
      const s = documentMeasures(video);
      if (s.mean < 50) { $("doc-status").textContent = t.hint_dark; steady = 0; return; }
      if (s.edges < FILLED) { $("doc-status").textContent = t.document_fill; steady = 0; return; }
      if (s.sharp < SHARP) { $("doc-status").textContent = t.document_blurry; steady = 0; return; }
      if (++steady >= 3) capture();
    }, 300);
  }
  let photoTicket = 0;  // a new one for each camera opened and each photo kept
  function keepDocument(dataUrl) {
    photoTicket++;
    stopCamera();
    if (side === "back") documentBack = dataUrl.split(",", 2)[1];
    else { documentImage = dataUrl.split(",", 2)[1]; documentBack = null; }
    $("doc-preview").src = dataUrl;
    $("doc-preview").hidden = false;
    $("doc-frame").hidden = true;
    $("capture").hidden = true; $("doc-use").hidden = false; $("retake").hidden = false;
    $("doc-status").textContent = t.document_ready;
    $("doc-use").focus();
  }
  function capture() {
    const video = $("doc-video");
    if (!video.videoWidth) return;
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    keepDocument(canvas.toDataURL("image/jpeg", 0.92));
  }
  $("capture").addEventListener("click", capture);
  $("retake").addEventListener("click", () => {
    if (side === "back") documentBack = null; else documentImage = null;
    documentStep(side);
  });
  $("doc-file").addEventListener("change", (event) => {
    const file = event.target.files && event.target.files[0];
    if (!file) return;
    const image = new Image();
    const url = URL.createObjectURL(file);
    image.onload = () => {  // re-encoded: at most 1600 pixels wide, no metadata
      const scale = Math.min(1, 1600 / Math.max(image.width, image.height));
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(image.width * scale); canvas.height = Math.round(image.height * scale);
      canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(url);
      $("camera-error").hidden = true;
      keepDocument(canvas.toDataURL("image/jpeg", 0.92));
    };
    image.onerror = () => { URL.revokeObjectURL(url); $("doc-status").textContent = t.document_unreadable; };
    image.src = url;
  });
  function documentDone() {
    stopCamera();
    if (after("document") === "selfie") return enter("selfie");
    return submit(pending || { document_image: documentImage, document_back_image: documentBack });
  }
  // the front is shown to the server, which says whether the other side is needed (ID cards)
  $("doc-use").addEventListener("click", async () => {
    if (side === "back") return documentDone();
    $("doc-use").disabled = true;
    $("doc-status").textContent = t.checking;
    const r = await post("document", { document_image: documentImage });
    $("doc-use").disabled = false;
    if (r.ok && r.data.needs_back) return documentStep("back");
    if (r.ok && r.data.code === "FailedOperation.DocumentNotFound") {
      documentImage = null;
      await documentStep("front");
      $("doc-status").textContent = t.results[r.data.code];
      return;
    }
    return documentDone();  // read, or not checked now (the submit reads it again and decides)
  });
  $("no-back").addEventListener("click", () => { documentBack = null; documentDone(); });

  // --- selfie ------------------------------------------------------------------------------
  let previewing = null;  // the camera being opened: one at a time
  async function selfieStep() {
    show("selfie");
    setIntro();
    $("start").disabled = false;
    previewing = startPreview();
    await previewing;
  }
  async function ensureCamera() {
    if (previewing) { const ok = await previewing; previewing = null; if (ok && stream) return true; }
    if (stream) return true;
    previewing = startPreview();
    const ok = await previewing;
    previewing = null;
    return ok;
  }
  async function startPreview() {
    try {
      await openCamera("user", $("preview"));
    } catch (err) {
      showCameraError(err.problem || "camera_other");
      $("start").textContent = t.try_again;
      return false;
    }
    const detector = "FaceDetector" in window ? new window.FaceDetector({ fastMode: true, maxDetectedFaces: 2 }) : null;
    watching = setInterval(async () => {
      const video = $("preview");
      if (!video.videoWidth || recording) return;
      const s = stats(grey(video, [0.25, 0.1, 0.5, 0.8]));
      let hint = s.mean < 50 ? t.hint_dark : "";
      if (!hint && detector) {
        try {
          const faces = await detector.detect(video);
          if (!faces.length) hint = t.hint_no_face;
          else if (faces[0].boundingBox.width < video.videoWidth * 0.25) hint = t.hint_far;
        } catch (e) { /* the browser's detector is optional */ }
      }
      const text = hint || t.hint_ok;
      if ($("hint").textContent !== text) $("hint").textContent = text;
    }, 700);
    return true;
  }
  let recording = false;
  // A recording holds `ms` of video, measured on the recording itself, not `ms` of the clock from
  // when it was asked for: a slow or busy phone starts the recorder late, delivers frames late and
  // its encoder drops some, and a recording timed by the clock alone is then shorter than asked (the
  // server answers "too short"). From `ms` after the recorder has started, the recording so far is
  // measured every half second and stopped once it is long enough; at the latest after
  // `ms` + RECORD_GRACE_MS (the server takes up to 20 s). A browser that cannot measure it stops at `ms`.
  const RECORD_GRACE_MS = 8000;
  window.hostedRecordings = [];  // per recording: clock time from its start and measured length (ms)
  function record(ms) {
    const chunks = [];
    const type = ["video/webm;codecs=vp8", "video/webm", "video/mp4"].find((x) => MediaRecorder.isTypeSupported(x));
    const recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
    let delivered = null;  // resolves on the next chunk
    recorder.ondataavailable = (e) => {
      if (e.data.size) chunks.push(e.data);
      if (delivered) { delivered(); delivered = null; }
    };
    const done = new Promise((resolve) => { recorder.onstop = () => resolve(new Blob(chunks, { type: recorder.mimeType })); });
    recorder.onstart = async () => {
      const t0 = performance.now();
      const elapsed = () => performance.now() - t0;
      await sleep(ms);
      let length = null;
      while (recorder.state === "recording") {
        await new Promise((resolve) => { delivered = resolve; recorder.requestData(); });
        length = await recordedMs(new Blob(chunks, { type: recorder.mimeType }));
        if (length === null || length >= ms || elapsed() >= ms + RECORD_GRACE_MS) break;
        await sleep(500);
      }
      window.hostedRecordings.push({ ms: Math.round(elapsed()), length_ms: length === null ? null : Math.round(length) });
      if (recorder.state !== "inactive") recorder.stop();
    };
    recorder.start(250);
    return done;
  }
  // the length of a recording so far (ms), as a video element reads it; null where it cannot be read
  async function recordedMs(blob) {
    const url = URL.createObjectURL(blob);
    const probe = document.createElement("video");
    probe.muted = true;
    probe.preload = "metadata";
    try {
      const loaded = await new Promise((resolve) => {
        probe.onloadedmetadata = () => resolve(true);
        probe.onerror = () => resolve(false);
        probe.src = url;
        setTimeout(() => resolve(false), 3000);
      });
      if (!loaded) return null;
      if (!Number.isFinite(probe.duration)) {  // a recording in progress: known once read to its end
        await new Promise((resolve) => {
          probe.ondurationchange = () => { if (Number.isFinite(probe.duration)) resolve(); };
          probe.currentTime = 1e9;
          setTimeout(resolve, 3000);
        });
      }
      return Number.isFinite(probe.duration) ? probe.duration * 1000 : null;
    } finally {
      probe.removeAttribute("src");
      probe.load();
      URL.revokeObjectURL(url);
    }
  }
  function base64(blob) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).split(",", 2)[1]);
      reader.onerror = reject;
      reader.readAsDataURL(blob);
    });
  }
  async function flash(sequence) {
    const el = $("flash");
    el.style.display = "block";
    for (let i = 0; i < sequence.colours.length; i++) { el.style.background = sequence.colours[i]; await sleep(sequence.durations_ms[i]); }
    el.style.display = "none";
  }
  async function countdown() {
    for (let n = 3; n > 0; n--) {
      $("count").textContent = String(n);
      $("prompt").textContent = fill(t.countdown, { n });
      await sleep(1000);
    }
    $("count").textContent = "";
  }
  // a timed challenge: each prompt and colour at its time from the start of the recording
  window.hostedTimeline = [];
  function recordChallenge(schedule) {
    const chunks = [];
    const type = ["video/webm;codecs=vp8", "video/webm", "video/mp4"].find((x) => MediaRecorder.isTypeSupported(x));
    const recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
    recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    const done = new Promise((resolve) => { recorder.onstop = () => resolve(new Blob(chunks, { type: recorder.mimeType })); });
    recorder.onstart = () => {
      const t0 = performance.now();
      const mark = (what) => window.hostedTimeline.push({ what, at: Math.round(performance.now() - t0) });
      const at = (ms, fn) => setTimeout(fn, Math.max(0, ms - (performance.now() - t0)));
      mark("start");
      $("prompt").textContent = t.prompt_hold;
      const el = $("flash");
      for (const c of schedule.colors || []) {
        at(c.start_ms, () => { el.style.background = c.color; el.style.display = "block"; mark(c.color); });
        at(c.end_ms, () => { el.style.display = "none"; });
      }
      for (const a of schedule.actions) {
        at(a.prompt_ms, () => { $("prompt").textContent = prompts[a.action] || t.prompt_hold; mark(a.action); });
        at(a.window_end_ms, () => { if ($("prompt").textContent === prompts[a.action]) $("prompt").textContent = t.prompt_hold; });
      }
      at(schedule.record_ms + 200, () => { mark("stop"); recorder.stop(); });
    };
    recorder.start(250);
    return done;
  }
  async function run() {
    $("start").disabled = true;
    $("status").textContent = "";
    if (pending) { await submit(pending); return; }  // an upload that did not get through: sent again
    if (!(await ensureCamera())) { $("start").disabled = false; return; }
    try {
      let sequence = null;
      let challenge = null;
      if (S.challenge) {
        const r = await post("challenge");
        if (!r.ok) throw new Error("session");
        challenge = r.data;
      } else if (mode === "reflection") {
        const r = await post("sequence");
        if (!r.ok) throw new Error("session");
        sequence = r.data;
      }
      await countdown();
      recording = true;
      $("hint").textContent = "";
      $("rec").hidden = false;
      let clip;
      if (challenge) {
        clip = recordChallenge(challenge.schedule);
      } else {
        const total = (mode === "silent" ? 4 : S.seconds) * 1000;
        clip = record(total);
        if (mode === "action") {
          const slot = total / Math.max(S.actions.length, 1);
          for (const action of S.actions) { $("prompt").textContent = prompts[action] || t.prompt_hold; await sleep(slot); }
        } else {
          $("prompt").textContent = t.prompt_hold;
          if (sequence) { await sleep(500); await flash(sequence); }
        }
      }
      const video = await clip;
      recording = false;
      $("rec").hidden = true;
      $("prompt").textContent = "";
      await submit({
        video: await base64(video),
        document_image: documentImage,
        document_back_image: documentBack,
        reflect_sequence_id: sequence ? sequence.sequence_id : null,
        challenge_id: challenge ? challenge.challenge_id : null,
      });
    } catch (err) {
      recording = false;
      $("rec").hidden = true;
      $("status").textContent = t.error;
      $("start").disabled = false;
      $("start").textContent = t.try_again;
    }
  }
  $("start").addEventListener("click", run);

  // --- submit: upload progress, retried on a lost connection under one attempt id ----------
  function send(body) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `/verify/${S.token}/submit`);
      xhr.setRequestHeader("Content-Type", "application/json");
      xhr.upload.onprogress = (e) => {
        if (!e.lengthComputable) return;
        const percent = Math.round((100 * e.loaded) / e.total);
        $("upload-progress").value = percent;
        $("upload-label").textContent = fill(t.uploading, { percent });
      };
      xhr.onload = () => { let data = {}; try { data = JSON.parse(xhr.responseText); } catch (e) { data = {}; } resolve({ status: xhr.status, data }); };
      xhr.onerror = () => resolve({ status: 0, data: {} });
      xhr.ontimeout = () => resolve({ status: 0, data: {} });
      xhr.timeout = 120000;
      xhr.send(JSON.stringify(body));
    });
  }
  // --- an upload kept in the browser (IndexedDB) until it is answered: a reload sends it again --
  const STORE = "uploads";
  function database() {
    return new Promise((resolve) => {
      if (!window.indexedDB) { resolve(null); return; }
      const open = indexedDB.open("openkyc-hosted", 1);
      open.onupgradeneeded = () => open.result.createObjectStore(STORE);
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => resolve(null);
    });
  }
  async function keep(body) {  // the upload, or null once it is answered
    const db = await database();
    if (!db) return;
    await new Promise((resolve) => {
      const tx = db.transaction(STORE, "readwrite");
      if (body) tx.objectStore(STORE).put(body, S.token); else tx.objectStore(STORE).delete(S.token);
      tx.oncomplete = tx.onerror = tx.onabort = () => resolve();
    });
    db.close();
  }
  async function kept() {
    const db = await database();
    if (!db) return null;
    const found = await new Promise((resolve) => {
      const request = db.transaction(STORE, "readonly").objectStore(STORE).get(S.token);
      request.onsuccess = () => resolve(request.result || null);
      request.onerror = () => resolve(null);
    });
    db.close();
    return found;
  }
  const retried = (status) => status === 0 || status === 409 || status >= 500;
  async function submit(body) {
    if (!body.attempt_id) {  // one id per attempt: every retry and a reload send the same one
      body.attempt_id = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2)).replace(/[^A-Za-z0-9-]/g, "").slice(0, 40);
    }
    pending = body;
    await keep(body);
    $("upload-box").hidden = false;
    $("upload-progress").value = 0;
    $("upload-label").textContent = fill(t.uploading, { percent: 0 });
    let r = null;
    for (let tries = 0; tries < 5; tries++) {
      r = await send(body);
      if (!retried(r.status)) break;
      $("status").textContent = t.retrying;
      window.hostedRetries = (window.hostedRetries || 0) + 1;
      await sleep(Math.min(8000, 1000 * 2 ** tries));
    }
    $("upload-box").hidden = true;
    $("status").textContent = "";
    if (retried(r.status)) {  // still not through: kept, and sent again by Try again or a reload
      $("status").textContent = t.upload_failed;
      $("start").disabled = false;
      $("start").textContent = t.try_again;
      return;
    }
    pending = null;
    await keep(null);
    const out = r.data;
    if (r.status !== 200) {
      const code = out.Error && out.Error.Code;
      const message = (code && t.results[code]) || t.error;
      if (code && code.indexOf("Document") >= 0 && S.steps.includes("document")) { stopCamera(); await documentStep("front"); $("doc-status").textContent = message; return; }
      $("status").textContent = message;
      if (code === "UnauthorizedOperation.SessionFinished") { $("start").hidden = true; return; }
      $("start").disabled = false;
      $("start").textContent = t.try_again;
      return;
    }
    if (out.Result === "Success" || out.finished) {
      stopCamera();
      show("done");
      $("done-text").textContent = out.Result === "Success" ? t.done : (t.results[out.Result] || t.failed);
      if (out.redirect_url) { $("status").textContent = fill(t.returning, { operator: S.operator }); await sleep(2500); window.location.assign(out.redirect_url); }
      return;
    }
    $("status").textContent = (t.results[out.Result] || t.failed);
    $("attempts").textContent = fill(t.attempts_left, { n: out.attempts_left });
    $("attempts").dataset.left = String(out.attempts_left);
    if (S.check_mode === "document") { await documentStep("front"); $("doc-status").textContent = t.results[out.Result] || t.failed; return; }
    $("start").disabled = false;
    $("start").textContent = t.try_again;
  }

  function enter(step) {
    stopCamera();
    if (step === "document") return documentStep("front");
    if (step === "selfie") {
      if (S.steps.includes("document") && !documentImage) return documentStep("front");  // after a reload
      return selfieStep();
    }
    show(step);
  }
  async function begin() {
    if (!S.consented) return enter("notice");
    const saved = await kept();
    if (!saved) return enter(after("notice"));
    pending = saved;  // reloaded while an upload was not answered: it is sent again, same attempt
    const step = S.steps.includes("selfie") ? "selfie" : "document";
    show(step);
    if (step === "selfie") { setIntro(); $("start").disabled = true; }
    $("status").textContent = t.resuming;
    await submit(saved);
  }
  begin();
})();
