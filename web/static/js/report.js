// report.js — the report page: where (this phone's location, a pin on the
// map, or typed coordinates), what, when, and an optional photo.
//
// Every report is first kept on this device, in IndexedDB (which, unlike
// localStorage, holds the photo as a Blob), and then sent: POST
// /api/v1/reports, then the photo to /api/v1/reports/{id}/photo with the
// photo_token of the answer. What cannot be sent for want of a connection
// stays in the queue and goes when the connection returns: on the online
// event, on a retry timer with backoff, and whenever the page is opened.
// Each report carries its own Idempotency-Key, made here, so a report whose
// answer was lost is filed once however often it is sent. Receipts of sent
// reports are kept on the device too, to be shown again.
'use strict';

(function () {
  const T = window.tocsin;
  const { boot, t, el, clear, formatTime, createMap, fieldErrors, ApiError } = T;
  const data = boot.data || {};
  const $ = (id) => document.getElementById(id);
  const form = $('report-form');
  if (!form) return;

  const latIn = $('lat');
  const lonIn = $('lon');
  const category = $('category');
  const eventIn = $('event');
  const textIn = $('text');
  const observedIn = $('observed');
  const submitBtn = $('submit');
  const formError = $('form-error');
  const result = $('report-result');
  const locStatus = $('location-status');
  const pendingSection = $('pending-section');
  const pendingList = $('pending-list');
  const sentSection = $('sent-section');
  const sentList = $('sent-list');
  const offlineBanner = $('offline-banner');

  const MAX_SENT = 20; // receipts kept on the device
  const categoryLabel = (c) => t('category.' + c);

  // --- the store: IndexedDB, or memory when the browser refuses it --------

  const DB_NAME = 'tocsin-report';
  const memory = { queue: new Map(), sent: new Map() };
  let persistent = true;
  let dbPromise = null;

  function openDB() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        if (!window.indexedDB) { reject(new Error('no IndexedDB')); return; }
        const req = indexedDB.open(DB_NAME, 1);
        req.onupgradeneeded = () => {
          const db = req.result;
          if (!db.objectStoreNames.contains('queue')) db.createObjectStore('queue', { keyPath: 'key' });
          if (!db.objectStoreNames.contains('sent')) db.createObjectStore('sent', { keyPath: 'key' });
        };
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    }
    return dbPromise;
  }

  // withStore runs fn on one object store in a transaction and resolves
  // with the result of fn's request once the transaction has committed.
  async function withStore(name, mode, fn) {
    if (persistent) {
      try {
        const db = await openDB();
        return await new Promise((resolve, reject) => {
          const tr = db.transaction(name, mode);
          const req = fn(tr.objectStore(name));
          tr.oncomplete = () => resolve(req ? req.result : undefined);
          tr.onerror = () => reject(tr.error);
          tr.onabort = () => reject(tr.error);
        });
      } catch (e) {
        persistent = false;
        showStorageWarning();
      }
    }
    return undefined;
  }

  const store = {
    async all(name) {
      const v = await withStore(name, 'readonly', (st) => st.getAll());
      return persistent ? (v || []) : [...memory[name].values()];
    },
    async get(name, key) {
      const v = await withStore(name, 'readonly', (st) => st.get(key));
      return persistent ? v : memory[name].get(key);
    },
    async put(name, value) {
      await withStore(name, 'readwrite', (st) => st.put(value));
      if (!persistent) memory[name].set(value.key, value);
    },
    async del(name, key) {
      await withStore(name, 'readwrite', (st) => st.delete(key));
      memory[name].delete(key);
    },
  };

  function showStorageWarning() {
    if ($('storage-warning')) return;
    form.before(el('p', { id: 'storage-warning', class: 'notice warn' }, t('web.report.storage_unavailable')));
  }

  // uuid is a random (version 4) UUID for an Idempotency-Key.
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // --- where ----------------------------------------------------------------

  const map = createMap($('map'));
  T.reportMap = map; // for the browser tests
  let pin = null;
  let accuracyCircle = null;
  let accuracy = null; // metres, when the position came from the device

  function round(v, d) { const m = 10 ** d; return Math.round(v * m) / m; }
  function num(input) { const v = input.value.trim(); return v === '' ? NaN : Number(v); }
  function validPoint(lat, lon) { return lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180; }

  function drawPin(lat, lon) {
    if (!map) return;
    if (!pin) {
      pin = L.circleMarker([lat, lon], { radius: 10, color: '#7a0019', weight: 3, fillColor: '#b00020', fillOpacity: 0.6 }).addTo(map);
    } else {
      pin.setLatLng([lat, lon]);
    }
    if (accuracyCircle) { accuracyCircle.remove(); accuracyCircle = null; }
    if (accuracy) {
      accuracyCircle = L.circle([lat, lon], { radius: accuracy, color: '#0b4f9c', weight: 1, fillOpacity: 0.1, interactive: false }).addTo(map);
    }
  }

  // setPoint puts the pin at lat, lon and writes them into the inputs.
  function setPoint(lat, lon, acc, pan) {
    accuracy = acc || null;
    latIn.value = String(round(lat, 5));
    lonIn.value = String(round(lon, 5));
    for (const i of [latIn, lonIn]) {
      i.removeAttribute('aria-invalid');
      const err = $(i.id + '-error');
      if (err) err.remove();
    }
    drawPin(lat, lon);
    if (map && pan) map.setView([lat, lon], Math.max(map.getZoom(), 15));
  }

  if (map) {
    // Centre on the area this browser subscribed to, if any.
    try {
      const a = JSON.parse(localStorage.getItem('tocsin.myArea') || 'null');
      if (a && a.circle) map.setView([a.circle.lat, a.circle.lon], 13);
      else if (a && a.polygon && a.polygon.length) map.fitBounds(L.latLngBounds(a.polygon));
    } catch (e) { /* nothing saved */ }
    map.on('click', (e) => {
      const ll = e.latlng.wrap();
      setPoint(ll.lat, ll.lng, null, false);
      locStatus.textContent = t('web.report.pin_set', { lat: latIn.value, lon: lonIn.value });
    });
    // With a keyboard: the arrow keys move the map, Enter puts the pin in
    // its middle.
    map.getContainer().addEventListener('keydown', (e) => {
      if (e.key !== 'Enter' || e.target !== map.getContainer()) return;
      e.preventDefault();
      const c = map.getCenter().wrap();
      setPoint(c.lat, c.lng, null, false);
      locStatus.textContent = t('web.report.pin_set', { lat: latIn.value, lon: lonIn.value });
    });
  }

  for (const input of [latIn, lonIn]) {
    input.addEventListener('change', () => {
      const lat = num(latIn);
      const lon = num(lonIn);
      if (validPoint(lat, lon)) { accuracy = null; drawPin(lat, lon); if (map) map.setView([lat, lon], Math.max(map.getZoom(), 13)); }
    });
  }

  const useLoc = $('use-location');
  useLoc.addEventListener('click', () => {
    if (!('geolocation' in navigator) || !window.isSecureContext) {
      locStatus.textContent = t('web.report.location_unsupported');
      return;
    }
    locStatus.textContent = t('web.report.locating');
    useLoc.disabled = true;
    navigator.geolocation.getCurrentPosition((pos) => {
      useLoc.disabled = false;
      const acc = Math.min(100000, Math.round(pos.coords.accuracy || 0)) || null;
      setPoint(pos.coords.latitude, pos.coords.longitude, acc, true);
      locStatus.textContent = t('web.report.located', { lat: latIn.value, lon: lonIn.value, accuracy: acc || '?' });
    }, (err) => {
      useLoc.disabled = false;
      const key = err.code === 1 ? 'web.report.location_denied'
        : err.code === 3 ? 'web.report.location_timeout' : 'web.report.location_unavailable';
      locStatus.textContent = t(key);
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  });

  // --- when -----------------------------------------------------------------

  // The time field shows now, kept current until the reporter changes it;
  // untouched, the report is observed when it is made.
  let observedTouched = false;
  function localInputValue(d) {
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  }
  function refreshObserved() { if (!observedTouched) observedIn.value = localInputValue(new Date()); }
  observedIn.addEventListener('input', () => { observedTouched = true; });
  refreshObserved();
  setInterval(refreshObserved, 30000);

  // --- the photo --------------------------------------------------------------

  const photoInputs = [$('photo'), $('photo-file')].filter(Boolean);
  const photoChosen = $('photo-chosen');
  const photoPreview = $('photo-preview');
  const photoName = $('photo-name');
  const photoError = $('photo-error');
  let chosen = null; // {blob, name}
  let previewURL = null;

  // shrink re-encodes an image the browser can read as a JPEG of at most
  // max_photo_side pixels: less to send on a poor connection. The server
  // re-encodes it again in any case, and removes all metadata.
  async function shrink(file) {
    const side = data.max_photo_side || 2048;
    const bmp = await createImageBitmap(file);
    const scale = Math.min(1, side / Math.max(bmp.width, bmp.height));
    const w = Math.max(1, Math.round(bmp.width * scale));
    const h = Math.max(1, Math.round(bmp.height * scale));
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, w, h);
    ctx.drawImage(bmp, 0, 0, w, h);
    if (bmp.close) bmp.close();
    return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('toBlob'))), 'image/jpeg', 0.85));
  }

  function photoProblem(msg) {
    photoError.textContent = msg;
    photoError.hidden = false;
    photoInputs.forEach((i) => { i.setAttribute('aria-invalid', 'true'); });
  }

  function clearPhoto() {
    chosen = null;
    if (previewURL) URL.revokeObjectURL(previewURL);
    previewURL = null;
    if (photoChosen) photoChosen.hidden = true;
    if (photoPreview) photoPreview.removeAttribute('src');
    photoInputs.forEach((i) => { i.value = ''; i.removeAttribute('aria-invalid'); });
    if (photoError) { photoError.hidden = true; photoError.textContent = ''; }
  }

  async function choosePhoto(input) {
    const file = input.files && input.files[0];
    photoInputs.forEach((i) => { if (i !== input) i.value = ''; i.removeAttribute('aria-invalid'); });
    photoError.hidden = true;
    if (!file) { clearPhoto(); return; }
    const plain = /^image\/(jpeg|png)$/.test(file.type);
    let blob = file;
    let name = file.name || 'photo.jpg';
    if (!plain || file.size > 1.5 * 1024 * 1024) {
      try {
        blob = await shrink(file);
        name = name.replace(/\.[^.]*$/, '') + '.jpg';
      } catch (e) {
        if (!plain) { clearPhoto(); photoProblem(t('web.report.photo_unreadable')); return; }
      }
    }
    if (blob.size > (data.max_photo_bytes || 10485760)) {
      clearPhoto();
      photoProblem(t('web.report.photo_too_large', { mib: data.max_photo_mib || '10' }));
      return;
    }
    chosen = { blob, name };
    if (previewURL) URL.revokeObjectURL(previewURL);
    previewURL = URL.createObjectURL(blob);
    photoPreview.src = previewURL;
    photoName.textContent = t('web.report.photo_chosen', { name });
    photoChosen.hidden = false;
  }

  photoInputs.forEach((i) => i.addEventListener('change', () => { choosePhoto(i); }));
  if ($('photo-remove')) {
    $('photo-remove').addEventListener('click', () => { clearPhoto(); photoInputs[0].focus(); });
  }

  // --- the form ---------------------------------------------------------------

  function showErrors(errors) {
    const rest = fieldErrors(form, { errors });
    const photoErr = errors.find((e) => e.field === 'photo');
    if (photoErr && photoError) photoProblem(photoErr.detail);
    formError.textContent = [t('web.report.error_form')].concat(rest).join(' ');
    formError.hidden = false;
    const first = form.querySelector('[aria-invalid="true"]');
    (first || formError).focus();
  }

  function clearErrors() {
    fieldErrors(form, { errors: [] });
    formError.hidden = true;
    formError.textContent = '';
  }

  // collect reads the form into the body of POST /api/v1/reports, or shows
  // what is missing and returns null.
  function collect() {
    const errors = [];
    const lat = num(latIn);
    const lon = num(lonIn);
    if (isNaN(lat) && isNaN(lon)) {
      errors.push({ field: 'lat', detail: t('web.report.error_location') });
    } else {
      if (!(lat >= -90 && lat <= 90)) errors.push({ field: 'lat', detail: t('web.report.error_lat') });
      if (!(lon >= -180 && lon <= 180)) errors.push({ field: 'lon', detail: t('web.report.error_lon') });
    }
    if (!category.value) errors.push({ field: 'category', detail: t('web.report.error_category') });
    if (!textIn.value.trim()) errors.push({ field: 'text', detail: t('web.report.error_text') });
    let observed = new Date();
    if (observedTouched && observedIn.value) {
      observed = new Date(observedIn.value);
      if (isNaN(observed)) errors.push({ field: 'observed_at', detail: t('web.report.error_observed') });
      else if (observed.getTime() > Date.now() + 5 * 60000) errors.push({ field: 'observed_at', detail: t('web.report.error_observed_future') });
    }
    if (errors.length) { showErrors(errors); return null; }
    const body = { lat, lon, category: category.value, text: textIn.value, language: boot.locale, observed_at: observed.toISOString() };
    if (accuracy) body.accuracy_m = accuracy;
    if (eventIn.value.trim()) body.event = eventIn.value.trim();
    return body;
  }

  function resetForm() {
    textIn.value = '';
    eventIn.value = '';
    category.value = '';
    observedTouched = false;
    refreshObserved();
    if (photoInputs.length) clearPhoto();
    clearErrors();
  }

  let busy = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    clearErrors();
    const body = collect();
    if (!body) return;
    busy = true;
    submitBtn.disabled = true;
    submitBtn.textContent = t('web.report.sending');
    const item = {
      key: uuid(), created: new Date().toISOString(), body,
      photo: chosen ? chosen.blob : null, photoName: chosen ? chosen.name : '',
    };
    try {
      await store.put('queue', item);
      await flush();
      const left = await store.get('queue', item.key);
      if (left && left.error) {
        // Refused (not for want of a connection): the form still holds
        // what was typed, to correct and send again.
        await store.del('queue', item.key);
        await renderPending();
        showErrors(left.errors && left.errors.length ? left.errors : [{ field: '', detail: left.error }]);
        return;
      }
      // Still queued: nothing went (or only the report did, whose receipt
      // is already shown).
      if (left && !left.answer) showQueued(left);
      resetForm();
    } finally {
      busy = false;
      submitBtn.disabled = false;
      submitBtn.textContent = t('web.report.submit');
    }
  });

  // --- sending ------------------------------------------------------------------

  // request is tocsin.api with the extra headers and a timeout this page
  // needs; a network failure or a timeout is ApiError status 0.
  async function request(method, path, body, headers, timeoutMs) {
    const h = Object.assign({ Accept: 'application/json, application/problem+json' }, headers || {});
    if (boot.csrf) h['X-CSRF-Token'] = boot.csrf;
    let payload = body;
    if (body && !(body instanceof FormData)) {
      h['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    let resp;
    let answer = null;
    try {
      resp = await fetch(path, { method, headers: h, body: payload, credentials: 'same-origin', cache: 'no-store', signal: ctl.signal });
      try { answer = await resp.json(); } catch (e) { answer = null; }
    } catch (e) {
      throw new ApiError(0, { detail: t('web.common.error_network') });
    } finally {
      clearTimeout(timer);
    }
    if (!resp.ok) {
      const err = new ApiError(resp.status, answer);
      err.retryAfter = Number(resp.headers.get('Retry-After')) || 0;
      throw err;
    }
    return answer;
  }

  // retryable says whether sending again later may succeed.
  function retryable(err) {
    return err.status === 0 || err.status === 408 || err.status === 429 || err.status >= 500;
  }

  function detail(err) {
    return (err.problem && (err.problem.detail || err.problem.title)) || err.message || String(err);
  }

  let sendingKey = null;

  // sendItem moves one queued report as far as it can: the report, then
  // its photo. It returns {retry, after} when the rest must wait.
  async function sendItem(item) {
    if (!item.answer) {
      try {
        item.answer = await request('POST', '/api/v1/reports', item.body, { 'Idempotency-Key': item.key }, 30000);
      } catch (err) {
        if (retryable(err)) return { retry: true, after: err.retryAfter || 0 };
        item.error = detail(err);
        item.errors = err.errors || [];
        await store.put('queue', item);
        return {};
      }
      if (item.photo && item.answer.photo_token) {
        await store.put('queue', item); // the report is in; only the photo is left
        showReceipt(item, true);
      }
    }
    if (item.photo && item.answer.photo_token && !item.photoDone) {
      const fd = new FormData();
      fd.append('photo_token', item.answer.photo_token);
      fd.append('photo', item.photo, item.photoName || 'photo.jpg');
      try {
        await request('POST', '/api/v1/reports/' + encodeURIComponent(item.answer.id) + '/photo', fd, {}, 180000);
      } catch (err) {
        // 409: the photo arrived with an earlier try.
        if (err.status !== 409) {
          if (retryable(err)) return { retry: true, after: err.retryAfter || 0 };
          item.photoError = detail(err);
        }
      }
      item.photoDone = true;
    }
    await finish(item);
    return {};
  }

  // finish moves a sent report from the queue to the receipts.
  async function finish(item) {
    const rec = {
      key: item.key, sent: new Date().toISOString(), created: item.created,
      id: item.answer.id, incident_id: item.answer.incident_id, receipt: item.answer.receipt,
      category: item.body.category, text: item.body.text.slice(0, 280),
      photo: item.photo ? (item.photoError ? 'failed' : 'sent') : '', photoError: item.photoError || '',
    };
    await store.put('sent', rec);
    await store.del('queue', item.key);
    const sent = (await store.all('sent')).sort((a, b) => (a.sent < b.sent ? 1 : -1));
    for (const old of sent.slice(MAX_SENT)) await store.del('sent', old.key);
    showReceipt(rec, false);
    await renderSent();
  }

  // The queue is sent by one pass at a time (in this page; across pages
  // Web Locks keep the same order, and the Idempotency-Key the rest); a
  // flush asked for during a pass gets the pass after it.
  let running = null;
  let next = null;
  function flush() {
    if (!running) {
      running = guarded().finally(() => { running = null; });
      return running;
    }
    if (!next) next = running.then(() => { next = null; return flush(); });
    return next;
  }

  function guarded() {
    if (navigator.locks && navigator.locks.request) return navigator.locks.request('tocsin-report-queue', pass);
    return pass();
  }

  let timer = null;
  let failures = 0;

  async function pass() {
    let wait = null;
    try {
      const items = (await store.all('queue')).sort((a, b) => (a.created < b.created ? -1 : 1));
      for (const item of items) {
        if (item.error) continue;
        if (!navigator.onLine) { wait = { retry: true, after: 0 }; break; }
        sendingKey = item.key;
        renderPending();
        const res = await sendItem(item);
        sendingKey = null;
        if (res.retry) { wait = res; break; }
      }
    } finally {
      sendingKey = null;
      await renderPending();
      schedule(wait);
    }
  }

  // schedule sets the retry timer: 5 s, doubling to 5 minutes, with jitter,
  // or the server's Retry-After when longer.
  function schedule(wait) {
    clearTimeout(timer);
    timer = null;
    if (!wait) { failures = 0; return; }
    const base = Math.min(300000, 5000 * 2 ** failures);
    failures = Math.min(failures + 1, 10);
    const delay = Math.max((wait.after || 0) * 1000, base * (0.75 + Math.random() * 0.5));
    timer = setTimeout(flush, delay);
  }

  // --- what the reporter sees ----------------------------------------------------

  function showQueued(item) {
    clear(result);
    result.append(el('div', { class: 'notice warn' },
      el('p', {}, el('strong', {}, t('web.report.queued'))),
      el('p', { class: 'report-excerpt text', dir: 'auto' }, excerpt(item.body.text))));
    result.scrollIntoView({ block: 'nearest' });
  }

  // showReceipt shows a sent report's receipt (rec is a receipt record, or a
  // queue item whose report is in and whose photo still waits).
  function showReceipt(rec, photoWaiting) {
    const a = rec.answer || rec;
    const text = rec.body ? rec.body.text : rec.text;
    clear(result);
    const box = el('div', { class: 'notice ok' },
      el('p', {}, el('strong', {}, t('web.report.sent'))),
      receiptList(a),
      el('p', { class: 'hint' }, t('web.report.receipt_hint')),
      photoLine(rec, photoWaiting),
      el('p', { class: 'report-excerpt text', dir: 'auto' }, excerpt(text)));
    result.append(box);
    result.scrollIntoView({ block: 'nearest' });
  }

  function receiptList(a) {
    return el('dl', { class: 'report-receipt' },
      el('dt', {}, t('web.report.receipt')), el('dd', {}, el('code', { class: 'receipt', dir: 'ltr' }, a.receipt)),
      el('dt', {}, t('web.report.report_id')), el('dd', {}, el('code', { dir: 'ltr' }, a.id)),
      el('dt', {}, t('web.report.incident')), el('dd', {}, el('code', { dir: 'ltr' }, a.incident_id)));
  }

  function photoLine(rec, waiting) {
    if (waiting) return el('p', {}, t('web.report.photo_waiting'));
    if (rec.photo === 'sent') return el('p', {}, t('web.report.photo_sent'));
    if (rec.photo === 'failed') return el('p', { class: 'error' }, t('web.report.photo_failed', { detail: rec.photoError }));
    return null;
  }

  function excerpt(s) {
    s = String(s || '');
    return s.length > 280 ? s.slice(0, 279) + '…' : s;
  }

  async function renderPending() {
    const items = (await store.all('queue')).sort((a, b) => (a.created < b.created ? -1 : 1));
    clear(pendingList);
    pendingSection.hidden = items.length === 0;
    for (const item of items) {
      let state;
      if (item.error) state = el('p', { class: 'error' }, t('web.report.pending_failed', { detail: item.error }));
      else if (item.key === sendingKey) state = el('p', {}, t('web.report.pending_sending'));
      else if (item.answer) state = el('p', {}, t('web.report.pending_photo'));
      else state = el('p', {}, t('web.report.pending_waiting'));
      // Each item's buttons name their item to a screen reader.
      const headingID = 'pending-' + item.key;
      const actions = el('div', { class: 'actions' });
      if (item.error) {
        actions.append(el('button', { type: 'button', 'aria-describedby': headingID, onclick: async () => {
          delete item.error; delete item.errors;
          await store.put('queue', item);
          failures = 0;
          flush();
        } }, t('web.report.pending_retry')));
      }
      if (!item.answer) {
        actions.append(el('button', { type: 'button', class: 'danger', 'aria-describedby': headingID, onclick: async () => {
          await store.del('queue', item.key);
          await renderPending();
          submitBtn.focus();
        } }, t('web.report.pending_discard')));
      }
      pendingList.append(el('li', { 'data-key': item.key },
        el('h3', { id: headingID }, categoryLabel(item.body.category) + (item.body.event ? ' — ' + item.body.event : '')),
        el('p', { class: 'hint' }, t('web.report.made_at', { time: formatTime(item.created) }) +
          (item.photo ? ' · ' + t('web.report.with_photo') : '')),
        el('p', { class: 'report-excerpt text', dir: 'auto' }, excerpt(item.body.text)),
        state, actions.childNodes.length ? actions : null));
    }
  }

  async function renderSent() {
    const recs = (await store.all('sent')).sort((a, b) => (a.sent < b.sent ? 1 : -1));
    clear(sentList);
    sentSection.hidden = recs.length === 0;
    for (const rec of recs) {
      sentList.append(el('li', { 'data-key': rec.key },
        el('h3', {}, categoryLabel(rec.category)),
        el('p', { class: 'hint' }, t('web.report.sent_at', { time: formatTime(rec.sent) })),
        el('p', { class: 'report-excerpt text', dir: 'auto' }, excerpt(rec.text)),
        receiptList(rec),
        photoLine(rec, false)));
    }
  }

  $('sent-clear').addEventListener('click', async () => {
    for (const rec of await store.all('sent')) await store.del('sent', rec.key);
    await renderSent();
    submitBtn.focus();
  });

  // --- the connection -------------------------------------------------------------

  function showConnection() { offlineBanner.hidden = navigator.onLine; }
  window.addEventListener('online', () => { showConnection(); failures = 0; flush(); });
  window.addEventListener('offline', showConnection);
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') flush(); });
  showConnection();

  renderPending();
  renderSent();
  flush();
})();
