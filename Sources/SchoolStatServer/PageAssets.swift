// Server: the page, its script and its style, embedded so that the binary needs nothing else.
// Chinese first, with an English switch; the script builds every text node with textContent,
// never HTML from the data.

enum PageAssets {
    static let html = #"""
<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>学校数据提交前检查 · schoolstat</title>
<link rel="stylesheet" href="app.css">
</head>
<body>
<header>
  <h1 data-zh="学校数据提交前检查" data-en="Check your school's data before submitting"></h1>
  <button id="lang" type="button" data-zh="English" data-en="中文"></button>
</header>
<main>
  <section id="pick">
    <p data-zh="选择或拖入本校的教师名册或学校表（xlsx、csv、tsv、txt，GBK、UTF-8、UTF-16 均可）。文件只在本机检查，检查完即删除。"
       data-en="Choose or drop your school's teacher roster or school table (xlsx, csv, tsv, txt; GBK, UTF-8 or UTF-16). The file is checked on this computer and deleted straight after."></p>
    <label id="drop" for="file">
      <span data-zh="点击选择文件，或把文件拖到这里" data-en="Click to choose a file, or drop it here"></span>
      <input id="file" type="file" accept=".xlsx,.xls,.csv,.tsv,.txt">
    </label>
    <p id="busy" hidden data-zh="正在检查……" data-en="Checking…"></p>
    <p id="failure" class="failure" hidden></p>
  </section>
  <section id="result" hidden>
    <h2 id="title"></h2>
    <ul id="summary"></ul>
    <ul id="notes" class="notes" hidden></ul>
    <div id="compare" hidden></div>
    <div class="tools">
      <button id="download" type="button" data-zh="下载标注工作簿（问题单元格已标色并加批注）" data-en="Download the annotated workbook (problem cells coloured, with comments)"></button>
      <label><input id="only-errors" type="checkbox"> <span data-zh="只看错误" data-en="Errors only"></span></label>
    </div>
    <h3 data-zh="问题（按类别）" data-en="Problems by kind"></h3>
    <div id="groups"></div>
    <h3 data-zh="有问题的行" data-en="Rows with problems"></h3>
    <div class="scroll"><table id="rows"></table></div>
    <p class="again" data-zh="改正后，再次选择文件即可查看哪些问题已改正、哪些仍需修改。" data-en="After correcting, choose the file again to see what is fixed and what remains."></p>
  </section>
</main>
<script src="app.js"></script>
</body>
</html>
"""#

    static let style = #"""
* { box-sizing: border-box; }
body { font-family: "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; margin: 0; color: #1f2933; background: #f5f7fa; }
header { display: flex; justify-content: space-between; align-items: center; padding: 12px 24px; background: #1f4e79; color: #fff; }
header h1 { font-size: 20px; margin: 0; }
header button { background: transparent; color: #fff; border: 1px solid #fff; border-radius: 4px; padding: 4px 12px; cursor: pointer; }
main { max-width: 1200px; margin: 0 auto; padding: 16px 24px 48px; }
#drop { display: block; border: 2px dashed #7b93ad; border-radius: 8px; padding: 28px; text-align: center; background: #fff; cursor: pointer; }
#drop.over { background: #e8f0fa; }
#drop input { display: block; margin: 12px auto 0; }
.failure { color: #9b1c1c; background: #fde8e8; padding: 10px 14px; border-radius: 6px; white-space: pre-wrap; }
.notes { background: #fff8e6; border-left: 4px solid #a15c07; padding: 8px 14px 8px 28px; }
#summary { list-style: none; padding: 0; display: flex; gap: 12px; flex-wrap: wrap; }
#summary li { background: #fff; border-radius: 6px; padding: 8px 14px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
#summary .count { font-size: 22px; font-weight: bold; display: block; }
#summary .errors .count { color: #b42318; }
#summary .warnings .count { color: #a15c07; }
#compare { background: #fff; border-left: 4px solid #1f4e79; padding: 8px 14px; margin: 8px 0; }
.tools { display: flex; gap: 20px; align-items: center; margin: 12px 0; }
.tools button { background: #1f4e79; color: #fff; border: 0; border-radius: 4px; padding: 8px 16px; cursor: pointer; }
details.group { background: #fff; border-radius: 6px; margin: 8px 0; padding: 6px 12px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
details.group summary { cursor: pointer; font-weight: bold; }
.badge { display: inline-block; border-radius: 10px; padding: 0 8px; margin-right: 6px; font-size: 12px; color: #fff; }
.badge.error { background: #b42318; }
.badge.warning { background: #a15c07; }
ol.problems { margin: 6px 0; padding-left: 22px; }
ol.problems li { margin: 4px 0; }
.place { font-weight: bold; margin-right: 6px; }
.value { font-family: monospace; background: #f1f3f5; padding: 0 4px; margin-right: 6px; }
.scroll { overflow-x: auto; background: #fff; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #d0d7de; padding: 3px 6px; white-space: nowrap; }
th { background: #ddebf7; }
td.rowno { background: #f1f3f5; color: #57606a; }
td.error { background: #ffc7ce; }
td.warning { background: #ffeb9c; }
.fixed { color: #067647; }
.remaining { color: #b42318; }
"""#

    static let script = #"""
"use strict";
(function () {
  var lang = "zh";
  var report = null, previous = null, workbookURL = null;
  var token = new URLSearchParams(location.search).get("token");
  // The server has set its cookie by now: the token leaves the address bar (and the history, and
  // whatever the clerk copies from it).
  if (token && window.history && history.replaceState) history.replaceState(null, "", location.pathname);

  function t(zh, en) { return lang === "zh" ? zh : en; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function applyLanguage() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-zh]").forEach(function (n) { n.textContent = n.getAttribute("data-" + lang); });
    if (report) render();
  }
  document.getElementById("lang").addEventListener("click", function () { lang = lang === "zh" ? "en" : "zh"; applyLanguage(); });

  function key(p) { return [p.file, p.rule, p.column, p.record_key || ("row" + p.row)].join("|"); }

  function upload(file) {
    var failure = document.getElementById("failure");
    failure.hidden = true;
    document.getElementById("busy").hidden = false;
    var url = "api/check?name=" + encodeURIComponent(file.name) + (token ? "&token=" + encodeURIComponent(token) : "");
    fetch(url, { method: "POST", body: file, headers: token ? { "X-Schoolstat-Token": token } : {} })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (r) {
        document.getElementById("busy").hidden = true;
        if (!r.ok) {
          failure.textContent = t(r.body.error_zh, r.body.error_en);
          failure.hidden = false;
          return;
        }
        if (report) previous = report;
        report = r.body;
        if (workbookURL) URL.revokeObjectURL(workbookURL);
        var bytes = Uint8Array.from(atob(report.workbook), function (c) { return c.charCodeAt(0); });
        workbookURL = URL.createObjectURL(new Blob([bytes], { type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" }));
        render();
      })
      .catch(function () {
        document.getElementById("busy").hidden = true;
        failure.textContent = t("检查没有完成：与本机服务的连接中断。请确认 schoolstat serve 仍在运行后重试。",
                                "The check did not finish: the connection to the local service was lost. Make sure schoolstat serve is still running and try again.");
        failure.hidden = false;
      });
  }

  function render() {
    document.getElementById("result").hidden = false;
    var onlyErrors = document.getElementById("only-errors").checked;
    var title = document.getElementById("title");
    title.textContent = report.files.map(function (f) {
      return f.file + (f.table ? "（" + t(f.table_title_zh, f.table_title_en) + "）" : "");
    }).join("、");

    var summary = document.getElementById("summary");
    summary.replaceChildren();
    function stat(cls, label, n) {
      var li = el("li", cls);
      li.appendChild(el("span", "count", n));
      li.appendChild(el("span", "", label));
      summary.appendChild(li);
    }
    var read = 0, clean = 0, rejected = 0;
    report.files.forEach(function (f) { read += f.rows_read; clean += f.rows_clean; rejected += f.rows_rejected; });
    stat("read", t("读取行数", "rows read"), read);
    stat("clean", t("合格行数", "clean rows"), clean);
    stat("rejected", t("有错误的行", "rows with errors"), rejected);
    stat("errors", t("错误", "errors"), report.errors);
    stat("warnings", t("警告", "warnings"), report.warnings);
    // What the check left out (problems past the listed ones, a file past the row limit, a workbook too large to download).
    var notes = document.getElementById("notes");
    notes.replaceChildren();
    var noteTexts = (lang === "zh" ? report.notes_zh : report.notes_en) || [];
    noteTexts.forEach(function (n) { notes.appendChild(el("li", "", n)); });
    notes.hidden = noteTexts.length === 0;
    document.getElementById("download").hidden = !report.workbook;

    var compare = document.getElementById("compare");
    compare.replaceChildren();
    compare.hidden = !previous;
    if (previous) {
      var now = {}, before = {};
      report.problems.forEach(function (p) { now[key(p)] = p; });
      previous.problems.forEach(function (p) { before[key(p)] = p; });
      var fixed = previous.problems.filter(function (p) { return !now[key(p)]; });
      var remaining = report.problems.filter(function (p) { return before[key(p)]; });
      var fresh = report.problems.filter(function (p) { return !before[key(p)]; });
      compare.appendChild(el("p", "", t("与上一次检查相比：", "Compared with the previous check: ")));
      compare.appendChild(el("p", "fixed", t("已改正 " + fixed.length + " 处", fixed.length + " fixed")));
      compare.appendChild(el("p", "remaining", t("仍需修改 " + remaining.length + " 处，新出现 " + fresh.length + " 处",
                                                   remaining.length + " remain, " + fresh.length + " new")));
      if (fixed.length) {
        var ul = el("ul", "fixed-list");
        fixed.slice(0, 50).forEach(function (p) { ul.appendChild(el("li", "fixed", "✔ " + t(p.place_zh, p.place_en) + " " + t(p.message_zh, p.message_en))); });
        compare.appendChild(ul);
      }
    }

    var groups = document.getElementById("groups");
    groups.replaceChildren();
    var byRule = {}, order = [];
    report.problems.forEach(function (p) {
      if (onlyErrors && p.severity !== "error") return;
      if (!byRule[p.rule]) { byRule[p.rule] = []; order.push(p.rule); }
      byRule[p.rule].push(p);
    });
    if (order.length === 0) groups.appendChild(el("p", "fixed", t("没有发现问题，可以提交。", "No problems found: ready to submit.")));
    order.forEach(function (rule) {
      var list = byRule[rule], first = list[0];
      var d = el("details", "group");
      d.setAttribute("data-rule", rule);
      d.open = true;
      var s = el("summary");
      s.appendChild(el("span", "badge " + first.severity, first.severity === "error" ? t("错误", "error") : t("警告", "warning")));
      s.appendChild(el("span", "", (first.heading || first.column || t("整个文件", "whole file")) + " · " + rule + " · "));
      s.appendChild(el("span", "group-count", list.length));
      d.appendChild(s);
      var ol = el("ol", "problems");
      list.forEach(function (p) {
        var li = el("li", "problem " + p.severity);
        li.setAttribute("data-cell", p.cell);
        li.appendChild(el("span", "place", t(p.place_zh, p.place_en)));
        if (p.value) li.appendChild(el("span", "value", p.value));
        li.appendChild(el("span", "message", t(p.message_zh, p.message_en)));
        ol.appendChild(li);
      });
      d.appendChild(ol);
      groups.appendChild(d);
    });

    var table = document.getElementById("rows");
    table.replaceChildren();
    report.files.forEach(function (f) {
      var header = report.headers[f.file] || [];
      var rows = report.rows.filter(function (r) {
        return r.file === f.file && (!onlyErrors || r.error_columns.length > 0);
      });
      if (rows.length === 0) return;
      var width = header.length;
      rows.forEach(function (r) { width = Math.max(width, r.cells.length); });
      var tr = el("tr");
      tr.appendChild(el("th", "", t("行", "row")));
      for (var c = 0; c < width; c++) {
        var letter = "";
        for (var n = c + 1; n > 0; n = Math.floor((n - 1) / 26)) letter = String.fromCharCode(65 + (n - 1) % 26) + letter;
        tr.appendChild(el("th", "", letter + (header[c] ? " " + header[c] : "")));
      }
      table.appendChild(tr);
      rows.forEach(function (r) {
        var row = el("tr");
        row.appendChild(el("td", "rowno", r.row));
        for (var c = 0; c < width; c++) {
          var cls = r.error_columns.indexOf(c) >= 0 ? "error" : (r.warning_columns.indexOf(c) >= 0 && !onlyErrors ? "warning" : "");
          row.appendChild(el("td", cls, r.cells[c] || ""));
        }
        table.appendChild(row);
      });
    });
  }

  document.getElementById("only-errors").addEventListener("change", function () { if (report) render(); });
  document.getElementById("download").addEventListener("click", function () {
    if (!workbookURL) return;
    var a = el("a");
    a.href = workbookURL;
    a.download = report.workbook_name;
    document.body.appendChild(a);
    a.click();
    a.remove();
  });
  var input = document.getElementById("file");
  input.addEventListener("change", function () { if (input.files.length) upload(input.files[0]); input.value = ""; });
  var drop = document.getElementById("drop");
  ["dragenter", "dragover"].forEach(function (e) { drop.addEventListener(e, function (ev) { ev.preventDefault(); drop.classList.add("over"); }); });
  ["dragleave", "drop"].forEach(function (e) { drop.addEventListener(e, function (ev) { ev.preventDefault(); drop.classList.remove("over"); }); });
  drop.addEventListener("drop", function (ev) { if (ev.dataTransfer.files.length) upload(ev.dataTransfer.files[0]); });
  applyLanguage();
})();
"""#
}
