// alert.js — draws the alert's areas on the alert page's map. The page says
// everything without it; the map only adds the picture.
'use strict';

(function () {
  const { boot, createMap, drawAreas } = window.tocsin;
  const data = boot.data || {};
  const map = createMap(document.getElementById('map'));
  if (!map || !data.areas) return;
  const group = drawAreas(map, data.areas, data.severity);
  if (group.getLayers().length) map.fitBounds(group.getBounds(), { padding: [16, 16] });
})();
