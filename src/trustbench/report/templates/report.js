(function () {
  "use strict";
  // Items come from a JSON block and are shown with textContent only: model output never becomes markup.
  var data = JSON.parse(document.getElementById("tb-items").textContent);
  var list = document.getElementById("tb-item-list");
  var query = document.getElementById("tb-q");
  var taskSel = document.getElementById("tb-task");
  var failOnly = document.getElementById("tb-fail");
  var count = document.getElementById("tb-count");
  var more = document.getElementById("tb-more");
  var PAGE = 40, shown = PAGE, all = [];

  Object.keys(data).forEach(function (task) {
    var opt = document.createElement("option");
    opt.value = task;
    opt.textContent = task;
    taskSel.appendChild(opt);
    data[task].forEach(function (it) {
      it.hay = [it.task, it.id, it.status, it.prompt || "", it.response || "", it.error || "",
                JSON.stringify(it.verdict)].join("\n").toLowerCase();
      all.push(it);
    });
  });

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function card(it) {
    var c = el("div", "item");
    var head = el("div", "head");
    var bad = it.status !== "pass" && it.status !== "not scored";
    head.appendChild(el("span", "pill " + (bad ? "bad" : "ok"), it.status + (it.score === null ? "" : " " + it.score)));
    head.appendChild(el("span", "", it.task + " · " + it.id));
    c.appendChild(head);
    c.appendChild(el("div", "lbl", "prompt"));
    c.appendChild(el("pre", "prompt", it.prompt));
    c.appendChild(el("div", "lbl", it.error ? "error" : "response"));
    c.appendChild(el("pre", "response", it.error ? it.error : (it.response === null ? "(none)" : it.response)));
    c.appendChild(el("div", "lbl", "verdict · " + (it.judge || "")));
    c.appendChild(el("pre", "verdict", JSON.stringify(it.verdict)));
    return c;
  }

  function matches() {
    var q = query.value.trim().toLowerCase(), task = taskSel.value, fails = failOnly.checked;
    return all.filter(function (it) {
      return (!task || it.task === task) && (!fails || (it.status !== "pass" && it.status !== "not scored")) &&
        (!q || it.hay.indexOf(q) !== -1);
    });
  }

  function render() {
    var hits = matches();
    list.replaceChildren.apply(list, hits.slice(0, shown).map(card));
    count.textContent = hits.length + " of " + all.length + " items";
    more.hidden = hits.length <= shown;
  }

  function reset() { shown = PAGE; render(); }
  query.addEventListener("input", reset);
  taskSel.addEventListener("change", reset);
  failOnly.addEventListener("change", reset);
  more.addEventListener("click", function () { shown += PAGE; render(); });
  Array.prototype.forEach.call(document.querySelectorAll("button.show-items"), function (b) {
    b.addEventListener("click", function () {
      taskSel.value = b.getAttribute("data-task");
      reset();
      document.getElementById("items").scrollIntoView();
    });
  });
  render();
}());
