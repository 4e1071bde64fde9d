// Loaded before the app as a classic script: records every uncaught error,
// unhandled rejection, CSP violation and console.error call in
// window.__wxmpErrors, so the browser tests can assert there are none.
(function () {
  "use strict";
  var errors = (window.__wxmpErrors = []);
  function text(value) {
    if (value instanceof Error) return value.name + ": " + value.message;
    if (typeof value === "object" && value !== null) {
      try { return JSON.stringify(value); } catch (e) { return String(value); }
    }
    return String(value);
  }
  var originalError = console.error;
  console.error = function () {
    var parts = [];
    for (var i = 0; i < arguments.length; i++) parts.push(text(arguments[i]));
    errors.push("console.error: " + parts.join(" "));
    return originalError.apply(console, arguments);
  };
  window.addEventListener("error", function (event) {
    if (event.target && event.target !== window && event.target.tagName) {
      // A script or stylesheet of the app failed to load (images are allowed to fail).
      var tag = event.target.tagName;
      if (tag === "SCRIPT" || tag === "LINK") {
        errors.push("failed to load " + (event.target.src || event.target.href));
      }
      return;
    }
    errors.push("uncaught: " + event.message + " at " + event.filename + ":" + event.lineno);
  }, true);
  window.addEventListener("unhandledrejection", function (event) {
    errors.push("unhandled rejection: " + text(event.reason));
  });
  document.addEventListener("securitypolicyviolation", function (event) {
    errors.push("CSP violation: " + event.violatedDirective + " " + event.blockedURI);
  });
})();
