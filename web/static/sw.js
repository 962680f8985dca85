// sw.js — tocsin's service worker.
//
// 1. Web Push: the server sends each subscriber a JSON payload already in
//    their language ({headline, instruction, language, severity, tag, url,
//    ...}); the notification shows it in that language, an update replaces
//    the earlier notification (same tag), and a tap opens the alert page.
// 2. Offline: pages and their assets are kept after each visit, so /report
//    opens without a connection (the report itself waits in the page's
//    queue until the connection returns). The API is never cached.
'use strict';

const CACHE = 'tocsin-pages-v1';
const PAGES = ['/', '/report', '/subscribe'];

self.addEventListener('install', (event) => {
  event.waitUntil(self.skipWaiting());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/static/')) {
    // Versioned assets never change: the cache first, then the network.
    event.respondWith((async () => {
      const cache = await caches.open(CACHE);
      const hit = await cache.match(req);
      if (hit) return hit;
      const resp = await fetch(req);
      if (resp.ok) cache.put(req, resp.clone());
      return resp;
    })());
    return;
  }
  if (req.mode === 'navigate' && (PAGES.includes(url.pathname) || url.pathname.startsWith('/alerts/'))) {
    // Pages: the network first, the last copy when offline.
    event.respondWith((async () => {
      const cache = await caches.open(CACHE);
      try {
        const resp = await fetch(req);
        // A page made for a signed-in account (it carries the session's
        // CSRF token) is no-store: it never goes into the cache.
        if (resp.ok && !/no-store/.test(resp.headers.get('Cache-Control') || '')) cache.put(url.pathname, resp.clone());
        return resp;
      } catch (e) {
        const hit = await cache.match(url.pathname);
        if (hit) return hit;
        throw e;
      }
    })());
  }
});

self.addEventListener('push', (event) => {
  let msg = {};
  try {
    msg = event.data ? event.data.json() : {};
  } catch (e) {
    msg = { headline: event.data ? event.data.text() : '' };
  }
  const title = msg.headline || msg.event || 'tocsin';
  const options = {
    body: msg.instruction || '',
    lang: msg.language || '',
    tag: msg.tag || msg.alert_id || '',
    renotify: Boolean(msg.tag),
    requireInteraction: msg.severity === 'Extreme' || msg.severity === 'Severe',
    data: { url: msg.url || '/' },
  };
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || '/', self.location.origin);
  if (target.origin !== self.location.origin) return;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const w of windows) {
      if (new URL(w.url).pathname === target.pathname && 'focus' in w) return w.focus();
    }
    return self.clients.openWindow(target.href);
  })());
});
