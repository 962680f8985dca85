// common.js — what every page's script shares: the boot data the server
// wrote into the page, catalog texts, the API client, DOM building that never
// parses markup, and the map. Loaded (deferred) before the page's own script.
'use strict';

(function () {
  // Parts of a page that only work with script (maps, location buttons)
  // are marked js-only; this class shows them.
  document.documentElement.classList.add('js');
  const bootEl = document.getElementById('tocsin-boot');
  const boot = bootEl ? JSON.parse(bootEl.textContent) : { locale: 'en', dir: 'ltr', messages: {}, tiles: {} };

  // t returns the catalog text for key in the page's locale, with {name}
  // placeholders filled from args. A missing key shows as itself.
  function t(key, args) {
    const msg = boot.messages[key];
    if (msg === undefined) return key;
    if (!args) return msg;
    return msg.replace(/\{([a-z_][a-z0-9_]*)\}/g, (m, name) => (name in args ? String(args[name]) : m));
  }

  // ApiError carries an RFC 9457 problem: status, detail and the field errors.
  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || t('web.common.error_network'));
      this.status = status;
      this.problem = problem || {};
      this.errors = (problem && problem.errors) || [];
    }
  }

  // api calls the JSON API with the session cookie and its CSRF token. It
  // resolves with the decoded body (null for 204) and rejects with ApiError;
  // a network failure is ApiError with status 0.
  async function api(method, path, body, opts) {
    const headers = { Accept: 'application/json, application/problem+json' };
    if (boot.csrf) headers['X-CSRF-Token'] = boot.csrf;
    let payload;
    if (body instanceof FormData) {
      payload = body;
    } else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path.startsWith('/') ? path : '/api/v1/' + path, {
        method, headers, body: payload, credentials: 'same-origin', signal: opts && opts.signal,
      });
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError(0, { detail: t('web.common.error_network') });
    }
    if (resp.status === 204) return null;
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (!resp.ok) throw new ApiError(resp.status, data);
    return data;
  }

  // el builds an element: attrs are set as attributes (or, for names
  // starting with "on", as listeners), children are nodes or strings, and
  // strings always become text nodes, so user text is never parsed as markup.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  // clear removes every child of e.
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }

  // announce speaks msg to screen readers through the page's live region.
  function announce(msg) {
    let region = document.getElementById('tocsin-live');
    if (!region) {
      region = el('div', { id: 'tocsin-live', class: 'visually-hidden', 'aria-live': 'polite', role: 'status' });
      document.body.append(region);
    }
    region.textContent = '';
    setTimeout(() => { region.textContent = msg; }, 50);
  }

  // formatTime writes an RFC 3339 time in the page's locale.
  function formatTime(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    try {
      return new Intl.DateTimeFormat(boot.locale, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
    } catch (e) {
      return d.toLocaleString();
    }
  }

  // The severities from most to least severe, and their colours on maps.
  const severities = ['Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown'];
  const severityColor = { Extreme: '#7a0019', Severe: '#b00020', Moderate: '#a35a00', Minor: '#215f9a', Unknown: '#555555' };

  // createMap makes a Leaflet map in el, or returns null when Leaflet is not
  // built in. Tiles come from the configured server with its attribution;
  // when they cannot load, the map still works on its blank background.
  function createMap(elem, opts) {
    if (!elem || !boot.map || !window.L) {
      if (elem) elem.hidden = true;
      return null;
    }
    const o = Object.assign({ center: [39.74, -104.99], zoom: 11 }, opts || {});
    const map = L.map(elem, { center: o.center, zoom: o.zoom, keyboard: true, worldCopyJump: true });
    if (boot.tiles && boot.tiles.url) {
      L.tileLayer(boot.tiles.url, { attribution: boot.tiles.attribution, maxZoom: 19, crossOrigin: false }).addTo(map);
    }
    map.attributionControl.setPrefix(false);
    return map;
  }

  // areaLayer draws one API area ({circle:{lat,lon,radius_km}} or
  // {polygon:[[lat,lon],...]}) as a Leaflet layer styled for severity.
  function areaLayer(area, severity) {
    const color = severityColor[severity] || severityColor.Unknown;
    const style = { color, weight: 2, fillColor: color, fillOpacity: 0.2 };
    if (area.circle) return L.circle([area.circle.lat, area.circle.lon], Object.assign({ radius: area.circle.radius_km * 1000 }, style));
    if (area.polygon && area.polygon.length) return L.polygon(area.polygon, style);
    return null;
  }

  // drawAreas adds every area to map as one group and fits the view to it.
  function drawAreas(map, areas, severity, label) {
    const group = L.featureGroup();
    for (const a of areas || []) {
      const layer = areaLayer(a, severity);
      if (!layer) continue;
      // Leaflet inserts a string tooltip as HTML: give it a text node's element.
      if (label || a.description) layer.bindTooltip(el('span', {}, label || a.description));
      group.addLayer(layer);
    }
    group.addTo(map);
    return group;
  }

  // fieldErrors shows an ApiError's field errors next to the form fields
  // named by data-field, and returns the messages no field took.
  function fieldErrors(form, err) {
    form.querySelectorAll('.field-error').forEach((e) => e.remove());
    form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
    const rest = [];
    for (const fe of err.errors || []) {
      const input = form.querySelector(`[data-field="${CSS.escape(fe.field || '')}"]`);
      if (!input) { rest.push((fe.field ? fe.field + ': ' : '') + fe.detail); continue; }
      const id = (input.id || fe.field) + '-error';
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', id);
      input.after(el('p', { class: 'field-error', id }, fe.detail));
    }
    return rest;
  }

  if ('serviceWorker' in navigator && window.isSecureContext) {
    navigator.serviceWorker.register('/sw.js').catch(() => {});
  }

  window.tocsin = {
    boot, t, api, ApiError, el, clear, announce, formatTime, severities, severityColor,
    createMap, areaLayer, drawAreas, fieldErrors,
  };
})();
