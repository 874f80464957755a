// The regulator page: sign in, then wire alerts, batch verification, consistency, recall, bundle.

import { setupAlerts } from "./alerts.js";
import { setupBatch } from "./batch.js";
import { setupBundle } from "./bundle.js";
import { setupConsistency } from "./checkpoints.js";
import { setupRecall } from "./recall.js";
import { currentPrincipal, forgetToken, showError, signIn } from "./session.js";

const signin = document.getElementById("signin");
const desk = document.getElementById("desk");
const who = document.getElementById("who");

const batch = setupBatch();
const recall = setupRecall(async (id) => {
  await alerts.load();
  if (batch.current()) await batch.redraw(batch.current());
  document.body.dataset.recalled = id;
});
const alerts = setupAlerts((id) => {
  recall.prefill(id);
  document.getElementById("batch").scrollIntoView();
  batch.open(id);
});
const consistency = setupConsistency();
setupBundle();

async function enter(principal) {
  who.textContent = `${principal.name} · ${principal.role === "admin" ? "管理员 admin" : "监管 regulator"}`;
  who.hidden = false;
  signin.hidden = true;
  desk.hidden = false;
  await Promise.allSettled([alerts.load(), consistency.load()]);
}

document.getElementById("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("signin-error");
  try {
    const principal = await signIn(document.getElementById("token").value);
    document.getElementById("token").value = "";
    showError(error, "");
    await enter(principal);
  } catch (err) {
    showError(error, `登录失败 Sign-in failed: ${err.message}`);
  }
});

document.getElementById("signout").addEventListener("click", () => {
  forgetToken();
  location.reload();
});

const principal = await currentPrincipal();
if (principal) await enter(principal);
document.body.dataset.ready = "1";
