// console.js — the responder console: the incident queue (reports on a map,
// verify, reject, merge), composing an alert with each language side by
// side or from a vetted template that writes every language (a form made
// from the template's parameters), its preview (area, recipients per
// channel, every language), the approval queue for the second publisher,
// and one-action update and cancel of published alerts. Every piece of user
// text goes into the page through tocsin.el as text, never as markup. The
// queues are refreshed by polling every few seconds: incidents have no live
// stream of their own.
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
    if (form && err && err.errors) {
      rememberHints(form);
      rest = fieldErrors(form, err);
    }
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
    form.querySelectorAll('[aria-invalid]').forEach(unmark);
    form.querySelectorAll('.field-error').forEach((e) => e.remove());
  }

  // A field error takes the place of the field's description; rememberHints
  // keeps each description so that unmark can give it back.
  function rememberHints(form) {
    form.querySelectorAll('[aria-describedby]').forEach((e) => {
      const d = e.getAttribute('aria-describedby');
      if (!/-error$/.test(d)) e.dataset.hint = d;
    });
  }

  // unmark takes a field's error away, once it is being corrected.
  function unmark(e) {
    if (e.getAttribute('aria-invalid') !== 'true') return;
    e.removeAttribute('aria-invalid');
    const id = (e.id || e.dataset.field) + '-error';
    for (let n = e.nextElementSibling; n && n.classList.contains('field-error'); n = e.nextElementSibling) {
      if (n.id !== id) break;
      n.remove();
    }
    if (e.dataset.hint) e.setAttribute('aria-describedby', e.dataset.hint);
    else e.removeAttribute('aria-describedby');
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
  // published alert (from.alert). It starts with written text, the way the
  // form always opens, unless keepMode keeps the way chosen.
  function resetCompose(from, keepMode) {
    const form = $('compose-form');
    const mode = keepMode ? composeMode() : 'write';
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
    // Templates of the incident's (or the updated alert's) category come first.
    fillTemplateSelect(from && from.incident ? from.incident.category
      : from && from.alert ? (((from.alert.infos || [])[0] || {}).category || [])[0] : '');
    paramInputs = {};
    chooseTemplate();
    setComposeMode(mode);
    if (cMap) {
      if (isFinite(parseFloat($('c-lat').value))) cMap.setView([parseFloat($('c-lat').value), parseFloat($('c-lon').value)], 13);
      drawComposeArea(true);
    }
  }

  // composeAreas reads the area editor: the circle or the polygon first,
  // then any further areas of the alert being updated.
  function composeAreas() {
    const description = $('c-area-desc').value.trim();
    let area;
    if (compose.polygon) {
      area = { description, polygon: compose.polygon };
    } else {
      const c = circleFields();
      area = { description, circle: { lat: c.lat, lon: c.lon, radius_km: c.r } };
    }
    return [area].concat(compose.extraAreas);
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
    const body = {
      status: $('c-status').value,
      msg_type: $('c-msgtype').value,
      scope: 'Public',
      infos,
      areas: composeAreas(),
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

  // ---- compose from a template ----
  //
  // "Use a template" replaces the language columns with the chosen
  // template's parameters: the server renders the vetted text in every
  // supported language. Status, urgency, severity, certainty, expiry and
  // the area editor are the same fields as for written text.

  const templates = data.templates || [];
  const templateBy = Object.fromEntries(templates.map((tp) => [tp.id, tp]));
  // paramInputs holds the current template's inputs by parameter name.
  let paramInputs = {};

  const composeMode = () => ($('c-mode-template') && $('c-mode-template').checked ? 'template' : 'write');
  const currentTemplate = () => templateBy[$('c-template').value] || null;

  // textOr returns the catalog text for key, or fallback when the catalog
  // has none (a template added after this page's texts were written).
  function textOr(key, args, fallback) {
    const s = t(key, args);
    return s === key ? fallback : s;
  }
  const humanize = (id) => String(id).replace(/_/g, ' ');

  // paramLabel names a parameter; a template may word it its own way.
  function paramLabel(tp, p) {
    return textOr('web.console.param_' + tp.id + '_' + p.name, null,
      textOr('web.console.param_' + p.name, null, humanize(p.name)));
  }

  // choiceLabel words one choice of p: another template's event name for
  // an alert type, the catalog's wording otherwise.
  function choiceLabel(p, choice) {
    if (p.type === 'alert_type') return templateBy[choice] ? templateBy[choice].event : humanize(choice);
    return textOr('web.console.choice_' + choice, null, humanize(choice));
  }

  // templateTitle names an alert's "<id>@<version>" template.
  function templateTitle(ref) {
    const [id, version] = String(ref).split('@');
    return { name: templateBy[id] ? templateBy[id].event : humanize(id), version: version || '' };
  }

  function fillTemplateSelect(category) {
    const sel = $('c-template');
    clear(sel);
    sel.append(el('option', { value: '' }, t('web.console.choose')));
    const sorted = templates.slice().sort((x, y) => x.event.localeCompare(y.event, boot.locale));
    const option = (tp) => el('option', { value: tp.id }, t('web.console.template_option', { event: tp.event, severity: sevLabel(tp.severity) }));
    const matching = category ? sorted.filter((tp) => (tp.category || []).includes(category)) : [];
    if (matching.length) {
      sel.append(
        el('optgroup', { label: t('web.console.template_matching', { category: catLabel(category) }) }, matching.map(option)),
        el('optgroup', { label: t('web.console.template_other') }, sorted.filter((tp) => !matching.includes(tp)).map(option)));
    } else {
      sel.append(...sorted.map(option));
    }
    sel.value = '';
  }

  // The time zones offered: the browser's own first, then every zone it knows.
  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    } catch (e) {
      return 'UTC';
    }
  }
  function fillTimeZones() {
    const sel = $('c-timezone');
    if (sel.options.length) return;
    const here = browserZone();
    let zones = [];
    try {
      zones = Intl.supportedValuesOf('timeZone');
    } catch (e) {
      zones = [];
    }
    zones = [here].concat(zones.filter((z) => z !== here && z !== 'UTC'), here === 'UTC' ? [] : ['UTC']);
    for (const z of zones) {
      const o = el('option', { value: z }, humanize(z));
      if (z === here) o.defaultSelected = true;
      sel.append(o);
    }
    sel.value = here;
  }

  // offsetMinutes is how far the wall clock of zone tz is ahead of UTC at
  // the instant ms.
  function offsetMinutes(ms, tz) {
    const f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
    const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second);
    return Math.round((wall - Math.floor(ms / 1000) * 1000) / 60000);
  }

  // zoned reads a datetime-local value as a wall-clock time in zone tz and
  // returns the instant and that zone's offset then, or null.
  function zoned(local, tz) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(local || '');
    if (!m) return null;
    const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
    try {
      let off = offsetMinutes(wall, tz);
      let ms = wall - off * 60000;
      // Near a change of offset the first guess can be an hour out.
      const again = offsetMinutes(ms, tz);
      if (again !== off) {
        off = again;
        ms = wall - off * 60000;
      }
      return { ms, off };
    } catch (e) {
      return null;
    }
  }

  // rfc3339 writes a datetime-local value in zone tz as RFC 3339 with the
  // zone's offset, as template parameters take times.
  function rfc3339(local, tz) {
    const z = zoned(local, tz);
    if (!z) return null;
    const pad = (n) => String(n).padStart(2, '0');
    const a = Math.abs(z.off);
    return new Date(z.ms + z.off * 60000).toISOString().slice(0, 19) + (z.off < 0 ? '-' : '+') + pad(Math.floor(a / 60)) + ':' + pad(a % 60);
  }

  // Zones for the place parameters: a zone's id shows its own name in
  // every language. Loaded once, when templates are first used.
  let zonesLoaded = false;
  async function loadZones() {
    if (zonesLoaded) return;
    zonesLoaded = true;
    let res;
    try {
      res = await api('GET', 'zones');
    } catch (err) {
      zonesLoaded = false;
      return;
    }
    const list = $('c-zones');
    clear(list);
    for (const z of res.zones || []) {
      const names = z.names || {};
      const name = names[boot.locale] || names[baseOf(boot.locale)] || names.en || z.id;
      list.append(el('option', { value: z.id, label: name }));
    }
  }

  // paramField builds the input for one parameter: its type decides the
  // control; its example, and how its value is shown, make the hint.
  function paramField(tp, p, value) {
    const id = 'c-param-' + p.name;
    const hintId = id + '-hint';
    const attrs = { id, name: 'params.' + p.name, 'data-field': 'params.' + p.name, 'aria-required': p.required ? 'true' : null };
    let input;
    let hint = '';
    const example = p.example ? t('web.console.example', { example: p.example }) : '';
    if (p.type === 'choice' || p.type === 'alert_type') {
      input = el('select', attrs);
      if (!p.default) input.append(el('option', { value: '' }, p.required ? t('web.console.choose') : t('web.console.param_omit')));
      for (const c of p.choices || []) input.append(el('option', { value: c }, choiceLabel(p, c)));
      input.value = p.default || '';
      if (value && (p.choices || []).includes(value)) input.value = value;
    } else if (p.type === 'datetime') {
      input = el('input', Object.assign(attrs, { type: 'datetime-local' }));
      hint = t('web.console.param_hint_datetime');
      if (value) input.value = value;
    } else {
      const type = p.type === 'phone' ? 'tel' : 'text';
      input = el('input', Object.assign(attrs, {
        type, maxlength: p.max_length || null, autocomplete: 'off', dir: p.type === 'phone' ? 'ltr' : 'auto',
        inputmode: p.type === 'phone' ? 'tel' : null, list: p.type === 'zone' ? 'c-zones' : null,
      }));
      hint = [t(p.type === 'zone' ? 'web.console.param_hint_zone' : 'web.console.param_hint_verbatim'), example].join(' ');
      if (value) input.value = value;
    }
    if (hint) input.setAttribute('aria-describedby', hintId);
    paramInputs[p.name] = input;
    return el('div', { class: 'param', 'data-param': p.name, 'data-type': p.type },
      el('label', { for: id }, paramLabel(tp, p), p.required ? [' ', el('span', { class: 'required-mark' }, t('web.console.required_mark'))] : null),
      input,
      hint ? el('p', { class: 'hint', id: hintId }, hint) : null);
  }

  // expiryRequired marks Expires as required (a public-safety appeal) or not.
  function expiryRequired(on) {
    $('c-expires-required').hidden = !on;
    if (on) $('c-expires').setAttribute('aria-required', 'true');
    else $('c-expires').removeAttribute('aria-required');
    $('c-expires-hint').textContent = on ? t('web.console.expires_required_hint') : t('web.console.expires_hint');
  }

  // chooseTemplate shows the chosen template's parameters, keeping what was
  // typed for parameters of the same name, and sets urgency, severity and
  // certainty to the template's defaults.
  function chooseTemplate() {
    const tp = currentTemplate();
    const kept = {};
    for (const [name, input] of Object.entries(paramInputs)) kept[name] = input.value;
    paramInputs = {};
    const box = $('c-params');
    clear(box);
    $('c-params-fields').hidden = !tp;
    const rules = $('c-template-rules');
    if (!tp) {
      $('c-template-hint').textContent = t('web.console.template_none');
      rules.hidden = true;
      expiryRequired(false);
      return;
    }
    $('c-template-hint').textContent = t('web.console.template_summary', {
      category: (tp.category || []).map(catLabel).join(', '), severity: sevLabel(tp.severity),
      urgency: t('urgency.' + tp.urgency), certainty: t('certainty.' + tp.certainty),
    });
    const notes = [];
    if (tp.publisher_only) notes.push(t('web.console.template_publisher_only'));
    if (tp.requires_expiry) notes.push(t('web.console.template_requires_expiry'));
    rules.textContent = notes.join(' ');
    rules.hidden = !notes.length;
    $('c-params-legend').textContent = t('web.console.template_details', { event: tp.event });
    for (const p of tp.params || []) box.append(paramField(tp, p, kept[p.name]));
    $('c-urgency').value = tp.urgency;
    $('c-severity').value = tp.severity;
    $('c-certainty').value = tp.certainty;
    expiryRequired(composeMode() === 'template' && !!tp.requires_expiry);
    drawComposeArea(false);
  }

  // setComposeMode switches between writing the text and using a template;
  // the fields the API names differently are renamed for its field errors.
  function setComposeMode(mode) {
    const tplMode = mode === 'template';
    $('c-mode-template').checked = tplMode;
    $('c-mode-write').checked = !tplMode;
    $('c-template-fields').hidden = !tplMode;
    $('c-category-field').hidden = tplMode;
    $('c-event-field').hidden = tplMode;
    $('c-languages-fields').hidden = tplMode;
    $('c-template-languages').hidden = !tplMode;
    for (const f of ['urgency', 'severity', 'certainty', 'expires']) $('c-' + f).dataset.field = tplMode ? f : 'infos[0].' + f;
    clearFieldErrors($('compose-form'));
    const tp = currentTemplate();
    expiryRequired(tplMode && !!(tp && tp.requires_expiry));
    if (tplMode) {
      fillTimeZones();
      loadZones();
    }
  }

  // buildTemplateAlert reads the form into an API alert from a template.
  // Times are read in the alert's time zone, which the text shows them in.
  function buildTemplateAlert() {
    const tp = currentTemplate();
    const tz = $('c-timezone').value || 'UTC';
    const params = {};
    for (const p of tp ? tp.params || [] : []) {
      const input = paramInputs[p.name];
      const v = input ? input.value.trim() : '';
      if (v) params[p.name] = p.type === 'datetime' ? rfc3339(v, tz) || v : v;
    }
    const body = {
      status: $('c-status').value,
      msg_type: $('c-msgtype').value,
      scope: 'Public',
      template: tp ? tp.id : '',
      params,
      time_zone: tz,
      areas: composeAreas(),
      hold: true,
    };
    for (const f of ['urgency', 'severity', 'certainty']) if ($('c-' + f).value) body[f] = $('c-' + f).value;
    const exp = zoned($('c-expires').value, tz);
    if (exp) body.expires = new Date(exp.ms).toISOString();
    if (compose.incidentId) body.incident_id = compose.incidentId;
    if (compose.references.length) body.references = compose.references;
    return body;
  }

  // templateProblems finds, in the page's language, what the server would
  // refuse for sure: no template, a required parameter left empty, an
  // appeal without an expiry; and the area's own problems.
  function templateProblems(body) {
    const errors = [];
    const tp = currentTemplate();
    if (!tp) {
      errors.push({ field: 'template', detail: t('web.console.template_missing') });
    } else {
      for (const p of tp.params || []) {
        if (p.required && !body.params[p.name]) errors.push({ field: 'params.' + p.name, detail: t('web.console.param_required') });
      }
      if (tp.requires_expiry && !body.expires) errors.push({ field: 'expires', detail: t('web.console.template_requires_expiry') });
    }
    return errors.concat(localProblems(body));
  }

  if (publisher) {
    // Correcting a field takes its error away.
    for (const type of ['input', 'change']) $('compose-form').addEventListener(type, (e) => unmark(e.target));
    $('c-mode-write').addEventListener('change', () => setComposeMode('write'));
    $('c-mode-template').addEventListener('change', () => {
      setComposeMode('template');
      announce(t('web.console.template_languages', { n: locales.length }));
    });
    $('c-template').addEventListener('change', () => {
      chooseTemplate();
      const tp = currentTemplate();
      if (tp) announce(t('web.console.template_chosen', { event: tp.event, n: (tp.params || []).length }));
    });
  }

  if (publisher) {
    $('compose-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const form = $('compose-form');
      clearFieldErrors(form);
      const fromTemplate = composeMode() === 'template';
      const body = fromTemplate ? buildTemplateAlert() : buildAlert();
      const local = fromTemplate ? templateProblems(body) : localProblems(body);
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
      resetCompose(currentComposeSource, true);
      (composeMode() === 'template' ? $('c-template') : $('c-status')).focus();
    });
    $('compose-new').addEventListener('click', () => {
      currentComposeSource = null;
      resetCompose(null);
      focusCompose();
    });
    onShow['tab-compose'] = () => ensureComposeMap();
  }
  let currentComposeSource = null;

  function openCompose(from) {
    currentComposeSource = from;
    resetCompose(from);
    showTab($('tab-compose'));
    ensureComposeMap();
    focusCompose();
  }

  // focusCompose puts focus on the first choice of a fresh form: how to
  // write the alert.
  function focusCompose() {
    (composeMode() === 'template' ? $('c-mode-template') : $('c-mode-write')).focus();
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
    const infos = a.infos || [];
    if (a.template) {
      const tt = templateTitle(a.template);
      box.append(el('p', { class: 'from-template' }, t('web.console.from_template', { name: tt.name, version: tt.version, n: infos.length })));
    }
    const machine = (info) => (String(info.provenance || '').startsWith('machine:')
      ? el('span', { class: 'badge machine-badge' }, t('alert.machine_translation')) : null);
    const texts = (info, loc, lang) => [
      info.description ? el('p', { class: 'text', lang, dir: loc.dir }, info.description) : null,
      info.instruction ? el('p', { class: 'text instruction', lang, dir: loc.dir }, el('strong', {}, t('alert.instruction') + ': '), info.instruction) : null];
    let versions;
    if (infos.length > 3) {
      // Many languages (a template writes them all): one line each, its
      // headline, opening to the full text.
      versions = el('ul', { class: 'list versions versions-list', 'aria-label': t('web.console.versions', { n: infos.length }) });
      for (const info of infos) {
        const lang = langAttr(info.language);
        const loc = localeFor(info.language);
        versions.append(el('li', { class: 'version', 'data-lang': info.language },
          el('details', {},
            el('summary', {}, el('span', { class: 'version-lang', lang }, loc.native), machine(info), ' ',
              el('span', { class: 'headline', lang, dir: loc.dir }, info.headline)),
            texts(info, loc, lang))));
      }
    } else {
      versions = el('div', { class: 'side-by-side versions' });
      for (const info of infos) {
        const lang = langAttr(info.language);
        const loc = localeFor(info.language);
        versions.append(el('section', { class: 'version', 'aria-label': loc.native, 'data-lang': info.language },
          el('h4', {}, el('span', { lang }, loc.native), machine(info)),
          el('p', { class: 'headline', lang, dir: loc.dir }, info.headline),
          texts(info, loc, lang)));
      }
    }
    box.append(versions);
    const shown = pickInfo(a);
    const facts = el('dl', { class: 'facts' },
      ...fact(t('alert.area'), (a.areas || []).map((ar) => ar.description).join(' · ')),
      ...fact(t('web.console.event'), el('span', { lang: langAttr(shown.language) }, shown.event || '')),
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
