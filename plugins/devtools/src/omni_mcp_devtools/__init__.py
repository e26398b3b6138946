"""DevTools for omni-mcp: browser automation in headless Chromium, one sealed context per caller."""

__version__ = "0.1.0"
