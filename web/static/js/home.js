// home.js — the home page's live map and list of active alerts.
//
// The server renders the list, so the page says everything without this
// script. The script draws each alert's areas on the map (coloured by
// severity), filters map and list by severity at once, and follows the live
// stream (GET /api/v1/stream?all=true): a new alert appears in the list and
// on the map and is announced to screen readers, an update replaces the alert
// it updates, a cancel marks it cancelled. EventSource resumes with
// Last-Event-ID by itself; after a hard failure the page reconnects and
// re-reads the active alerts, so nothing published meanwhile is missed.
'use strict';

(function () {
  const T = window.tocsin;
  const { boot, t, el, announce, formatTime, createMap, areaLayer } = T;
  const data = boot.data || {};
  const langs = (data.langs && data.langs.length) ? data.langs : [boot.locale];
  const rank = { Extreme: 4, Severe: 3, Moderate: 2, Minor: 1, Unknown: 0 };

  const list = document.getElementById('alerts');
  const emptyEl = document.getElementById('empty');
  const countEl = document.getElementById('alert-count');
  const select = document.getElementById('severity');
  const form = document.getElementById('filter');
  const stateEl = document.getElementById('live-state');
  const mapActions = document.getElementById('map-actions');
  let hiddenEl = document.getElementById('hidden-count');

  // alerts holds what the page shows, by alert id: the list item, the map
  // layer, and what the filter and the map need.
  const alerts = new Map();

  const map = createMap(document.getElementById('map'));
  T.map = map; // for the browser tests and the console
  const layers = map ? L.featureGroup().addTo(map) : null;
  // Once the reader moves the map, new alerts no longer move it for them.
  let userMoved = false;
  if (map) {
    const c = map.getContainer();
    for (const ev of ['mousedown', 'wheel', 'touchstart', 'keydown']) c.addEventListener(ev, () => { userMoved = true; }, { passive: true });
  }

  const rtl = /^(ar|he|fa|ur|ps|yi)(-|$)/i;
  function dirOf(language) { return rtl.test(language || '') ? 'rtl' : 'ltr'; }

  // refID is the alert id in a reference: the id, or CAP's
  // "sender,identifier,sent".
  function refID(ref) {
    const parts = String(ref).split(',');
    return (parts.length === 3 ? parts[1] : ref).trim();
  }

  // pickInfo chooses the text to show, as the server's Alert.InfoFor does:
  // the first preferred language the alert carries, else its first.
  function pickInfo(a) {
    const infos = a.infos || [];
    const base = (s) => String(s || '').toLowerCase().split(/[-_]/)[0];
    for (const want of langs) {
      const w = String(want).toLowerCase();
      const exact = infos.find((i) => String(i.language).toLowerCase() === w);
      if (exact) return exact;
      const near = infos.find((i) => base(i.language) === base(w));
      if (near) return near;
    }
    return infos[0] || null;
  }

  function expiresOf(info) { return info && info.expires ? Date.parse(info.expires) : NaN; }

  // drawAlert puts an alert's areas on the map, each with its headline as
  // a tooltip and a popup linking to the alert. Texts go in as DOM text,
  // never as markup.
  function drawAlert(item) {
    if (!map) return;
    if (item.layer) layers.removeLayer(item.layer);
    const g = L.featureGroup();
    for (const area of item.areas || []) {
      const layer = areaLayer(area, item.severity);
      if (!layer) continue;
      layer.bindTooltip(() => el('span', {}, item.headline), { sticky: true });
      layer.bindPopup(() => el('a', { href: '/alerts/' + encodeURIComponent(item.id), lang: item.lang, dir: dirOf(item.lang) }, item.headline));
      g.addLayer(layer);
    }
    item.layer = g;
    if (visible(item)) {
      layers.addLayer(g);
      markLayers(item);
    }
  }

  // markLayers names the alert on its drawn paths, so tests and styles can
  // find them.
  function markLayers(item) {
    if (!item.layer) return;
    item.layer.eachLayer((l) => {
      const e = l.getElement && l.getElement();
      if (e) e.setAttribute('data-alert', item.id);
    });
  }

  function visible(item) {
    return !item.cancelled && (rank[item.severity] || 0) >= (rank[select ? select.value : ''] || 0);
  }

  function fitAll() {
    if (!map || !layers.getLayers().length) return false;
    map.fitBounds(layers.getBounds(), { padding: [24, 24], maxZoom: 13 });
    return true;
  }

  // showOnMap brings an alert's areas into view and opens its tooltip.
  function showOnMap(item) {
    if (!map || !item.layer || !item.layer.getLayers().length) return;
    userMoved = true;
    map.fitBounds(item.layer.getBounds(), { padding: [24, 24], maxZoom: 15 });
    const first = item.layer.getLayers()[0];
    if (first) first.openTooltip();
    map.getContainer().focus();
  }

  function addShowButton(item) {
    if (!map || !item.li || item.li.querySelector('.show-on-map')) return;
    item.li.append(el('p', { class: 'item-actions' },
      el('button', { type: 'button', class: 'show-on-map', onclick: () => showOnMap(item) }, t('web.home.show_on_map'))));
  }

  // renderItem builds a list entry like the server's; every text is a text node.
  function renderItem(a, info) {
    const lang = info.language || '';
    const badges = el('p', { class: 'badges' });
    if (a.status === 'Exercise') badges.append(el('span', { class: 'badge status' }, t('alert.exercise')));
    if (a.status === 'Test') badges.append(el('span', { class: 'badge status' }, t('alert.test')));
    if (a.msg_type === 'Update') badges.append(el('span', { class: 'badge' }, t('alert.updated')));
    badges.append(el('span', { class: 'badge sev-' + (info.severity || 'Unknown') }, t('severity.' + (info.severity || 'Unknown'))));
    if (info.urgency) badges.append(el('span', { class: 'badge' }, t('urgency.' + info.urgency)));
    const descs = (a.areas || []).map((ar) => ar.description).filter(Boolean);
    const times = el('p', { class: 'times' }, el('span', { class: 'label' }, t('alert.sent') + ':'), ' ',
      el('time', { datetime: a.sent }, formatTime(a.sent)));
    if (info.expires) {
      times.append(' · ', el('span', { class: 'label' }, t('alert.expires') + ':'), ' ', el('time', { datetime: info.expires }, formatTime(info.expires)));
    }
    return el('li', { class: 'alert-item sev-border-' + (info.severity || 'Unknown'), 'data-id': a.id, 'data-severity': info.severity || 'Unknown' },
      badges,
      el('h3', { lang, dir: dirOf(lang) }, el('a', { href: '/alerts/' + encodeURIComponent(a.id) }, info.headline || info.event || a.id)),
      descs.length ? el('p', { class: 'area' }, el('span', { class: 'label' }, t('alert.area') + ':'), ' ',
        el('span', { lang, dir: dirOf(lang) }, descs.join('; '))) : null,
      times);
  }

  // upsert shows alert a (from the stream or the API), replacing any
  // entry it already has, and reports whether it is new to the page.
  function upsert(a, fresh) {
    if (!a || a.scope !== 'Public' || a.msg_type === 'Cancel') return false;
    const info = pickInfo(a);
    if (!info) return false;
    const exp = expiresOf(info);
    if (!isNaN(exp) && exp <= Date.now()) return false;
    const old = alerts.get(a.id);
    const li = renderItem(a, info);
    if (fresh) li.classList.add('fresh');
    const item = { id: a.id, headline: info.headline || info.event || a.id, lang: info.language, severity: info.severity || 'Unknown',
      areas: a.areas || [], expires: exp, li, layer: old ? old.layer : null };
    if (old && old.li) old.li.replaceWith(li);
    else list.prepend(li);
    alerts.set(a.id, item);
    addShowButton(item);
    drawAlert(item);
    return !old;
  }

  function remove(id) {
    const item = alerts.get(id);
    if (!item) return null;
    if (item.li) item.li.remove();
    if (item.layer && layers) layers.removeLayer(item.layer);
    alerts.delete(id);
    return item;
  }

  function markCancelled(id) {
    const item = alerts.get(id);
    if (!item || item.cancelled) return item;
    item.cancelled = true;
    item.li.classList.add('is-cancelled');
    item.li.setAttribute('data-cancelled', 'true');
    const badges = item.li.querySelector('.badges');
    if (badges) badges.prepend(el('span', { class: 'badge cancelled' }, t('alert.cancelled')));
    const btn = item.li.querySelector('.item-actions');
    if (btn) btn.remove();
    if (item.layer && layers) layers.removeLayer(item.layer);
    return item;
  }

  // refresh applies the filter and updates the count and the empty state.
  function refresh() {
    let shown = 0;
    let hidden = 0;
    for (const item of alerts.values()) {
      const show = item.cancelled || visible(item);
      item.li.hidden = !show;
      if (!item.cancelled) {
        if (show) shown++;
        else hidden++;
      }
      if (item.layer && layers) {
        const on = layers.hasLayer(item.layer);
        if (visible(item) && !on) { layers.addLayer(item.layer); markLayers(item); }
        if (!visible(item) && on) layers.removeLayer(item.layer);
      }
    }
    countEl.textContent = String(shown);
    const anyShown = list.querySelector('li:not([hidden])');
    emptyEl.hidden = Boolean(anyShown);
    emptyEl.textContent = hidden ? t('web.home.empty_filtered') : t('web.home.empty');
    if (hidden) {
      if (!hiddenEl) {
        hiddenEl = el('p', { class: 'hint', id: 'hidden-count' });
        emptyEl.after(hiddenEl);
      }
      hiddenEl.textContent = t('web.home.hidden', { count: hidden });
      hiddenEl.hidden = false;
    } else if (hiddenEl) {
      hiddenEl.hidden = true;
    }
  }

  // handle applies one stream message.
  function handle(msg) {
    const a = msg && msg.alert;
    if (!a) return;
    const info = pickInfo(a) || {};
    const refs = (a.references || []).map(refID);
    let changed = false;
    if (msg.type === 'alert.cancelled') {
      for (const id of refs) {
        const item = markCancelled(id);
        if (item) {
          changed = true;
          announce(t('web.home.cancelled_alert', { headline: item.headline }));
        }
      }
    } else {
      for (const id of refs) if (remove(id)) changed = true;
      const isNew = upsert(a, true);
      if (isNew || changed) {
        changed = true;
        const key = msg.type === 'alert.updated' ? 'web.home.updated_alert' : 'web.home.new_alert';
        announce(t(key, { headline: info.headline || info.event || a.id }));
      }
    }
    if (changed) {
      refresh();
      if (!userMoved) fitAll();
    }
  }

  // resync re-reads the active alerts after a connection that could not
  // resume: adds those the page lacks and drops those no longer active.
  async function resync() {
    // Alerts the stream brings while the list is read are newer than it.
    const before = new Set(alerts.keys());
    let res;
    try {
      res = await T.api('GET', 'alerts?limit=1000');
    } catch (e) {
      return;
    }
    const active = new Set();
    let added = 0;
    for (const a of res.alerts || []) {
      active.add(a.id);
      if (!alerts.has(a.id) && upsert(a, true)) added++;
    }
    for (const [id, item] of alerts) {
      if (before.has(id) && !active.has(id) && !item.cancelled) remove(id);
    }
    refresh();
    if (added) announce(t('web.home.new_alerts', { count: added }));
    if (added && !userMoved) fitAll();
  }

  // The live state is shown small beside the heading; it is not announced,
  // since it changes without the reader doing anything.
  let es = null;
  let everOpen = false;
  function showState() {
    if (!stateEl) return;
    let state;
    if (es && es.readyState === EventSource.OPEN) state = 'live';
    else if (navigator.onLine === false) state = 'offline';
    else state = everOpen ? 'reconnecting' : 'connecting';
    stateEl.hidden = false;
    stateEl.dataset.state = state;
    stateEl.textContent = t('web.home.state_' + state);
  }

  let retry = 2000;
  let retryTimer = 0;
  let resyncOnOpen = true;
  function connect() {
    if (!window.EventSource) return;
    clearTimeout(retryTimer);
    if (es) es.close();
    es = new EventSource('/api/v1/stream?all=true&lang=' + encodeURIComponent(langs.join(',')));
    showState();
    es.addEventListener('open', () => {
      retry = 2000;
      everOpen = true;
      showState();
      // A new stream does not resume from anything: re-read what was
      // published between the page's rendering (or the last stream's end)
      // and this stream's start.
      if (resyncOnOpen) {
        resyncOnOpen = false;
        resync();
      }
    });
    es.addEventListener('alert', (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch (err) { return; }
      handle(msg);
    });
    es.addEventListener('error', () => {
      showState();
      if (es.readyState === EventSource.CLOSED) {
        // A refusal (429, 503) ends an EventSource; start a new one later.
        resyncOnOpen = true;
        retryTimer = setTimeout(connect, retry);
        retry = Math.min(retry * 2, 60000);
      }
      // Otherwise the EventSource reconnects by itself with Last-Event-ID,
      // and the server replays what it missed.
    });
  }

  // Take over the server-rendered list, its times written as the live
  // entries write theirs: in the reader's own time zone.
  for (const tm of list.querySelectorAll('time[datetime]')) tm.textContent = formatTime(tm.getAttribute('datetime'));
  for (const a of data.alerts || []) {
    const li = list.querySelector(`li[data-id="${CSS.escape(a.id)}"]`);
    if (!li) continue;
    const item = { id: a.id, headline: a.headline, lang: li.querySelector('h3') ? li.querySelector('h3').lang : '',
      severity: a.severity || 'Unknown', areas: a.areas || [], li, layer: null };
    const exp = li.querySelectorAll('time')[1];
    item.expires = exp ? Date.parse(exp.getAttribute('datetime')) : NaN;
    alerts.set(a.id, item);
    addShowButton(item);
    drawAlert(item);
  }
  if (form && select) {
    // With the script the filter is instant; the button is for pages without it.
    const apply = document.getElementById('filter-apply');
    if (apply) apply.hidden = true;
    const onChange = () => {
      refresh();
      const u = new URL(location.href);
      if (select.value) u.searchParams.set('severity', select.value);
      else u.searchParams.delete('severity');
      history.replaceState(null, '', u);
      if (!userMoved) fitAll();
    };
    select.addEventListener('change', onChange);
    form.addEventListener('submit', (e) => { e.preventDefault(); onChange(); });
  }
  // Expired alerts leave the page on their own.
  setInterval(() => {
    let gone = false;
    for (const [id, item] of alerts) {
      if (!isNaN(item.expires) && item.expires <= Date.now()) { remove(id); gone = true; }
    }
    if (gone) refresh();
  }, 30000);

  // The map looks at the alerts, else at the network's zones; turning a
  // phone keeps them in view until the reader moves the map.
  if (map) {
    map.on('resize', () => { if (!userMoved) fitAll(); });
    if (!fitAll() && data.zones && data.zones.length) {
      const b = L.latLngBounds([]);
      for (const z of data.zones) {
        if (z.circle) b.extend(L.latLng(z.circle.lat, z.circle.lon).toBounds(z.circle.radius_km * 2000));
        else if (z.polygon && z.polygon.length) b.extend(L.latLngBounds(z.polygon));
      }
      if (b.isValid()) map.fitBounds(b, { padding: [24, 24] });
    }
  }

  // "Show my area": the area this browser subscribed to on /subscribe.
  let mine = null;
  try { mine = JSON.parse(localStorage.getItem('tocsin.myArea') || 'null'); } catch (e) { mine = null; }
  if (map && mine && (mine.circle || mine.polygon)) {
    const style = { color: '#0b4f9c', weight: 3, dashArray: '6 6', fill: false, interactive: false };
    const layer = mine.circle
      ? L.circle([mine.circle.lat, mine.circle.lon], Object.assign({ radius: mine.circle.radius_km * 1000 }, style))
      : L.polygon(mine.polygon, style);
    const btn = el('button', { type: 'button', id: 'show-my-area', 'aria-pressed': 'false' }, t('web.home.show_my_area'));
    btn.addEventListener('click', () => {
      const on = !map.hasLayer(layer);
      if (on) {
        layer.addTo(map);
        userMoved = true;
        map.fitBounds(layer.getBounds(), { padding: [24, 24] });
      } else {
        map.removeLayer(layer);
      }
      btn.setAttribute('aria-pressed', String(on));
    });
    mapActions.append(btn);
  }

  refresh();
  window.addEventListener('offline', showState);
  window.addEventListener('online', () => {
    if (es && es.readyState === EventSource.CLOSED) connect();
    else showState();
  });
  connect();
})();
