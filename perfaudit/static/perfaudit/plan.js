/*
 * perfaudit's plan pictures: draws every <div class="perfaudit-plan-picture"> (the partial
 * templates/admin/perfaudit/_plan_picture.html) with pev2 (vendor/pev2/, PostgreSQL licence) on
 * Vue 3 (vendor/vue/, MIT). No inline script: the data is the json_script element named by the
 * div's data-plan-json attribute, {"plan": "<EXPLAIN (FORMAT JSON) text>", "query": "<SQL>"}.
 *
 * pev2 needs Bootstrap's CSS, which would restyle the whole admin: the picture lives in a shadow
 * root that holds Bootstrap, pev2's CSS and Font Awesome's (injected into <head> by pev2's
 * bundle on its first icon, copied in), so nothing leaks either way. Once the nodes are on screen the div carries
 * data-plan-nodes="<n>" (browser tests wait on it); data-plan-error when it cannot be drawn.
 * A picture inside a closed <details> is drawn when the reader opens it.
 */
(function () {
  "use strict";

  // pev2 fits the tree to its box when it mounts, measuring its nodes: mount only once the
  // stylesheets are in, or it measures unstyled nodes and zooms far out.
  function stylesheets(root, hrefs, then) {
    var waiting = hrefs.length;
    hrefs.forEach(function (href) {
      var link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = href;
      link.onload = link.onerror = function () { if (--waiting === 0) then(); };
      root.appendChild(link);
    });
  }

  function whenDrawn(holder, root) {
    var tries = 0;
    (function look() {
      var nodes = root.querySelectorAll(".plan-node").length;
      if (nodes) {
        holder.setAttribute("data-plan-nodes", String(nodes));
      } else if (tries++ < 200) {
        setTimeout(look, 50);
      } else {
        holder.setAttribute("data-plan-error", "no plan node drawn");
      }
    })();
  }

  function draw(holder) {
    if (holder.shadowRoot) return;
    var data;
    try {
      data = JSON.parse(document.getElementById(holder.getAttribute("data-plan-json")).textContent);
      if (!window.Vue || !window.pev2) throw new Error("pev2 or Vue not loaded");
    } catch (err) {
      holder.setAttribute("data-plan-error", String(err.message || err));
      return;
    }
    var root = holder.attachShadow({ mode: "open" });
    var frame = document.createElement("div");
    // Bootstrap 5.3 declares its variables on :root or [data-bs-theme]: :root is outside.
    frame.setAttribute("data-bs-theme", "light");
    frame.className = "d-flex flex-column";
    frame.style.height = holder.getAttribute("data-height") || "600px";
    frame.style.background = "#fff";
    frame.style.color = "#212529";
    root.appendChild(frame);
    var css = [holder.getAttribute("data-bootstrap-css"), holder.getAttribute("data-pev2-css")];
    stylesheets(root, css, function () { mount(holder, root, frame, data); });
  }

  function mount(holder, root, frame, data) {
    var app = window.Vue.createApp({
      render: function () {
        return window.Vue.h(window.pev2.Plan, { planSource: data.plan, planQuery: data.query || "" });
      },
    });
    app.mount(frame);
    // Font Awesome adds its CSS to <head> on its first icon: copy it in, or icons are huge.
    Array.prototype.forEach.call(document.head.querySelectorAll("style"), function (style) {
      if (style.textContent.indexOf("svg-inline--fa") !== -1) root.appendChild(style.cloneNode(true));
    });
    whenDrawn(holder, root);
  }

  // A picture inside a closed <details> has no size to fit the tree to: drawn when opened.
  function drawWhenShown(holder) {
    var details = holder.closest("details");
    if (details && !details.open) {
      details.addEventListener("toggle", function opened() {
        if (!details.open) return;
        details.removeEventListener("toggle", opened);
        draw(holder);
      });
      return;
    }
    draw(holder);
  }

  function drawAll() {
    Array.prototype.forEach.call(document.querySelectorAll("div.perfaudit-plan-picture"), drawWhenShown);
  }

  window.perfauditPlans = { draw: draw, drawAll: drawAll };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
