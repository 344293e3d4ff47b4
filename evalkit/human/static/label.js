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

  function send(form) {
    var button = form.querySelector("button.save");
    if (!button) {
      return false;  // forms of choice buttons submit by choosing, never with an empty answer
    }
    form.requestSubmit(button);
    return true;
  }

  document.addEventListener("keydown", function (event) {
    var form = document.getElementById("answer-form");
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && form) {
      if (send(form)) {
        event.preventDefault();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
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
    } else if (event.key === "f" && document.getElementById("finish")) {
      document.getElementById("finish").click();
    } else if (event.key === "Enter" && form) {
      handled = send(form);
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
