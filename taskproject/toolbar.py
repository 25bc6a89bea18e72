"""django-debug-toolbar panels that keep no credential (DEBUG only; docs/operations.md).

The SQL panel needs nothing: the token lookup sends only a digest (tasks.tokens). The Headers
panel stores every request header as sent, ``Authorization: Token <secret>`` included (it hides
only cookies), in the toolbar's store; this one records the header's scheme, not its value.
"""

from debug_toolbar.panels.headers import HeadersPanel as BaseHeadersPanel

MASK = "********************"


def masked_headers(headers: dict) -> dict:
    masked = dict(headers)
    for name in ("Authorization", "Proxy-Authorization"):
        if name in masked:
            scheme = str(masked[name]).split(" ", 1)[0]
            masked[name] = f"{scheme} {MASK}"
    return masked


class HeadersPanel(BaseHeadersPanel):
    # Same class name as the toolbar's: the panel id (and its cookie, template) stay the same.
    def record_stats(self, stats):
        if "request_headers" in stats:
            self.request_headers = masked_headers(stats["request_headers"])
            stats = {**stats, "request_headers": self.request_headers}
        super().record_stats(stats)
