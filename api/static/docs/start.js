// Starts Swagger UI on /docs from this file, not an inline script, so the page's
// Content-Security-Policy can forbid inline scripts. No validator badge: it would call a
// third-party server.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: true,
  layout: "BaseLayout",
  presets: [SwaggerUIBundle.presets.apis],
});
