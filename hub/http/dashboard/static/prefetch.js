// Asks for the first screen's data while the page's modules are still loading (a classic
// script runs at once; the modules wait for each other), so the two overlap.
(() => {
  let token = null;
  try {
    token = localStorage.getItem("hub.token");
  } catch {
    // no storage: app.js asks for the token
  }
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  window.hubFirstSummary = fetch("/api/dashboard", {
    headers,
    cache: "no-store",
    credentials: "same-origin",
  }).catch(() => null); // app.js asks again
})();
