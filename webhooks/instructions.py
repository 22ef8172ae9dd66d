"""Copy-ready setup text: the sample post-receive hook for git servers without webhooks."""

from __future__ import annotations

import shlex

from django.template.loader import render_to_string


def post_receive_script(payload_url: str, secret: str) -> str:
    """A bash `hooks/post-receive` that signs each pushed ref with openssl and posts it with curl."""
    return render_to_string(
        "webhooks/post-receive.sh",
        {"url": shlex.quote(payload_url), "secret": shlex.quote(secret)},
    )
