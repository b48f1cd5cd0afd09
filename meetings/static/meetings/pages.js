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

  // The search page's parts that a swap replaces are looked up again after it.
  var drawn = false;
  function drawResultsMap(mapBox) {
    if (drawn) return;
    drawn = true;
    withLeaflet(mapBox, function (L) {
      if (!mapBox.isConnected) return;  // replaced by a newer search meanwhile
      var map = L.map(mapBox);
      tiles(L, mapBox, map);
      // One pin per place; its popup lists every meeting held there.
      var places = {}, bounds = [];
      document.querySelectorAll("#list .meeting[data-lat]").forEach(function (item) {
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
    var mapBox = document.getElementById("map"), list = document.getElementById("list");
    var switcher = document.getElementById("view-switch");
    if (!mapBox || !list || !switcher || switcher.hidden) return;
    var onMap = view === "map";
    mapBox.hidden = !onMap;
    list.hidden = onMap;
    switcher.querySelectorAll("button").forEach(function (b) { b.setAttribute("aria-pressed", String(b.dataset.view === view)); });
    if (onMap) drawResultsMap(mapBox);
    if (onMap && window.meetingMap) window.meetingMap.invalidateSize();
  }

  // What the search form and its results offer with a script: near me, the
  // list/map switch. Run on the page as served and again after each swap.
  function enhanceSearch() {
    form = document.getElementById("search");
    if (!form) return;
    var tz = document.getElementById("tz");
    if (tz && !tz.value && zone) tz.value = zone;
    // Near me: asks for the position only when pressed.
    var nearMe = document.getElementById("near-me");
    var near = document.getElementById("near");
    var lat = document.getElementById("lat"), lng = document.getElementById("lng");
    if (nearMe && navigator.geolocation) {
      nearMe.hidden = false;
      // What the wait and a refusal (or no fix) are, said: the button alone told nothing.
      var nearMeStatus = document.getElementById("near-me-status");
      nearMe.addEventListener("click", function () {
        nearMe.disabled = true;
        nearMeStatus.className = "note";
        nearMeStatus.textContent = nearMe.dataset.finding;
        navigator.geolocation.getCurrentPosition(function (position) {
          lat.value = position.coords.latitude.toFixed(5);
          lng.value = position.coords.longitude.toFixed(5);
          near.value = "";
          nearMe.disabled = false;
          // requestSubmit, unlike submit, runs the submit handler below (empty fields left out).
          if (form.requestSubmit) form.requestSubmit(); else form.submit();
        }, function () {
          nearMe.disabled = false;
          nearMeStatus.className = "error";
          nearMeStatus.textContent = nearMe.dataset.failed;
          near.focus();
        }, {timeout: 15000, maximumAge: 600000});
      });
      near.addEventListener("input", function () { lat.value = ""; lng.value = ""; });
    }
    var list = document.getElementById("list"), switcher = document.getElementById("view-switch");
    drawn = false;
    if (document.getElementById("map") && switcher && list && list.querySelector(".meeting")) {
      switcher.hidden = false;
      switcher.addEventListener("click", function (event) {
        var view = event.target.dataset && event.target.dataset.view;
        if (!view) return;
        history.replaceState(history.state, "", view === "map" ? "#map" : location.pathname + location.search);
        show(view);
      });
      if (location.hash === "#map") show("map");
    }
  }
  enhanceSearch();

  // The search's URL as the form would make it, empty fields left out so a
  // shared search reads cleanly; the action's #results-heading is not sent
  // (nor pushed: the fetch's URL is), but a failed fetch's navigation lands there.
  function searchUrl(searchForm) {
    var params = new URLSearchParams(), action = new URL(searchForm.action);
    new FormData(searchForm).forEach(function (value, name) { if (value !== "") params.append(name, value); });
    var query = params.toString();
    return action.origin + action.pathname + (query ? "?" + query : "") + action.hash;
  }

  // In-place updates: a search, a next/previous page or a search link in the
  // results fetches the same URL the browser would open, and the server's own
  // form and results replace these; the URL goes into the history, so the
  // address bar, bookmarks and Back work. Any failure is a normal navigation.
  var canSwap = !!(form && window.fetch && window.DOMParser && window.URLSearchParams && window.FormData &&
                   history.pushState && document.getElementById("results"));
  var shown = location.pathname + location.search;
  var pending = null;

  function announce(text) {
    var status = document.getElementById("search-status");
    if (!status) return;
    // Emptied first, so the same words ("3 meetings") are read again.
    status.textContent = "";
    setTimeout(function () { status.textContent = text; }, 50);
  }

  function swap(html, how) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var newForm = fresh.getElementById("search"), newResults = fresh.getElementById("results");
    var oldForm = document.getElementById("search"), oldResults = document.getElementById("results");
    if (!newForm || !newResults || !oldForm || !oldResults) throw new Error("not the search page");
    if (window.meetingMap) { window.meetingMap.remove(); window.meetingMap = null; }
    var filters = oldForm.querySelector("details.filters"), newFilters = newForm.querySelector("details.filters");
    if (how.keepFiltersOpen && filters && filters.open && newFilters) newFilters.open = true;
    oldForm.replaceWith(document.adoptNode(newForm));
    oldResults.replaceWith(document.adoptNode(newResults));
    document.title = fresh.title;
    // The language switch comes back to this search.
    var next = document.querySelector(".language input[name=next]"), newNext = fresh.querySelector(".language input[name=next]");
    if (next && newNext) next.value = newNext.value;
  }

  function update(url, how) {
    if (pending) pending.abort();
    var controller = window.AbortController ? new AbortController() : {abort: function () {}};
    pending = controller;
    var results = document.getElementById("results");
    if (results) results.setAttribute("aria-busy", "true");
    fetch(url, {headers: {Accept: "text/html"}, credentials: "same-origin", signal: controller.signal})
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        // 400 is the page with the form's error lines.
        if ((!response.ok && response.status !== 400) || type.indexOf("text/html") !== 0) throw new Error(String(response.status));
        return response.text().then(function (html) { return {html: html, url: response.url || url}; });
      })
      .then(function (answer) {
        if (pending !== controller) return;  // a newer search is under way
        pending = null;
        swap(answer.html, how);
        var address = new URL(answer.url, location.href);
        if (how.push) history.pushState({search: true}, "", address.pathname + address.search + (location.hash === "#map" ? "#map" : ""));
        shown = location.pathname + location.search;
        enhanceSearch();
        var heading = document.getElementById("results-heading");
        var error = document.querySelector("#search .error");
        announce((error ? error.textContent + " " : "") + (heading ? heading.textContent : ""));
        if (how.focus) {
          var target = error && error.closest(".where") ? document.getElementById("near") : heading;
          if (target) target.focus();
        }
      })
      .catch(function (problem) {
        if (problem && problem.name === "AbortError") return;
        if (pending === controller) pending = null;
        if (how.push) location.assign(url); else location.reload();
      });
  }

  document.addEventListener("submit", function (event) {
    var searchForm = event.target;
    if (searchForm.id !== "search") return;
    if (canSwap) {
      event.preventDefault();
      update(searchUrl(searchForm), {push: true, focus: true, keepFiltersOpen: true});
      return;
    }
    // Empty fields stay out of the URL, so a shared search reads cleanly.
    Array.prototype.forEach.call(searchForm.elements, function (field) {
      if (field.name && !field.value && field.tagName !== "BUTTON") field.disabled = true;
    });
  });
  if (canSwap) {
    var searchPath = new URL(form.action, location.href).pathname;
    document.addEventListener("click", function (event) {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      var link = event.target.closest && event.target.closest("a[href]");
      if (!link || !link.closest("#search, #results") || link.target || link.hasAttribute("download")) return;
      var to = new URL(link.href, location.href);
      // Only this page's searches (next 50, online meetings for this search); a meeting's page opens as usual.
      if (to.origin !== location.origin || to.pathname !== searchPath) return;
      event.preventDefault();
      update(to.href, {push: true, focus: true});
    });
    window.addEventListener("popstate", function () {
      if (location.pathname + location.search === shown) {
        // The same search: the list/map view may have changed (another
        // fragment, such as the skip link's #main, leaves the view as it is).
        if (location.hash === "#map") show("map"); else if (!location.hash) show("list");
        return;
      }
      update(location.href, {push: false, focus: false});
    });
  }

  // The meeting page: the place on a map, the start in the browser's zone, share.
  var placeBox = document.getElementById("map");
  if (!form && placeBox && placeBox.dataset.lat) {
    withLeaflet(placeBox, function (L) {
      var at = [parseFloat(placeBox.dataset.lat), parseFloat(placeBox.dataset.lng)];
      var map = L.map(placeBox).setView(at, 16);
      tiles(L, placeBox, map);
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
  // "Find another meeting" leads to the search the person came from (the
  // server reads it): with a script, where they were in its list (the
  // browser's Back); after a correction sent (a page of its own, whose
  // referrer is itself), to that search, kept for the tab.
  var back = document.querySelector("p.back a");
  if (!form && back) {
    var fromSearch = back.hasAttribute("data-from-search");
    try {
      if (fromSearch) sessionStorage.setItem("search-before:" + location.pathname, back.href);
      else back.href = sessionStorage.getItem("search-before:" + location.pathname) || back.href;
    } catch (e) { /* no storage: the server's link alone */ }
    if (fromSearch) {
      back.addEventListener("click", function (event) {
        if (history.length > 1) { event.preventDefault(); history.back(); }
      });
    }
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
