// Every page of the app. A page is one module that registers its route when imported
// (router.route); add a line here for a new one (docs/webapp.md, "Adding a page").

import "./signin.js";
import "./signup.js";
import "./dashboard.js";
import "./transactions.js";
import "./budgets.js";
import "./goals.js";
import "./recurring.js";
import "./settings.js";
import "./notifications.js";
import "./connections.js";
import "./webhooks.js";
import "./books.js";
import "./shared.js";
import "./insights.js";
import "./import.js";
import "./export.js";
