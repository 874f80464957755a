// Starts ReDoc on /redoc from this file, not an inline script, so the page's
// Content-Security-Policy can forbid inline scripts. ReDoc's injected <style> elements carry
// the nonce the page's policy allows; search is off (it would need a blob: worker).
const nonce = document.querySelector('meta[name="style-nonce"]').content;
Redoc.init(
  "/openapi.json",
  { nonce, disableSearch: true, expandResponses: "200,201" },
  document.getElementById("redoc"),
);
