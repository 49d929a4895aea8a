// Administration (admins only): users and their roles, a user's API tokens, integrations and the
// audit log, each in its own module. Anyone else is told this page is not theirs.

import { $, showState } from "./dom.js";
import { allows, session } from "./session.js";
import { startAudit } from "./admin-audit.js";
import { startIntegrations } from "./admin-integrations.js";
import { startUsers } from "./admin-users.js";

session.then((me) => {
  if (!allows(me, "admin")) {
    showState($("#admin-state"), `This page is for administrators; you are logged in as ${me.name} (${me.role}).`, "error");
    return;
  }
  showState($("#admin-state"), "");
  $("#admin").hidden = false;
  startUsers();
  startIntegrations();
  startAudit();
});
