// console.js — the responder console: the incident queue (reports on a map,
// verify, reject, merge), composing an alert with each language side by
// side, its preview (area and recipients per channel), the approval queue
// for the second publisher, and one-action update and cancel of published
// alerts. Every piece of user text goes into the page through tocsin.el as
// text, never as markup. The queues are refreshed by polling every few
// seconds: incidents have no live stream of their own.
'use strict';

(function () {
  const { boot, t, api, el, clear, announce, formatTime, severityColor, createMap, areaLayer, fieldErrors } = window.tocsin;
  const data = boot.data || {};
  if (!data.principal) return;
  const me = data.principal;
  const publisher = !!data.publisher;
  const pollMS = data.poll_ms || 5000;
  const $ = (id) => document.getElementById(id);
  const locales = data.locales || [];
  const localeBy = Object.fromEntries(locales.map((l) => [l.code, l]));
  const baseOf = (code) => String(code || '').toLowerCase().split(/[-_]/)[0];
  const openStates = ['unverified', 'corroborated', 'verified'];
  const narrow = window.matchMedia('(max-width: 56rem)');

  // ---- small helpers -------------------------------------------------

  // localeFor returns the supported locale for a language tag (exactly, or
  // by its base language), or a plain stand-in for other tags.
  function localeFor(code) {
    if (localeBy[code]) return localeBy[code];
    const hit = locales.find((l) => l.code.toLowerCase() === String(code).toLowerCase()) ||
      locales.find((l) => baseOf(l.code) === baseOf(code));
    return hit ? { code: String(code), native: hit.native, dir: hit.dir, known: true } : { code: String(code), native: String(code), dir: 'ltr' };
  }

  // langAttr returns code when it is safe and meaningful as a lang
  // attribute (one of the supported languages), else null.
  function langAttr(code) {
    if (!code || !/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(code)) return null;
    return locales.some((l) => baseOf(l.code) === baseOf(code)) ? code : null;
  }

  // distanceKM is the great-circle distance between two points.
  function distanceKM(lat1, lon1, lat2, lon2) {
    const rad = Math.PI / 180;
    const a = Math.sin((lat2 - lat1) * rad / 2) ** 2 +
      Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin((lon2 - lon1) * rad / 2) ** 2;
    return 6371 * 2 * Math.asin(Math.min(1, Math.sqrt(a)));
  }

  function clock(d) {
    try {
      return new Intl.DateTimeFormat(boot.locale, { timeStyle: 'medium' }).format(d);
    } catch (e) {
      return d.toLocaleTimeString();
    }
  }

  const stateLabel = (s) => t('web.console.state_' + s);
  const catLabel = (c) => t('category.' + c);
  const sevLabel = (s) => t('severity.' + s);
  const incidentTitle = (inc) => inc.event || catLabel(inc.category);
  const isLoud = (a) => (a.infos || []).some((i) => i.severity === 'Severe' || i.severity === 'Extreme');
  const maxSeverity = (a) => {
    const order = ['Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown'];
    let best = 'Unknown';
    for (const i of a.infos || []) if (order.indexOf(i.severity) >= 0 && order.indexOf(i.severity) < order.indexOf(best)) best = i.severity;
    return best;
  };

  // pickInfo returns the alert's text in the page's language, else its first.
  function pickInfo(a) {
    const infos = a.infos || [];
    return infos.find((i) => i.language === boot.locale) ||
      infos.find((i) => baseOf(i.language) === baseOf(boot.locale)) || infos[0] || { headline: a.id, language: '' };
  }

  // ---- results and errors ----------------------------------------------

  const resultBox = $('console-result');
  let sessionEnded = false;

  // say shows the outcome of an action in the live region at the top.
  function say(msg, kind, extra) {
    resultBox.className = 'console-result notice ' + (kind || '');
    clear(resultBox);
    resultBox.append(el('p', {}, msg, extra ? ' ' : null, extra || null));
  }

  // errorText turns an ApiError into a sentence in the page's language,
  // with the server's own detail when it has one.
  function errorText(err, context) {
    if (!err || err.status === undefined) return t('web.console.error', { detail: String(err && err.message || err) });
    if (err.status === 0) return t('web.common.error_network');
    if (context === 'approve' && err.status === 403) return t('web.console.error_self_approval');
    const detail = err.problem && err.problem.detail ? err.problem.detail : err.message;
    if (err.status === 403) return t('web.console.error_forbidden', { detail });
    if (err.status === 404) return t('web.console.error_not_found', { detail });
    if (err.status === 409) return t('web.console.error_conflict', { detail });
    if (err.status === 429) return t('web.console.error_rate');
    return t('web.console.error', { detail });
  }

  // showError reports err: field errors next to the fields of form (when
  // given), the rest in the live region. A lost session stops the console.
  function showError(err, form, context) {
    if (err && err.status === 401) {
      sessionEnded = true;
      say(t('web.console.error_session'), 'error', el('a', { href: '/login' }, t('web.console.sign_in_again')));
      return;
    }
    let rest = [];
    if (form && err && err.errors) rest = fieldErrors(form, err);
    let msg = errorText(err, context);
    if (form && err && err.errors && err.errors.length) {
      msg = t('web.console.error_fields');
      if (rest.length) msg += ' ' + rest.join(' · ');
    }
    say(msg, 'error');
    if (form) {
      const bad = form.querySelector('[aria-invalid="true"]');
      if (bad) bad.focus();
    }
  }

  function clearFieldErrors(form) {
    form.querySelectorAll('.field-error').forEach((e) => e.remove());
    form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
  }

  // busy disables buttons while an action is in flight.
  async function busy(buttons, fn) {
    const was = buttons.map((b) => b.disabled);
    buttons.forEach((b) => { b.disabled = true; });
    try {
      return await fn();
    } finally {
      buttons.forEach((b, i) => { if (b.isConnected) b.disabled = was[i]; });
    }
  }

  // ---- maps ----------------------------------------------------------

  // Maps drawn while their panel was hidden have no size; showing the panel
  // resizes them and fits them to what they show.
  const maps = [];
  function registerMap(map, container, fit) {
    maps.push({ map, container, fit });
  }
  // pruneMaps lets go of the maps of items that left their lists.
  function pruneMaps() {
    for (let i = maps.length - 1; i >= 0; i--) {
      if (maps[i].container.isConnected) continue;
      maps[i].map.remove();
      maps.splice(i, 1);
    }
  }
  function refreshMaps(panel) {
    for (const m of maps) {
      if (!m.container.isConnected || !panel.contains(m.container)) continue;
      m.map.invalidateSize();
      if (m.fit) m.fit();
    }
  }

  // drawAlertAreas draws areas with their descriptions as text tooltips.
  function drawAlertAreas(map, areas, severity) {
    const group = L.featureGroup();
    for (const a of areas || []) {
      const layer = areaLayer(a, severity);
      if (!layer) continue;
      if (a.description) layer.bindTooltip(el('span', {}, a.description));
      group.addLayer(layer);
    }
    group.addTo(map);
    return group;
  }

  function fitGroup(map, group, maxZoom) {
    if (group && group.getLayers().length) map.fitBounds(group.getBounds(), { padding: [20, 20], maxZoom: maxZoom || 15 });
  }

  // ---- tabs ----------------------------------------------------------

  const tabs = Array.from(document.querySelectorAll('.console-tabs [role="tab"]'));
  const onShow = {};
  function showTab(tab, focus) {
    for (const other of tabs) {
      const sel = other === tab;
      other.setAttribute('aria-selected', String(sel));
      other.tabIndex = sel ? 0 : -1;
      $(other.getAttribute('aria-controls')).hidden = !sel;
    }
    if (focus) tab.focus();
    const panel = $(tab.getAttribute('aria-controls'));
    if (onShow[tab.id]) onShow[tab.id]();
    refreshMaps(panel);
  }
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => showTab(tab));
    tab.addEventListener('keydown', (e) => {
      const rtl = document.documentElement.dir === 'rtl';
      let j = null;
      if (e.key === 'ArrowRight') j = rtl ? i - 1 : i + 1;
      else if (e.key === 'ArrowLeft') j = rtl ? i + 1 : i - 1;
      else if (e.key === 'Home') j = 0;
      else if (e.key === 'End') j = tabs.length - 1;
      if (j === null) return;
      e.preventDefault();
      showTab(tabs[(j + tabs.length) % tabs.length], true);
    });
  });

  function setCount(id, n) {
    const b = $(id);
    if (!b) return;
    b.hidden = !n;
    b.textContent = n ? String(n) : '';
  }

  // syncList makes list's items follow items, keyed by key: new ones are
  // made by create, kept ones are passed to update and stay where they are
  // when their place has not changed, so focus inside them survives.
  function syncList(list, items, key, create, update) {
    const existing = new Map();
    for (const li of Array.from(list.children)) existing.set(li.dataset.key, li);
    const keep = new Set();
    let prev = null;
    for (const item of items) {
      const k = key(item);
      keep.add(k);
      let li = existing.get(k);
      if (!li) {
        li = create(item);
        li.dataset.key = k;
      } else if (update) {
        update(li, item);
      }
      const want = prev ? prev.nextSibling : list.firstChild;
      if (li !== want) list.insertBefore(li, want);
      prev = li;
    }
    for (const [k, li] of existing) if (!keep.has(k)) li.remove();
  }

  // confirmInline replaces trigger with a question and two buttons; yes
  // runs onYes.
  function confirmInline(trigger, question, yesLabel, onYes) {
    const box = el('div', { class: 'confirm notice warn', role: 'group', 'aria-label': question });
    const yes = el('button', { type: 'button', class: 'danger' }, yesLabel);
    const no = el('button', { type: 'button' }, t('web.console.keep'));
    const close = () => {
      box.remove();
      trigger.hidden = false;
    };
    yes.addEventListener('click', async () => {
      yes.disabled = no.disabled = true;
      try {
        await onYes();
      } finally {
        close();
        if (trigger.isConnected && document.activeElement === document.body) trigger.focus();
      }
    });
    no.addEventListener('click', () => {
      close();
      trigger.focus();
    });
    box.append(el('p', {}, question), el('div', { class: 'actions' }, yes, no));
    trigger.hidden = true;
    trigger.after(box);
    yes.focus();
  }

  // ---- the incident queue -------------------------------------------

  let selectedId = null;
  let selected = null;
  let selectedReports = [];
  let selectedSig = '';
  let openIncidents = [];
  let incMap = null;
  let incLayer = null;
  const sig = (inc) => [inc.state, inc.report_count, inc.reporter_count, inc.last_seen, inc.merged_into || ''].join('|');

  function fillIncidentItem(li, inc) {
    const btn = li.firstChild;
    clear(btn);
    btn.append(
      el('span', { class: 'pick-title', dir: 'auto' }, incidentTitle(inc)),
      el('span', { class: 'pick-meta' },
        el('span', { class: 'badge state state-' + inc.state }, stateLabel(inc.state)), ' ', catLabel(inc.category)),
      el('span', { class: 'pick-counts' },
        t('web.console.report_count', { n: inc.report_count }), ' · ', t('web.console.reporter_count', { n: inc.reporter_count })),
      el('span', { class: 'pick-time' }, t('web.console.last_seen', { time: formatTime(inc.last_seen) })));
    markSelected(li);
  }

  function markSelected(li) {
    const on = li.dataset.key === selectedId;
    li.classList.toggle('selected', on);
    if (on) li.firstChild.setAttribute('aria-current', 'true');
    else li.firstChild.removeAttribute('aria-current');
  }

  function incidentItem(inc) {
    const li = el('li', { class: 'incident-item' });
    li.append(el('button', { type: 'button', class: 'incident-pick', onclick: () => selectIncident(li.dataset.key) }));
    li.dataset.key = inc.id;
    fillIncidentItem(li, inc);
    return li;
  }

  let lastPollError = '';
  async function refreshIncidents() {
    const filter = $('queue-state').value;
    let open;
    let list;
    try {
      open = await api('GET', 'incidents?state=open&limit=200');
      list = filter === 'open' ? open : await api('GET', 'incidents?limit=200' + (filter ? '&state=' + encodeURIComponent(filter) : ''));
    } catch (err) {
      const msg = errorText(err);
      if (err && err.status === 401) showError(err);
      else if (msg !== lastPollError) say(msg, 'error');
      lastPollError = msg;
      return;
    }
    if (lastPollError) {
      lastPollError = '';
      say(t('web.console.reconnected'), 'ok');
    }
    openIncidents = open.incidents;
    setCount('incidents-count', open.total);
    syncList($('incident-list'), list.incidents, (i) => i.id, incidentItem, fillIncidentItem);
    $('queue-empty').hidden = list.incidents.length > 0;
    $('queue-updated').textContent = t('web.console.queue_updated', { time: clock(new Date()) });
    if (selectedId) {
      const cur = list.incidents.concat(openIncidents).find((i) => i.id === selectedId);
      if (cur && sig(cur) !== selectedSig) await loadIncident(selectedId);
      else if (selected) fillMergeTargets(selected);
    }
  }

  async function selectIncident(id) {
    selectedId = id;
    for (const li of $('incident-list').children) markSelected(li);
    await loadIncident(id);
    if (selected && selected.id === id) {
      announce(t('web.console.incident_selected', { title: incidentTitle(selected), n: selected.report_count }));
      if (narrow.matches) $('incident-body').scrollIntoView({ block: 'start' });
    }
  }

  async function loadIncident(id) {
    let d;
    try {
      d = await api('GET', 'incidents/' + encodeURIComponent(id));
    } catch (err) {
      showError(err);
      return;
    }
    if (id !== selectedId) return;
    selected = d.incident;
    selectedReports = d.reports || [];
    selectedSig = sig(selected);
    renderIncident(selected, selectedReports);
  }

  function fact(term, value) {
    return [el('dt', {}, term), el('dd', {}, value)];
  }

  function renderIncident(inc, reports) {
    $('incident-none').hidden = true;
    $('incident-body').hidden = false;
    $('incident-heading').textContent = incidentTitle(inc);
    const badges = $('incident-badges');
    clear(badges);
    badges.append(el('span', { class: 'badge state state-' + inc.state }, stateLabel(inc.state)), el('span', { class: 'badge' }, catLabel(inc.category)));
    const facts = $('incident-facts');
    clear(facts);
    facts.append(
      ...fact(t('web.console.reports'), String(inc.report_count)),
      ...fact(t('web.console.reporters'), String(inc.reporter_count)),
      ...fact(t('web.console.first_seen'), formatTime(inc.first_seen)),
      ...fact(t('web.console.last_seen_label'), formatTime(inc.last_seen)),
      ...fact(t('web.console.centre'), el('span', { dir: 'ltr' }, inc.lat.toFixed(4) + ', ' + inc.lon.toFixed(4))));
    if (inc.merged_into) {
      facts.append(...fact(t('web.console.merged_into_label'),
        el('button', { type: 'button', class: 'link', onclick: () => selectIncident(inc.merged_into) }, inc.merged_into)));
    }
    if (inc.note) facts.append(...fact(t('web.console.decide_note'), el('span', { class: 'text' }, inc.note)));

    const list = $('report-list');
    clear(list);
    if (!reports.length) list.append(el('li', { class: 'hint' }, t('web.console.no_reports')));
    for (const r of reports) {
      const lang = langAttr(r.language);
      const li = el('li', { class: 'report' },
        el('p', { class: 'text report-text', lang, dir: lang ? localeFor(lang).dir : 'auto' }, r.text),
        el('p', { class: 'hint' },
          t('web.console.observed', { time: formatTime(r.observed_at) }),
          ' · ', t('web.console.channel', { channel: r.channel }),
          r.language ? ' · ' + t('web.console.report_language', { language: localeFor(r.language).native }) : null,
          r.accuracy_m ? ' · ' + t('web.console.accuracy', { m: Math.round(r.accuracy_m) }) : null));
      if (r.has_photo) {
        const src = '/api/v1/reports/' + encodeURIComponent(r.id) + '/photo';
        li.append(el('a', { href: src, class: 'photo', target: '_blank', rel: 'noopener' },
          el('img', { src, alt: t('web.console.photo_alt', { time: formatTime(r.observed_at) }), loading: 'lazy', width: 160, height: 120 })));
      }
      list.append(li);
    }
    drawIncidentMap(inc, reports);

    const open = openStates.includes(inc.state);
    $('verify-btn').disabled = !open || inc.state === 'verified';
    $('reject-btn').disabled = !open || inc.state === 'verified';
    $('decide-closed').hidden = open && inc.state !== 'verified';
    $('decide-closed').textContent = open ? t('web.console.decide_verified') : t('web.console.decide_closed');
    fillMergeTargets(inc);
    const compose = $('compose-from-incident');
    if (compose) compose.disabled = inc.state === 'merged';
  }

  function fillMergeTargets(inc) {
    const sel = $('merge-into');
    const keep = sel.value;
    clear(sel);
    const targets = openIncidents.filter((o) => o.id !== inc.id && o.category === inc.category);
    const open = openStates.includes(inc.state);
    if (!targets.length || !open) {
      sel.append(el('option', { value: '' }, open ? t('web.console.merge_none') : t('web.console.decide_closed')));
    }
    for (const o of targets) {
      sel.append(el('option', { value: o.id },
        t('web.console.merge_option', { title: incidentTitle(o), n: o.report_count, time: formatTime(o.last_seen) })));
    }
    if (targets.some((o) => o.id === keep)) sel.value = keep;
    sel.disabled = !targets.length || !open;
    $('merge-btn').disabled = !targets.length || !open;
  }

  function drawIncidentMap(inc, reports) {
    if (!incMap) {
      incMap = createMap($('incident-map'), { center: [inc.lat, inc.lon], zoom: 14 });
      if (!incMap) return;
      registerMap(incMap, $('incident-map'), () => fitGroup(incMap, incLayer, 16));
    }
    if (incLayer) incLayer.remove();
    incLayer = L.featureGroup();
    const color = severityColor.Severe;
    L.circleMarker([inc.lat, inc.lon], { radius: 5, color: '#111', weight: 2, fillColor: '#fff', fillOpacity: 1 })
      .bindTooltip(el('span', {}, t('web.console.centre'))).addTo(incLayer);
    for (const r of reports) {
      const text = r.text.length > 120 ? r.text.slice(0, 117) + '…' : r.text;
      L.circleMarker([r.lat, r.lon], { radius: 9, color, weight: 2, fillColor: color, fillOpacity: 0.45, className: 'report-marker' })
        .bindTooltip(el('span', {}, text)).addTo(incLayer);
    }
    incLayer.addTo(incMap);
    incMap.invalidateSize();
    fitGroup(incMap, incLayer, 16);
  }

  async function decide(kind) {
    if (!selected) return;
    const id = selected.id;
    const form = $('decide-form');
    clearFieldErrors(form);
    const note = $('decide-note').value.trim();
    await busy([$('verify-btn'), $('reject-btn')], async () => {
      try {
        const inc = await api('POST', 'incidents/' + encodeURIComponent(id) + '/' + kind, note ? { note } : {});
        say(t(kind === 'verify' ? 'web.console.verified' : 'web.console.rejected', { title: incidentTitle(inc) }), 'ok');
        $('decide-note').value = '';
      } catch (err) {
        showError(err, form);
      }
    });
    await refreshIncidents();
    if (selectedId === id) await loadIncident(id);
  }
  $('verify-btn').addEventListener('click', () => decide('verify'));
  $('reject-btn').addEventListener('click', () => decide('reject'));

  $('merge-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!selected) return;
    const form = $('merge-form');
    clearFieldErrors(form);
    const into = $('merge-into').value;
    if (!into) return;
    const from = selected;
    await busy([$('merge-btn')], async () => {
      try {
        const res = await api('POST', 'incidents/' + encodeURIComponent(from.id) + '/merge', { into });
        say(t('web.console.merged', {
          from: incidentTitle(res.merged), into: incidentTitle(res.incident),
          reports: res.incident.report_count, reporters: res.incident.reporter_count,
        }), 'ok');
        selectedId = res.incident.id;
      } catch (err) {
        showError(err, form);
      }
    });
    await refreshIncidents();
    if (selectedId !== from.id) {
      await loadIncident(selectedId);
      for (const li of $('incident-list').children) markSelected(li);
      $('incident-heading').focus();
    }
  });

  $('queue-state').addEventListener('change', () => refreshIncidents());

  // ---- compose -------------------------------------------------------

  const compose = {
    incidentId: '',
    references: [],
    polygon: null,
    extraAreas: [],
    descEdited: false,
    draft: null,
  };
  let columns = [];
  let cMap = null;
  let cLayer = null;

  function severityNow() {
    return $('c-severity') ? $('c-severity').value : '';
  }

  function ensureComposeMap() {
    if (cMap || !$('compose-map')) return;
    const lat = parseFloat($('c-lat').value);
    const lon = parseFloat($('c-lon').value);
    const center = isFinite(lat) && isFinite(lon) ? [lat, lon] : undefined;
    cMap = createMap($('compose-map'), center ? { center, zoom: 13 } : undefined);
    if (!cMap) return;
    registerMap(cMap, $('compose-map'), () => fitGroup(cMap, cLayer, 15));
    cMap.on('click', (e) => {
      if (compose.polygon) return;
      $('c-lat').value = e.latlng.lat.toFixed(5);
      $('c-lon').value = e.latlng.wrap().lng.toFixed(5);
      areaChanged();
    });
    drawComposeArea(true);
  }

  function circleFields() {
    return { lat: parseFloat($('c-lat').value), lon: parseFloat($('c-lon').value), r: parseFloat($('c-radius').value) };
  }

  function drawComposeArea(fit) {
    if (!cMap) return;
    if (cLayer) cLayer.remove();
    cLayer = L.featureGroup();
    const sev = severityNow() || 'Unknown';
    if (compose.polygon) {
      const layer = areaLayer({ polygon: compose.polygon }, sev);
      if (layer) cLayer.addLayer(layer);
    } else {
      const c = circleFields();
      if (isFinite(c.lat) && isFinite(c.lon) && Math.abs(c.lat) <= 90 && Math.abs(c.lon) <= 180) {
        const radiusM = (isFinite(c.r) && c.r > 0 ? c.r : 1) * 1000;
        const circle = areaLayer({ circle: { lat: c.lat, lon: c.lon, radius_km: radiusM / 1000 } }, sev);
        cLayer.addLayer(circle);
        L.circleMarker([c.lat, c.lon], { radius: 4, color: '#111', weight: 2, fillColor: '#fff', fillOpacity: 1, interactive: false }).addTo(cLayer);
        // The handle on the circle's edge changes the radius when dragged.
        const edge = L.latLng(c.lat, c.lon).toBounds(radiusM * 2).getNorthEast();
        const handle = L.marker([c.lat, edge.lng], {
          draggable: true, keyboard: false, title: t('web.console.radius_handle'),
          icon: L.divIcon({ className: 'radius-handle', iconSize: [20, 20] }),
        });
        handle.on('drag', (e) => {
          const km = Math.max(0.1, Math.round(L.latLng(c.lat, c.lon).distanceTo(e.target.getLatLng()) / 100) / 10);
          $('c-radius').value = String(km);
          circle.setRadius(km * 1000);
          autoDescription();
        });
        handle.on('dragend', () => drawComposeArea(false));
        cLayer.addLayer(handle);
      }
    }
    for (const a of compose.extraAreas) {
      const layer = areaLayer(a, sev);
      if (layer) cLayer.addLayer(layer);
    }
    cLayer.addTo(cMap);
    if (fit) fitGroup(cMap, cLayer, 15);
  }

  function autoDescription() {
    if (compose.descEdited || compose.polygon) return;
    const r = parseFloat($('c-radius').value);
    $('c-area-desc').value = t('web.console.area_default', { km: isFinite(r) ? r : 1 });
  }

  function areaChanged() {
    autoDescription();
    drawComposeArea(false);
  }

  // ---- language columns ----

  function refreshLanguageChoices() {
    const sel = $('c-add-lang');
    clear(sel);
    for (const l of locales) {
      if (columns.some((c) => c.code === l.code)) continue;
      sel.append(el('option', { value: l.code, lang: l.code }, l.native));
    }
    sel.disabled = !sel.options.length;
    $('c-add-lang-btn').disabled = !sel.options.length;
    for (const c of columns) c.remove.disabled = columns.length < 2;
    // Machine translation is offered into the languages not written by hand.
    const mt = $('c-mt');
    const checked = new Set(Array.from(mt.querySelectorAll('input:checked')).map((i) => i.value));
    mt.querySelectorAll('label.choice').forEach((e) => e.remove());
    for (const l of locales) {
      if (columns.some((c) => c.code === l.code)) continue;
      const id = 'c-mt-' + l.code;
      mt.append(el('label', { class: 'choice', for: id },
        el('input', { type: 'checkbox', id, name: 'translate_to', value: l.code, checked: checked.has(l.code) }),
        el('span', { lang: l.code }, l.native)));
    }
  }

  function updateCounter(col) {
    const n = [...col.headline.value].length;
    col.counter.textContent = n > 90 ? t('web.console.headline_long', { n, max: 90 }) : t('web.console.headline_count', { n, max: 90 });
    col.counter.classList.toggle('over', n > 90);
  }

  function addColumn(code, values) {
    if (columns.some((c) => c.code === code)) return null;
    const loc = localeFor(code);
    const lang = langAttr(code);
    const base = 'c-' + code.replace(/[^A-Za-z0-9]/g, '_');
    const v = values || {};
    const headline = el('input', { id: base + '-headline', type: 'text', maxlength: 160, lang, dir: loc.dir, required: true, 'aria-describedby': base + '-count' });
    const description = el('textarea', { id: base + '-description', rows: 4, maxlength: 8000, lang, dir: loc.dir });
    const instruction = el('textarea', { id: base + '-instruction', rows: 3, maxlength: 8000, lang, dir: loc.dir });
    headline.value = v.headline || '';
    description.value = v.description || '';
    instruction.value = v.instruction || '';
    const counter = el('p', { class: 'hint counter', id: base + '-count' });
    const remove = el('button', { type: 'button', class: 'remove-language' }, t('web.console.remove_language', { language: loc.native }));
    const node = el('fieldset', { class: 'language-column', 'data-lang': code },
      el('legend', {}, el('span', { lang }, loc.native), ' ', el('span', { class: 'code' }, '(' + code + ')')),
      el('label', { for: headline.id }, t('web.console.headline')), headline, counter,
      el('label', { for: description.id }, t('alert.description')), description,
      el('label', { for: instruction.id }, t('alert.instruction')), instruction,
      el('div', { class: 'actions' }, remove));
    const col = { code, node, headline, description, instruction, counter, remove };
    headline.addEventListener('input', () => updateCounter(col));
    remove.addEventListener('click', () => {
      if (columns.length < 2) return;
      columns = columns.filter((c) => c !== col);
      node.remove();
      refreshLanguageChoices();
      $('c-add-lang').focus();
      announce(t('web.console.language_removed', { language: loc.native }));
    });
    columns.push(col);
    $('c-columns').append(node);
    updateCounter(col);
    refreshLanguageChoices();
    return col;
  }

  if (publisher) {
    $('c-add-lang-btn').addEventListener('click', () => {
      const code = $('c-add-lang').value;
      if (!code) return;
      const col = addColumn(code);
      if (col) {
        col.headline.focus();
        announce(t('web.console.language_added', { language: col.node.querySelector('legend span').textContent }));
      }
    });
    for (const id of ['c-lat', 'c-lon', 'c-radius']) $(id).addEventListener('input', areaChanged);
    $('c-severity').addEventListener('change', () => drawComposeArea(false));
    $('c-area-desc').addEventListener('input', () => { compose.descEdited = true; });
  }

  function localDateTime(d) {
    const pad = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' + pad(d.getHours()) + ':' + pad(d.getMinutes());
  }

  // resetCompose fills the compose form for a new alert, for an alert from
  // an incident (from.incident and its reports), or for an update of a
  // published alert (from.alert).
  function resetCompose(from) {
    const form = $('compose-form');
    form.reset();
    clearFieldErrors(form);
    form.hidden = false;
    $('compose-preview').hidden = true;
    compose.incidentId = '';
    compose.references = [];
    compose.polygon = null;
    compose.extraAreas = [];
    compose.descEdited = false;
    compose.draft = null;
    columns = [];
    clear($('c-columns'));
    const msgType = $('c-msgtype');
    msgType.querySelector('[value="Update"]').disabled = true;
    msgType.querySelector('[value="Alert"]').disabled = false;
    msgType.value = 'Alert';
    $('c-urgency').value = 'Immediate';
    $('c-certainty').value = 'Observed';
    $('c-severity').value = '';
    $('c-radius').value = '1';
    $('c-lat').value = '';
    $('c-lon').value = '';
    $('c-expires').value = localDateTime(new Date(Date.now() + 6 * 3600 * 1000));
    $('c-polygon-note').hidden = true;
    $('c-circle-fields').hidden = false;
    const ctx = $('compose-context-text');
    $('compose-new').hidden = true;
    if (from && from.incident) {
      const inc = from.incident;
      compose.incidentId = inc.id;
      ctx.textContent = t('web.console.compose_from', { title: incidentTitle(inc) });
      $('c-category').value = inc.category;
      $('c-event').value = inc.event || '';
      $('c-lat').value = inc.lat.toFixed(5);
      $('c-lon').value = inc.lon.toFixed(5);
      // Wide enough for every report, and at least 1 km.
      let far = 0;
      for (const r of from.reports || []) far = Math.max(far, distanceKM(inc.lat, inc.lon, r.lat, r.lon));
      $('c-radius').value = String(Math.max(1, Math.ceil((far + 0.5) * 10) / 10));
      autoDescription();
      addColumn(boot.locale);
      $('compose-new').hidden = false;
    } else if (from && from.alert) {
      const a = from.alert;
      const first = (a.infos || [])[0] || {};
      compose.incidentId = a.incident_id || '';
      compose.references = [a.id];
      ctx.textContent = t('web.console.compose_update', { headline: pickInfo(a).headline });
      msgType.querySelector('[value="Update"]').disabled = false;
      msgType.querySelector('[value="Alert"]').disabled = true;
      msgType.value = 'Update';
      $('c-status').value = a.status;
      $('c-category').value = (first.category || [])[0] || 'Other';
      $('c-event').value = first.event || '';
      $('c-urgency').value = first.urgency || 'Immediate';
      $('c-severity').value = first.severity || '';
      $('c-certainty').value = first.certainty || 'Observed';
      $('c-expires').value = first.expires ? localDateTime(new Date(first.expires)) : '';
      const [area, ...rest] = a.areas || [];
      compose.extraAreas = rest;
      if (area && area.circle) {
        $('c-lat').value = String(area.circle.lat);
        $('c-lon').value = String(area.circle.lon);
        $('c-radius').value = String(area.circle.radius_km);
      } else if (area && area.polygon) {
        compose.polygon = area.polygon;
        $('c-polygon-note').hidden = false;
        $('c-circle-fields').hidden = true;
      }
      if (area) {
        $('c-area-desc').value = area.description || '';
        compose.descEdited = true;
      }
      for (const info of a.infos || []) addColumn(info.language, info);
      $('compose-new').hidden = false;
    } else {
      ctx.textContent = t('web.console.compose_new');
      autoDescription();
      addColumn(boot.locale);
    }
    refreshLanguageChoices();
    if (cMap) {
      if (isFinite(parseFloat($('c-lat').value))) cMap.setView([parseFloat($('c-lat').value), parseFloat($('c-lon').value)], 13);
      drawComposeArea(true);
    }
  }

  // buildAlert reads the form into an API alert, numbering the fields of
  // each language column for the server's field errors.
  function buildAlert() {
    const shared = {
      category: [$('c-category').value],
      event: $('c-event').value.trim(),
      urgency: $('c-urgency').value,
      severity: $('c-severity').value,
      certainty: $('c-certainty').value,
    };
    const exp = $('c-expires').value;
    if (exp) {
      const d = new Date(exp);
      if (!isNaN(d)) shared.expires = d.toISOString();
    }
    const infos = columns.map((c, i) => {
      c.headline.dataset.field = 'infos[' + i + '].headline';
      c.description.dataset.field = 'infos[' + i + '].description';
      c.instruction.dataset.field = 'infos[' + i + '].instruction';
      return Object.assign({ language: c.code }, shared, {
        headline: c.headline.value.trim(), description: c.description.value.trim(), instruction: c.instruction.value.trim(),
      });
    });
    const description = $('c-area-desc').value.trim();
    let area;
    if (compose.polygon) {
      area = { description, polygon: compose.polygon };
    } else {
      const c = circleFields();
      area = { description, circle: { lat: c.lat, lon: c.lon, radius_km: c.r } };
    }
    const body = {
      status: $('c-status').value,
      msg_type: $('c-msgtype').value,
      scope: 'Public',
      infos,
      areas: [area].concat(compose.extraAreas),
      // Held: even a quiet alert waits until its preview has been seen.
      hold: true,
    };
    if (compose.incidentId) body.incident_id = compose.incidentId;
    if (compose.references.length) body.references = compose.references;
    const mt = Array.from($('c-mt').querySelectorAll('input:checked')).map((i) => i.value);
    if (mt.length) body.translate_to = mt;
    return body;
  }

  // localProblems checks what the server cannot name well: a centre that
  // is not a number.
  function localProblems(body) {
    const errors = [];
    const c = body.areas[0].circle;
    if (c && (!isFinite(c.lat) || !isFinite(c.lon))) errors.push({ field: 'areas[0].circle', detail: t('web.console.area_missing') });
    if (c && !(c.radius_km > 0)) errors.push({ field: 'areas[0].circle', detail: t('web.console.radius_invalid') });
    return errors;
  }

  if (publisher) {
    $('compose-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const form = $('compose-form');
      clearFieldErrors(form);
      const body = buildAlert();
      const local = localProblems(body);
      if (local.length) {
        showError({ status: 400, errors: local, message: '' }, form);
        return;
      }
      await busy([$('c-save')], async () => {
        try {
          const a = await api('POST', 'alerts', body);
          compose.draft = a;
          say(isLoud(a) ? t('web.console.saved_pending') : t('web.console.saved_held'), 'ok');
          await showDraftPreview(a);
          refreshApproval();
        } catch (err) {
          showError(err, form);
        }
      });
    });
    $('c-clear').addEventListener('click', () => {
      resetCompose(currentComposeSource);
      $('c-status').focus();
    });
    $('compose-new').addEventListener('click', () => {
      currentComposeSource = null;
      resetCompose(null);
      $('c-status').focus();
    });
    onShow['tab-compose'] = () => ensureComposeMap();
  }
  let currentComposeSource = null;

  function openCompose(from) {
    currentComposeSource = from;
    resetCompose(from);
    showTab($('tab-compose'));
    ensureComposeMap();
    $('c-status').focus();
  }

  if ($('compose-from-incident')) {
    $('compose-from-incident').addEventListener('click', () => {
      if (selected) openCompose({ incident: selected, reports: selectedReports });
    });
  }

  // ---- previews (the draft, the approval queue) -------------------------

  const channelLabel = (ch) => {
    const key = 'web.console.channel_' + ch;
    const label = t(key);
    return label === key ? ch : label;
  };

  // alertDetails builds an alert's language versions side by side, its
  // area on a map (drawn once attached) and, with a preview, its
  // recipients per channel.
  function alertDetails(a, preview) {
    const box = el('div', { class: 'alert-details' });
    const badges = el('p', { class: 'badges' },
      el('span', { class: 'badge sev-' + maxSeverity(a) }, sevLabel(maxSeverity(a))),
      a.status !== 'Actual' ? el('span', { class: 'badge status' }, t('web.console.status_' + a.status)) : null,
      a.msg_type !== 'Alert' ? el('span', { class: 'badge' }, t('web.console.msg_type_' + a.msg_type)) : null,
      el('span', { class: 'badge' }, t('web.console.alert_state_' + a.state)));
    box.append(badges);
    const versions = el('div', { class: 'side-by-side versions' });
    for (const info of a.infos || []) {
      const lang = langAttr(info.language);
      const loc = localeFor(info.language);
      versions.append(el('section', { class: 'version', 'aria-label': loc.native },
        el('h4', {}, el('span', { lang }, loc.native), info.provenance && info.provenance !== 'human'
          ? el('span', { class: 'badge machine-badge' }, t('alert.machine_translation')) : null),
        el('p', { class: 'headline', lang, dir: loc.dir }, info.headline),
        info.description ? el('p', { class: 'text', lang, dir: loc.dir }, info.description) : null,
        info.instruction ? el('p', { class: 'text instruction', lang, dir: loc.dir }, el('strong', {}, t('alert.instruction') + ': '), info.instruction) : null));
    }
    box.append(versions);
    const facts = el('dl', { class: 'facts' },
      ...fact(t('alert.area'), (a.areas || []).map((ar) => ar.description).join(' · ')),
      ...fact(t('web.console.event'), (a.infos[0] || {}).event || ''),
      ...fact(t('alert.urgency'), t('urgency.' + (a.infos[0] || {}).urgency)),
      ...fact(t('alert.certainty'), t('certainty.' + (a.infos[0] || {}).certainty)));
    const exp = (a.infos[0] || {}).expires;
    if (exp) facts.append(...fact(t('alert.expires'), formatTime(exp)));
    box.append(facts);
    const mapEl = el('div', { class: 'map small preview-map', role: 'region', 'aria-label': t('web.common.map_of_area') });
    box.append(mapEl);
    if (preview) {
      const rows = Object.entries(preview.recipients || {}).sort((x, y) => y[1] - x[1]);
      const table = el('table', { class: 'recipients' },
        el('caption', {}, t('web.console.recipients')),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('web.console.channel_col')), el('th', { scope: 'col' }, t('web.console.recipients_col')))),
        el('tbody', {}, rows.length ? rows.map(([ch, n]) => el('tr', {}, el('th', { scope: 'row' }, channelLabel(ch)), el('td', { class: 'count', 'data-channel': ch }, String(n))))
          : el('tr', {}, el('td', { colspan: 2 }, t('web.console.recipients_none')))),
        el('tfoot', {}, el('tr', {}, el('th', { scope: 'row' }, t('web.console.recipients_total')), el('td', { class: 'count total' }, String(preview.total)))));
      box.append(table);
    } else {
      box.append(el('p', { class: 'hint' }, t('web.console.recipients_unknown')));
    }
    if (a.warnings && a.warnings.length) {
      box.append(el('div', { class: 'notice warn' }, el('p', {}, t('web.console.warnings')), el('ul', {}, a.warnings.map((w) => el('li', {}, w)))));
    }
    box.drawMap = () => {
      const map = createMap(mapEl);
      if (!map) return;
      const group = drawAlertAreas(map, (preview && preview.areas) || a.areas, maxSeverity(a));
      const fit = () => fitGroup(map, group, 14);
      registerMap(map, mapEl, fit);
      fit();
    };
    return box;
  }

  async function fetchPreview(a) {
    try {
      return await api('GET', 'alerts/' + encodeURIComponent(a.id) + '/preview');
    } catch (err) {
      if (err && err.status === 401) showError(err);
      return null;
    }
  }

  async function showDraftPreview(a) {
    const preview = await fetchPreview(a);
    $('compose-form').hidden = true;
    const section = $('compose-preview');
    section.hidden = false;
    const body = $('preview-body');
    clear(body);
    const info = pickInfo(a);
    body.append(el('p', { class: 'preview-headline', lang: langAttr(info.language) }, info.headline));
    const details = alertDetails(a, preview);
    body.append(details);
    const actions = el('div', { class: 'actions' });
    if (isLoud(a)) {
      body.append(el('div', { class: 'notice warn', id: 'preview-waiting' },
        el('p', {}, t('web.console.needs_second', { severity: sevLabel(maxSeverity(a)) }))));
      actions.append(el('button', { type: 'button', class: 'primary', onclick: () => showTab($('tab-approval'), true) }, t('web.console.go_approval')));
    } else {
      const send = el('button', { type: 'button', class: 'primary', id: 'preview-send' }, t('web.console.send_now'));
      send.addEventListener('click', () => busy([send], async () => {
        try {
          const done = await api('POST', 'alerts/' + encodeURIComponent(a.id) + '/approve');
          say(t('web.console.published', { headline: pickInfo(done).headline }), 'ok');
          currentComposeSource = null;
          resetCompose(null);
          refreshAlerts();
          showTab($('tab-published'), true);
        } catch (err) {
          showError(err, null, 'approve');
        }
      }));
      actions.append(send);
    }
    const edit = el('button', { type: 'button' }, t('web.console.edit_draft'));
    edit.addEventListener('click', () => busy([edit], async () => {
      if (await withdraw(a, true)) {
        $('compose-preview').hidden = true;
        $('compose-form').hidden = false;
        compose.draft = null;
        $('c-status').focus();
      }
    }));
    const drop = el('button', { type: 'button', class: 'danger' }, t('web.console.withdraw'));
    drop.addEventListener('click', () => confirmInline(drop, t('web.console.withdraw_confirm'), t('web.console.withdraw_yes'), async () => {
      if (await withdraw(a, false)) {
        currentComposeSource = null;
        resetCompose(null);
        $('c-status').focus();
      }
    }));
    actions.append(edit, drop);
    body.append(actions);
    details.drawMap();
    $('preview-heading').focus();
  }

  // withdraw takes back a pending alert. It first checks that the alert is
  // still pending: cancelling one a second publisher has just approved
  // would publish a Cancel.
  async function withdraw(a, quiet) {
    try {
      const cur = await api('GET', 'alerts/' + encodeURIComponent(a.id));
      if (cur.state !== 'pending_approval') {
        say(t('web.console.not_pending', { state: t('web.console.alert_state_' + cur.state) }), 'error');
        refreshAlerts();
        return false;
      }
      await api('POST', 'alerts/' + encodeURIComponent(a.id) + '/cancel');
      say(quiet ? t('web.console.draft_reopened') : t('web.console.withdrawn', { headline: pickInfo(a).headline }), 'ok');
      refreshAlerts();
      return true;
    } catch (err) {
      showError(err);
      return false;
    }
  }

  // ---- the approval queue ------------------------------------------

  function approvalItem(a) {
    const info = pickInfo(a);
    const li = el('li', { class: 'alert-card' });
    const mine = a.author_id === me.id;
    const loud = isLoud(a);
    li.append(
      el('h3', { lang: langAttr(info.language) }, info.headline),
      el('p', { class: 'hint' }, mine ? t('web.console.by_you') : t('web.console.by_other'), ' · ',
        t('web.console.created', { time: formatTime(a.created_at) })));
    const details = el('div', { class: 'details-slot' }, el('p', { class: 'hint' }, t('web.console.loading')));
    li.append(details);
    const hintId = 'approve-hint-' + a.id;
    const approve = el('button', { type: 'button', class: 'primary approve' }, mine && !loud ? t('web.console.send_now') : t('web.console.approve'));
    const actions = el('div', { class: 'actions' }, approve);
    if (mine && loud) {
      approve.disabled = true;
      approve.setAttribute('aria-describedby', hintId);
      li.classList.add('own');
      li.append(el('p', { class: 'notice warn needs-other', id: hintId }, t('web.console.needs_other_publisher')));
    }
    approve.addEventListener('click', () => busy([approve], async () => {
      try {
        const done = await api('POST', 'alerts/' + encodeURIComponent(a.id) + '/approve');
        say(t('web.console.published', { headline: pickInfo(done).headline }), 'ok');
        if (compose.draft && compose.draft.id === a.id) {
          currentComposeSource = null;
          resetCompose(null);
        }
      } catch (err) {
        showError(err, null, 'approve');
      }
      await refreshAlerts();
    }));
    const drop = el('button', { type: 'button', class: 'danger' }, t('web.console.withdraw'));
    drop.addEventListener('click', () => confirmInline(drop, t('web.console.withdraw_confirm'), t('web.console.withdraw_yes'), () => withdraw(a, false)));
    actions.append(drop);
    li.append(actions);
    fetchPreview(a).then((preview) => {
      clear(details);
      const d = alertDetails(a, preview);
      details.append(d);
      d.drawMap();
    });
    return li;
  }

  async function refreshApproval() {
    if (!publisher) return;
    let res;
    try {
      res = await api('GET', 'alerts?state=pending_approval&limit=100');
    } catch (err) {
      if (err && err.status === 401) showError(err);
      return;
    }
    setCount('approval-count', res.total);
    syncList($('approval-list'), res.alerts, (a) => a.id, approvalItem, null);
    $('approval-empty').hidden = res.alerts.length > 0;
    pruneMaps();
    // A draft on show that another publisher approved (or withdrew) says so.
    const draft = compose.draft;
    if (draft && !$('compose-preview').hidden && !res.alerts.some((a) => a.id === draft.id)) {
      compose.draft = null;
      try {
        const cur = await api('GET', 'alerts/' + encodeURIComponent(draft.id));
        // A list asked for before the draft was saved does not have it yet.
        if (cur.state === 'pending_approval') {
          if (!compose.draft) compose.draft = draft;
          return;
        }
        const body = $('preview-body');
        body.querySelectorAll('.actions, #preview-waiting').forEach((e) => e.remove());
        body.prepend(el('div', { class: 'notice ok', role: 'status' },
          el('p', {}, t('web.console.not_pending', { state: t('web.console.alert_state_' + cur.state) }))),
          el('div', { class: 'actions' }, el('button', { type: 'button', onclick: () => { currentComposeSource = null; resetCompose(null); $('c-status').focus(); } }, t('web.console.compose_start_over'))));
      } catch (err) {
        if (err && err.status === 401) showError(err);
      }
    }
  }

  // ---- published alerts --------------------------------------------

  function publishedItem(a) {
    const info = pickInfo(a);
    const li = el('li', { class: 'alert-card' });
    const exp = a.infos && a.infos[0] && a.infos[0].expires;
    li.append(
      el('h3', { lang: langAttr(info.language) }, el('a', { href: '/alerts/' + encodeURIComponent(a.id) }, info.headline)),
      el('p', { class: 'badges' },
        el('span', { class: 'badge sev-' + maxSeverity(a) }, sevLabel(maxSeverity(a))),
        a.status !== 'Actual' ? el('span', { class: 'badge status' }, t('web.console.status_' + a.status)) : null,
        a.msg_type !== 'Alert' ? el('span', { class: 'badge' }, t('web.console.msg_type_' + a.msg_type)) : null,
        el('span', { class: 'langs' }, (a.infos || []).map((i) => localeFor(i.language).native).join(' · '))),
      el('p', { class: 'hint' }, t('web.console.sent', { time: formatTime(a.published_at || a.sent) }),
        exp ? ' · ' + t('web.console.expires_at', { time: formatTime(exp) }) : null,
        ' · ', (a.areas || []).map((ar) => ar.description).join(' · ')));
    const update = el('button', { type: 'button', class: 'update' }, t('web.console.update'));
    update.addEventListener('click', () => openCompose({ alert: a }));
    const cancel = el('button', { type: 'button', class: 'danger cancel' }, t('web.console.cancel'));
    cancel.addEventListener('click', () => confirmInline(cancel, t('web.console.cancel_confirm', { headline: info.headline }), t('web.console.cancel_yes'), async () => {
      try {
        const c = await api('POST', 'alerts/' + encodeURIComponent(a.id) + '/cancel');
        say(t('web.console.cancelled', { headline: info.headline }), 'ok', c && c.id ? el('a', { href: '/alerts/' + encodeURIComponent(c.id) }, t('web.console.see_cancel')) : null);
      } catch (err) {
        showError(err);
      }
      await refreshAlerts();
    }));
    li.append(el('div', { class: 'actions' }, update, cancel));
    return li;
  }

  async function refreshPublished() {
    if (!publisher) return;
    let res;
    try {
      res = await api('GET', 'alerts?limit=100');
    } catch (err) {
      if (err && err.status === 401) showError(err);
      return;
    }
    setCount('published-count', res.total);
    syncList($('published-list'), res.alerts, (a) => a.id, publishedItem, null);
    $('published-empty').hidden = res.alerts.length > 0;
    pruneMaps();
  }

  async function refreshAlerts() {
    await Promise.all([refreshApproval(), refreshPublished()]);
  }

  // ---- polling -------------------------------------------------------

  let ticking = false;
  async function tick() {
    if (ticking || sessionEnded || document.hidden) return;
    ticking = true;
    try {
      await refreshIncidents();
      await refreshAlerts();
    } finally {
      ticking = false;
    }
  }

  if (publisher) resetCompose(null);
  tick();
  setInterval(tick, pollMS);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) tick(); });
})();
