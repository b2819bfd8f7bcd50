/**
 * Fill a form and submit it through chrome-devtools, then report what the page
 * shows. Fields are found in the page by label text, `name`, `id`,
 * `aria-label` or placeholder, and set the way a user's typing would (the
 * value setter, then `input` and `change` events). A field that matches
 * nothing is an error naming it; a form the browser finds invalid is not
 * sent, and its validation messages are returned. Uses page 1.
 */
export const meta = {
  name: "form-automation",
  title: "Form automation",
  description:
    "Open a URL, fill a form's fields (by label, name or id) and submit it; returns the page after (URL, title, text) or the browser's validation messages.",
  servers: ["chrome-devtools"],
  input: {
    type: "object",
    properties: {
      url: { type: "string" },
      fields: { type: "object", additionalProperties: { type: "string" }, description: "label, name or id → value" },
      submit: { type: "boolean", default: true },
    },
    required: ["url", "fields"],
  },
  output: {
    type: "object",
    properties: {
      submitted: { type: "boolean" },
      filled: { type: "array", items: { type: "string" } },
      invalid: { type: "array", items: { type: "object", description: "{field, message}" } },
      page: { type: "object", description: "{url, title, text} after" },
    },
    required: ["submitted", "filled", "invalid", "page"],
  },
  tokenReduction: "~90% against snapshot, fill and click calls",
  examples: [`formAutomation({ url: "http://127.0.0.1:8080/contact.html", fields: { Name: "Ada", email: "ada@example.com" } })`],
} as const;

/** Most characters of the page's text returned. */
const MAX_TEXT = 1000;

/** Runs in the page with the fields as JSON: fills them, and submits their form when asked and valid. */
function fillScript(fields: Record<string, string>, submit: boolean): string {
  return `() => {
  const wanted = ${JSON.stringify(fields)};
  const norm = (text) => (text || "").replace(/[\\s*:]+/g, " ").trim().toLowerCase();
  const controls = Array.from(document.querySelectorAll("input, select, textarea"));
  const find = (key) => controls.find((el) => [el.name, el.id, el.getAttribute("aria-label"), el.placeholder, ...Array.from(el.labels || [], (l) => l.textContent)].some((name) => norm(name) === norm(key)));
  const missing = [], filled = [], invalid = [];
  let form = null;
  for (const [key, value] of Object.entries(wanted)) {
    const el = find(key);
    if (!el) { missing.push(key); continue; }
    const setter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(el), "value").set;
    if (el.type === "checkbox" || el.type === "radio") el.checked = value === "true" || value === el.value;
    else setter.call(el, value);
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
    filled.push(key);
    form = form || el.form;
  }
  if (missing.length || !${submit}) return { missing, filled, invalid, submitted: false };
  if (!form) return { missing, filled, invalid: [{ field: "", message: "the fields are in no form" }], submitted: false };
  for (const el of form.elements) {
    if (el.willValidate && !el.checkValidity()) invalid.push({ field: el.name || el.id, message: el.validationMessage });
  }
  if (invalid.length) return { missing, filled, invalid, submitted: false };
  form.requestSubmit();
  return { missing, filled, invalid, submitted: true };
}`;
}

const PAGE_SCRIPT = `() => ({ url: location.href, title: document.title, text: (document.body ? document.body.innerText : "").trim().slice(0, ${MAX_TEXT}) })`;

function text(result: unknown): string {
  return typeof result === "string" ? result : JSON.stringify(result);
}

/** The JSON between the fences of evaluate_script's answer. */
function scriptValue(answer: unknown): any {
  const match = /```json\n([\s\S]*?)\n```/.exec(text(answer));
  if (!match) throw new Error(`form-automation: unexpected evaluate_script answer: ${text(answer).slice(0, 200)}`);
  return JSON.parse(match[1]);
}

export default async function formAutomation(input: { url: string; fields: Record<string, string>; submit?: boolean }) {
  const chrome = await import("mcp://chrome-devtools");
  const navigated = text(await chrome.navigatePage({ pageId: 1, type: "url", url: input.url }));
  if (!navigated.startsWith("Successfully navigated")) {
    throw new Error(`form-automation: cannot open ${input.url}: ${navigated.split("\n")[0]}`);
  }
  const outcome = scriptValue(await chrome.evaluateScript({ pageId: 1, function: fillScript(input.fields, input.submit ?? true) }));
  if (outcome.missing.length > 0) {
    throw new Error(`form-automation: no field labelled or named ${outcome.missing.map((key: string) => JSON.stringify(key)).join(", ")} on ${input.url}`);
  }
  const page = scriptValue(await chrome.evaluateScript({ pageId: 1, function: PAGE_SCRIPT }));
  return { submitted: outcome.submitted, filled: outcome.filled, invalid: outcome.invalid, page };
}

export { formAutomation };
