// Sign in or create an account.
import { api } from "./api.js";
import { busy, field, h } from "./dom.js";

export function render(main, { signedIn }) {
  let mode = "signin";
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", {
    type: "password", name: "password", autocomplete: "current-password", required: true,
  });
  const name = h("input", { type: "text", name: "name", autocomplete: "name" });
  const nameField = field("Your name", name);
  nameField.hidden = true;
  const error = h("p", { class: "error", role: "alert" });
  const submit = h("button", { type: "submit" }, "Sign in");
  const switcher = h("button", { type: "button", class: "ghost" }, "Create an account instead");
  const heading = h("h1", {}, "Sign in to voxhub");
  const form = h("form", { class: "card", "aria-labelledby": "signin-title" },
    field("Email", email), field("Password", password,
      "On first start, voxhub printed a sign-in link and the admin's password in its terminal."),
    nameField, error, h("div", { class: "actions" }, submit, switcher));
  heading.id = "signin-title";

  switcher.addEventListener("click", () => {
    mode = mode === "signin" ? "signup" : "signin";
    const up = mode === "signup";
    heading.textContent = up ? "Create your voxhub account" : "Sign in to voxhub";
    submit.textContent = up ? "Create account" : "Sign in";
    switcher.textContent = up ? "I have an account" : "Create an account instead";
    password.autocomplete = up ? "new-password" : "current-password";
    nameField.hidden = !up;
    error.textContent = "";
  });
  form.addEventListener("submit", busy(submit, async () => {
    error.textContent = "";
    const body = { email: email.value.trim(), password: password.value };
    if (mode === "signup") body.name = name.value.trim();
    try {
      signedIn(await api(`/api/v1/auth/web/${mode === "signup" ? "signup" : "login"}`, {
        method: "POST", body,
      }));
    } catch (err) {
      error.textContent = err.message;
      password.focus();
    }
  }));
  main.append(h("div", { class: "narrow" }, heading,
    h("p", { class: "lead" }, "Clone a voice from a short recording, then let it speak."), form));
  email.focus();
}
