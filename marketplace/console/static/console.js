/* The console's only script, loaded with defer (the CSP allows no inline script).
 * Pages work without it; it adds conveniences only:
 *
 * - a confirmation before a form marked data-confirm is sent;
 * - the industry finder: every <select data-industry-picker="/api/v1/industries"> gets a labelled
 *   combobox above it that asks the API for entries matching what is typed (塑料, 注塑, 汽车零部件,
 *   C3670, pinyin initials) and lists them with their codes; picking one (mouse, or arrow keys and
 *   Enter) selects that code in the select, which stays the form's field. Without the script the
 *   select is the picker.
 */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  var DELAY_MS = 200;
  var LIMIT = 12;

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  function matchNote(match) {
    if (!match || match.by === "name" || match.by === "code") {
      return "";
    }
    return (match.by === "alias" ? "俗称：" : "拼音：") + match.text;
  }

  function enhance(select) {
    var base = select.id + "-finder";
    var label = element("label", { for: base, "class": "finder-label" }, "按名称、代码或拼音查找（如 注塑、汽车零部件、C3670）");
    var box = element("div", { "class": "finder" });
    var input = element("input", {
      id: base,
      type: "text",
      role: "combobox",
      autocomplete: "off",
      "aria-autocomplete": "list",
      "aria-expanded": "false",
      "aria-controls": base + "-list"
    });
    var list = element("ul", { id: base + "-list", role: "listbox", "aria-label": "匹配的行业", hidden: "" });
    var status = element("p", { id: base + "-status", "class": "hint finder-status", role: "status" });
    input.setAttribute("aria-describedby", status.id);
    box.appendChild(input);
    box.appendChild(list);
    select.parentNode.insertBefore(label, select);
    select.parentNode.insertBefore(box, select);
    select.parentNode.insertBefore(status, select);

    var entries = [];
    var active = -1;
    var timer = null;
    var pending = null;
    var source = select.getAttribute("data-industry-picker");

    function known(code) {
      return Array.prototype.some.call(select.options, function (option) {
        return option.value === code;
      });
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var items = list.children;
      if (!items.length) {
        return;
      }
      active = (index + items.length) % items.length;
      Array.prototype.forEach.call(items, function (item, position) {
        item.setAttribute("aria-selected", position === active ? "true" : "false");
      });
      input.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    }

    function pick(index) {
      var entry = entries[index];
      if (!entry) {
        return;
      }
      Array.prototype.forEach.call(select.options, function (option) {
        if (option.value === entry.code) {
          option.selected = true;
        } else if (!select.multiple) {
          option.selected = false;
        }
      });
      select.dispatchEvent(new Event("change", { bubbles: true }));
      if (select.multiple) {
        input.value = "";
        status.textContent = "已添加：" + entry.code + " " + entry.name + "（可继续查找添加）";
      } else {
        input.value = entry.code + " " + entry.name;
        status.textContent = "已选择：" + entry.code + " " + entry.name;
      }
      close();
    }

    function show(found) {
      entries = found.filter(function (entry) {
        return known(entry.code);
      });
      list.textContent = "";
      entries.forEach(function (entry, index) {
        var item = element("li", { id: base + "-option-" + index, role: "option", "aria-selected": "false" });
        item.appendChild(element("span", { "class": "code" }, entry.code));
        item.appendChild(document.createTextNode(" " + entry.name));
        var note = matchNote(entry.match);
        if (note) {
          item.appendChild(element("span", { "class": "finder-note" }, "（" + note + "）"));
        }
        item.addEventListener("mousedown", function (event) {
          event.preventDefault();
        });
        item.addEventListener("click", function () {
          pick(index);
        });
        list.appendChild(item);
      });
      if (entries.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        status.textContent = "找到 " + entries.length + " 个行业，用上下方向键选择，回车确认";
        active = -1;
      } else {
        close();
        status.textContent = "没有找到匹配的行业，可在下方列表中选择";
      }
    }

    function find() {
      var query = input.value.trim();
      if (pending) {
        pending.abort();
        pending = null;
      }
      if (!query) {
        entries = [];
        list.textContent = "";
        close();
        status.textContent = "";
        return;
      }
      pending = new AbortController();
      var url = source + "?level=class&per_page=" + LIMIT + "&q=" + encodeURIComponent(query);
      fetch(url, { headers: { Accept: "application/json" }, signal: pending.signal })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(String(response.status));
          }
          return response.json();
        })
        .then(function (body) {
          if (input.value.trim() === query) {
            show(body.items || []);
          }
        })
        .catch(function (error) {
          if (error.name !== "AbortError") {
            close();
            status.textContent = "暂时无法查找，请在下方列表中选择";
          }
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(find, DELAY_MS);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (list.hidden && entries.length) {
          list.hidden = false;
          input.setAttribute("aria-expanded", "true");
        }
        highlight(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter") {
        if (!list.hidden) {
          event.preventDefault();
          pick(active >= 0 ? active : 0);
        }
      } else if (event.key === "Escape") {
        if (!list.hidden) {
          event.preventDefault();
          close();
        } else if (input.value) {
          event.preventDefault();
          input.value = "";
          status.textContent = "";
        }
      }
    });
    input.addEventListener("blur", close);

    // A single select shows its chosen industry in the box too (a saved profile, or a choice made
    // in the list below), so the box never reads empty while an industry is chosen.
    function mirror() {
      var chosen = select.options[select.selectedIndex];
      if (!select.multiple && document.activeElement !== input) {
        input.value = chosen && chosen.value ? chosen.textContent.trim() : "";
      }
    }
    select.addEventListener("change", mirror);
    mirror();
  }

  Array.prototype.forEach.call(document.querySelectorAll("select[data-industry-picker]"), enhance);
})();
