"""The page behind the one-time login link printed on first start.

The link carries its secret in the fragment (`#token=...`), which browsers never send, so it
reaches no access log, proxy or Referer; this page reads it and POSTs it back in a body.
"""

from __future__ import annotations

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<title>voxhub: sign in</title>
</head>
<body>
<h1>voxhub</h1>
<p id="status">Signing you in...</p>
<pre id="token" hidden></pre>
<script>
(async () => {
  const status = document.getElementById("status");
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  history.replaceState(null, "", location.pathname);  // the secret leaves the address bar
  if (!token) {
    status.textContent = "Open the link voxhub printed when it first started.";
    return;
  }
  const r = await fetch(location.pathname, {
    method: "POST",
    headers: {"content-type": "application/json"},
    body: JSON.stringify({token}),
  });
  const body = await r.json();
  if (!r.ok) {
    status.textContent = "Sign-in failed: " + (body.detail || r.status);
    return;
  }
  status.textContent = "Signed in as " + body.user.email + ". Access token (Authorize in /docs):";
  const out = document.getElementById("token");
  out.textContent = body.access_token;
  out.hidden = false;
})();
</script>
</body>
</html>
"""
