// The little behaviour htmx does not cover: modal dialogs (focus in, Escape, focus back) and toasts.
(function () {
  "use strict";

  function openDialogs(root) {
    root.querySelectorAll("dialog[data-open-modal]").forEach(function (dialog) {
      if (dialog.dataset.modal === "on") return;
      // Rendered open for browsers without JavaScript; reopen it as a real modal.
      if (dialog.open) dialog.close();
      dialog.dataset.modal = "on";
      dialog.returnFocusTo = document.activeElement;
      dialog.showModal();
      var first = dialog.querySelector("[autofocus], input, select, button");
      if (first) first.focus();
    });
  }

  function closeDialog(dialog) {
    var back = dialog.returnFocusTo;
    dialog.close();
    if (dialog.dataset.closeHref) {
      // Leaving the modal also leaves its URL, so a reload does not reopen it.
      history.replaceState(null, "", dialog.dataset.closeHref);
    }
    var opener = document.getElementById(dialog.dataset.opener || "");
    (opener || back || document.body).focus();
  }

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-dialog]");
    if (!closer) return;
    var dialog = closer.closest("dialog");
    if (dialog) {
      event.preventDefault();
      closeDialog(dialog);
    }
  });

  document.addEventListener("cancel", function (event) {
    if (event.target.tagName === "DIALOG") {
      event.preventDefault();
      closeDialog(event.target);
    }
  }, true);

  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-select-page]");
    if (!all) return;
    all.form.querySelectorAll("input[name=selected]").forEach(function (box) {
      box.checked = all.checked;
    });
  });

  function revealScripted(root) {
    root.querySelectorAll("[data-select-page][hidden]").forEach(function (el) {
      el.hidden = false;
    });
  }

  function hideToasts(root) {
    root.querySelectorAll(".toast").forEach(function (toast) {
      setTimeout(function () { toast.remove(); }, 6000);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    openDialogs(document);
    revealScripted(document);
    hideToasts(document);
  });
  document.addEventListener("htmx:load", function (event) {
    var root = event.target.parentNode || document;
    openDialogs(root);
    revealScripted(root);
    hideToasts(root);
  });
})();
