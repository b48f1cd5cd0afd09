// Progressive enhancement only: every search and filter works without this file.
(function () {
  "use strict";
  var form = document.getElementById("search");

  // The viewer's zone: sent with every search, and the first visit reopens in it.
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  var tz = document.getElementById("tz");
  if (form && tz && zone) {
    var params = new URLSearchParams(location.search);
    if (!params.get("tz")) {
      tz.value = zone;
      if (zone !== form.dataset.zone) {
        params.set("tz", zone);
        location.replace(location.pathname + "?" + params.toString() + location.hash);
        return;
      }
    }
  }

  // Near me: asks for the position only when pressed.
  var nearMe = document.getElementById("near-me");
  var near = document.getElementById("near");
  var lat = document.getElementById("lat"), lng = document.getElementById("lng");
  if (form && nearMe && navigator.geolocation) {
    nearMe.hidden = false;
    nearMe.addEventListener("click", function () {
      nearMe.disabled = true;
      navigator.geolocation.getCurrentPosition(function (position) {
        lat.value = position.coords.latitude.toFixed(5);
        lng.value = position.coords.longitude.toFixed(5);
        near.value = "";
        // requestSubmit, unlike submit, runs the submit handler below (empty fields left out).
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      }, function () {
        nearMe.disabled = false;
        near.focus();
      }, {timeout: 15000, maximumAge: 600000});
    });
    near.addEventListener("input", function () { lat.value = ""; lng.value = ""; });
  }
  // Empty fields stay out of the URL, so a shared search reads cleanly.
  if (form) {
    form.addEventListener("submit", function () {
      Array.prototype.forEach.call(form.elements, function (field) {
        if (field.name && !field.value && field.tagName !== "BUTTON") field.disabled = true;
      });
    });
  }

  // Leaflet, from the project's own static files, loaded only for a map:
  // drawn once both its script and its stylesheet are in, with its images'
  // folder named (guessed from a stylesheet not yet loaded, it was wrong).
  function withLeaflet(box, then) {
    if (window.L) return then(window.L);
    var waiting = 2;
    function ready() {
      if (--waiting) return;
      window.L.Icon.Default.imagePath = box.dataset.leafletCss.replace(/[^\/]*$/, "") + "images/";
      then(window.L);
    }
    var css = document.createElement("link");
    css.rel = "stylesheet"; css.href = box.dataset.leafletCss;
    css.onload = css.onerror = ready;
    document.head.appendChild(css);
    var script = document.createElement("script");
    script.src = box.dataset.leafletJs;
    script.onload = ready;
    document.head.appendChild(script);
  }
  function tiles(L, box, map) {
    L.tileLayer(box.dataset.tiles, {maxZoom: 19, attribution: box.dataset.attribution}).addTo(map);
  }

  var mapBox = document.getElementById("map");
  var list = document.getElementById("list");
  var switcher = document.getElementById("view-switch");
  var drawn = false;
  function drawResultsMap() {
    if (drawn) return;
    drawn = true;
    withLeaflet(mapBox, function (L) {
      var map = L.map(mapBox);
      tiles(L, mapBox, map);
      // One pin per place; its popup lists every meeting held there.
      var places = {}, bounds = [];
      document.querySelectorAll(".meeting[data-lat]").forEach(function (item) {
        var key = item.dataset.lat + "," + item.dataset.lng;
        if (!places[key]) {
          places[key] = {at: [parseFloat(item.dataset.lat), parseFloat(item.dataset.lng)], list: document.createElement("ul"), names: []};
          bounds.push(places[key].at);
        }
        var link = document.createElement("a"), entry = document.createElement("li"), when = item.querySelector("time");
        link.href = item.dataset.href; link.textContent = item.dataset.name;
        entry.appendChild(link);
        if (when) entry.appendChild(document.createTextNode(" " + when.textContent));
        places[key].list.appendChild(entry);
        places[key].names.push(item.dataset.name);
      });
      Object.keys(places).forEach(function (key) {
        var place = places[key], label = place.names.join(", ");
        place.list.className = "pin-list";
        L.marker(place.at, {title: label, alt: label}).addTo(map).bindPopup(place.list);
      });
      if (bounds.length) map.fitBounds(bounds, {padding: [30, 30], maxZoom: 15});
      else map.setView([33.72, -117.83], 10);
      window.meetingMap = map;
    });
  }
  function show(view) {
    var onMap = view === "map";
    mapBox.hidden = !onMap;
    list.hidden = onMap;
    switcher.querySelectorAll("button").forEach(function (b) { b.setAttribute("aria-pressed", String(b.dataset.view === view)); });
    if (onMap) drawResultsMap();
    if (onMap && window.meetingMap) window.meetingMap.invalidateSize();
  }
  if (form && mapBox && switcher && list.querySelector(".meeting")) {
    switcher.hidden = false;
    switcher.addEventListener("click", function (event) {
      var view = event.target.dataset && event.target.dataset.view;
      if (!view) return;
      history.replaceState(null, "", view === "map" ? "#map" : location.pathname + location.search);
      show(view);
    });
    if (location.hash === "#map") show("map");
  }

  // The meeting page: the place on a map, the start in the browser's zone, share.
  if (!form && mapBox && mapBox.dataset.lat) {
    withLeaflet(mapBox, function (L) {
      var at = [parseFloat(mapBox.dataset.lat), parseFloat(mapBox.dataset.lng)];
      var map = L.map(mapBox).setView(at, 16);
      tiles(L, mapBox, map);
      L.marker(at).addTo(map);
    });
  }
  var yours = document.getElementById("your-time");
  var start = yours && yours.dataset.start ? new Date(yours.dataset.start) : null;
  // Only when the browser's clock differs from the meeting's own.
  if (start && -start.getTimezoneOffset() !== parseInt(yours.dataset.ownOffset, 10)) {
    var lang = document.documentElement.lang || "en";
    yours.textContent = yours.dataset.label + " " + start.toLocaleString(lang, {
      weekday: "long", hour: "numeric", minute: "2-digit", hour12: lang.indexOf("en") === 0, timeZoneName: "short"});
  }
  var share = document.getElementById("share");
  if (share) {
    share.addEventListener("click", function (event) {
      var url = share.dataset.url, status = document.getElementById("share-status");
      if (navigator.share) {
        event.preventDefault();
        navigator.share({title: share.dataset.title, url: url}).catch(function () {});
      } else if (navigator.clipboard && window.isSecureContext) {
        event.preventDefault();
        navigator.clipboard.writeText(url).then(function () { status.textContent = share.dataset.copied || url; });
      }
    });
  }
})();
