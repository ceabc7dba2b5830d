#!/usr/bin/env bash
# Lighthouse (mobile: simulated slow 4G, 4x slower CPU) on the public pages of
# a freshly started release build, on a throwaway database. Prints each
# category's score; the full reports go to bench/lighthouse/.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${LIGHTHOUSE_PORT:-3190}
data=$(mktemp -d)
out=bench/lighthouse
mkdir -p "$out"
MINICOM_ADDR=127.0.0.1:$port DATABASE_URL="sqlite://$data/minicom.db" \
  MINICOM_ADMIN_EMAIL=admin@lighthouse.test MINICOM_ADMIN_PASSWORD=lighthouse-only \
  LEPTOS_ENV=PROD LEPTOS_SITE_ROOT=target/site \
  ./target/release/minicom >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
for page in / /messenger; do
  name=$(echo "$page" | sed 's#^/$#home#; s#^/##; s#/#-#g')
  npx --yes lighthouse@13.5.0 "http://127.0.0.1:$port$page" \
    --quiet --chrome-path=/usr/bin/chromium \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu" \
    --only-categories=performance,accessibility,best-practices,seo \
    --output=json --output-path="$out/$name.json"
  node -e '
    const r = require(process.argv[1]);
    const s = Object.values(r.categories).map(c => `${c.title} ${Math.round(c.score * 100)}`).join(", ");
    const a = r.audits;
    console.log(`${process.argv[2]}: ${s}; LCP ${a["largest-contentful-paint"].displayValue}, TBT ${a["total-blocking-time"].displayValue}, FCP ${a["first-contentful-paint"].displayValue}`);
  ' "$PWD/$out/$name.json" "$page"
done
