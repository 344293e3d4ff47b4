// Keyboard shortcuts for the labeling pages. The forms work without this script;
// it only maps keys to the buttons and fields that are already there.
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "TEXTAREA" || (tag === "INPUT" && target.type === "text");
  }

  function openGroup(form) {
    var groups = form.querySelectorAll("fieldset.group");
    for (var i = 0; i < groups.length; i++) {
      if (!groups[i].querySelector("input:checked")) {
        return groups[i];
      }
    }
    return groups.length ? groups[groups.length - 1] : null;
  }

  function pick(form, key) {
    var button = form.querySelector('button.choice[data-key="' + key + '"]');
    if (button) {
      button.click();
      return true;
    }
    var group = openGroup(form);
    var radio = group && group.querySelector('input[data-key="' + key + '"]');
    if (radio) {
      radio.checked = true;
      return true;
    }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var form = document.querySelector("form[data-keys]") || document.getElementById("answer-form");
    if (typing(event.target)) {
      if (event.key === "Escape") {
        event.target.blur();
      }
      return;
    }
    var back = document.getElementById("back");
    var skip = document.getElementById("skip");
    var note = form && form.querySelector("textarea");
    var handled = true;
    if (event.key === "u" && back) {
      back.click();
    } else if (event.key === "s" && skip) {
      skip.click();
    } else if (event.key === "n" && note) {
      note.focus();
    } else if (event.key === "Enter" && form) {
      form.requestSubmit(form.querySelector("button.save") || undefined);
    } else if (form) {
      handled = pick(form, event.key);
    } else {
      handled = false;
    }
    if (handled) {
      event.preventDefault();
    }
  });
})();
