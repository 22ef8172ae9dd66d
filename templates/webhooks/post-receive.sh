{% autoescape off %}#!/usr/bin/env bash
# Tells Deployer about every pushed ref; Deployer deploys pushes to the project's branch.
# Save as hooks/post-receive in the bare repository on your git server, then chmod +x it.
# Needs bash, curl and openssl. The signature is the hex HMAC-SHA256 of the exact body.
set -u
url={{ url }}
secret={{ secret }}
while read -r _old new ref; do
    body=$(printf '{"ref": "%s", "after": "%s"}' "${ref//\"/\\\"}" "$new")
    signature=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" | awk '{print $NF}')
    curl --silent --show-error --max-time 10 \
        --header "Content-Type: application/json" \
        --header "X-Deployer-Signature: sha256=$signature" \
        --data-binary "$body" "$url" || echo "Deployer was not told about $ref" >&2
    echo
done
{% endautoescape %}
