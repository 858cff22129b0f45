// directory-sync console: progressive enhancements only; every form works without this file.
(function () {
  "use strict";
  // The operator's time zone, for the server to show times in (UTC without it).
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("tz=" + zone) === -1) {
      document.cookie = "tz=" + zone + "; path=/console; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* UTC then */ }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button || !navigator.clipboard) { return; }
    event.preventDefault();
    navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
      button.textContent = "Copied";
    });
  });
}());
