// subscribe.js — the subscribe page: choose an area (a circle around a
// point clicked on the map or typed in, a polygon drawn on the map, or a
// named zone), languages, a minimum severity and a channel (Web Push in this
// browser, or email), then POST /api/v1/subscriptions.
//
// Each subscription's id and management token stay in this browser
// (localStorage "tocsin.subscriptions"), so its Unsubscribe button works on
// any later visit; the chosen area is kept as "tocsin.myArea" for the home
// page's "Show my area".
'use strict';

(function () {
  const T = window.tocsin;
  const { boot, t, el, clear, announce, formatTime, createMap } = T;
  const data = boot.data || {};
  const zones = new Map((data.zones || []).map((z) => [z.id, z]));
  const STORE = 'tocsin.subscriptions';
  // PUSH_TIMEOUT is how long the browser's push service has to answer.
  const PUSH_TIMEOUT = 15000;
  const MY_AREA = 'tocsin.myArea';

  const $ = (id) => document.getElementById(id);
  const form = $('subscribe');
  const result = $('result');
  const formError = $('form-error');
  const latIn = $('lat');
  const lonIn = $('lon');
  const radiusIn = $('radius');
  const summary = $('area-summary');
  const areaError = $('area-error');
  const submit = $('submit');

  // --- the map and the area ---------------------------------------------

  const map = createMap($('map'));
  T.map = map; // for the browser tests and the console
  const drawn = map ? L.layerGroup().addTo(map) : null;
  const areaStyle = { color: '#7a0019', weight: 2, fillColor: '#7a0019', fillOpacity: 0.15 };
  const points = []; // the polygon's corners, [lat, lon]
  let finished = false;

  function mode() {
    const r = form.querySelector('input[name="mode"]:checked');
    return r ? r.value : 'circle';
  }

  function num(input) {
    const v = input.value.trim();
    if (v === '') return NaN;
    return Number(v);
  }

  function round(v) { return Math.round(v * 1e6) / 1e6; }

  // circleArea returns the typed circle, or null when it is not complete
  // and valid.
  function circleArea() {
    const lat = num(latIn);
    const lon = num(lonIn);
    const r = num(radiusIn);
    if (!(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180) || !(r > 0 && r <= 1000)) return null;
    return { circle: { lat, lon, radius_km: r } };
  }

  function zoneArea() {
    const sel = $('zone');
    const z = sel && zones.get(sel.value);
    if (!z) return null;
    return z.circle ? { circle: z.circle } : { polygon: z.polygon };
  }

  function polygonArea() {
    if (!finished || points.length < 3) return null;
    return { polygon: points.concat([points[0]]) };
  }

  function currentArea() {
    switch (mode()) {
      case 'polygon': return polygonArea();
      case 'zone': return zoneArea();
      default: return circleArea();
    }
  }

  function fmt(v) { return Number(v).toFixed(5); }

  // describe says an area in words, for the summary and the list of
  // this browser's subscriptions.
  function describe(area, zoneName) {
    if (!area) return '';
    if (zoneName) return t('web.subscribe.area_zone_summary', { name: zoneName });
    if (area.circle) {
      return t('web.subscribe.area_circle_summary', { radius: area.circle.radius_km, lat: fmt(area.circle.lat), lon: fmt(area.circle.lon) });
    }
    return t('web.subscribe.area_polygon_summary', { count: area.polygon.length - 1 });
  }

  function selectedZoneName() {
    const sel = $('zone');
    return mode() === 'zone' && sel && sel.value ? sel.options[sel.selectedIndex].text : '';
  }

  // redraw shows the area being chosen on the map and in words.
  function redraw(fit) {
    let text = '';
    if (drawn) drawn.clearLayers();
    const m = mode();
    if (m === 'circle') {
      const a = circleArea();
      if (a) {
        text = describe(a);
        if (drawn) {
          const c = L.circle([a.circle.lat, a.circle.lon], Object.assign({ radius: a.circle.radius_km * 1000 }, areaStyle)).addTo(drawn);
          L.circleMarker([a.circle.lat, a.circle.lon], { radius: 4, color: '#7a0019', fillOpacity: 1, interactive: false }).addTo(drawn);
          if (fit) map.fitBounds(c.getBounds(), { padding: [24, 24], maxZoom: 15 });
        }
      }
    } else if (m === 'polygon') {
      if (drawn) {
        for (const p of points) L.circleMarker(p, { radius: 5, color: '#7a0019', fillOpacity: 1, interactive: false }).addTo(drawn);
        if (finished) L.polygon(points, areaStyle).addTo(drawn);
        else if (points.length > 1) L.polyline(points, { color: '#7a0019', weight: 2, dashArray: '4 4', interactive: false }).addTo(drawn);
      }
      if (finished) text = t('web.subscribe.polygon_done', { count: points.length });
      else if (points.length) text = t('web.subscribe.points', { count: points.length });
    } else if (m === 'zone') {
      const a = zoneArea();
      if (a) {
        text = describe(a, selectedZoneName());
        if (drawn) {
          const layer = a.circle
            ? L.circle([a.circle.lat, a.circle.lon], Object.assign({ radius: a.circle.radius_km * 1000 }, areaStyle))
            : L.polygon(a.polygon, areaStyle);
          layer.addTo(drawn);
          if (fit) map.fitBounds(layer.getBounds(), { padding: [24, 24] });
        }
      }
    }
    summary.textContent = text;
    $('undo-point').disabled = points.length === 0;
    $('finish-polygon').disabled = finished || points.length < 3;
    $('clear-polygon').disabled = points.length === 0;
  }

  function setPoint(lat, lon) {
    latIn.value = String(round(lat));
    lonIn.value = String(round(lon));
  }

  function addCorner(lat, lon) {
    if (finished) {
      areaError.hidden = false;
      areaError.textContent = t('web.subscribe.polygon_finished');
      return;
    }
    areaError.hidden = true;
    points.push([round(lat), round(lon)]);
    redraw(false);
  }

  if (map) {
    map.on('click', (e) => {
      const ll = e.latlng.wrap();
      hideAreaError();
      if (mode() === 'circle') {
        setPoint(ll.lat, ll.lng);
        redraw(false);
      } else if (mode() === 'polygon') {
        setPoint(ll.lat, ll.lng);
        addCorner(ll.lat, ll.lng);
      }
    });
  }

  function hideAreaError() {
    areaError.hidden = true;
    areaError.textContent = '';
    for (const i of [latIn, lonIn, radiusIn]) i.removeAttribute('aria-invalid');
  }

  for (const input of [latIn, lonIn, radiusIn]) {
    input.addEventListener('input', () => { hideAreaError(); if (mode() === 'circle') redraw(false); });
    input.addEventListener('change', () => { if (mode() === 'circle') redraw(true); });
  }

  function showMode() {
    const m = mode();
    $('circle-hint').hidden = m !== 'circle';
    $('polygon-hint').hidden = m !== 'polygon';
    $('point-fields').hidden = m === 'zone';
    $('radius-field').hidden = m !== 'circle';
    $('circle-actions').hidden = m !== 'circle' || !navigator.geolocation;
    $('polygon-fields').hidden = m !== 'polygon';
    if ($('zone-fields')) $('zone-fields').hidden = m !== 'zone';
    hideAreaError();
    redraw(m === 'zone');
  }
  form.querySelectorAll('input[name="mode"]').forEach((r) => r.addEventListener('change', showMode));
  // The page arrives laid out for a browser without script (every field
  // shown); with script only the chosen kind of area's fields show.
  if ($('zone-fields')) $('zone-fields').hidden = mode() !== 'zone';
  if ($('zone')) $('zone').addEventListener('change', () => { hideAreaError(); redraw(true); });

  $('add-point').addEventListener('click', () => {
    const lat = num(latIn);
    const lon = num(lonIn);
    if (!(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180)) {
      areaError.hidden = false;
      areaError.textContent = t('web.subscribe.point_invalid');
      latIn.focus();
      return;
    }
    addCorner(lat, lon);
  });
  $('undo-point').addEventListener('click', () => {
    finished = false;
    points.pop();
    hideAreaError();
    redraw(false);
  });
  $('finish-polygon').addEventListener('click', () => {
    if (points.length < 3) {
      areaError.hidden = false;
      areaError.textContent = t('web.subscribe.polygon_need_three');
      return;
    }
    finished = true;
    hideAreaError();
    redraw(false);
  });
  $('clear-polygon').addEventListener('click', () => {
    points.length = 0;
    finished = false;
    hideAreaError();
    redraw(false);
  });

  $('use-location').addEventListener('click', () => {
    summary.textContent = t('web.subscribe.locating');
    navigator.geolocation.getCurrentPosition((pos) => {
      setPoint(pos.coords.latitude, pos.coords.longitude);
      redraw(true);
    }, () => {
      summary.textContent = '';
      areaError.hidden = false;
      areaError.textContent = t('web.subscribe.location_failed');
    }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 });
  });

  // --- this browser's subscriptions -----------------------------------------

  function loadMine() {
    try {
      const v = JSON.parse(localStorage.getItem(STORE) || '[]');
      return Array.isArray(v) ? v.filter((s) => s && s.id && s.token) : [];
    } catch (e) {
      return [];
    }
  }

  function saveMine(list) {
    try {
      localStorage.setItem(STORE, JSON.stringify(list));
      if (list.length) localStorage.setItem(MY_AREA, JSON.stringify(list[list.length - 1].area));
      else localStorage.removeItem(MY_AREA);
    } catch (e) {
      // Storage full or refused: the page still works for this visit.
    }
  }

  function renderMine() {
    const list = loadMine();
    const ul = $('mine');
    clear(ul);
    $('mine-none').hidden = list.length > 0;
    for (const s of list) {
      const what = s.channel === 'email' ? t('web.subscribe.mine_email', { address: s.address || '' }) : t('web.subscribe.mine_push');
      const btn = el('button', { type: 'button', class: 'danger unsubscribe', 'data-id': s.id }, t('web.subscribe.unsubscribe'));
      btn.addEventListener('click', () => unsubscribe(s, btn));
      ul.append(el('li', { 'data-id': s.id },
        el('p', { class: 'mine-what' }, el('strong', {}, what)),
        el('p', {}, describe(s.area, s.zone)),
        s.created ? el('p', { class: 'hint' }, t('web.subscribe.created', { time: formatTime(s.created) })) : null,
        el('p', { class: 'actions' }, btn)));
    }
  }

  function notice(kind, ...children) {
    clear(result);
    const n = el('div', { class: 'notice ' + kind }, ...children);
    result.append(n);
    result.focus();
    return n;
  }

  async function unsubscribe(s, btn) {
    btn.disabled = true;
    let resp;
    try {
      resp = await fetch('/api/v1/subscriptions/' + encodeURIComponent(s.id), {
        method: 'DELETE', headers: { Authorization: 'Bearer ' + s.token, Accept: 'application/problem+json' }, credentials: 'omit',
      });
    } catch (e) {
      btn.disabled = false;
      notice('error', el('p', {}, t('web.subscribe.unsubscribe_failed', { detail: t('web.common.error_network') })));
      return;
    }
    // 404: it is gone already (unsubscribed from an email, or the push
    // service said the browser left); either way this browser forgets it.
    if (resp.status !== 204 && resp.status !== 404) {
      let detail = String(resp.status);
      try { const p = await resp.json(); detail = p.detail || p.title || detail; } catch (e) { /* keep the status */ }
      btn.disabled = false;
      notice('error', el('p', {}, t('web.subscribe.unsubscribe_failed', { detail })));
      return;
    }
    const rest = loadMine().filter((x) => x.id !== s.id);
    saveMine(rest);
    if (s.channel === 'webpush' && !rest.some((x) => x.channel === 'webpush')) {
      // No subscription uses this browser's push channel any more.
      try {
        const reg = await navigator.serviceWorker.getRegistration('/');
        const sub = reg && await reg.pushManager.getSubscription();
        if (sub) await sub.unsubscribe();
      } catch (e) { /* the server has forgotten it already */ }
    }
    renderMine();
    notice('ok', el('p', {}, t('web.subscribe.unsubscribed')));
    announce(t('web.subscribe.unsubscribed'));
  }

  // --- channels -------------------------------------------------------------

  const pushSupported = 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window && window.isSecureContext;
  const pushRadio = $('channel-push');
  const emailRadio = $('channel-email');
  if (data.push && !pushSupported) {
    pushRadio.disabled = true;
    pushRadio.checked = false;
    if (!emailRadio.disabled) emailRadio.checked = true;
    $('push-note').hidden = false;
    $('push-note').textContent = t('web.subscribe.push_unsupported');
  }

  function channel() {
    const r = form.querySelector('input[name="channel"]:checked');
    return r ? r.value : '';
  }

  function showChannel() {
    $('email-fields').hidden = channel() !== 'email';
  }
  form.querySelectorAll('input[name="channel"]').forEach((r) => r.addEventListener('change', showChannel));

  function useEmail() {
    emailRadio.checked = true;
    showChannel();
    $('email').focus();
  }

  // PushError is a reason this browser cannot take Web Push: denied,
  // unsupported, disabled (on the server) or failed (the push service).
  class PushError extends Error {
    constructor(kind, cause) {
      super(kind);
      this.kind = kind;
      this.cause = cause;
    }
  }

  function keyBytes(b64) {
    const s = (b64 + '='.repeat((4 - (b64.length % 4)) % 4)).replace(/-/g, '+').replace(/_/g, '/');
    const raw = atob(s);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function sameKey(buf, bytes) {
    if (!buf) return false;
    const a = new Uint8Array(buf);
    return a.length === bytes.length && a.every((v, i) => v === bytes[i]);
  }

  // pushChannel asks for permission, registers the service worker and
  // subscribes this browser with the server's VAPID key.
  async function pushChannel() {
    if (!pushSupported) throw new PushError('unsupported');
    if (!data.push) throw new PushError('disabled');
    let perm = Notification.permission;
    if (perm === 'default') perm = await Notification.requestPermission();
    if (perm !== 'granted') throw new PushError('denied');
    let key;
    try {
      key = (await T.api('GET', 'webpush/vapid-public-key')).key;
    } catch (e) {
      if (e.status === 404) throw new PushError('disabled');
      throw e;
    }
    const bytes = keyBytes(key);
    let sub;
    try {
      await navigator.serviceWorker.register('/sw.js');
      const reg = await navigator.serviceWorker.ready;
      sub = await reg.pushManager.getSubscription();
      if (sub && !sameKey(sub.options && sub.options.applicationServerKey, bytes)) {
        await sub.unsubscribe(); // made with another key: useless now
        sub = null;
      }
      if (!sub) {
        // A browser whose push service cannot be reached may never answer.
        let timer;
        const late = new Promise((resolve, reject) => {
          timer = setTimeout(() => reject(new Error(t('web.subscribe.push_no_answer', { seconds: PUSH_TIMEOUT / 1000 }))), PUSH_TIMEOUT);
        });
        try {
          sub = await Promise.race([reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes }), late]);
        } finally {
          clearTimeout(timer);
        }
      }
    } catch (e) {
      if (e && e.name === 'NotAllowedError' && Notification.permission !== 'granted') throw new PushError('denied', e);
      throw new PushError('failed', e);
    }
    const j = sub.toJSON();
    return { type: 'webpush', endpoint: j.endpoint, keys: { p256dh: j.keys.p256dh, auth: j.keys.auth } };
  }

  // --- submitting -----------------------------------------------------------

  function showFormError(msg) {
    formError.textContent = msg;
    formError.hidden = false;
    formError.focus();
  }

  function clearErrors() {
    formError.hidden = true;
    formError.textContent = '';
    hideAreaError();
    form.querySelectorAll('.field-error').forEach((e) => e.remove());
    form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
  }

  function areaProblem() {
    switch (mode()) {
      case 'polygon': return points.length >= 3 && !finished ? t('web.subscribe.polygon_unfinished') : t('web.subscribe.polygon_need_three');
      case 'zone': return t('web.subscribe.zone_missing');
      default: return t('web.subscribe.area_missing');
    }
  }

  function languages() {
    const out = [];
    for (const id of ['lang-1', 'lang-2', 'lang-3']) {
      const v = $(id).value;
      if (v && !out.includes(v)) out.push(v);
    }
    return out;
  }

  // apiErrors puts the API's field errors next to their fields (area
  // errors under the map) and returns the rest as one text.
  function apiErrors(err) {
    const areaMsgs = [];
    const rest = [];
    for (const fe of err.errors || []) {
      if ((fe.field || '').startsWith('area')) areaMsgs.push(fe.detail);
      else rest.push(fe);
    }
    if (areaMsgs.length) {
      areaError.hidden = false;
      areaError.textContent = areaMsgs.join(' ');
    }
    const left = T.fieldErrors(form, { errors: rest });
    return left;
  }

  let busy = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    clearErrors();
    const area = currentArea();
    if (!area) {
      areaError.hidden = false;
      areaError.textContent = areaProblem();
      if (mode() === 'circle') {
        latIn.setAttribute('aria-invalid', 'true');
        latIn.focus();
      } else if (mode() === 'zone') {
        $('zone').focus();
      } else {
        $('finish-polygon').focus();
      }
      return;
    }
    const kind = channel();
    const address = $('email').value.trim();
    if (kind === 'email' && !address) {
      T.fieldErrors(form, { errors: [{ field: 'channel.address', detail: t('web.subscribe.email_missing') }] });
      $('email').focus();
      return;
    }
    if (!kind) {
      showFormError(t('web.subscribe.no_channel'));
      return;
    }
    busy = true;
    submit.disabled = true;
    const label = submit.textContent;
    submit.textContent = t('web.subscribe.working');
    try {
      let ch;
      if (kind === 'webpush') {
        try {
          ch = await pushChannel();
        } catch (err) {
          if (!(err instanceof PushError)) throw err;
          const parts = [el('p', {}, t('web.subscribe.push_' + err.kind))];
          if (err.cause && err.cause.message) parts.push(el('p', { class: 'hint' }, t('web.subscribe.browser_said', { detail: err.cause.message })));
          if (!emailRadio.disabled) {
            const b = el('button', { type: 'button', id: 'use-email' }, t('web.subscribe.use_email'));
            b.addEventListener('click', useEmail);
            parts.push(el('p', { class: 'actions' }, b));
          }
          const n = notice('error push-error', ...parts);
          n.setAttribute('data-kind', err.kind);
          return;
        }
      } else {
        ch = { type: 'email', address };
      }
      const body = { area, languages: languages(), channel: ch };
      const sev = $('min-severity').value;
      if (sev) body.min_severity = sev;
      const res = await T.api('POST', 'subscriptions', body);
      const mine = loadMine().filter((x) => x.id !== res.id);
      mine.push({ id: res.id, token: res.token, channel: ch.type, address: ch.address, area, zone: selectedZoneName(), created: new Date().toISOString() });
      saveMine(mine);
      renderMine();
      const done = ch.type === 'email'
        ? t('web.subscribe.done_email', { address })
        : t('web.subscribe.done_push');
      notice('ok done', el('p', { class: 'done-' + ch.type }, el('strong', {}, done)), el('p', {}, t('web.subscribe.how_unsubscribe')));
      announce(done);
    } catch (err) {
      if (err && err.status === 0) {
        showFormError(t('web.common.error_network'));
      } else if (err && err.errors && err.errors.length) {
        const left = apiErrors(err);
        showFormError(left.length ? t('web.subscribe.error', { detail: left.join(' ') }) : t('web.subscribe.fix_errors'));
      } else {
        showFormError(t('web.subscribe.error', { detail: (err && err.message) || '' }));
      }
    } finally {
      busy = false;
      submit.disabled = false;
      submit.textContent = label;
    }
  });

  // --- start ----------------------------------------------------------------

  if (map) {
    let mineArea = null;
    try { mineArea = JSON.parse(localStorage.getItem(MY_AREA) || 'null'); } catch (e) { mineArea = null; }
    const b = L.latLngBounds([]);
    const extend = (a) => {
      if (a && a.circle) b.extend(L.latLng(a.circle.lat, a.circle.lon).toBounds(a.circle.radius_km * 2000));
      else if (a && a.polygon && a.polygon.length) b.extend(L.latLngBounds(a.polygon));
    };
    if (mineArea) extend(mineArea);
    else for (const z of zones.values()) extend(z);
    if (b.isValid()) map.fitBounds(b, { padding: [24, 24], maxZoom: 13 });
  }
  showChannel();
  showMode();
  renderMine();
})();
